"""Pipelines on another device: every part moved by `to(device)` and every tensor of a call kept on that device.

No GPU here, so torch's `meta` device stands in for CUDA: tensors there have shapes but no data, so a call whose
inputs, noise and parts all meet on the device runs to its end and fails only where the result is copied back to
the CPU ("Cannot copy out of meta tensor"); a CPU tensor meeting a device one fails earlier ("not on the expected
device"). The noise is still drawn on the CPU from the seed and moved, as on CUDA.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from streetgen import world
from streetgen.pipelines import CountryPipeline, LayoutPipeline, MapPipeline, SpadePipeline, load_city_pipeline

TWO_CLASS_LAYOUT = np.repeat(np.array([0] * 64 + [3] * 64, np.uint8)[:, None], 256, axis=1)  # sky over road

CALLS = {  # name -> (loader, call)
    "cvae": (lambda: CountryPipeline.from_pretrained("cvae"), lambda p: p("JP", n=1, seed=0)),
    "cvae morph": (lambda: CountryPipeline.from_pretrained("cvae"), lambda p: p.morph("JP", "NO", frames=2, seed=0)),
    "autoguided diffusion": (lambda: CountryPipeline.from_pretrained("country_diffusion+country_diffusion_early"),
                             lambda p: p("JP", n=1, seed=0, steps=2, guidance=12.0)),
    "map": (lambda: MapPipeline.from_pretrained("map_gan"), lambda p: p(35.0, 139.0, n=1, seed=0)),
    "map journey": (lambda: MapPipeline.from_pretrained("map_gan"),
                    lambda p: p.journey((35.0, 139.0), (48.0, 2.0), frames=2, seed=0)),
    "layout": (lambda: LayoutPipeline.from_pretrained("layout_world"), lambda p: p(n=1, seed=0)),
    "spade": (lambda: SpadePipeline.from_pretrained("spade_world"),
              lambda p: p(TWO_CLASS_LAYOUT, seed=0, style="nordic")),
    "cyclegan": (lambda: load_city_pipeline("cyclegan_paris_venice"), lambda p: p(_photo())),
    "depth route": (lambda: load_city_pipeline("pix2pix_depth_paris+pix2pix_photo_venice"), lambda p: p(_photo())),
    "layout route": (lambda: load_city_pipeline("street_segmenter+spade_cities"),
                     lambda p: p(_photo(), "Venice", seed=0)),
    "any city": (lambda: load_city_pipeline("country_diffusion"), lambda p: p(_photo(), "Venice", seed=0, steps=4)),
}


def _photo() -> np.ndarray:
    return world.render_city("Paris", seed=0, size=64).image


@pytest.fixture
def meta_answers(monkeypatch):
    """Data-dependent checks (truth values, .item(), nonzero) answer plausibly on meta tensors, as they would on
    CUDA after a copy; everything else is torch's own meta behaviour."""
    real = {name: getattr(torch.Tensor, name) for name in ("__bool__", "__int__", "__index__", "item", "nonzero")}

    def on_meta(name, answer):
        return lambda self, *a, **k: answer(self) if self.is_meta else real[name](self, *a, **k)

    monkeypatch.setattr(torch.Tensor, "__bool__", on_meta("__bool__", lambda t: False))
    monkeypatch.setattr(torch.Tensor, "__int__", on_meta("__int__", lambda t: 3))  # e.g. the map GAN's stage
    monkeypatch.setattr(torch.Tensor, "__index__", on_meta("__index__", lambda t: 3))
    monkeypatch.setattr(torch.Tensor, "item", on_meta("item", lambda t: 0.5))
    monkeypatch.setattr(torch.Tensor, "nonzero", on_meta("nonzero", lambda t: (
        torch.arange(t.shape[0], device="meta"), torch.zeros(t.shape[0], dtype=torch.long, device="meta"))))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CALLS))
def test_a_pipeline_on_another_device_keeps_every_tensor_there(name, meta_answers):
    load, call = CALLS[name]
    pipe = load().to("meta")
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        call(pipe)  # reached the copy of the result back to the CPU: nothing on the way was left on the CPU
