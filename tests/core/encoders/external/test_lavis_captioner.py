"""The `lavis` captioner: the driver's views go to the shipped lavis_caption.py (stand-in lavis package
in its own environment) as PNG files, and the answers come back as the benchmark's captions, cached."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from unibind_core.core.settings import Settings
from unibind_core.demo.world import build_dataset
from unibind_core.knowledge.captioners.lavis import LavisModel
from unibind_core.stages.common import spec_of
from unibind_core.stages.data import stage_manifest
from unibind_core.stages.knowledge import stage_captions
from unibind_core.storage.tables import CAPTIONS

BENCH = "demo_image"


@pytest.mark.slow  # a captioning script in a venv: ~4 s
def test_lavis_captions_a_benchmark_in_its_own_environment(venv_root, tmp_path):
    s = Settings.from_mapping(
        {
            "data_root": str(tmp_path),
            "profile": "demo",
            "demo_max_per_class": 2,
            "captioner": "lavis",
            "external": {"venv_root": str(venv_root)},
        }
    )
    spec = spec_of(BENCH)
    build_dataset(spec.demo_writer, s.layout.datasets / spec.root, s.seed, s.demo_max_per_class)
    stage_manifest(s, BENCH)
    first = stage_captions(s, BENCH)
    table = CAPTIONS.read(s.layout.captions(BENCH))
    assert table.num_rows == first.row_count > 0
    assert set(table["Source"].to_pylist()) == {"mllm:pretrain_opt2.7b"}
    texts = table["Description"].to_pylist()
    # The stand-in answers with the mean of the image it was given (and echoes the prompt, which the
    # driver's judge strips): every sample's own view reached the script.
    assert all(t.startswith("a picture whose mean is") for t in texts), texts[:2]
    assert pc.count_distinct(table["Description"]).as_py() > 1
    assert first.metadata["captioned_new"] == table.num_rows and first.metadata["cache_hits"] == 0
    again = stage_captions(s, BENCH)  # every sample in the captioner's cache: no launch
    assert again.metadata["captioned_new"] == 0 and again.metadata["cache_hits"] == table.num_rows
    assert CAPTIONS.read(s.layout.captions(BENCH))["Description"].to_pylist() == texts


def test_a_model_type_names_the_lavis_model():
    m = LavisModel("blip2_t5:pretrain_flant5xl", "/tmp/x", device="cuda:1", batch_size=4, max_new_tokens=30)
    assert m.options["name"] == "blip2_t5" and m.options["model_type"] == "pretrain_flant5xl"
    assert m.options["device"] == "cuda:1" and m.options["micro_batch"] == 4
    assert LavisModel("pretrain_opt2.7b", "/tmp/x").options["name"] == "blip2_opt"
