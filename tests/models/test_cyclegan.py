"""City → city CycleGAN: the ResNet generator (any size, uint8 translate, checkpoints), the PatchGAN parts it trains
with (discriminator, image pool), the LR schedule, and its trainer (world renders, folders, both exports, resume)."""

import json

import numpy as np
import pytest
import safetensors.torch
import torch
from PIL import Image

import streetgen
from streetgen.models.card import read_card
from streetgen.models.cyclegan import CycleGenerator
from train.discriminators.patchgan import ImagePool, PatchDiscriminator
from train.losses import lsgan_loss

TINY = dict(ngf=8, n_blocks=2)
FLAGS = ["--per-city", "2", "--render-workers", "1", "--size", "32", "--ngf", "8", "--n-blocks", "1",
         "--d-width", "8", "--steps", "3", "--log-every", "1", "--ckpt-every", "100", "--sample-every", "2",
         "--device", "cpu", "--no-progress"]


def _images(b: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_generator_any_size_and_range():
    assert 11.3e6 < sum(p.numel() for p in CycleGenerator().parameters()) < 11.5e6  # the paper's 9-block size
    torch.manual_seed(0)
    g = CycleGenerator(**TINY).eval()
    for h, w in [(32, 32), (30, 42), (250, 333), (8, 9)]:  # odd sizes: reflect-padded to ×4 and cropped back
        y = g(_images(2, h, w))
        assert y.shape == (2, 3, h, w) and y.min() >= -1 and y.max() <= 1
    with pytest.raises(ValueError, match="too small"):
        g(_images(1, 6, 32))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        g(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="n_blocks"):
        CycleGenerator(ngf=8, n_blocks=-1)


def test_translate_uint8_shapes_and_determinism():
    torch.manual_seed(0)
    g = CycleGenerator(**TINY).eval()
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (30, 42, 3), dtype=np.uint8)
    many = rng.integers(0, 256, (3, 30, 42, 3), dtype=np.uint8)
    a, b = g.translate(one), g.translate(one)
    assert a.shape == one.shape and a.dtype == np.uint8 and (a == b).all()
    out = g.translate(many, batch_size=2)
    assert out.shape == many.shape and out.dtype == np.uint8
    # instance norm is per image: an image's result does not depend on its batch (up to float rounding)
    assert np.abs(out[1].astype(int) - g.translate(many[1]).astype(int)).max() <= 1
    with pytest.raises(ValueError, match="uint8"):
        g.translate(one.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        g.translate(one[..., :2])


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    g = CycleGenerator(ngf=8, n_blocks=1, source="Paris", target="Venice", train_size=32).eval()
    g.save_pretrained(tmp_path / "cg")
    assert json.loads((tmp_path / "cg" / "config.json").read_text()) == {
        "architecture": "cyclegan", "ngf": 8, "n_blocks": 1, "source": "Paris", "target": "Venice", "train_size": 32}
    back = streetgen.load(str(tmp_path / "cg"))
    assert isinstance(back, CycleGenerator) and (back.source, back.target, back.train_size) == ("Paris", "Venice", 32)
    x = _images(2, 36, 28)
    assert torch.equal(back(x), g(x))


def test_patch_discriminator_shape_and_receptive_field():
    d = PatchDiscriminator(in_channels=3, width=8)
    assert d(_images(2, 64, 64)).shape == (2, 1, 6, 6)  # 64 → 32 → 16 → 8 → 7 → 6
    # without normalisation (instance norm links every pixel through its statistics) one score sees a 70×70 patch
    flat = PatchDiscriminator(in_channels=3, width=8, norm="none")
    x = _images(1, 128, 128).requires_grad_(True)
    out = flat(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    seen = x.grad.abs().sum(dim=(0, 1)) > 0
    assert seen.any(dim=1).sum() == 70 and seen.any(dim=0).sum() == 70
    assert lsgan_loss(torch.ones(2, 1, 3, 3), real=True) == 0 and lsgan_loss(torch.ones(2, 1, 3, 3), real=False) == 1


def test_image_pool_fills_swaps_and_resumes():
    pool = ImagePool(4)
    first = _images(3, 8, 8, seed=1)
    assert torch.equal(pool.query(first), first) and len(pool.images) == 3  # filling: the newest come back
    g = torch.Generator().manual_seed(0)
    second = _images(3, 8, 8, seed=2)
    out = pool.query(second, g)
    assert out.shape == second.shape and len(pool.images) == 4  # full; each slot is now new or an old swap
    stored = torch.cat([first, second])
    assert all(any(torch.equal(o, s) for s in stored) for o in out)

    copy = ImagePool(4)
    copy.load_state_dict(pool.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(copy.images, pool.images))
    third = _images(5, 8, 8, seed=3)
    a = pool.query(third, torch.Generator().manual_seed(7))
    b = copy.query(third, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)  # same history + same generator → same draws
    empty = ImagePool(4)
    empty.load_state_dict(ImagePool(4).state_dict())
    assert empty.images == []
    assert ImagePool(0).query(third) is third


def test_lr_schedule_constant_then_linear_to_zero():
    from train.train_cyclegan import lr_factor

    f = [lr_factor(s, 100, 0.5) for s in range(1, 101)]
    assert f[:50] == [1.0] * 50
    assert all(x > y for x, y in zip(f[49:], f[50:]))  # strictly falling after the half
    assert np.allclose(np.diff(f[50:]), f[51] - f[50])  # linearly
    assert 0 < f[-1] < 0.02
    assert all(lr_factor(s, 10, 1.0) == 1.0 for s in range(1, 11))


def test_folder_domain(tmp_path):
    from train.train_cyclegan import CycleGANConfig, load_domain, parse_config

    for i in range(3):
        Image.fromarray(np.full((40, 60, 3), 40 * i, np.uint8)).save(tmp_path / f"p{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    cfg = parse_config(CycleGANConfig, ["--size", "32", "--folder-limit", "2"])
    dom = load_domain(cfg, f"folder:{tmp_path}", "Day", offset=0)
    assert len(dom) == 2 and dom.images.shape == (2, 36, 36, 3) and not dom.world and "Day" in dom.description
    x = dom.batch(np.array([0, 1]), torch.Generator().manual_seed(0), torch.device("cpu"))
    assert x.shape == (2, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    with pytest.raises(ValueError, match="folder:PATH"):
        load_domain(cfg, "camvid:x", "Day", offset=0)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    from train.train_cyclegan import main

    runs = tmp_path_factory.mktemp("cyclegan_runs")
    export = main(["--runs-dir", str(runs), "--name", "straight", *FLAGS])
    return runs, export


def test_trainer_world_end_to_end(straight_run):
    runs, export = straight_run
    run = runs / "straight"
    assert export == run / "export"
    for folder in (run / "export", run / "export_reverse"):
        assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    g, f = streetgen.load(str(run / "export")), streetgen.load(str(run / "export_reverse"))
    assert (g.source, g.target, f.source, f.target) == ("Paris", "Venice", "Venice", "Paris")
    assert g.n_blocks == 1 and g.train_size == 32
    photo = np.zeros((40, 52, 3), np.uint8)
    assert g.translate(photo).shape == f.translate(photo).shape == photo.shape
    card, rev = read_card(run / "export"), read_card(run / "export_reverse")
    assert card.license == rev.license == "mit" and "Paris" in card.data and "Venice" in card.data
    assert "Paris → the same scene in the style of Venice" in card.description
    assert "Venice → the same scene in the style of Paris" in rev.description
    assert card.steps == rev.steps == 3 and "train.train_cyclegan" in rev.training_command
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert np.allclose([r["lr"] for r in records], [2e-4, 2e-4 * 2 / 3, 2e-4 / 3])  # half constant, then linear
    assert all(np.isfinite(r["loss_g"]) and r["cycle"] > 0 and r["identity"] > 0 for r in records)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000002.png", "step_000003.png"]
    assert json.loads((run / "final.json").read_text())["exported_ema"] is True


def test_trainer_resumes_exactly(straight_run):
    from train.train_cyclegan import main

    runs, _ = straight_run
    assert main(["--runs-dir", str(runs), "--name", "split", *FLAGS, "--stop-after", "2"]) is None  # no export yet
    assert (runs / "split" / "state" / "latest").read_text().strip() == "step_000002"
    meta = json.loads((runs / "split" / "state" / "step_000002" / "meta.json").read_text())
    assert {"pool_a", "pool_b", "ema_g", "ema_f", "sampler_a", "sampler_b"} <= set(meta["objects"])
    main(["--runs-dir", str(runs), "--name", "split", *FLAGS])
    run = runs / "split"
    assert json.loads((run / "config.json").read_text())["resumed_from_step"] == 2
    assert json.loads((run / "final.json").read_text())["step"] == 3
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    for folder in ("export", "export_reverse"):  # 2 + 1 steps train exactly like 3 (crops, pools, Adam, EMA)
        a = safetensors.torch.load_file(str(runs / "straight" / folder / "model.safetensors"))
        b = safetensors.torch.load_file(str(run / folder / "model.safetensors"))
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)


def test_trainer_starts_from_exported_generators(straight_run, tmp_path):
    """--init-from A2B+B2A: a new run starts from exported weights (fine-tuning on other data) and says so in its
    card; init_from copies the weights exactly; an architecture mismatch and a malformed spec are refused."""
    from train.common.export import init_from
    from train.train_cyclegan import main

    runs, _ = straight_run
    run = runs / "straight"
    spec = f"{run / 'export'}+{run / 'export_reverse'}"
    main(["--runs-dir", str(tmp_path), "--name", "tuned", "--init-from", spec, *FLAGS])
    card = read_card(tmp_path / "tuned" / "export")
    assert f"Started from {spec}" in card.notes
    g = streetgen.load(str(run / "export"))
    fresh = CycleGenerator(g.ngf, g.n_blocks, source="Paris", target="Venice", train_size=g.train_size)
    init_from(fresh, str(run / "export"))
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), g.state_dict().values()))
    wider = CycleGenerator(g.ngf * 2, g.n_blocks, source="Paris", target="Venice")
    with pytest.raises(ValueError, match="architecture differs"):
        init_from(wider, str(run / "export"))
    with pytest.raises(ValueError, match="A2B\\+B2A"):
        main(["--runs-dir", str(tmp_path), "--name", "bad", "--init-from", str(run / "export"), *FLAGS])


