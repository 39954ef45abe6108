"""Direct ImageBind outputs for tests/core/encoders/external/test_imagebind_real.py, run with the `imagebind`
environment's interpreter: `python imagebind_direct.py <folder>`.

<folder>/model.json holds ImageBindModel keyword arguments; this builds that model with seed 0, saves its
state dict as <folder>/weights.pth (what the backbone then loads) and writes <folder>/direct.npz: the model's
own outputs, unit-normalized, on inputs built from <folder>/inputs.npz (and texts.json) with ImageBind's own
functions where they exist. `imagebind.data` cannot be imported here (it imports pytorchvideo, and
pkg_resources), so its functions are taken from the installed file's source (ast) and run as written, with
what they import supplied: a torchaudio whose `load` returns our waveforms, pytorchvideo 0.1.5's
ConstantClipsPerVideoSampler (copied below), pkg_resources.resource_filename. Video, thermal and depth have
no array loader in ImageBind: their inputs are built here from the shapes the model takes.
"""

import ast
import importlib.util
import json
import logging
import math
import sys
import types
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torchaudio
from PIL import Image
from torch import nn
from torchvision import transforms

CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
DATA_FUNCTIONS = (
    "return_bpe_path",
    "waveform2melspec",
    "get_clip_timepoints",
    "load_and_transform_vision_data",
    "load_and_transform_text",
    "load_and_transform_audio_data",
)


class ClipInfo(NamedTuple):
    clip_start_sec: Fraction
    clip_end_sec: Fraction
    clip_index: int
    aug_index: int
    is_last_clip: bool


class ConstantClipsPerVideoSampler:
    """pytorchvideo 0.1.5 pytorchvideo/data/clip_sampling.py (Apache-2.0), __call__ as written there."""

    def __init__(self, clip_duration, clips_per_video, augs_per_clip=1):
        self._clip_duration = Fraction(clip_duration)
        self._clips_per_video, self._augs_per_clip = clips_per_video, augs_per_clip
        self._current_clip_index = self._current_aug_index = 0

    def __call__(self, last_clip_time, video_duration, annotation):
        max_possible_clip_start = Fraction(max(video_duration - self._clip_duration, 0))
        uniform_clip = Fraction(max_possible_clip_start, self._clips_per_video)
        clip_start_sec = uniform_clip * self._current_clip_index
        clip_index, aug_index = self._current_clip_index, self._current_aug_index
        self._current_aug_index += 1
        if self._current_aug_index >= self._augs_per_clip:
            self._current_clip_index += 1
            self._current_aug_index = 0
        is_last_clip = False
        if (
            self._current_clip_index >= self._clips_per_video
            or uniform_clip * self._current_clip_index > max_possible_clip_start
        ):
            self._current_clip_index = 0
            is_last_clip = True
        if is_last_clip:
            self._current_clip_index = self._current_aug_index = 0
        return ClipInfo(clip_start_sec, clip_start_sec + self._clip_duration, clip_index, aug_index, is_last_clip)


def imagebind_package() -> Path:
    spec = importlib.util.find_spec("imagebind")
    sys.modules["imagebind"] = importlib.util.module_from_spec(spec)  # its __init__ imports imagebind.data
    return Path(spec.submodule_search_locations[0])


def data_functions(package: Path, waves: dict) -> types.SimpleNamespace:
    """DATA_FUNCTIONS from the installed imagebind/data.py, executed with what that module imports."""
    from imagebind.models.multimodal_preprocessors import SimpleTokenizer

    tree = ast.parse((package / "data.py").read_text())
    body = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in DATA_FUNCTIONS]
    assert {node.name for node in body} == set(DATA_FUNCTIONS), [node.name for node in body]
    audio = types.SimpleNamespace(
        load=lambda path: waves[path], functional=torchaudio.functional, compliance=torchaudio.compliance
    )
    resources = types.SimpleNamespace(resource_filename=lambda pkg, name: str(package / name))
    space = {
        "torch": torch,
        "nn": nn,
        "logging": logging,
        "math": math,
        "torchaudio": audio,
        "Image": Image,
        "transforms": transforms,
        "SimpleTokenizer": SimpleTokenizer,
        "pkg_resources": resources,
        "ConstantClipsPerVideoSampler": ConstantClipsPerVideoSampler,
        "DEFAULT_AUDIO_FRAME_SHIFT_MS": 10,
    }
    exec(compile(ast.Module(body=body, type_ignores=[]), str(package / "data.py"), "exec"), space)
    return types.SimpleNamespace(**{name: space[name] for name in DATA_FUNCTIONS})


def main(folder: Path) -> None:
    package = imagebind_package()
    from imagebind.models.imagebind_model import ImageBindModel

    torch.manual_seed(0)
    model = ImageBindModel(**json.loads((folder / "model.json").read_text())).eval()
    torch.save(model.state_dict(), folder / "weights.pth")
    inputs = dict(np.load(folder / "inputs.npz"))
    rate = int(inputs.pop("audio_rate"))
    waves = {f"wave{i}": (torch.from_numpy(w)[None], rate) for i, w in enumerate(inputs["audio"])}
    data = data_functions(package, waves)
    paths = []
    for i, image in enumerate(inputs["image"]):  # (3, H, W) in k/255: PNG files, as ImageBind reads them
        paths.append(folder / f"image{i}.png")
        Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(paths[-1])
    video = torch.from_numpy(inputs["video"])  # (B, 8, 3, 224, 224): 4 clips of 2 frames, CLIP mean/std
    mean, std = torch.tensor(CLIP_MEAN).view(1, 1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 1, 3, 1, 1)
    clips = ((video - mean) / std).view(len(video), 4, 2, 3, 224, 224).permute(0, 1, 3, 2, 4, 5)
    grey = {key: torch.from_numpy(inputs[key]).mean(2, keepdim=True) for key in ("thermal", "depth")}
    built = {
        "text": ("text", data.load_and_transform_text(json.loads((folder / "texts.json").read_text()), "cpu")),
        "image": ("vision", data.load_and_transform_vision_data(paths, "cpu")),
        "video": ("vision", clips),
        "audio": ("audio", data.load_and_transform_audio_data(list(waves), "cpu")),
        "thermal": ("thermal", grey["thermal"]),
        "depth": ("depth", grey["depth"]),
    }
    out = {}
    with torch.inference_mode():
        for name, (key, x) in built.items():
            out[name] = nn.functional.normalize(model({key: x})[key].float(), dim=-1).numpy()
    np.savez(folder / "direct.npz", **out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
