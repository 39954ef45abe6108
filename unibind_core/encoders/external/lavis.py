"""LAVIS BLIP-2 captions (issue 9's `lavis` captioner) through the `lavis` environment's script.

salesforce-lavis 1.0.2 pins transformers<4.27, so BLIP-2 through LAVIS runs in `<venv root>/lavis`
(`make env-lavis`); this module writes the image list, launches scripts/lavis_caption.py through the
installed Runner and reads the captions back. The script appends each micro-batch's captions to
`captions.jsonl` as they arrive: call again with the same `work` folder after a kill and only the images
not yet answered are captioned. A Captioner class (caption.py's registry) wraps this function.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unibind_core.encoders.external.envs import ExternalConfig
from unibind_core.encoders.external.runner import ExternalJob, Runner, current_runner
from unibind_core.encoders.external.scripts.pipes_io import read_jsonl

ENV, SCRIPT = "lavis", "lavis_caption.py"
IMAGES, CAPTIONS = "images.jsonl", "captions.jsonl"


def lavis_records(work: Path) -> dict[str, dict[str, Any]]:
    """What the script has written so far, by path: {"caption": ...} or {"error": reason}."""
    return {r["path"]: r for r in read_jsonl(Path(work) / CAPTIONS)}


def caption_with_lavis(
    image_paths: Sequence[str | Path],
    prompt: str,
    options: Mapping[str, Any] | None = None,
    runner: Runner | None = None,
    *,
    work: Path | None = None,
    config: ExternalConfig | None = None,
) -> list[str]:
    """One caption per image, in input order ("" for an image LAVIS could not read: its reason is in
    `lavis_records(work)`; the captioner's bad-output check flags empty captions).

    `options`: `model_type` (default pretrain_opt2.7b), `name` (blip2_opt), `device`, `micro_batch`, and
    `generate`, LAVIS's generate() keyword arguments. `work`: a folder kept between calls for resuming
    (default: a temporary one, no resume). `runner`: default the installed one (SubprocessRunner outside
    Dagster, the Pipes runner inside an asset). Raises ConfigError when the environment is missing,
    ExternalScriptError when the script fails (the captions written before the failure stay in `work`)."""
    paths = [str(Path(p).resolve()) for p in image_paths]
    if not paths:
        return []
    config = config or ExternalConfig()
    with tempfile.TemporaryDirectory(prefix="unibind-lavis-") as scratch:
        folder = Path(work) if work is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (IMAGES + ".tmp")
        tmp.write_text("".join(json.dumps({"path": p}) + "\n" for p in paths))
        tmp.replace(folder / IMAGES)
        job = ExternalJob(
            ENV,
            SCRIPT,
            folder,
            config.python(ENV),
            {**dict(options or {}), "prompt": prompt},
            inputs={"images": IMAGES},
            outputs={"captions": CAPTIONS},
        )
        (runner or current_runner()).run(job)
        records = lavis_records(folder)
    missing = [p for p in paths if p not in records]
    if missing:
        raise RuntimeError(f"the lavis script finished without captions for {len(missing)} images, e.g. {missing[0]}")
    return [str(records[p].get("caption", "")) for p in paths]
