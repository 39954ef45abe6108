"""`unibind embed` in-process: a user's files and texts through the pipeline's own code path, so the vectors
it writes equal the data_embeddings features (and text embeddings) of the same files; clear one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.core.encoders.backbone.tiny_models import (
    TINY_OPEN_CLIP,
    save_tiny_clap,
    save_tiny_open_clip,
)
from tests.helpers.layouts import write_esc50
from unibind_core.core.settings import Settings
from unibind_core.stages.data import stage_features, stage_manifest
from unibind_core.storage.tables import EMBEDDED, FEATURES, InputKind

runner = CliRunner()


@pytest.fixture(scope="module")
def photos() -> list[Path]:
    """The two JPEG photos scikit-learn ships (china.jpg, flower.jpg): real camera images."""
    from sklearn.datasets import load_sample_images

    return [Path(f) for f in load_sample_images().filenames]


@pytest.fixture(scope="module")
def open_clip_weights(tmp_path_factory) -> Path:
    return save_tiny_open_clip(tmp_path_factory.mktemp("embed_open_clip"))


def _embed(args: list[str], out: Path):
    return runner.invoke(app, ["embed", *args, "--out", str(out)])


def test_image_vectors_equal_the_pipelines_features_and_texts_its_text_tower(tmp_path, photos, open_clip_weights):
    data = tmp_path / "data"
    top = data / "datasets" / "caltech101" / "101_ObjectCategories"
    copies = []
    for k, photo in enumerate(photos * 3):  # a Caltech-101 copy holding the photos: the pipeline's features
        (top / f"class{k % 2}").mkdir(parents=True, exist_ok=True)
        copies.append(shutil.copy(photo, top / f"class{k % 2}" / f"image_{k:04d}.jpg"))
    s = Settings(
        data_root=data,
        backbone="open_clip",
        backbone_model=TINY_OPEN_CLIP,
        backbone_weights=str(open_clip_weights),
        device="cpu",
        batch_size=4,
        reader_options=json.dumps({"caltech101": {"classnames": None}}),
    )
    stage_manifest(s, "caltech101")
    stage_features(s, "caltech101")
    rows, features = FEATURES.read_vectors(s.layout.features("caltech101"), ("sample_id",))
    by_id = dict(zip(rows["sample_id"].to_pylist(), features))

    out = tmp_path / "out.parquet"
    result = _embed(
        [
            "--backbone",
            "open_clip",
            "--model",
            TINY_OPEN_CLIP,
            "--weights",
            str(open_clip_weights),
            "--device",
            "cpu",
            "--modality",
            "image",
            "--benchmark",
            "caltech101",
            *map(str, copies),
            "--text",
            "a photo of a flower",
            "--text",
            "a photo of a city",
        ],
        out,
    )
    assert result.exit_code == 0, result.output
    table, vectors = EMBEDDED.read_vectors(out, ("kind", "path", "text", "backbone"))
    assert table["kind"].to_pylist() == [InputKind.FILE] * len(copies) + [InputKind.TEXT] * 2
    assert table["path"].to_pylist()[: len(copies)] == [str(Path(c).resolve()) for c in copies]
    assert set(table["backbone"].to_pylist()) == {FEATURES.stamp(s.layout.features("caltech101"), "unibind_space")}
    expected = np.stack([by_id[f"{Path(c).parent.name}/{Path(c).stem}"] for c in copies])
    np.testing.assert_allclose(vectors[: len(copies)], expected, atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])  # two different photos
    from unibind_core.encoders.backbone.select import text_tower

    np.testing.assert_allclose(
        vectors[len(copies) :], text_tower(s, "image").encode(["a photo of a flower", "a photo of a city"]), atol=1e-6
    )


def test_audio_vectors_through_clap_equal_the_pipelines_features(tmp_path):
    clap = save_tiny_clap(tmp_path)
    data = tmp_path / "data"
    root = write_esc50(data / "datasets" / "ESC-50-master", classes=(0, 1), per_class=2)
    for k, wav in enumerate(sorted((root / "audio").iterdir())):  # a tone per clip (the fixture writes silence)
        import wave

        t = np.arange(8000) / 8000
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
            w.writeframes((0.4 * np.sin(2 * np.pi * (220 + 110 * k) * t) * 32767).astype(np.int16).tobytes())
    s = Settings(
        data_root=data,
        backbone="clap",
        backbone_model=str(clap),
        device="cpu",
        batch_size=4,
        reader_options=json.dumps({"esc50": {"classnames": None}}),
    )
    stage_manifest(s, "esc50")
    stage_features(s, "esc50")
    rows, features = FEATURES.read_vectors(s.layout.features("esc50"), ("sample_id",))
    wavs = sorted((root / "audio").iterdir())
    out = tmp_path / "audio.parquet"
    result = _embed(
        [
            "--backbone",
            "clap",
            "--model",
            str(clap),
            "--device",
            "cpu",
            "--modality",
            "audio",
            "--benchmark",
            "esc50",
            *map(str, wavs),
        ],
        out,
    )
    assert result.exit_code == 0, result.output
    _, vectors = EMBEDDED.read_vectors(out, ("path",))
    by_id = dict(zip(rows["sample_id"].to_pylist(), features))
    np.testing.assert_allclose(vectors, np.stack([by_id[w.stem] for w in wavs]), atol=1e-5)


def test_clear_errors_for_an_unknown_backbone_a_bad_file_and_a_modality_the_backbone_lacks(
    tmp_path, photos, open_clip_weights
):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    tiny = ["--model", TINY_OPEN_CLIP, "--weights", str(open_clip_weights), "--device", "cpu"]
    cases = (
        (["--backbone", "imagebindx", "--modality", "image", str(photos[0])], "unknown backbone 'imagebindx'; known:"),
        (
            ["--backbone", "open_clip", *tiny, "--modality", "image", str(photos[0]), str(broken)],
            f"1 of 2 files did not decode as image: {broken}: cannot decode",
        ),
        (
            ["--backbone", "open_clip", *tiny, "--modality", "audio", str(photos[0])],
            "backbone 'open_clip' does not embed audio",
        ),
        (["--backbone", "open_clip", *tiny, "--modality", "image", str(tmp_path / "nope.jpg")], "no such file"),
        (["--backbone", "open_clip", *tiny, str(photos[0])], "--modality is required"),
    )
    for args, expected in cases:
        result = _embed(args, tmp_path / "x.parquet")
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.parquet").exists()
