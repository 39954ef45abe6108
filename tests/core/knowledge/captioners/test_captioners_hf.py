"""BLIP-2 and a transformers VLM from tiny configs through from_pretrained on a local folder: batched
generation equals one-at-a-time generation (left padding right), and the captions stage end to end."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from unibind_core.core.settings import Settings
from unibind_core.knowledge.captioners import CaptionConfig, CaptionRequest
from unibind_core.knowledge.captioners.blip2 import Blip2Model
from unibind_core.knowledge.captioners.hf_audio import HFAudioModel
from unibind_core.knowledge.captioners.hf_vlm import HFVisionModel
from unibind_core.knowledge.kb import clip_token_count
from unibind_core.stages.knowledge import caption_rows, captions_shard, stage_captions
from unibind_core.storage.tables import CAPTION_QUARANTINE, CAPTIONS

PROMPTS = [
    "Generate a detailed description of this photo",
    "Describe",
    "What is in this busy street photo today?",
    "Generate a detailed description of this event camera recording",
]


def _requests(attempt: int = 0) -> list[CaptionRequest]:
    images = [
        Image.fromarray((np.random.default_rng(i).random((24 + 8 * i, 40, 3)) * 255).astype(np.uint8))
        for i in range(len(PROMPTS))
    ]
    return [CaptionRequest(f"k{i}:0", p, (im,), attempt=attempt) for i, (p, im) in enumerate(zip(PROMPTS, images))]


def _answers(model, requests, batch_size: int) -> tuple[list[tuple[str, int]], float]:
    model.batch_size = batch_size
    start = time.perf_counter()
    out = {r.key: (reply.text, reply.tokens_out) for r, reply in model.generate(requests)}
    return [out[r.key] for r in requests], time.perf_counter() - start


def test_blip2_batched_generation_equals_one_at_a_time(tiny_blip2):
    model = Blip2Model(str(tiny_blip2), device="cpu", max_new_tokens=8)
    assert model.processor.tokenizer.padding_side == "left" and model.prompt_in_output
    batched, t_batched = _answers(model, _requests(), 4)
    single, t_single = _answers(model, _requests(), 1)
    assert batched == single and any(text for text, _ in batched)
    print(f"blip2 tiny: batched {len(PROMPTS) / t_batched:.1f} captions/s, one at a time {len(PROMPTS) / t_single:.1f}")
    sampled, _ = _answers(model, _requests(attempt=1), 4)  # a retry samples (seeded): reproducible
    assert sampled == _answers(model, _requests(attempt=1), 4)[0]


def test_a_transformers_vlm_batched_equals_one_at_a_time(tiny_llava):
    model = HFVisionModel(str(tiny_llava), device="cpu", max_new_tokens=8)
    assert "<|user|><image>" in model.render(_requests()[0])  # the chat template places the image
    batched, _ = _answers(model, _requests(), 4)
    single, _ = _answers(model, _requests(), 1)
    assert batched == single


def test_an_audio_lm_captions_waveforms_batched_as_one_at_a_time(world, tiny_qwen2_audio):
    model = HFAudioModel(str(tiny_qwen2_audio), device="cpu", max_new_tokens=6)
    assert model.info.accepts_audio
    rng = np.random.default_rng(0)
    requests = [
        CaptionRequest(f"a{i}:0", PROMPTS[0], audio=rng.uniform(-1, 1, 8000 * (i + 1)).astype(np.float32))
        for i in range(3)
    ]
    batched, _ = _answers(model, requests, 3)
    assert batched == _answers(model, requests, 1)[0]
    replies = [reply for _, reply in model.generate(requests)]
    lengths = [r.tokens_in for r in replies]  # the audio slot grows with the sound: 0.5 s, 1 s, 1.5 s
    assert lengths[0] < lengths[1] < lengths[2]
    s = Settings(
        data_root=world,
        profile="demo",
        captioner="hf_audio",
        device="cpu",
        caption=CaptionConfig(model=str(tiny_qwen2_audio), max_new_tokens=6, batch_size=16, keep_truncated=True),
    )  # 6 tokens: every answer reaches the budget
    result = stage_captions(s, "demo_audio")  # the auto view gives an audio model the waveform
    meta = result.metadata  # a random tiny model may have a sample flagged: it is asked, not captioned
    assert meta["asked_new"] == caption_rows(s, "demo_audio") == meta["captioned_new"] + meta["without_caption"]
    assert meta["without_caption"] == meta["flagged"] + meta["quarantined"] and meta["rows"] == meta["captioned_new"]


def _blip2_settings(root, model, **options) -> Settings:
    caption = CaptionConfig(model=str(model), max_new_tokens=6, batch_size=16, keep_truncated=True, **options)
    return Settings(data_root=root, profile="demo", captioner="blip2", caption=caption, device="cpu")


def test_blip2_captions_a_benchmark_caches_them_and_shares_paired_rgb_frames(world, tiny_blip2):
    s = _blip2_settings(world, tiny_blip2)
    first = stage_captions(s, "demo_image")
    table = CAPTIONS.read(s.layout.captions("demo_image"))
    assert first.metadata["captioned_new"] == table.num_rows == first.metadata["rows"] > 0
    assert set(table["Source"].to_pylist()) == {f"mllm:{tiny_blip2.name}"}
    assert all(clip_token_count(t) <= 75 for t in table["Description"].to_pylist())
    assert first.metadata["captions_per_s"] > 0 and first.metadata["tokens_out"] > 0
    # a random tiny model may have every answer for a sample judged unusable: flagged and counted, never a caption
    flagged = CAPTION_QUARANTINE.read(s.layout.caption_quarantine("demo_image"))
    assert set(flagged["kind"].to_pylist()) <= {"flagged"}
    assert first.metadata["without_caption"] == flagged.num_rows < table.num_rows
    assert first.metadata["asked_new"] == table.num_rows + flagged.num_rows

    again = stage_captions(s, "demo_image")  # a rerun: every sample from the cache (a flagged one too)
    assert again.metadata["captioned_new"] == 0 and again.metadata["cache_hits"] == table.num_rows + flagged.num_rows
    assert again.data_version == first.data_version

    event = stage_captions(s, "demo_event")  # N-Caltech101's twin: its paired RGB frames were captioned already
    assert event.metadata["captioned_new"] == 0
    assert event.metadata["cache_hits"] == event.metadata["rows"] + event.metadata["without_caption"]
    events = CAPTIONS.read(s.layout.captions("demo_event"))
    assert set(events["prompt"].to_pylist()) == {"Generate a detailed description of this photo"}


@pytest.mark.slow  # shard steps of a captioner: ~8 s
def test_shards_fanned_out_fill_the_cache_the_stage_then_reads(world, tiny_blip2):
    s = _blip2_settings(world, tiny_blip2)
    n = caption_rows(s, "demo_thermal")
    parts = [captions_shard(s, "demo_thermal", a, min(a + 5, n)) for a in range(0, n, 5)]
    assert sum(p["stop"] - p["start"] for p in parts) == n and all(
        p["asked_new"] == p["stop"] - p["start"] for p in parts
    )
    with pytest.raises(ValueError, match="not a shard"):  # a range past the end is a stale plan, not clamped
        captions_shard(s, "demo_thermal", n - 1, n + 4)
    assert not s.layout.captions("demo_thermal").exists()  # a shard writes no captions table
    result = stage_captions(s, "demo_thermal")
    assert result.metadata["captioned_new"] == 0 and result.metadata["cache_hits"] == n
    # a random tiny model may have a sample's answers all judged unusable: flagged, cached like a caption
    assert result.metadata["rows"] + result.metadata["without_caption"] == n