# ---- semantic consistency (CyCADA) ---------------------------------------------------------------------------------
def test_domain_crops_keep_labels_aligned():
    """Random crops and flips cut the labels exactly where they cut the image (the image encodes its labels)."""
    from train.train_cyclegan import Domain

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 12, (3, 40, 40), dtype=np.uint8)
    images = np.repeat((labels * 20)[..., None], 3, axis=-1).astype(np.uint8)
    dom = Domain(images, 32, True, "coded", True, labels)
    for seed in range(4):
        x, y = dom.crops(np.array([0, 1, 2]), torch.Generator().manual_seed(seed), torch.device("cpu"))
        assert y.dtype == torch.int64 and y.shape == (3, 32, 32)
        torch.testing.assert_close(((x[:, 0] + 1) * 127.5).round(), (y * 20).float())
    with pytest.raises(ValueError, match="do not match"):
        Domain(images, 32, True, "bad", True, labels[:, :30])


@pytest.mark.slow
def test_semantic_loss_rewards_kept_structure():
    """A segmenter trained on a two-class scene (dark road below, bright sky above) gives a low loss to a restyled
    image that keeps the layout and a high one to an image whose layout moved; gradients reach the image, not S."""
    from train.losses import freeze, pretrain_segmenter, semantic_loss

    def scene(n: int, g: torch.Generator, tint: float = 0.0):
        h = torch.randint(8, 24, (n,), generator=g)
        rows = torch.arange(32)[None, :, None]
        labels = torch.where(rows < h[:, None, None], 0, 3).expand(n, 32, 32).contiguous()  # sky above road
        x = torch.where(labels[:, None] == 0, 0.8, -0.6).expand(n, 3, 32, 32).clone() + tint
        return x.clamp(-1, 1), labels

    torch.manual_seed(0)
    from streetgen.models.judges import Segmenter

    seg = Segmenter(width=8)
    acc = pretrain_segmenter(seg, lambda s: scene(8, torch.Generator().manual_seed(s)), steps=200, log=None)
    assert acc > 0.99
    x, labels = scene(4, torch.Generator().manual_seed(99), tint=0.1)  # restyled: a little brighter
    moved = torch.flip(x, dims=[2])  # road on top: the layout did not survive
    x.requires_grad_(True)
    kept_loss = semantic_loss(seg, x, labels)
    assert kept_loss < 0.3 * semantic_loss(seg, moved, labels)
    kept_loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in freeze(seg).parameters())


