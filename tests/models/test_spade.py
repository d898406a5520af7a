"""The SPADE layout → street generator: shapes, seeds and styles, checkpoints, its trainer (world and CamVid
data), and the layout pipeline."""

import numpy as np
import pytest
import torch

import streetgen
from streetgen.classes import colorize_labels
from streetgen.models.spade import SpadeGenerator

TINY = dict(channels=[32, 32, 16, 16], spade_hidden=16, latent_dim=8)
TINY_FLAGS = ["--channels", "32,32,16,16", "--spade-hidden", "16", "--latent-dim", "8", "--d-width", "8",
              "--d-layers", "3", "--batch-size", "2", "--steps", "3", "--log-every", "1", "--ckpt-every", "3",
              "--device", "cpu", "--no-progress"]


def _street(h: int, w: int) -> torch.Tensor:
    lab = torch.zeros(h, w, dtype=torch.long)
    lab[h // 3:] = 1
    lab[2 * h // 3:] = 3
    lab[2 * h // 3:, w // 4:w // 2] = 8
    return lab


@pytest.mark.slow
def test_default_generator_shapes_and_budget():
    g = SpadeGenerator().eval()
    assert g.image_size == (128, 256) and g.multiple == 32
    assert sum(p.numel() for p in g.parameters()) * 2 < 25 * 2 ** 20  # the fp16 checkpoint fits 25 MB
    out = g.synthesize(_street(128, 256)[None], generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 3, 128, 256) and out.min() >= 0 and out.max() <= 1
    assert g.synthesize(_street(64, 64)[None].repeat(2, 1, 1)).shape == (2, 3, 64, 64)  # any multiple of 32
    with pytest.raises(ValueError, match="multiples of 32"):
        g.synthesize(_street(100, 64)[None])
    with pytest.raises(ValueError, match="class ids"):
        g.synthesize(torch.full((1, 64, 64), 12))


@pytest.mark.slow
def test_seeds_and_styles_change_the_photo():
    torch.manual_seed(0)
    g = SpadeGenerator(styles=["a", "b", "c"], **TINY).eval()
    lab = _street(64, 128)[None]
    a = g.synthesize(lab, generator=torch.Generator().manual_seed(1))
    b = g.synthesize(lab, generator=torch.Generator().manual_seed(1))
    c = g.synthesize(lab, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and (a - c).abs().mean() > 1e-3
    z = torch.randn(1, 8)
    s0, s1 = (g.synthesize(lab, latents=z, style=torch.tensor([i])) for i in (0, 1))
    anyway = g.synthesize(lab, latents=z)  # style=None: the extra "any" row
    assert (s0 - s1).abs().mean() > 1e-4 and (s0 - anyway).abs().mean() > 1e-4
    plain = SpadeGenerator(**TINY).eval()
    with pytest.raises(ValueError, match="without region styles"):
        plain.synthesize(lab, style=torch.tensor([0]))


@pytest.mark.slow
def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    g = SpadeGenerator(image_size=(64, 128), styles=["x", "y"], **TINY)
    g.train()
    g(g.one_hot(_street(64, 128)[None].repeat(2, 1, 1)), torch.randn(2, 8))  # move the BatchNorm statistics
    g.eval()
    g.save_pretrained(tmp_path / "spade", dtype=torch.float16)
    back = streetgen.load(str(tmp_path / "spade"))
    assert isinstance(back, SpadeGenerator) and back.image_size == (64, 128) and back.styles == ["x", "y"]
    lab, z = _street(64, 128)[None], torch.randn(1, 8)
    assert (back.synthesize(lab, latents=z) - g.synthesize(lab, latents=z)).abs().max() < 2e-2  # fp16 weights


@pytest.mark.slow
def test_trainer_on_world_data_and_pipeline(tmp_path):
    from streetgen.pipelines.layout import SpadePipeline
    from train.train_spade import main

    export = main(["--runs-dir", str(tmp_path / "runs"), "--name", "w", "--countries", "FR,JP", "--per-country", "2",
                   "--render-workers", "1", "--size", "64x128", "--region-style", "--diversity-weight", "1",
                   "--perceptual-weight", "0.5", *TINY_FLAGS])
    assert sorted(p.name for p in export.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert list((tmp_path / "runs" / "w" / "samples").glob("*.png"))
    pipe = SpadePipeline(streetgen.load(str(export)))
    assert pipe.size == (64, 128) and "nordic" in pipe.styles
    layout = colorize_labels(_street(30, 60).numpy())  # another size: fitted with its aspect kept
    a, b = pipe(layout, seed=4), pipe(layout, seed=4)
    assert a.shape == (64, 128, 3) and a.dtype == np.uint8 and (a == b).all()
    assert not (pipe(layout, seed=5) == a).all()
    assert pipe(layout, seed=4, style="Nordic", size=(32, 96)).shape == (32, 96, 3)
    with pytest.raises(ValueError, match="unknown region style"):
        pipe(layout, style="martian")
    with pytest.raises(ValueError, match="empty layout"):
        pipe(np.full((16, 16), 11, np.uint8))
    with pytest.raises(ValueError, match="multiples of 8"):  # the tiny model's 3 upsamplings
        pipe(layout, size=(50, 50))


@pytest.mark.slow
def test_trainer_on_a_camvid_subset(tmp_path, camvid_root):
    from train.train_spade import CAMVID_LICENSE, main

    export = main(["--runs-dir", str(tmp_path / "runs"), "--name", "c", "--data", f"camvid:{camvid_root}",
                   "--camvid-limit", "4", "--size", "64x96", "--perceptual-weight", "0", *TINY_FLAGS])
    card = (export / "README.md").read_text()
    assert CAMVID_LICENSE in card and "cc-by-nc-4.0" in card
    assert streetgen.load(str(export)).image_size == (64, 96)
    with pytest.raises(ValueError, match="region-style"):
        main(["--runs-dir", str(tmp_path / "runs"), "--name", "c2", "--data", f"camvid:{camvid_root}",
              "--region-style", *TINY_FLAGS])
