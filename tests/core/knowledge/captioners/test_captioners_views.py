"""Caption views are deterministic and identify what the model sees; the judge refuses bad answers and
keeps captions within 75 CLIP BPE tokens; the manifest captioner writes the manifest's captions as before."""

from __future__ import annotations

import io

import pytest

from unibind_core.core.settings import Settings
from unibind_core.data.benchmarks.build import dataset_root
from unibind_core.encoders.backbone.views import ViewConfig
from unibind_core.knowledge.captioners import CaptionConfig, CaptionJob
from unibind_core.knowledge.captioners.judge import judge, merge, shorten
from unibind_core.knowledge.captioners.views import CAPTION_VIEWS, ViewContext, view_for
from unibind_core.knowledge.kb import clip_token_count
from unibind_core.knowledge.llm.cache import Reply
from unibind_core.stages.common import spec_of
from unibind_core.stages.knowledge import caption_rows, stage_captions
from unibind_core.storage.tables import CAPTIONS, MANIFEST

CFG = CaptionConfig(keyframes=3, render_size=48)


def _job(root, bench: str) -> CaptionJob:
    spec = spec_of(bench)
    datasets = root / "datasets"
    paired = dataset_root(spec_of(spec.paired_benchmark), datasets) if spec.paired_benchmark else None
    return CaptionJob(spec, dataset_root(spec, datasets), paired)


def _png(viewed) -> list[bytes]:
    out = []
    for im in viewed.images:
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


@pytest.mark.parametrize(
    "bench, view, images",
    [
        ("demo_image", "image", 1),
        ("demo_event", "paired_rgb", 1),
        ("demo_event", "event_frame", 1),
        ("demo_thermal", "thermal_image", 1),
        ("demo_video", "keyframes", 3),
        ("demo_pointcloud", "point_views", 3),
        ("demo_audio", "spectrogram", 1),
        ("demo_audio", "waveform", 0),
    ],
)
def test_every_view_renders_the_same_sample_the_same_way(demo_world, bench, view, images):
    job, ctx = _job(demo_world, bench), ViewContext(CFG, ViewConfig())
    row = MANIFEST.read(demo_world / "manifests" / f"{bench}.parquet").to_pylist()[0]
    v = CAPTION_VIEWS[view]()
    first, second = v.render(row, job, ctx), v.render(row, job, ctx)
    assert len(first.images) == images and _png(first) == _png(second)
    assert all(im.mode == "RGB" for im in first.images)
    if view == "waveform":
        assert first.audio.ndim == 1 and (first.audio == second.audio).all() and first.sample_rate == 16000
    assert v.identify(row, job, ctx) == v.identify(row, job, ctx)


def test_the_paired_rgb_frame_is_identified_as_that_image_and_missing_pairs_fall_back(demo_world):
    event, image = _job(demo_world, "demo_event"), _job(demo_world, "demo_image")
    ctx = ViewContext(CFG, ViewConfig())
    row = MANIFEST.read(demo_world / "manifests/demo_event.parquet").to_pylist()[0]
    twin = {"path": row["paired_path"], "box": None}  # the Caltech-101 twin's row
    paired = view_for("event", CFG).identify(row, event, ctx)
    assert paired.view_id == "image" and paired.noun == "photo"
    assert paired.sample_hash == CAPTION_VIEWS["image"]().identify(twin, image, ctx).sample_hash
    alone = view_for("event", CFG).identify({**row, "paired_path": None}, event, ctx)
    assert alone.view_id.startswith("event_frame:") and alone.noun == "event camera recording"
    assert view_for("audio", CFG).identify(row, event, ViewContext(CFG, ViewConfig(), accepts_audio=True)) is not None


def test_bad_answers_are_refused_and_long_captions_cut_at_a_word_boundary():
    prompt = "Generate a detailed description of this photo"
    assert judge(Reply(""), prompt).reason == "empty"
    assert judge(Reply(" ... "), prompt).reason == "empty"
    assert judge(Reply("Generate a detailed description of this photo."), prompt).reason == "repeats_prompt"
    assert judge(Reply("I'm sorry, I cannot describe this image."), prompt).reason == "refusal"
    assert judge(Reply("ok", refusal="no"), prompt).reason == "refusal"
    cut = "1. A brown dog lies on the grass. 2. Behind it a red"  # stopped at the answer budget
    assert judge(Reply(cut, finish_reason="length"), prompt).reason == "truncated"
    whole = cut.rsplit(" 2.", 1)[0]
    assert judge(Reply(whole, finish_reason="stop"), prompt).caption == "1. A brown dog lies on the grass."
    echo = judge(Reply("Generate a detailed description of this photo: a dog on grass"), prompt)
    assert echo.caption == "a dog on grass" and not echo.shortened
    long = " ".join(f"word{i} and another" for i in range(60))
    verdict = judge(Reply(long), prompt)
    assert verdict.shortened and clip_token_count(verdict.caption) <= 75
    assert long.startswith(verdict.caption) and long[len(verdict.caption)] == " "  # a whole-word prefix
    assert clip_token_count(shorten(verdict.caption + " more")) <= 75
    assert merge(["A dog.", "A dog.", "A cat"]) == ("A dog; A cat.", False)


def test_the_manifest_captioner_writes_the_manifests_captions_unchanged(world):
    s = Settings(data_root=world, profile="demo")
    for bench in ("demo_image", "demo_audio"):
        result = stage_captions(s, bench)
        table = CAPTIONS.read(s.layout.captions(bench))
        manifest = MANIFEST.read(s.layout.manifest(bench))
        shipped = dict(zip(manifest["sample_id"].to_pylist(), manifest["caption"].to_pylist()))
        assert table.num_rows == caption_rows(s, bench)  # ESC-50's twin is cross-validated: every sample
        assert table["Description"].to_pylist() == [shipped[i] for i in table["ID"].to_pylist()]
        assert set(table["Source"].to_pylist()) == {"manifest"} and result.metadata["without_caption"] == 0
        noun = spec_of(bench).prompt_noun
        assert set(table["prompt"].to_pylist()) == {f"Generate a detailed description of this {noun}"}
