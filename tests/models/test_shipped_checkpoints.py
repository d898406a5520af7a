"""Every shipped checkpoint loads from its folder (strict, safetensors) and runs one forward pass at its own size,
giving finite outputs of the shape its architecture promises. A new checkpoint folder is picked up automatically;
a new architecture without an entry in FORWARD fails here until it gets one."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import streetgen
from streetgen.classes import NUM_CLASSES

pytestmark = pytest.mark.slow  # loads every shipped checkpoint (about a minute on 2 cores)

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = sorted(p.parent.relative_to(CHECKPOINTS).as_posix() for p in CHECKPOINTS.rglob("config.json"))


def _square(m, side: int) -> torch.Tensor:
    return torch.rand(2, 3, side, side)


def _diffusion(m):
    x = torch.randn(2, *m.latent_shape)
    out = m(x, torch.tensor([10, 900]), torch.tensor([0, len(m.countries) - 1]))
    return out, (2, *m.latent_shape)


def _cvae(m):
    out = m.decode(torch.randn(2, m.latent_dim), torch.tensor([0, len(m.countries) - 1]))
    return out, (2, 3, m.image_size, m.image_size)


def _cyclegan(m):
    side = m.train_size
    return m(_square(m, side) * 2 - 1), (2, 3, side, side)


def _pix2pix(m):
    side = m.train_size
    return m(torch.rand(2, m.in_channels, side, side) * 2 - 1), (2, m.out_channels, side, side)


def _map_gan(m):
    out = m(torch.randn(2, m.z_dim), torch.tensor([[35.68, 139.77], [-1.29, 36.82]]))
    return out, (2, 3, m.final_size, m.final_size)


def _layout_gan(m):
    h, w = m.size
    return m(torch.randn(2, m.z_dim), noise_mode="const"), (2, m.num_classes, h, w)


def _spade(m):
    h, w = m.image_size
    onehot = torch.nn.functional.one_hot(torch.randint(0, m.num_classes, (2, h, w)), m.num_classes)
    style = torch.tensor([0, len(m.styles) - 1]) if m.styles else None
    return m(onehot.permute(0, 3, 1, 2).float(), torch.randn(2, m.latent_dim), style), (2, 3, h, w)


def _place_judge(m):
    out = m(_square(m, m.input_size))
    assert out["country"].shape == (2, len(m.countries))
    return out["country"], (2, len(m.countries))


def _city_judge(m):
    return m(_square(m, m.input_size)), (2, len(m.cities))


def _segmenter(m):
    return m(_square(m, 64)), (2, NUM_CLASSES, 64, 64)


def _depth(m):
    return m.predict(_square(m, 64)), (2, 64, 64)


FORWARD = {"country_diffusion": _diffusion, "country_cvae": _cvae, "cyclegan": _cyclegan, "pix2pix": _pix2pix,
           "map_gan": _map_gan, "layout_gan": _layout_gan, "spade": _spade, "place_judge": _place_judge,
           "city_judge": _city_judge, "segmenter": _segmenter, "depth_estimator": _depth}


def test_every_folder_is_found():
    assert len(SHIPPED) >= 20 and "country_diffusion" in SHIPPED and "judges/place" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_loads_and_runs(name):
    model = streetgen.load(name)
    assert not model.training
    assert model.architecture in FORWARD, f"{name}: add a forward pass for {model.architecture!r} to this test"
    torch.manual_seed(0)
    with torch.no_grad():
        out, shape = FORWARD[model.architecture](model)
    assert tuple(out.shape) == shape, f"{name}: {tuple(out.shape)} vs {shape}"
    assert torch.isfinite(out).all()
    assert (CHECKPOINTS / name / "model.safetensors").stat().st_size <= 25 * 2**20  # shipped weights stay small
