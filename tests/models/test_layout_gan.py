"""The StyleGAN2-style layout generator, its discriminator inputs, the trainer end to end, and the layout stats."""
import json

import numpy as np
import pytest
import torch

import streetgen
from streetgen.layout_stats import class_histogram, layout_distance, row_profile
from streetgen.models.layout_gan import LayoutGenerator, ModulatedConv2d
from streetgen.pipelines.layout import sample_layouts

TINY = dict(size=(32, 64), z_dim=16, w_dim=32, mapping_layers=2, channels=[32, 16, 16, 8, 8, 4])


def test_default_shapes_and_budget():
    g = LayoutGenerator().eval()
    assert g.size == (128, 256) and g.start_size == (4, 8) and g.num_ws == 12
    logits = g(torch.randn(2, 128), noise_mode="const")
    assert logits.shape == (2, 11, 128, 256) and torch.isfinite(logits).all()
    params = sum(p.numel() for p in g.parameters()) + sum(b.numel() for b in g.buffers())
    assert params * 2 < 25 * 2 ** 20  # the fp16 checkpoint fits 25 MB


def test_tiny_config_sample_ids_and_sizes():
    g = LayoutGenerator(**TINY).eval()
    assert g.start_size == (1, 2)
    labels = sample_layouts(g, 3, generator=torch.Generator().manual_seed(0))
    assert labels.shape == (3, 32, 64) and labels.dtype == torch.int64
    assert labels.min() >= 0 and labels.max() <= 10  # never void
    with pytest.raises(ValueError, match="power of two"):
        LayoutGenerator(size=(48, 64))
    with pytest.raises(ValueError, match="channels"):
        LayoutGenerator(size=(32, 64), channels=[8, 8])


def test_demodulation_keeps_unit_std():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 32, w_dim=16)
    x = torch.randn(4, 64, 48, 48)
    w = torch.randn(4, 16) * 3  # large styles: without demodulation the output would scale with them
    for grad in (True, False):
        with torch.set_grad_enabled(grad):
            y = conv(x, w)[:, :, 1:-1, 1:-1]  # borders see zero padding
        assert abs(y.std().item() - 1) < 0.05
        assert (y.std(dim=(0, 2, 3)) - 1).abs().max() < 0.1  # every output channel, not just on average
    raw = ModulatedConv2d(64, 32, w_dim=16, demodulate=False)
    assert raw(x, w).std() > 1.5


def test_inference_and_training_forms_agree():
    g = LayoutGenerator(**TINY).eval()
    z = torch.randn(2, 16)
    with torch.no_grad():
        in_place = g(z, noise_mode="const")  # activations in place without autograd
    assert torch.allclose(in_place, g(z, noise_mode="const").detach(), atol=1e-5)


