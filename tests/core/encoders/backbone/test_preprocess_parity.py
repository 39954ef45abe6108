"""Parity with each library's own pipeline on inputs as users have them (issue 18): the same tiny random
weights on both sides, our path (Settings -> load_backbone -> embed through the loaders; the `unibind embed`
CLI; the data_embeddings stage) against open_clip's `create_model_and_transforms` + `preprocess`,
transformers' CLIPProcessor + CLIPModel and ClapProcessor + ClapModel, cosine >= 0.9999 per row.

"The library's own pipeline" starts where CLIP_benchmark (torchvision's pil_loader) starts: Pillow's
`Image.open(path).convert("RGB")`, no EXIF transpose; 16-bit images scaled by their full range to 8 bits
(where `convert` would clip them white: docs/method.md §4); audio read with scipy, averaged to mono and
resampled with scipy's `resample_poly` (Kaiser 5.0, its default) to the feature extractor's rate, the random
crop of a long clip drawn with numpy seeded to 0, one clip per processor call.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import wavfile
from scipy.signal import resample_poly
from tiny_models import TINY_OPEN_CLIP_CFG
from typer.testing import CliRunner

from unibind_core.core.settings import Settings
from unibind_core.encoders.backbone.hf_clip import unwrap
from unibind_core.encoders.backbone.select import load_backbone
from unibind_core.encoders.embed_files import embed_files
from unibind_core.stages.data import stage_features, stage_manifest
from unibind_core.storage.tables import EMBEDDED, FEATURES

MIN_COSINE = 0.9999
WORST: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)  # (backbone, input kind) -> worst cosine


def _texture(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    """Noise over a gradient: fine detail, so a wrong resize or crop shows."""
    ramp = np.linspace(0, 1, w)[None, :, None] * np.linspace(0.3, 1, h)[:, None, None]
    return np.clip(0.6 * ramp + 0.4 * rng.random((h, w, c)), 0, 1)


def _write_images(folder: Path) -> dict[str, Path]:
    """One file per input kind a user has (names are the kinds); skimage's bundled photos among them."""
    import skimage.data

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)

    def rgb(h: int, w: int) -> Image.Image:
        return Image.fromarray((_texture(rng, h, w, 3) * 255).astype(np.uint8), "RGB")

    out = {}

    def save(kind: str, img: Image.Image, suffix: str, **kw) -> None:
        out[kind] = folder / f"{kind}{suffix}"
        img.save(out[kind], **kw)

    save("portrait", rgb(140, 60), ".png")
    save("landscape", rgb(70, 180), ".jpg", quality=90)
    save("tiny", rgb(6, 9), ".png")
    save("large", rgb(1100, 1500), ".jpg", quality=85)
    save("greyscale", Image.fromarray((_texture(rng, 50, 90, 1)[..., 0] * 255).astype(np.uint8), "L"), ".png")
    save("rgba", Image.fromarray((_texture(rng, 110, 70, 4) * 255).astype(np.uint8), "RGBA"), ".png")
    save("cmyk_jpeg", rgb(80, 100).convert("CMYK"), ".jpg", quality=95)
    save("png16", Image.fromarray((_texture(rng, 90, 120, 1)[..., 0] * 65535).astype(np.uint16)), ".png")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    save("exif_rotated", rgb(130, 80), ".jpg", exif=exif, quality=90)
    for name in ("astronaut", "coffee", "chelsea", "camera", "rocket"):
        save(f"skimage_{name}", Image.fromarray(getattr(skimage.data, name)()), ".png")
    return out


def reference_image(path: Path, mode: str = "RGB") -> Image.Image:
    """What the library's own pipeline is handed: pil_loader's `convert("RGB")`, 16-bit scaled by full range;
    `mode` "L": a benchmark that reads grey images (loader option channels=1), Pillow's luma replicated."""
    with Image.open(path) as img:
        img.load()
        if img.mode.startswith("I"):
            img = Image.fromarray(np.round(np.asarray(img, np.float64) / 65535 * 255).astype(np.uint8), "L")
        return img.convert(mode).convert("RGB")


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    return _write_images(tmp_path_factory.mktemp("parity_images"))


@pytest.fixture(scope="module", autouse=True)
def parity_table():
    """Prints backbone x input kind x worst cosine (pytest -s) after the module's tests."""
    yield
    print("\nparity: backbone | input kind | worst cosine")
    for (backbone, kind), cos in sorted(WORST.items()):
        print(f"parity: {backbone} | {kind} | {cos:.7f} | 1-cos {max(1 - cos, 0):.1e}")


