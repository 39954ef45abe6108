"""Stand-in lavis.models.load_model_and_preprocess: a 'captioner' that describes an image's size and colour.

STANDIN_LAVIS_CALLS (a file) records each captioned path; STANDIN_LAVIS_FAIL_AFTER=n fails once n images
have been captioned, like a run killed mid-way."""

import os

import numpy as np
import torch


class _Model:
    def __init__(self):
        self.done = 0

    def eval(self):
        return self

    def generate(self, samples, **kwargs):
        image, prompt = samples["image"], samples["prompt"]
        assert image.ndim == 4 and image.shape[1] == 3, image.shape
        fail_after = int(os.environ.get("STANDIN_LAVIS_FAIL_AFTER", "0"))
        if fail_after and self.done + len(image) > fail_after:
            raise RuntimeError("stand-in: simulated crash")
        self.done += len(image)
        return [
            f"{prompt}: a picture whose mean is {float(x.mean()):.3f} (beams={kwargs.get('num_beams', 5)})"
            for x in image
        ]


def _eval_processor(img):
    return torch.from_numpy(np.asarray(img.resize((32, 32)), dtype=np.float32) / 255).permute(2, 0, 1)


def load_model_and_preprocess(name, model_type, is_eval=False, device="cpu"):
    assert name == "blip2_opt", name
    calls = os.environ.get("STANDIN_LAVIS_CALLS")
    model = _Model()
    if calls:
        original = model.generate

        def logged(samples, **kw):
            out = original(samples, **kw)
            with open(calls, "a") as fh:
                fh.write(f"{len(out)}\n")
            return out

        model.generate = logged
    return model, {"eval": _eval_processor}, {}
