"""Point, video and thermal loaders: shapes, value ranges, determinism, and refusals naming the file."""
from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from unibind_core.demo.writers.ucf101 import encode_avi
from unibind_core.data.modalities import LOADERS, point, video

THERMAL = LOADERS["thermal"]

CUBE_OFF = """OFF8 12 0
0 0 0
2 0 0
2 2 0
0 2 0
0 0 2
2 0 2
2 2 2
0 2 2
3 0 2 1
3 0 3 2
3 4 5 6
3 4 6 7
3 0 1 5
3 0 5 4
3 3 7 6
3 3 6 2
3 0 4 7
3 0 7 3
3 1 2 6
3 1 6 5
"""


def _cloud(path: Path, n: int, delimiter: str = ",") -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.random.default_rng(n).normal(size=(n, 6)) * [3, 1, 1, 1, 1, 1] + [5, 0, 0, 0, 0, 0]
    np.savetxt(path, rows, fmt="%.6f", delimiter=delimiter)
    return rows


def test_point_txt_shape_centre_scale_and_determinism(tmp_path):
    rows = _cloud(tmp_path / "chair" / "chair_0001.txt", 300)
    shutil.copy(tmp_path / "chair" / "chair_0001.txt", tmp_path / "chair" / "chair_0002.txt")
    a = point.load(tmp_path, {"path": "chair/chair_0001.txt"}, num_points=128)
    assert a.shape == (128, 3) and a.dtype == torch.float32
    assert torch.allclose(a.mean(0), torch.zeros(3), atol=1e-5)
    assert a.norm(dim=1).max().item() == pytest.approx(1.0, abs=1e-5)
    assert torch.equal(a, point.load(tmp_path, {"path": "chair/chair_0001.txt"}, num_points=128))
    b = point.load(tmp_path, {"path": "chair/chair_0002.txt"}, num_points=128)
    assert not torch.equal(a, b), "the subsample is seeded by the sample's path"
    everything = point.load(tmp_path, {"path": "chair/chair_0001.txt"}, num_points=300)
    assert len(np.unique(everything.numpy(), axis=0)) == 300, "without replacement when enough points exist"
    expected = point.normalize(rows[:, :3])
    assert np.allclose(np.sort(everything.numpy(), axis=0), np.sort(expected, axis=0), atol=1e-5)


def test_point_small_clouds_resample_and_space_separated_files(tmp_path):
    _cloud(tmp_path / "few.txt", 40, delimiter=" ")
    pts = point.load(tmp_path, {"path": "few.txt"}, num_points=100)
    assert pts.shape == (100, 3) and len(np.unique(pts.numpy(), axis=0)) <= 40


def test_point_off_mesh_is_sampled_on_its_surface(tmp_path):
    (tmp_path / "cube.off").write_text(CUBE_OFF)  # run-together header, as in parts of ModelNet40
    pts = point.load(tmp_path, {"path": "cube.off"}, num_points=2000).numpy()
    assert pts.shape == (2000, 3)
    pts = pts - (pts.max(0) + pts.min(0)) / 2  # the cube's centre (the loader centres on the sample mean)
    chebyshev = np.abs(pts).max(axis=1)  # a centred cube's surface is a level set of the max-norm
    assert np.allclose(chebyshev, chebyshev[0], atol=1e-5) and chebyshev[0] > 0.5
    faces_hit = np.sign(pts[np.arange(2000), np.abs(pts).argmax(1)]) * (np.abs(pts).argmax(1) + 1)
    assert len(set(faces_hit.astype(int).tolist())) == 6, "all six faces receive points"


@pytest.mark.parametrize("text", ["", "1.0,2.0,oops\n", "1,2\n3,4\n", "nan,0,0\n1,1,1\n"])
def test_point_corrupt_files_raise_naming_the_file(tmp_path, text):
    (tmp_path / "bad_0001.txt").write_text(text)
    with pytest.raises(ValueError, match="bad_0001.txt"):
        point.load(tmp_path, {"path": "bad_0001.txt"})