def _check(backbone: str, kinds: list[str], ours: np.ndarray, reference: np.ndarray) -> None:
    ours, reference = torch.as_tensor(ours).float(), torch.as_tensor(reference).float()
    cos = torch.nn.functional.cosine_similarity(ours, reference, dim=-1)
    for kind, c in zip(kinds, cos.tolist()):
        WORST[(backbone, kind)] = min(WORST[(backbone, kind)], c)
    bad = {k: round(c, 6) for k, c in zip(kinds, cos.tolist()) if c < MIN_COSINE}
    assert not bad, f"{backbone}: cosine below {MIN_COSINE}: {bad}"


# --- open_clip ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def open_clip_library(name: str, pretrained: str | None):
    """open_clip's own (model, preprocess), built once per model for the module."""
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
    return model.eval(), preprocess


@lru_cache(maxsize=8)
def hf_clip_library(folder: Path):
    from transformers import CLIPModel, CLIPProcessor

    return CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)


def _open_clip_reference(name: str, pretrained: str | None, paths: list[Path], mode: str = "RGB") -> np.ndarray:
    model, preprocess = open_clip_library(name, pretrained)
    with torch.inference_mode():
        x = torch.stack([preprocess(reference_image(p, mode)) for p in paths])
        return model.encode_image(x, normalize=True).numpy()


def _local_dir(folder: Path, weights: Path, preprocess_cfg: dict) -> Path:
    """The hub layout on disk (open_clip_config.json + open_clip_model.safetensors) with its own preprocess_cfg."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": TINY_OPEN_CLIP_CFG, "preprocess_cfg": preprocess_cfg})
    )
    state = torch.load(weights, weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "open_clip_model.safetensors"))
    return folder


def test_open_clip_equals_create_model_and_transforms_on_every_image_kind(tmp_path, images, tiny_open_clip):
    name, weights = tiny_open_clip
    kinds, paths = list(images), list(images.values())
    s = Settings(
        data_root=tmp_path,
        backbone="open_clip",
        backbone_model=name,
        backbone_weights=str(weights),
        device="cpu",
        batch_size=4,
    )
    reference = _open_clip_reference(name, str(weights), paths)
    _check("open_clip", kinds, embed_files(s, "image", paths, {}), reference)
    assert load_backbone(s, "image").model_inputs([reference_image(paths[0])]).shape == (1, 3, 32, 32)


@pytest.mark.parametrize(
    "preprocess_cfg",
    [
        {"resize_mode": "squash", "interpolation": "bilinear", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        {"resize_mode": "longest", "interpolation": "bicubic", "fill_color": 0},
    ],
    ids=["squash-bilinear", "longest-pad"],
)
def test_open_clip_follows_a_local_dir_preprocess_cfg(tmp_path, images, tiny_open_clip, preprocess_cfg):
    """A model folder's own preprocess_cfg (resize mode, interpolation, mean/std) as `backbone_weights`."""
    _, weights = tiny_open_clip
    folder = _local_dir(tmp_path / "model", weights, preprocess_cfg)
    kinds, paths = list(images), list(images.values())
    s = Settings(data_root=tmp_path, backbone="open_clip", backbone_weights=str(folder), device="cpu", batch_size=8)
    ours = embed_files(s, "image", paths, {})
    _check(
        f"open_clip local-dir {preprocess_cfg['resize_mode']}",
        kinds,
        ours,
        _open_clip_reference(f"local-dir:{folder}", None, paths),
    )
    default = _open_clip_reference(tiny_open_clip[0], str(weights), paths)
    assert torch.nn.functional.cosine_similarity(torch.from_numpy(ours), torch.from_numpy(default)).min() < 0.999


# --- hf_clip -----------------------------------------------------------------------------------------


def _hf_clip_reference(folder: Path, paths: list[Path]) -> np.ndarray:
    model, processor = hf_clip_library(folder)
    with torch.inference_mode():
        inputs = processor(images=[reference_image(p) for p in paths], return_tensors="pt")
        return torch.nn.functional.normalize(unwrap(model.get_image_features(**inputs)), dim=-1).numpy()


def _restyled_processor(folder: Path, out: Path) -> Path:
    """The same tiny weights with another saved image processor: larger shortest edge, bilinear, own mean/std."""
    from transformers import CLIPImageProcessor

    shutil.copytree(folder, out)
    CLIPImageProcessor(
        size={"shortest_edge": 45},
        crop_size={"height": 32, "width": 32},
        resample=2,
        image_mean=[0.4, 0.5, 0.6],
        image_std=[0.2, 0.3, 0.25],
    ).save_pretrained(out)
    return out


