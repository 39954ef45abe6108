"""Stand-in ImageBindModel: per modality a seeded linear map of pooled inputs; asserts ImageBind's input shapes."""

from types import SimpleNamespace

import torch
from torch import nn

ModalityType = SimpleNamespace(VISION="vision", TEXT="text", AUDIO="audio", THERMAL="thermal", DEPTH="depth", IMU="imu")
SHAPES = {"vision": (3, 224, 224), "thermal": (1, 224, 224), "depth": (1, 224, 224), "audio": (1, 128, 204)}


class ImageBindModel(nn.Module):
    def __init__(self, out_embed_dim=16, **_):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.heads = nn.ParameterDict(
            {
                "vision": nn.Parameter(torch.randn(3 * 16, out_embed_dim, generator=g)),
                "thermal": nn.Parameter(torch.randn(16, out_embed_dim, generator=g)),
                "depth": nn.Parameter(torch.randn(16, out_embed_dim, generator=g)),
                "audio": nn.Parameter(torch.randn(16, out_embed_dim, generator=g)),
                "text": nn.Parameter(torch.randn(77, out_embed_dim, generator=g)),
            }
        )

    def forward(self, inputs):
        out = {}
        for key, x in inputs.items():
            b, s = x.shape[0], 1
            if x.ndim >= 5:  # clips or views: averaged after the heads, as ImageBind does
                s = x.shape[1]
                x = x.reshape(b * s, *x.shape[2:])
            if key == "vision" and x.ndim == 5:  # (n, 3, 2, 224, 224) two-frame clips
                assert x.shape[1:] == (3, 2, 224, 224), x.shape
                x = x.mean(2)
            if key == "text":
                assert x.shape[1:] == (77,) and x.dtype == torch.long, (x.shape, x.dtype)
                z = x.float() @ self.heads["text"]
            else:
                assert tuple(x.shape[1:]) == SHAPES[key], (key, x.shape)
                z = nn.functional.adaptive_avg_pool2d(x, 4).flatten(1) @ self.heads[key]
            z = nn.functional.normalize(z, dim=-1) * 7.0  # a logit scale, as ImageBind's postprocessors apply
            out[key] = z.reshape(b, s, -1).mean(1)
        return out


def imagebind_huge(pretrained=False):
    assert not pretrained, "the stand-in has no checkpoint to download"
    return ImageBindModel()
