"""Direct LanguageBind outputs for tests/core/encoders/external/test_languagebind_real.py, run with the `languagebind`
environment's interpreter: `python languagebind_direct.py <folder>`.

<folder>/model.json holds the tiny sizes: `text` and `vision` (CLIPTextConfig / CLIPVisionConfig keyword
arguments), `projection_dim`, and per modality the vision keywords that differ (`modalities`). This builds each
modality's model from the package's own config class with seed 0, saves it with `save_pretrained` into
<folder>/<modality>/ (and the image model's tokenizer, from <folder>/vocab.json and merges.txt, beside it):
what the backbone then loads. It writes <folder>/direct.npz: the in-memory models' own outputs, unit-normalized,
on inputs built from <folder>/inputs.npz (and texts.json) with the package's own preprocessing where it can run
here:

    text     LanguageBindImageTokenizer, 77 tokens, the image model's text tower
    image    PNG files through processing_image's load_and_transform_image / get_image_transform
    thermal  PNG files through processing_thermal's get_thermal_transform
    depth    our rendered views (in [0, 1]: past the package's DepthNorm, which reads raw depth files) through
             the rest of processing_depth's get_depth_transform
    video    the decord path of processing_video's load_and_transform_video (frames np.linspace(..., dtype=int))
             through its get_video_transform
    audio    processing_audio's AudioTransform, with its random chunk choice replaced by the first index of each
             range (the fixed variant the package leaves commented out, which the script follows)

processing_depth, processing_video and processing_audio cannot be imported here (cv2, pytorchvideo: see
languagebind_embed.py), so their functions are taken from the installed files' source (ast) and run as
written, with what they import supplied: torchvision's video transforms (what processing_video imports first),
pytorchvideo 0.1.5's ShortSideScale (copied below), a numpy whose random.choice takes the first element.
"""

import ast
import copy
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torchaudio
from PIL import Image
from torch import nn
from torchvision import transforms
from torchvision.transforms import Compose, Lambda
from torchvision.transforms._transforms_video import CenterCropVideo, NormalizeVideo

CLASSES = {
    "image": ("image", "LanguageBindImage"),
    "video": ("video", "LanguageBindVideo"),
    "audio": ("audio", "LanguageBindAudio"),
    "thermal": ("thermal", "LanguageBindThermal"),
    "depth": ("depth", "LanguageBindDepth"),
}


class ShortSideScale(nn.Module):
    """pytorchvideo 0.1.5 pytorchvideo/transforms/transforms.py + functional.short_side_scale (Apache-2.0),
    the pytorch backend as written there."""

    def __init__(self, size, interpolation="bilinear", backend="pytorch"):
        super().__init__()
        self._size, self._interpolation = size, interpolation

    def forward(self, x):
        assert len(x.shape) == 4
        assert x.dtype == torch.float32
        c, t, h, w = x.shape
        if w < h:
            new_h = int(math.floor((float(h) / w) * self._size))
            new_w = self._size
        else:
            new_h = self._size
            new_w = int(math.floor((float(w) / h) * self._size))
        return torch.nn.functional.interpolate(x, size=(new_h, new_w), mode=self._interpolation, align_corners=False)


def package() -> Path:
    """The installed package, registered without running its __init__ (it imports pytorchvideo)."""
    spec = importlib.util.find_spec("languagebind")
    sys.modules["languagebind"] = importlib.util.module_from_spec(spec)
    return Path(spec.submodule_search_locations[0])


def functions(path: Path, names: tuple[str, ...], space: dict) -> types.SimpleNamespace:
    """The top-level functions and classes `names` of the file at `path`, executed in `space`."""
    tree = ast.parse(path.read_text())
    body = [
        node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign))
        and (getattr(node, "name", None) in names or isinstance(node, ast.Assign))
    ]
    found = {node.name for node in body if not isinstance(node, ast.Assign)}
    assert found == set(names), (path, found)
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), space)
    return types.SimpleNamespace(**{name: space[name] for name in names})