@pytest.mark.slow
def test_trainer_semantic_term_logs_resumes_and_cards(tmp_path):
    """--lambda-sem on world data: S is trained on the renders' labels, the term is logged, a split run ends
    exactly where a straight one does (S comes back frozen from the checkpoint), and the card says what was used."""
    from train.train_cyclegan import main

    sem = [*FLAGS, "--lambda-sem", "1", "--sem-steps", "4", "--sem-width", "8"]
    main(["--runs-dir", str(tmp_path), "--name", "straight", *sem])
    records = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["semantic"] > 0 for r in records)
    card = read_card(tmp_path / "straight" / "export")
    assert "Semantic consistency (CyCADA) weight 1.0" in card.notes and "trained 4 steps" in card.notes
    main(["--runs-dir", str(tmp_path), "--name", "split", *sem, "--stop-after", "2"])
    main(["--runs-dir", str(tmp_path), "--name", "split", *sem])
    a = safetensors.torch.load_file(str(tmp_path / "straight" / "export" / "model.safetensors"))
    b = safetensors.torch.load_file(str(tmp_path / "split" / "export" / "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)


@pytest.mark.slow
def test_trainer_semantic_term_needs_labels_or_a_segmenter(tmp_path):
    from train.train_cyclegan import main

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.fromarray(np.full((40, 40, 3), 60 * i, np.uint8)).save(photos / f"p{i}.png")
    folders = ["--data-a", f"folder:{photos}", "--data-b", f"folder:{photos}", "--lambda-sem", "1"]
    with pytest.raises(ValueError, match="--sem-init"):
        main(["--runs-dir", str(tmp_path), "--name", "nolabels", *FLAGS, *folders])
    with pytest.raises(ValueError, match="must be a segmenter"):
        main(["--runs-dir", str(tmp_path), "--name", "notseg", *FLAGS, *folders, "--sem-init", "judges/city"])
    # with a segmenter checkpoint the folders train, its reading of each input being the target
    main(["--runs-dir", str(tmp_path), "--name", "pseudo", *FLAGS, *folders, "--sem-init", "judges/seg"])
    records = [json.loads(line) for line in (tmp_path / "pseudo" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["semantic"] >= 0 for r in records) and len(records) == 3
    assert "(judges/seg)" in read_card(tmp_path / "pseudo" / "export").notes
