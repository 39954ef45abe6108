"""An external script run from an asset goes through Dagster Pipes: its `dagster_pipes` log lines are in the
run's event log and the metadata it reports is on the materialization (assets/external.py); an embedding
step's requests share one worker process, closed when the step ends."""

# no `from __future__ import annotations`: Dagster reads the asset functions' context annotations
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import torch
from PIL import Image

from assets.materialize import run_stage
from assets.resources import UnibindResource
from tests.helpers.external_envs import make_env
from unibind_core.encoders.backbone.imagebind import ImageBindBackbone
from unibind_core.encoders.external.lavis import caption_with_lavis
from unibind_core.encoders.external.runner import current_runner
from unibind_core.stages import StageResult


@pytest.mark.slow  # a script under Dagster Pipes in a stand-in venv: ~3.5 s
def test_a_lavis_caption_run_reports_through_pipes(tmp_path):
    make_env(tmp_path / "venvs", "lavis")
    image = tmp_path / "grey.png"
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(image)

    def stage(settings) -> StageResult:
        captions = caption_with_lavis([image], "Describe", {"micro_batch": 1}, config=settings.external)
        return StageResult("v1", {"captions": captions})

    @dg.asset
    def captions_via_pipes(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
        return run_stage(stage, unibind, context=context)

    resource = UnibindResource(data_root=str(tmp_path / "data"), external={"venv_root": str(tmp_path / "venvs")})
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([captions_via_pipes], resources={"unibind": resource}, instance=instance)
    assert result.success
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("lavis: captioned 1 images" in m for m in messages), messages  # the script's pipes.log line
    assert any("external process successfully opened dagster pipes" in m for m in messages)
    meta = result.asset_materializations_for_node("captions_via_pipes")[0].metadata
    assert meta["external/lavis/images"].value == 1 and meta["external/lavis/launches"].value == 1
    assert "Describe: a picture whose mean is 0.502" in str(meta["captions"].value)


@pytest.mark.slow  # a script under Dagster Pipes in a stand-in venv: ~3.5 s
def test_a_failing_script_under_pipes_quotes_its_stderr(tmp_path):
    make_env(tmp_path / "venvs", "lavis")

    def stage(settings) -> StageResult:
        caption_with_lavis([tmp_path / "x.png"], "Describe", {"name": "not_a_model"}, config=settings.external)
        return StageResult("v1", {})

    @dg.asset
    def failing_captions(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
        return run_stage(stage, unibind, context=context)

    resource = UnibindResource(data_root=str(tmp_path / "data"), external={"venv_root": str(tmp_path / "venvs")})
    result = dg.materialize([failing_captions], resources={"unibind": resource}, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    text = str(failure.event_specific_data.error.to_string())
    assert "lavis_caption.py" in text and "AssertionError: not_a_model" in text  # the script's stderr tail


@pytest.mark.slow  # a script under Dagster Pipes in a stand-in venv: ~3.5 s
def test_an_embedding_step_sends_every_batch_to_one_worker_through_pipes(tmp_path):
    make_env(tmp_path / "venvs", "imagebind")
    (tmp_path / "small.json").write_text('{"out_embed_dim": 8}')
    pids = []

    def stage(settings) -> StageResult:
        backbone = ImageBindBackbone(
            str(tmp_path / "small.json"),
            device="cpu",
            batch_size=2,
            work_root=tmp_path / "work",
            external=settings.external,
        )
        images = [backbone.embed("image", torch.rand(3, 3, 32, 32)) for _ in range(2)]
        texts = backbone.embed_text(["a dog", "a cat"])
        runner = current_runner()
        pids.extend(w.proc.pid for w, _ in runner.workers.workers.values())
        return StageResult("v1", {"rows": sum(len(v) for v in images) + len(texts)})

    @dg.asset
    def features_via_pipes(context: dg.AssetExecutionContext, unibind: UnibindResource) -> dg.MaterializeResult:
        return run_stage(stage, unibind, context=context)

    resource = UnibindResource(data_root=str(tmp_path / "data"), external={"venv_root": str(tmp_path / "venvs")})
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([features_via_pipes], resources={"unibind": resource}, instance=instance)
    assert result.success
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert sum("embedded 3 vision rows" in m for m in messages) == 2, messages  # the worker's pipes.log lines
    meta = result.asset_materializations_for_node("features_via_pipes")[0].metadata
    assert meta["external/imagebind/launches"].value == 1 and meta["external/imagebind/requests"].value == 3
    assert meta["external/imagebind/model_loads"].value == 1 and meta["external/imagebind/rows"].value == 8
    assert len(pids) == 1 and not Path(f"/proc/{pids[0]}").exists()  # closed at the end of the step