@pytest.mark.parametrize("loader", [point.load, video.load, THERMAL])
def test_loaders_refuse_paths_escaping_the_root(tmp_path, loader):
    (tmp_path / "root").mkdir()
    (tmp_path / "secret.txt").write_text("0,0,0\n")
    with pytest.raises(ValueError, match="escapes"):
        loader(tmp_path / "root", {"path": "../secret.txt", "box": [0, 0, 1, 1]})


@pytest.fixture
def clip(tmp_path) -> Path:
    """8 uniform 32x32 frames of brightness 30, 55, ..., 205 (frame t: 30 + 25 t)."""
    frames = np.stack([np.full((32, 32), 30 + 25 * t, np.uint8) for t in range(8)])
    frames[:, 8:24, 8:24] += 20  # a brighter square, so resizing has an edge to preserve
    encode_avi(frames, tmp_path / "Class" / "v_Class_g01_c01.avi")
    return tmp_path


def test_video_shapes_ranges_and_uniform_frame_sampling(clip):
    row = {"path": "Class/v_Class_g01_c01.avi"}
    x = video.load(clip, row, frames=4, size=16, channels=1)
    assert x.shape == (4, 1, 16, 16) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    corner = x[:, 0, 0, 0] * 255  # frames 0, 2, 5, 7 of the 8
    assert torch.allclose(corner, torch.tensor([30.0, 80.0, 155.0, 205.0]), atol=8)
    assert torch.equal(x, video.load(clip, row, frames=4, size=16, channels=1))
    rgb = video.load(clip, row, frames=12, size=48, channels=3)
    assert rgb.shape == (12, 3, 48, 48) and 0.0 <= rgb.min() and rgb.max() <= 1.0
    assert torch.allclose(rgb[:, 0], rgb[:, 2], atol=0.05), "gray content decodes to near-equal RGB"


def test_video_gray_fast_path_matches_ffmpeg(clip):
    with av.open(str(clip / "Class/v_Class_g01_c01.avi")) as container:
        for frame in container.decode(video=0):
            assert np.array_equal(video.to_gray(frame), frame.to_ndarray(format="gray"))


def test_video_resize_keeps_aspect_then_centre_crops():
    clip = torch.zeros(2, 1, 24, 48)
    clip[..., :, 12:36] = 1.0  # the centre half of the width
    out = video.resize_crop(clip, 12)  # 24x48 -> 12x24 -> the centre 12x12, i.e. the bright band
    assert out.shape == (2, 1, 12, 12) and torch.equal(out, out.flip(-1))
    assert torch.allclose(out[..., 1:-1], torch.ones(2, 1, 12, 10)) and out[..., 0].min() > 0.8


def test_video_undecodable_file_raises_naming_it(tmp_path):
    (tmp_path / "broken.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI junk junk")
    with pytest.raises(ValueError, match="broken.avi"):
        video.load(tmp_path, {"path": "broken.avi"})
    with pytest.raises(ValueError, match="absent.avi"):
        video.load(tmp_path, {"path": "absent.avi"})


def test_thermal_crops_the_box_before_resizing(tmp_path):
    image = np.full((48, 64), 20, np.uint8)
    image[10:30, 40:60] = 220  # the "person"
    (tmp_path / "infrared" / "train").mkdir(parents=True)
    Image.fromarray(image).save(tmp_path / "infrared" / "train" / "010001.png")
    row = {"path": "infrared/train/010001.png", "box": [40, 10, 60, 30]}
    crop = THERMAL(tmp_path, row, size=16, channels=1)
    assert crop.shape == (1, 16, 16) and crop.dtype == torch.float32
    assert torch.allclose(crop, torch.full_like(crop, 220 / 255), atol=0.02)
    rgb = THERMAL(tmp_path, row, size=8, channels=3)
    assert rgb.shape == (3, 8, 8)
    whole = THERMAL(tmp_path, {**row, "box": None}, size=16, channels=1)
    assert whole.mean() < 0.5 < crop.mean()
    assert torch.equal(crop, THERMAL(tmp_path, row, size=16, channels=1))