@pytest.mark.parametrize("restyled", [False, True], ids=["saved-processor", "restyled-processor"])
def test_hf_clip_equals_clip_processor_and_model_on_every_image_kind(tmp_path, images, tiny_hf_clip, restyled):
    folder = _restyled_processor(tiny_hf_clip, tmp_path / "restyled") if restyled else tiny_hf_clip
    kinds, paths = list(images), list(images.values())
    s = Settings(data_root=tmp_path, backbone="hf_clip", backbone_model=str(folder), device="cpu", batch_size=4)
    _check(
        "hf_clip" + (" restyled" if restyled else ""),
        kinds,
        embed_files(s, "image", paths, {}),
        _hf_clip_reference(folder, paths),
    )


# --- clap --------------------------------------------------------------------------------------------

CLIPS = {  # kind -> (sample rate, seconds, channels, dtype): the tiny CLAP takes 8 kHz clips of at most 1 s
    "8k_0.3s": (8000, 0.3, 1, np.int16),
    "16k_1s": (16000, 1.0, 1, np.int16),
    "44.1k_2.5s_stereo": (44100, 2.5, 2, np.int16),
    "22.05k_0.7s_float": (22050, 0.7, 1, np.float32),
    "48k_1.6s": (48000, 1.6, 1, np.int16),
    "11.025k_4s": (11025, 4.0, 1, np.int16),
}


