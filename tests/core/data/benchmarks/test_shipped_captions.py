"""Captions shipped beside a dataset (the captions file): by file path for every sample of the file, by
sample_id for one sample (a background crop, whose frame's caption describes the person, not the crop)."""
from __future__ import annotations

import json

import pytest

from tests.helpers.paper_datasets import llvip
from unibind_core.data.benchmarks.build import read_root
from unibind_core.data.benchmarks.spec import BENCHMARKS
from unibind_core.demo.world import CAPTIONS_FILE


def test_a_sample_id_caption_reaches_the_crop_and_a_path_caption_the_object(tmp_path):
    root = tmp_path / "LLVIP"
    options = llvip(root)
    rows = {r["sample_id"]: r for r in read_root(BENCHMARKS["llvip"], root, options).table.to_pylist()}
    crops = [s for s in rows if s.endswith("_bg0")]
    assert crops and all(rows[s]["caption"].startswith("an empty stretch") for s in crops)
    person = rows[crops[0].replace("_bg0", "_0")]
    assert person["path"] == rows[crops[0]]["path"] and person["caption"].startswith("a sample at")

    (root / CAPTIONS_FILE).write_text(json.dumps({"path": person["path"], "caption": "only the person"}) + "\n")
    rows = {r["sample_id"]: r for r in read_root(BENCHMARKS["llvip"], root, options).table.to_pylist()}
    assert rows[crops[0]]["caption"] is None  # the reader's own None stands without a caption for the crop
    (root / CAPTIONS_FILE).write_text('{"sample_id": "x"}\n')
    with pytest.raises(ValueError, match="is not a caption record"):
        read_root(BENCHMARKS["llvip"], root, options)
