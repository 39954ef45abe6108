"""BLIP-2 captions through LAVIS in the `lavis` environment (`make env-lavis`): image paths -> captions.

Loading: `lavis.models.load_model_and_preprocess(name=<name, default blip2_opt>, model_type=<model_type,
default pretrain_opt2.7b>, is_eval=True, device=...)`; images through its `eval` visual processor, then
`model.generate({"image": batch, "prompt": prompt}, **generate)` (`generate`: LAVIS's own keyword arguments,
e.g. num_beams, max_length, use_nucleus_sampling). Input `images`: JSON lines {"path": ...}. Output
`captions`: JSON lines {"path": ..., "caption": ...} (or {"path": ..., "error": ...} for an image that cannot be
read), appended and flushed after every micro-batch, so a killed run resumes with the images not yet written.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

if __package__:
    from .embed_common import device_and_dtype
    from .pipes_io import Session, batched, need, read_jsonl, session
else:  # run by path
    from embed_common import device_and_dtype
    from pipes_io import Session, batched, need, read_jsonl, session


def resume(out: Path) -> set[str]:
    """Paths already answered; the file is rewritten without a last line a killed run cut short."""
    rows = read_jsonl(out)
    if out.is_file():
        tmp = out.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        tmp.replace(out)
    return {r["path"] for r in rows}


def caption_all(s: Session) -> None:
    torch = need("torch")
    image_module = need("PIL.Image")
    models = need("lavis.models")
    o = s.options
    paths = [r["path"] for r in read_jsonl(s.input("images"))]
    out = s.output("captions")
    done = resume(out)
    todo = [p for p in paths if p not in done]
    s.log(f"lavis: {len(done)} of {len(paths)} images already captioned, {len(todo)} to go")
    device, _ = device_and_dtype(o)
    start = time.monotonic()
    model, vis, _ = models.load_model_and_preprocess(
        name=o.get("name") or "blip2_opt",
        model_type=o.get("model_type") or "pretrain_opt2.7b",
        is_eval=True,
        device=device,
    )
    loaded = time.monotonic()
    s.log(f"lavis: {o.get('name') or 'blip2_opt'} loaded on {device} in {loaded - start:.1f}s")
    prompt, generate = o.get("prompt") or "", dict(o.get("generate") or {})
    errors = 0

    def run(a: int, b: int) -> int:
        nonlocal errors
        images, rows = [], []
        for path in todo[a:b]:
            try:
                images.append(vis["eval"](image_module.open(path).convert("RGB")))
                rows.append({"path": path})
            except (OSError, ValueError) as exc:  # unreadable: answered with its reason, never retried
                errors += 1
                rows.append({"path": path, "error": f"{type(exc).__name__}: {exc}"})
        if images:
            with torch.inference_mode():
                batch = torch.stack(images).to(device)
                captions = iter(model.generate({"image": batch, "prompt": prompt}, **generate))
            for row in rows:
                if "error" not in row:
                    row["caption"] = str(next(captions)).strip()
        with open(out, "a") as fh:
            fh.write("".join(json.dumps(r) + "\n" for r in rows))
            fh.flush()
            os.fsync(fh.fileno())
        return len(rows)

    batched(run, len(todo), int(o.get("micro_batch", 8)), lambda n: s.progress(len(done) + n, len(paths), "image"))
    took = time.monotonic() - loaded
    s.report(
        model="lavis:" + (o.get("model_type") or "pretrain_opt2.7b"),
        images=len(paths),
        resumed=len(done),
        captioned=len(todo) - errors,
        unreadable=errors,
        load_s=round(loaded - start, 3),
        caption_s=round(took, 3),
        images_per_s=round(len(todo) / took, 3) if todo and took > 0 else None,
    )
    s.log(f"lavis: captioned {len(todo) - errors} images in {took:.1f}s ({errors} unreadable)")


if __name__ == "__main__":
    with session() as current:
        caption_all(current)