def _write_clips(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, (kind, (rate, seconds, channels, dtype)) in enumerate(CLIPS.items()):
        t = np.arange(int(rate * seconds)) / rate
        tone = 0.4 * np.sin(2 * np.pi * (300 + 250 * k) * t * (1 + 0.3 * t)) + 0.1 * rng.standard_normal(len(t))
        wave = np.clip(np.stack([tone * (0.5 + 0.5 * c) for c in range(channels)], 1).squeeze(), -1, 1)
        data = (wave * 32767).astype(np.int16) if dtype == np.int16 else wave.astype(np.float32)
        out[kind] = folder / f"{kind}.wav"
        wavfile.write(out[kind], rate, data)
    return out


def reference_waveform(path: Path, rate: int) -> np.ndarray:
    """scipy-read, averaged to mono, resample_poly'd to `rate` (independent of unibind's loader)."""
    source, data = wavfile.read(path)
    x = data / 32768.0 if data.dtype == np.int16 else data.astype(np.float64)
    x = x.mean(1) if x.ndim == 2 else x
    ratio = Fraction(rate, source)
    return resample_poly(x, ratio.numerator, ratio.denominator) if ratio != 1 else x


def _clap_reference(folder: Path, paths: list[Path]) -> np.ndarray:
    from transformers import ClapModel, ClapProcessor

    model, processor = ClapModel.from_pretrained(folder).eval(), ClapProcessor.from_pretrained(folder)
    rate = processor.feature_extractor.sampling_rate
    out = []
    with torch.inference_mode():
        for path in paths:
            np.random.seed(0)  # the random crop of a clip longer than the model's input
            inputs = processor(
                audio=reference_waveform(path, rate).astype(np.float32), sampling_rate=rate, return_tensors="pt"
            )
            out.append(
                unwrap(model.get_audio_features(input_features=inputs["input_features"], is_longer=inputs["is_longer"]))
            )
    return torch.nn.functional.normalize(torch.cat(out), dim=-1).numpy()


def _clap_variant(folder: Path, out: Path, **features) -> Path:
    """The same tiny weights with another saved feature extractor (padding mode)."""
    from transformers import ClapFeatureExtractor

    shutil.copytree(folder, out)
    base = ClapFeatureExtractor.from_pretrained(folder).to_dict()
    keep = ("feature_size", "sampling_rate", "hop_length", "fft_window_size", "truncation", "padding")
    ClapFeatureExtractor(**{**{k: base[k] for k in keep}, "max_length_s": 1, **features}).save_pretrained(out)
    return out


@pytest.mark.parametrize(
    "variant", [{}, {"padding": "pad"}, {"padding": "repeat"}], ids=["rand_trunc-repeatpad", "pad", "repeat"]
)
def test_clap_equals_clap_processor_and_model_on_clips_of_many_lengths_and_rates(tmp_path, tiny_clap, variant):
    folder = _clap_variant(tiny_clap, tmp_path / "variant", **variant) if variant else tiny_clap
    clips = _write_clips(tmp_path / "clips")
    kinds, paths = list(clips), list(clips.values())
    s = Settings(data_root=tmp_path, backbone="clap", backbone_model=str(folder), device="cpu", batch_size=4)
    ours = embed_files(s, "audio", paths, {"sample_rate": 16000, "num_samples": 16000})  # a benchmark's: overridden
    _check("clap " + (variant.get("padding") or "repeatpad"), kinds, ours, _clap_reference(folder, paths))


def test_long_clips_are_cropped_the_same_way_whatever_their_batch(tmp_path, tiny_clap):
    from unibind_core.encoders.backbone.clap import ClapBackbone

    clap = ClapBackbone(str(tiny_clap), device="cpu", batch_size=2)
    clips = [
        torch.from_numpy(reference_waveform(p, 8000).astype(np.float32))
        for p in _write_clips(tmp_path / "clips").values()
    ]
    together = clap.embed("audio", clips, {"sample_rate": 8000})
    alone = torch.cat([clap.embed("audio", [c], {"sample_rate": 8000}) for c in reversed(clips)]).flip(0)
    torch.testing.assert_close(together, alone)
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    clap.embed("audio", clips[-1:], {"sample_rate": 8000})
    assert (np.random.get_state()[1] == state).all()  # the caller's numpy generator is left as it was


# --- the CLI and the data_embeddings stage -----------------------------------------------------------


def test_the_data_embeddings_asset_equals_open_clips_own_pipeline(tmp_path, images, tiny_open_clip):
    """Dagster materializes demo_world, benchmark_manifest and data_embeddings (plan, shard, assemble) of the
    demo_image partition with open_clip, after the files of the first manifest rows were replaced by the
    images users have: their features equal open_clip's own pipeline on them, read as grey images (the
    demo benchmark's loader option channels=1; its `size` gives way to the native size open_clip asks for)."""
    import dagster as dg

    from assets.resources import UnibindResource
    from pipelines.definitions import ALL_ASSETS
    from unibind_core.data.benchmarks.build import dataset_root
    from unibind_core.stages.common import read_manifest, spec_of

    name, weights = tiny_open_clip
    resource = UnibindResource(
        data_root=str(tmp_path / "data"),
        backbone="open_clip",
        backbone_model=name,
        backbone_weights=str(weights),
        device="cpu",
        batch_size=8,
        demo_max_per_class=4,
    )
    s, bench = resource.settings(), "demo_image"
    with dg.DagsterInstance.ephemeral() as instance:

        def run(asset: str, partition: str | None) -> None:
            assert dg.materialize(
                ALL_ASSETS,
                selection=[asset],
                partition_key=partition,
                instance=instance,
                resources={"unibind": resource},
                raise_on_error=True,
            ).success

        run("demo_world", None)
        run("benchmark_manifest", bench)
        root = dataset_root(spec_of(bench), s.layout.datasets)
        rows = read_manifest(s, bench).to_pylist()[: len(images)]
        for row, path in zip(rows, images.values()):
            shutil.copy(path, root / row["path"])
        run("data_embeddings", bench)
        event = instance.get_latest_materialization_event(dg.AssetKey("data_embeddings")).asset_materialization
        assert event.partition == bench and event.metadata["backbone_id"].value.startswith("open_clip:")
    table, features = FEATURES.read_vectors(s.layout.features(bench), ("sample_id",))
    by_id = dict(zip(table["sample_id"].to_pylist(), features))
    _check(
        "open_clip asset",
        list(images),
        np.stack([by_id[r["sample_id"]] for r in rows]),
        _open_clip_reference(name, str(weights), [root / r["path"] for r in rows], mode="L"),
    )
    assert spec_of(bench).loader_options["channels"] == 1


@pytest.mark.slow  # the CLI in a subprocess: ~9 s
def test_the_cli_and_the_features_stage_equal_the_libraries(tmp_path, images, tiny_open_clip, tiny_hf_clip, tiny_clap):
    """`unibind embed` and stage_features (the data_embeddings asset's stage) on a Caltech-101 copy of the
    images and an ESC-50 copy of the clips, each against the library's own pipeline."""
    from pipelines.cli import app
    from tests.helpers.layouts import write_esc50

    name, weights = tiny_open_clip
    data = tmp_path / "data"
    top = data / "datasets" / "caltech101" / "101_ObjectCategories"
    copies = {}
    for k, (kind, path) in enumerate(images.items()):
        (top / f"class{k % 2}").mkdir(parents=True, exist_ok=True)
        copies[kind] = Path(shutil.copy(path, top / f"class{k % 2}" / f"image_{k:04d}{path.suffix}"))
    kinds, paths = list(copies), list(copies.values())
    runner = CliRunner()
    for backbone, model_args, reference in (
        (
            "open_clip",
            {"backbone_model": name, "backbone_weights": str(weights)},
            lambda: _open_clip_reference(name, str(weights), paths),
        ),
        ("hf_clip", {"backbone_model": str(tiny_hf_clip)}, lambda: _hf_clip_reference(tiny_hf_clip, paths)),
    ):
        expected = reference()
        s = Settings(
            data_root=data,
            backbone=backbone,
            device="cpu",
            batch_size=4,
            reader_options=json.dumps({"caltech101": {"classnames": None}}),
            **model_args,
        )
        stage_manifest(s, "caltech101")
        stage_features(s, "caltech101")
        rows, features = FEATURES.read_vectors(s.layout.features("caltech101"), ("sample_id",))
        by_id = dict(zip(rows["sample_id"].to_pylist(), features))
        _check(f"{backbone} stage", kinds, np.stack([by_id[f"{p.parent.name}/{p.stem}"] for p in paths]), expected)
        out = tmp_path / f"{backbone}.parquet"
        weights_args = ["--weights", str(weights)] if backbone == "open_clip" else []
        cli = ["--model", model_args["backbone_model"], *weights_args]
        result = runner.invoke(
            app,
            [
                "embed",
                "--backbone",
                backbone,
                *cli,
                "--device",
                "cpu",
                "--modality",
                "image",
                "--benchmark",
                "caltech101",
                *map(str, paths),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        _check(f"{backbone} cli", kinds, EMBEDDED.read_vectors(out, ("path",))[1], expected)

    root = write_esc50(data / "datasets" / "ESC-50-master", classes=(0, 1), per_class=3)
    wavs = sorted((root / "audio").iterdir())
    for wav, clip in zip(wavs, _write_clips(tmp_path / "clips").values()):
        shutil.copy(clip, wav)
    s = Settings(
        data_root=data,
        backbone="clap",
        backbone_model=str(tiny_clap),
        device="cpu",
        batch_size=4,
        reader_options=json.dumps({"esc50": {"classnames": None}}),
    )
    stage_manifest(s, "esc50")
    stage_features(s, "esc50")
    rows, features = FEATURES.read_vectors(s.layout.features("esc50"), ("sample_id",))
    by_id = dict(zip(rows["sample_id"].to_pylist(), features))
    expected = _clap_reference(tiny_clap, wavs)
    _check("clap stage", list(CLIPS), np.stack([by_id[w.stem] for w in wavs]), expected)
    out = tmp_path / "clap.parquet"
    result = runner.invoke(
        app,
        [
            "embed",
            "--backbone",
            "clap",
            "--model",
            str(tiny_clap),
            "--device",
            "cpu",
            "--modality",
            "audio",
            "--benchmark",
            "esc50",
            *map(str, wavs),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    _check("clap cli", list(CLIPS), EMBEDDED.read_vectors(out, ("path",))[1], expected)


# --- the other viewed modalities: the view's images, then the model's own step -----------------------


def _write_video(path: Path, frames: int = 10, h: int = 36, w: int = 60) -> None:
    import av

    rng = np.random.default_rng(2)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for t in range(frames):
            pixels = (_texture(rng, h, w, 3) * 255).astype(np.uint8)
            pixels[:, (5 * t) % w :] //= 2
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))


def _library(backbone: str, tiny_open_clip, tiny_hf_clip):
    """(Settings kwargs, the library's own image pipeline: PIL images -> (N, D) unit vectors)."""
    if backbone == "open_clip":
        name, weights = tiny_open_clip
        model, preprocess = open_clip_library(name, str(weights))
        return (
            {"backbone_model": name, "backbone_weights": str(weights)},
            lambda ims: model.encode_image(torch.stack([preprocess(i) for i in ims]), normalize=True),
        )
    model, processor = hf_clip_library(tiny_hf_clip)
    return (
        {"backbone_model": str(tiny_hf_clip)},
        lambda ims: torch.nn.functional.normalize(
            unwrap(model.get_image_features(**processor(images=ims, return_tensors="pt"))), dim=-1
        ),
    )


def _mean_of_views(embed, views: list[list[Image.Image]]) -> np.ndarray:
    with torch.inference_mode():
        return torch.nn.functional.normalize(torch.stack([embed(v).mean(0) for v in views]), dim=-1).numpy()


def _eight_bit(image: np.ndarray) -> Image.Image:
    """(3, H, W) in [0, 1] -> what saving the view as an 8-bit PNG gives."""
    return Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0), "RGB")


@pytest.mark.parametrize("backbone", ["open_clip", "hf_clip"])
def test_video_thermal_event_and_point_views_go_through_the_models_own_step(
    tmp_path, backbone, tiny_open_clip, tiny_hf_clip
):
    import av

    from unibind_core.encoders.backbone.views import ViewConfig, apply_view

    settings, embed = _library(backbone, tiny_open_clip, tiny_hf_clip)
    s = Settings(data_root=tmp_path, backbone=backbone, device="cpu", batch_size=4, **settings)
    videos = []
    for k, (h, w) in enumerate(((36, 60), (50, 28))):
        videos.append(tmp_path / f"clip{k}.mp4")
        _write_video(videos[-1], h=h, w=w)
    ours = embed_files(s, "video", videos, {"frames": 4})
    reference = []
    for path in videos:  # 4 frames spread evenly, each through the library as a user would hand it over
        with av.open(str(path)) as container:
            frames = [f.to_image() for f in container.decode(video=0)]
        reference.append([frames[i] for i in np.rint(np.linspace(0, len(frames) - 1, 4)).astype(int)])
    _check(f"{backbone} video", ["video portrait+landscape"] * 2, ours, _mean_of_views(embed, reference))

    thermal = (_texture(np.random.default_rng(3), 70, 90, 1)[..., 0] * 65535).astype(np.uint16)
    Image.fromarray(thermal).save(tmp_path / "ir.png")
    backbone_ = load_backbone(s, "thermal")
    crop = load_sample_native(tmp_path, {"path": "ir.png", "box": [10, 5, 80, 45]}, s)
    crop_ref = Image.fromarray(np.round(thermal[5:45, 10:80] / 65535 * 255).astype(np.uint8), "L").convert("RGB")
    _check(
        f"{backbone} thermal 16-bit crop",
        ["thermal"],
        backbone_.embed("thermal", [crop]),
        _mean_of_views(embed, [[crop_ref]]),
    )

    views = ViewConfig()
    rng = torch.Generator().manual_seed(4)
    for modality, batch in (
        ("event", torch.poisson(torch.rand(2, 2, 34, 34, generator=rng) * 3)),
        ("point", torch.rand(2, 256, 3, generator=rng) * 2 - 1),
    ):
        images = apply_view(modality, batch, views).numpy()  # (B, V, 3, R, R)
        expected = _mean_of_views(embed, [[_eight_bit(im) for im in sample] for sample in images])
        _check(f"{backbone} {modality} view", [modality] * len(batch), backbone_.embed(modality, batch), expected)


def load_sample_native(root: Path, row: dict, s: Settings) -> torch.Tensor:
    """A thermal crop decoded with the loader options the configured backbone asks for."""
    from unibind_core.data.modalities import load_sample
    from unibind_core.encoders.backbone.select import loader_options

    return load_sample("thermal", root, row, **loader_options(s, "thermal"))


def test_loader_options_and_features_key_follow_the_backbones_own_step(tmp_path, tiny_open_clip, tiny_clap):
    """open_clip asks for native-size images, thermal crops and frames and names its input step in the features
    key (event and point inputs decode as before); CLAP asks for whole clips at its rate; ImageBind and the
    demo ask for nothing new, so their inputs and features keys are what they were."""
    from unibind_core.encoders.backbone.select import features_key_parts, loader_options

    name, weights = tiny_open_clip
    s = Settings(data_root=tmp_path, backbone="open_clip", backbone_model=name, backbone_weights=str(weights))
    assert [loader_options(s, m) for m in ("image", "thermal", "video", "event")] == [{"size": None}] * 3 + [{}]
    assert json.loads(features_key_parts(s, "event")[1])["input_step"] == "library-preprocess"
    clap = Settings(data_root=tmp_path, backbone="clap", backbone_model=str(tiny_clap))
    assert loader_options(clap, "audio") == {"sample_rate": 8000, "num_samples": None}
    imagebind = Settings(data_root=tmp_path, backbone="imagebind")
    assert loader_options(imagebind, "image") == {} and "input_step" not in features_key_parts(imagebind, "event")[1]
