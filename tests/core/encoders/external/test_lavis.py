"""caption_with_lavis through the shipped lavis_caption.py (stand-in lavis package): captions in input order,
unreadable images answered with their reason, and a run that dies mid-way resumes where it stopped."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from unibind_core.encoders.external.envs import ExternalConfig
from unibind_core.encoders.external.lavis import caption_with_lavis, lavis_records
from unibind_core.encoders.external.runner import (
    ExternalJob,
    ExternalScriptError,
    SubprocessRunner,
)


class EnvRunner(SubprocessRunner):
    """The plain runner with extra environment variables for the stand-in (a crash point, a call log)."""

    def __init__(self, **env: str) -> None:
        super().__init__()
        self.env = env

    def run(self, job: ExternalJob):
        return super().run(
            ExternalJob(
                job.env,
                job.script,
                job.work,
                job.python,
                job.options,
                job.inputs,
                job.outputs,
                {**job.extra_env, **self.env},
            )
        )


@pytest.mark.slow  # a crashed script relaunched: ~8 s
def test_captions_resume_after_a_crash_and_keep_input_order(venv_root, tmp_path):
    paths = []
    for i, value in enumerate((0, 80, 160, 240)):
        paths.append(tmp_path / f"img{i}.png")
        Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(paths[-1])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    images = [paths[0], paths[1], broken, paths[2], paths[3]]
    work, calls = tmp_path / "work", tmp_path / "calls.txt"
    config = ExternalConfig(venv_root=str(venv_root))
    options = {"micro_batch": 2, "generate": {"num_beams": 1}}

    with pytest.raises(ExternalScriptError, match="simulated crash"):
        caption_with_lavis(
            images, "Describe", options, EnvRunner(STANDIN_LAVIS_FAIL_AFTER="2"), work=work, config=config
        )
    assert len(lavis_records(work)) == 2  # the first micro-batch was written before the crash

    captions = caption_with_lavis(
        images, "Describe", options, EnvRunner(STANDIN_LAVIS_CALLS=str(calls)), work=work, config=config
    )
    assert [int(n) for n in calls.read_text().split()] == [1, 1]  # only the three images not yet answered
    assert captions[2] == "" and "error" in lavis_records(work)[str(broken.resolve())]
    assert captions[0].startswith("Describe: a picture whose mean is 0.000") and "beams=1" in captions[0]
    assert captions[4].startswith("Describe: a picture whose mean is 0.941")
    assert json.loads((work / "result.json").read_text())["resumed"] == 2