def test_noise_modes_are_deterministic():
    g = LayoutGenerator(**TINY).eval()
    for layer in g.convs:  # noise starts silent; make it matter
        layer.noise_strength.data.fill_(1.0)
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert torch.equal(g(z, noise_mode="const"), g(z, noise_mode="const"))
        a = g(z, generator=torch.Generator().manual_seed(5))
        b = g(z, generator=torch.Generator().manual_seed(5))
        c = g(z, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    s1 = sample_layouts(g, 2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(s1, sample_layouts(g, 2, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="noise_mode"):
        g(z, noise_mode="loud")


def test_truncation_zero_is_w_avg_and_w_avg_tracks():
    g = LayoutGenerator(**TINY)
    assert g.w_avg.abs().sum() == 0
    g.train()
    g(torch.randn(8, 16))
    assert g.w_avg.abs().sum() > 0  # tracked in training mode
    g.eval()
    before = g.w_avg.clone()
    with torch.no_grad():
        out = g(torch.randn(3, 16), truncation=0.0, noise_mode="const")
        ref = g.synthesize(g.w_avg.expand(1, g.num_ws, -1), noise_mode="const")
    assert torch.equal(g.w_avg, before)  # not in eval mode
    assert torch.allclose(out, ref.expand_as(out), atol=1e-5)


def test_style_mixing_changes_output():
    g = LayoutGenerator(**TINY).eval()
    z = torch.randn(2, 16)
    with torch.no_grad():
        plain = g(z, noise_mode="const")
        mixed = g(z, noise_mode="const", mix_z=torch.randn(2, 16), generator=torch.Generator().manual_seed(0))
    assert mixed.shape == plain.shape and not torch.equal(mixed, plain)


def test_save_load_round_trip(tmp_path):
    g = LayoutGenerator(**TINY).eval()
    g.w_avg.normal_()
    g.save_pretrained(tmp_path / "ck", dtype=torch.float16)
    loaded = streetgen.load(str(tmp_path / "ck"))
    assert isinstance(loaded, LayoutGenerator) and loaded.size == (32, 64) and loaded.channels == TINY["channels"]
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["architecture"] == "layout_gan"
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert torch.allclose(loaded(z, noise_mode="const"), g.half().float()(z, noise_mode="const"), atol=1e-3)


def test_discriminator_inputs():
    from train.discriminators.layout import LayoutDiscriminator, fake_input, real_input

    logits = torch.randn(2, 11, 8, 16, requires_grad=True)
    x = fake_input(logits, "st")
    assert torch.equal(x.detach(), real_input(logits.argmax(1)))  # straight-through: exactly one-hot forward
    (x * torch.randn_like(x)).sum().backward()
    assert logits.grad.abs().sum() > 0  # … with the softmax's gradient
    soft_real, soft_fake = real_input(logits.argmax(1), mode="soft"), fake_input(logits, "soft")
    assert torch.allclose(soft_real.sum(1), torch.ones(2, 8, 16)) and soft_real.max() < 1
    assert torch.allclose(soft_fake.sum(1), torch.ones(2, 8, 16))
    d = LayoutDiscriminator(size=(32, 64), last=4, max_channels=16)
    assert d(torch.cat([real_input(torch.zeros(4, 32, 64, dtype=torch.long)), fake_input(torch.randn(4, 11, 32, 64))]),
             group=2).shape == (8,)


def test_data_helpers():
    from streetgen.io.labels import fill_void
    from train.train_layout_gan import real_batch

    m = np.array([[[0, 11, 11, 3]]], np.uint8)
    assert fill_void(m).tolist() == [[[0, 0, 3, 3]]]
    assert fill_void(np.full((1, 2, 2), 11, np.uint8)).tolist() == [[[11, 11], [11, 11]]]  # nothing to copy from
    maps = np.arange(2 * 6 * 8, dtype=np.uint8).reshape(2, 6, 8) % 11
    b = real_batch(maps, np.array([0, 1]), (4, 8), torch.Generator().manual_seed(0))
    assert b.shape == (2, 4, 8) and b.dtype == torch.int64
    assert torch.equal(b, real_batch(maps, np.array([0, 1]), (4, 8), torch.Generator().manual_seed(0)))


ARGS = ["--height", "32", "--width", "64", "--batch-size", "4", "--z-dim", "16", "--w-dim", "32",
        "--mapping-layers", "2", "--g-last", "4", "--g-max", "32", "--d-last", "4", "--d-max", "32", "--steps", "3",
        "--r1-every", "2", "--log-every", "1", "--sample-every", "2", "--ckpt-every", "3", "--eval-n", "8",
        "--device", "cpu", "--no-progress"]


@pytest.mark.slow
def test_trainer_world_end_to_end(tmp_path):
    from streetgen.models.card import read_card
    from train.train_layout_gan import main

    export = main(ARGS + ["--countries", "FR,JP", "--per-country", "2", "--workers", "1",
                          "--runs-dir", str(tmp_path / "runs"), "--name", "w"])
    assert sorted(p.name for p in export.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    run = tmp_path / "runs" / "w"
    assert (run / "samples" / "step_000002.png").exists() and (run / "curves.png").exists()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3] and records[1]["r1"] > 0 and "r1" not in records[0]
    model = streetgen.load(str(export))
    assert isinstance(model, LayoutGenerator) and model.w_avg.abs().sum() > 0  # the EMA copy carries w_avg
    assert sample_layouts(model, 2, generator=torch.Generator().manual_seed(0)).max() <= 10
    card = read_card(export)
    assert "MIT" in card.data_license and 0 <= card.metrics["layout_class_l1"] <= 2


@pytest.mark.slow
def test_trainer_camvid_end_to_end(tmp_path, camvid_root):
    from streetgen.models.card import read_card
    from train.common.data import load_camvid_labels
    from train.train_layout_gan import main

    maps = load_camvid_labels(str(camvid_root), "train", (32, 64), limit=3)
    assert maps.shape == (3, 48, 64) and maps.max() <= 11
    export = main(ARGS + ["--data", f"camvid:{camvid_root}", "--limit", "8", "--disc-input", "soft",
                          "--runs-dir", str(tmp_path / "runs"), "--name", "c"])
    card = read_card(export)
    assert card.data_license == "CamVid: CC BY-NC 4.0 (non-commercial)" and card.license == "cc-by-nc-4.0"
    assert "8 CamVid" in card.data


def test_layout_stats_on_hand_made_maps():
    sky_over_road = np.zeros((2, 4, 6), np.uint8)
    sky_over_road[:, 2:] = 3  # top half sky (0), bottom half road (3)
    road_over_sky = sky_over_road[:, ::-1]
    h = class_histogram(sky_over_road)
    assert h.shape == (11,) and h[0] == h[3] == 0.5 and h.sum() == 1
    assert class_histogram(np.full((3, 3), 11)).sum() == 0  # void is not counted
    prof = row_profile(sky_over_road)
    assert prof.shape == (4, 11) and prof[0, 0] == 1 and prof[3, 3] == 1
    assert row_profile(sky_over_road, rows=2).tolist()[0][0] == 1
    d = layout_distance(sky_over_road, road_over_sky)
    assert d["class_l1"] == 0 and d["row_profile_l1"] == 2  # same mix, every row wrong
    assert layout_distance(sky_over_road, sky_over_road) == {"class_l1": 0.0, "row_profile_l1": 0.0}
    all_road = np.full((1, 8, 12), 3, np.uint8)  # another size: rows are banded to the smaller height
    d2 = layout_distance(sky_over_road, all_road)
    assert d2["class_l1"] == pytest.approx(1.0) and d2["row_profile_l1"] == pytest.approx(1.0)


def test_layout_pipeline_seeds_and_bad_arguments():
    from streetgen.pipelines import LayoutPipeline

    torch.manual_seed(0)
    pipe = LayoutPipeline(LayoutGenerator(**TINY))
    a, b, c = pipe(n=2, seed=5), pipe(n=2, seed=5), pipe(n=2, seed=6)
    assert len(a) == 2 and a[0].shape == (32, 64) and a[0].dtype == np.uint8 and a[0].max() < 11
    assert all((u == v).all() for u, v in zip(a, b)) and not all((u == v).all() for u, v in zip(a, c))
    for kwargs, message in [({"n": 0}, "n must be"), ({"n": 17}, "n must be"), ({"seed": -1}, "seed"),
                            ({"seed": 1.5}, "seed"), ({"truncation": 1.5}, "truncation")]:
        with pytest.raises(ValueError, match=message):
            pipe(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["layout_world", "layout_camvid"])
def test_shipped_layout_generators_make_street_layouts(name):
    """The shipped checkpoints load and make street-like maps: sky on top and road at the bottom, several classes."""
    from streetgen.pipelines import LayoutPipeline
    from streetgen.classes import CLASS_NAMES

    maps = np.stack(LayoutPipeline.from_pretrained(name)(n=8, seed=0))
    assert maps.shape == (8, 128, 256)
    sky, road = CLASS_NAMES.index("Sky"), CLASS_NAMES.index("Road")
    hist = np.bincount(maps.ravel(), minlength=11) / maps.size
    assert (hist > 0.01).sum() >= 4  # a street has at least road, sky, buildings / trees, pavement / cars
    assert (maps[:, -16:] == road).mean() > 0.4  # the road is in the bottom rows
    assert (maps[:, :16] == road).mean() < 0.05 and (maps[:, :16] != CLASS_NAMES.index("Car")).mean() > 0.9
    if name == "layout_world":  # world streets show the sky; CamVid's top rows are often buildings and trees
        assert (maps[:, :16] == sky).mean() > 0.3