def build(folder: Path, sizes: dict) -> dict:
    import importlib

    models = {}
    for modality, (sub, name) in CLASSES.items():
        config_module = importlib.import_module(f"languagebind.{sub}.configuration_{sub}")
        model_module = importlib.import_module(f"languagebind.{sub}.modeling_{sub}")
        config = getattr(config_module, f"{name}Config")(
            text_config=sizes["text"],
            vision_config={**sizes["vision"], **sizes["modalities"].get(modality, {})},
            projection_dim=sizes["projection_dim"],
        )
        pristine = copy.deepcopy(config)  # the model's __init__ (resize_pos) turns vision image_size into a list
        torch.manual_seed(0)
        model = getattr(model_module, name)(config).eval()
        with torch.no_grad():  # the text and visual projections of a fresh model are fine; scale LoRA's B up
            for key, value in model.named_parameters():  # (zero at init: LoRA would be a no-op otherwise)
                if "lora_B" in key:
                    value.normal_(0, 0.5)
        model.save_pretrained(folder / modality)
        pristine.save_pretrained(folder / modality)  # config.json as the hub checkpoints have it (from_pretrained
        # of a saved list fails in CLIPVisionEmbeddings: the package's own save/load round trip does not hold)
        models[modality] = model
    return models


def main(folder: Path) -> None:
    root = package()
    from languagebind.image.processing_image import (
        get_image_transform,
        load_and_transform_image,
    )
    from languagebind.image.tokenization_image import LanguageBindImageTokenizer
    from languagebind.thermal.processing_thermal import (
        get_thermal_transform,
        load_and_transform_thermal,
    )

    sizes = json.loads((folder / "model.json").read_text())
    models = build(folder, sizes)
    tokenizer = LanguageBindImageTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tokenizer.save_pretrained(folder / "image")
    inputs = dict(np.load(folder / "inputs.npz"))

    def pngs(name: str, rows: np.ndarray) -> list[str]:
        paths = []
        for i, image in enumerate(rows):  # (3, H, W) in k/255
            paths.append(str(folder / f"{name}{i}.png"))
            Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(paths[-1])
        return paths

    image_t = get_image_transform(models["image"].config)
    thermal_t = get_thermal_transform(models["thermal"].config)
    depth = functions(
        root / "depth" / "processing_depth.py",
        ("DepthNorm", "get_depth_transform"),
        {"torch": torch, "nn": nn, "transforms": transforms},
    ).get_depth_transform(models["depth"].config)
    video = functions(
        root / "video" / "processing_video.py",
        ("get_video_transform",),
        {
            "Compose": Compose,
            "Lambda": Lambda,
            "NormalizeVideo": NormalizeVideo,
            "ShortSideScale": ShortSideScale,
            "CenterCropVideo": CenterCropVideo,
            "RandomHorizontalFlipVideo": lambda p: nn.Identity(),
        },
    )
    video_t = video.get_video_transform(models["video"].config)
    fixed = types.SimpleNamespace(
        **{k: getattr(np, k) for k in ("array_split", "array")}, random=types.SimpleNamespace(choice=lambda r: r[0])
    )
    audio = functions(
        root / "audio" / "processing_audio.py",
        ("AudioTransform",),
        {"torch": torch, "np": fixed, "torchaudio": torchaudio, "DEFAULT_AUDIO_FRAME_SHIFT_MS": 10},
    )
    audio_t = audio.AudioTransform(models["audio"].config.vision_config)
    rate = int(inputs["audio_rate"])

    frames = torch.from_numpy(inputs["video"]) * 255  # (B, F, 3, H, W): 8-bit frames, as decord gives them
    index = np.linspace(0, frames.shape[1] - 1, models["video"].config.vision_config.num_frames, dtype=int)
    clips = torch.stack([video_t(f[index].permute(1, 0, 2, 3)) for f in frames])  # (B, 3, T, 224, 224)
    tokens = tokenizer(
        json.loads((folder / "texts.json").read_text()),
        max_length=77,
        padding="max_length",
        truncation=True,
        return_tensors="pt",
    )
    pixels = {
        "image": torch.stack([load_and_transform_image(p, image_t) for p in pngs("image", inputs["image"])]),
        "thermal": torch.stack([load_and_transform_thermal(p, thermal_t) for p in pngs("thermal", inputs["thermal"])]),
        "depth": Compose(depth.transforms[1:])(torch.from_numpy(inputs["depth"]).flatten(0, 1)),
        "video": clips,
        "audio": torch.stack([audio_t((torch.from_numpy(w)[None], rate)) for w in inputs["audio"]]),
    }
    out = {}
    with torch.inference_mode():
        out["text"] = models["image"].get_text_features(**tokens)
        for name, x in pixels.items():
            out[name] = models[name].get_image_features(pixel_values=x)
        views = inputs["depth"].shape[1]
        out["depth"] = nn.functional.normalize(out["depth"], dim=-1).view(-1, views, out["depth"].shape[-1]).mean(1)
    np.savez(folder / "direct.npz", **{k: nn.functional.normalize(v.float(), dim=-1).numpy() for k, v in out.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
