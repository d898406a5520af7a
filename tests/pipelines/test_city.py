"""City → city: pix2pix U-Net (shapes, depth encoding, seeds, save/load, trainer), the three translation pipelines
(tiny models; the any-city route with the shipped diffusion model), frames, and odd photo inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

import streetgen
from streetgen import world
from streetgen.models.cyclegan import CycleGenerator
from streetgen.metrics import warp_error
from streetgen.models.pix2pix import MAX_DEPTH, MIN_DEPTH, UNetTranslator, depth_to_unit, unit_to_depth
from streetgen.io.photos import read_frames, read_photo
from streetgen.pipelines import (AnyCityPipeline, CycleGANPipeline, DepthRoutePipeline,
                                 steady_frames, translate_frames)
from streetgen.pipelines.city import target_country


def _tiny_pair():
    torch.manual_seed(0)
    to_depth = UNetTranslator(3, 1, ngf=8, num_downs=4, kind="image_to_depth", city="Paris")
    to_photo = UNetTranslator(1, 3, ngf=8, num_downs=4, kind="depth_to_image", city="Venice")
    return to_depth.eval(), to_photo.eval()


def test_unet_shapes_any_size_and_skips():
    net = UNetTranslator(3, 1, ngf=8, num_downs=5).eval()
    for h, w in [(64, 64), (64, 96), (50, 70), (33, 129)]:
        y = net(torch.randn(2, 3, h, w))
        assert y.shape == (2, 1, h, w) and y.abs().max() <= 1
    assert len(net.downs) == 5 and len(net.ups) == 4
    with pytest.raises(ValueError, match="kind"):
        UNetTranslator(kind="photo_to_sketch")


def test_depth_encoding_round_trip_and_range():
    d = torch.tensor([0.1, 0.5, 3.0, 40.0, 200.0, 1000.0])
    u = depth_to_unit(d)
    assert u.min() >= -1 and u.max() <= 1 and u[0] == -1 and u[-1] == 1  # clamped to MIN_DEPTH..MAX_DEPTH
    back = unit_to_depth(u)
    assert torch.allclose(back[1:5], d[1:5], rtol=1e-4) and back[0] == pytest.approx(MIN_DEPTH)
    assert back[-1] == pytest.approx(MAX_DEPTH)


@pytest.mark.slow
def test_numpy_helpers_dtypes_seeds_and_kind_checks():
    to_depth, to_photo = _tiny_pair()
    photo = world.render_city("Paris", seed=1, size=(48, 80)).image
    depth = to_depth.image_to_depth(photo)
    assert depth.shape == (48, 80) and depth.dtype == np.float32 and MIN_DEPTH <= depth.min() <= depth.max() <= MAX_DEPTH
    assert to_depth.image_to_depth(np.stack([photo, photo])).shape == (2, 48, 80)
    a, b, c = (to_photo.depth_to_image(depth, seed=s) for s in (3, 3, 4))
    assert a.shape == (48, 80, 3) and a.dtype == np.uint8 and (a == b).all() and (a != c).any()
    assert (to_photo.depth_to_image(depth) == to_photo.depth_to_image(depth)).all()  # no seed: dropout off
    with pytest.raises(ValueError, match="not image to depth"):
        to_photo.image_to_depth(photo)
    with pytest.raises(ValueError, match="uint8"):
        to_depth.image_to_depth(photo.astype(np.float32))
    with pytest.raises(ValueError, match="finite"):
        to_photo.depth_to_image(np.full((8, 8), np.nan, np.float32))


def test_save_load_round_trip(tmp_path):
    to_depth, _ = _tiny_pair()
    to_depth.save_pretrained(tmp_path / "m")
    loaded = streetgen.load(str(tmp_path / "m"))
    assert isinstance(loaded, UNetTranslator) and loaded.kind == "image_to_depth" and loaded.city == "Paris"
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(loaded(x), to_depth(x))


@pytest.mark.slow
def test_pix2pix_trainer_both_directions(tmp_path):
    from train.train_pix2pix import lr_factor, main

    assert lr_factor(1, 10, 0.5) == 1.0 and lr_factor(5, 10, 0.5) == 1.0 and lr_factor(10, 10, 0.5) == 0.0
    common = ["--runs-dir", str(tmp_path), "--per-city", "4", "--size", "32", "--num-downs", "4", "--ngf", "8",
              "--d-width", "8", "--steps", "3", "--batch-size", "2", "--log-every", "1", "--sample-every", "3",
              "--ckpt-every", "3", "--workers", "1", "--device", "cpu", "--no-progress"]
    a = main(["--name", "d", "--direction", "image2depth", "--city", "Paris", "--l1-weight", "50"] + common)
    b = main(["--name", "p", "--direction", "depth2image", "--city", "Venice", "--l1-weight", "100"] + common)
    assert sorted(p.name for p in a.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    cfg = json.loads((b / "config.json").read_text())
    assert cfg["kind"] == "depth_to_image" and cfg["city"] == "Venice" and cfg["architecture"] == "pix2pix"
    records = [json.loads(x) for x in (tmp_path / "d" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all("l1" in r and "loss_d" in r for r in records)
    assert (tmp_path / "d" / "samples").is_dir() and any((tmp_path / "d" / "samples").iterdir())
    route = DepthRoutePipeline.from_pretrained(str(a), str(b))
    out, depth = route(world.render_city("Paris", seed=9, size=64).image)
    assert out.shape == (64, 64, 3) and depth.shape == (64, 64)
    with pytest.raises(ValueError, match="--city"):
        main(["--name", "x", "--city", "Atlantis"] + common)
    tuned = main(["--name", "t", "--direction", "image2depth", "--city", "Paris", "--init-from", str(a)] + common)
    assert f"Started from {a}" in (tuned / "README.md").read_text()
    with pytest.raises(ValueError, match="this trainer builds a UNetTranslator|architecture differs"):
        main(["--name", "w", "--direction", "image2depth", "--city", "Paris", "--init-from", "judges/seg"] + common)


def test_pix2pix_multiscale_crops():
    """--max-zoom: crops of random side in [S, S·zoom] resized to S; a zoomed-in crop of a street shows the same
    metres (depth is resampled by nearest pixel, never blended), and the single-scale draws are unchanged."""
    from train.train_pix2pix import batch

    s = world.render_city("Paris", seed=3, size=128)
    images, depth = s.image[None], s.depth[None]
    g = torch.Generator().manual_seed(0)
    sides = set()
    for k in range(6):
        x, d = batch(images, depth, np.array([0]), 32, g, torch.device("cpu"), max_zoom=4.0)
        assert x.shape == (1, 3, 32, 32) and d.shape == (1, 1, 32, 32) and -1 <= x.min() and x.max() <= 1
        metres = unit_to_depth(d)[0, 0].numpy()
        values = np.unique(np.clip(depth, MIN_DEPTH, MAX_DEPTH))  # every depth is one the render has (±0.5%)
        nearest = np.abs(metres.ravel()[:, None] - values[None]).min(1) / metres.ravel()
        assert (nearest < 0.005).all()
        sides.add(float(np.abs(np.diff(x.numpy(), axis=-1)).mean()))
    assert len(sides) > 1  # different zooms, different pictures
    _, centre = batch(images, depth, np.array([0]), 32, None, torch.device("cpu"), max_zoom=4.0)
    full = unit_to_depth(centre)[0, 0].numpy()  # centre crop without g: the whole view, downsized
    assert abs(np.median(full) - np.median(depth[0])) < 0.25 * np.median(depth[0])
    x, _ = batch(images, depth, np.array([0]), 32, torch.Generator().manual_seed(1), torch.device("cpu"))
    g = torch.Generator().manual_seed(1)  # single scale: the original draws (tops, then lefts), so runs resume
    t, l = (torch.randint(0, 128 - 32 + 1, (1,), generator=g).item() for _ in range(2))
    assert np.allclose(((x[0].permute(1, 2, 0) + 1) * 127.5).numpy(), images[0, t:t + 32, l:l + 32], atol=0.01)


def test_depth_route_chains_and_keeps_size():
    route = DepthRoutePipeline(*_tiny_pair())
    assert (route.source, route.target) == ("Paris", "Venice")
    photo = world.render_city("Paris", seed=2, size=(72, 100)).image
    out, depth = route(photo)
    assert out.shape == photo.shape and depth.shape == photo.shape[:2] and depth.dtype == np.float32
    expected = route.to_photo.depth_to_image(route.to_depth.image_to_depth(photo))
    assert (out == expected).all()  # the route is exactly the chain, depth as float in between
    with pytest.raises(ValueError, match="image→depth and a depth→image"):
        DepthRoutePipeline(route.to_photo, route.to_depth)


def test_cyclegan_pipeline_any_size():
    torch.manual_seed(0)
    pipe = CycleGANPipeline(CycleGenerator(ngf=8, n_blocks=1, source="Paris", target="Venice"))
    photo = world.render_city("Paris", seed=2, size=(60, 90)).image
    out = pipe(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8 and (pipe(photo) == out).all()


def test_read_photo_odd_inputs(tmp_path):
    rgba = Image.new("RGBA", (40, 30), (10, 20, 30, 0))
    arr, note = read_photo(rgba)
    assert arr.shape == (30, 40, 3) and (arr[0, 0] == (10, 20, 30)).all() and "RGBA" in note
    cmyk = tmp_path / "c.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(cmyk)
    arr, note = read_photo(str(cmyk))
    assert arr.shape == (30, 40, 3) and arr[0, 0, 0] > 200 and arr[0, 0, 1] < 60 and "CMYK" in note
    g16 = tmp_path / "g16.png"
    Image.fromarray(np.full((30, 40), 65535, np.uint16)).save(g16)
    arr, _ = read_photo(str(g16))
    assert (arr == 255).all()
    big, note = read_photo(np.zeros((1200, 2000, 3), np.uint8))
    assert big.shape == (307, 512, 3) and "resized from 2000×1200" in note
    gray, note = read_photo(np.zeros((20, 30), np.uint8))
    assert gray.shape == (20, 30, 3) and "grayscale" in note
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="not a readable image"):
        read_photo(str(bad))
    with pytest.raises(ValueError, match="too small"):
        read_photo(np.zeros((8, 100, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8 or uint16"):
        read_photo(np.zeros((20, 20, 3), np.float64))


@pytest.mark.slow
def test_any_city_keeps_the_scene_at_low_strength_and_checks_targets():
    pipe = AnyCityPipeline.from_pretrained("country_diffusion")
    photo = world.render_city("Paris", seed=3, size=(96, 160)).image
    low = pipe(photo, "Venice", strength=0.1, seed=0, steps=20)
    high = pipe(photo, "Venice", strength=0.6, seed=0, steps=20)
    assert low.shape == photo.shape and low.dtype == np.uint8
    err_low = np.abs(low.astype(int) - photo).mean()
    err_high = np.abs(high.astype(int) - photo).mean()
    assert err_low < err_high and err_low < 30  # low strength keeps the scene; more strength changes more
    assert (pipe(photo, "Venice", strength=0.1, seed=0, steps=20) == low).all()
    assert target_country("Venice") == "IT" and target_country("Japan") == "JP"
    with pytest.raises(ValueError):
        pipe(photo, "Atlantis")
    with pytest.raises(ValueError, match="strength"):
        pipe(photo, "Venice", strength=0.0)


def test_frames_from_gif_and_folder_are_stable(tmp_path):
    to_depth, to_photo = _tiny_pair()
    route = DepthRoutePipeline(to_depth, to_photo)
    still = world.render_city("Paris", seed=4, size=64).image
    frames = [still, still, np.roll(still, 2, axis=1)]
    moving = [np.roll(still, k, axis=1) for k in (0, 2, 4)]  # a GIF writer merges identical frames
    Image.fromarray(moving[0]).save(tmp_path / "a.gif", save_all=True,
                                    append_images=[Image.fromarray(f) for f in moving[1:]], duration=100)
    read = read_frames(tmp_path / "a.gif")
    assert len(read) == 3 and read[0].shape == (64, 64, 3)
    (tmp_path / "seq").mkdir()
    for k, f in enumerate(frames):
        Image.fromarray(f).save(tmp_path / "seq" / f"{k:03d}.png")
    seq = read_frames(tmp_path / "seq")
    assert len(seq) == 3 and (seq[0] == still).all()
    out = translate_frames(route, seq, seed=5)
    assert len(out) == 3 and (out[0] == out[1]).all()  # identical frames, identical outputs (one seed, one noise)
    with pytest.raises(ValueError, match="no images"):
        (tmp_path / "empty").mkdir()
        read_frames(tmp_path / "empty")


def test_steady_frames_follow_the_motion_without_ghosts():
    """A translator that re-invents grain every frame shimmers; steadying along the optical flow of the inputs
    cuts the exact-flow warp error and the outputs stay close to the clean content (no ghost of earlier frames)."""
    video = world.render_pan("Paris", seed=1, size=96, frames=8, degrees_per_frame=1.5)
    inputs, meta = [s.image for s in video], video[0].meta
    rng = np.random.default_rng(0)
    clean = [np.asarray(Image.fromarray(f).filter(ImageFilter.GaussianBlur(1)), np.float32) for f in inputs]
    shimmer = [np.clip(c + rng.normal(0, 20, c.shape), 0, 255).astype(np.uint8) for c in clean]
    steady = steady_frames(inputs, shimmer)

    def err(v):
        return warp_error(v, 1.5, meta["focal_px"], meta["horizon_row"])

    assert err(steady) < 0.7 * err(shimmer)
    assert (steady[0] == shimmer[0]).all()
    off = [np.abs(s.astype(np.float32) - c).mean() for s, c in zip(steady, clean)]
    assert max(off) < np.abs(shimmer[-1].astype(np.float32) - clean[-1]).mean()  # closer to the truth, not off it
    assert steady_frames(inputs, shimmer, 0.0)[3].tobytes() == shimmer[3].tobytes()
    with pytest.raises(ValueError, match="steady"):
        steady_frames(inputs, shimmer, 1.0)
    with pytest.raises(ValueError, match="outputs"):
        steady_frames(inputs, shimmer[:-1])


@pytest.mark.slow
def test_translate_cli_folder_frames_panorama_and_errors(tmp_path, capsys):
    """`python -m streetgen.translate`: a folder keeps its sub-folders, odd modes are converted, an unreadable file
    is skipped (the others are still written, exit 1); the depth route writes metres; --frames writes a GIF."""
    from streetgen.translate import main

    to_depth, to_photo = _tiny_pair()
    to_depth.save_pretrained(tmp_path / "d")
    to_photo.save_pretrained(tmp_path / "p")
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(world.render_city("Paris", seed=1, size=64).image).save(src / "a.png")
    Image.fromarray(world.render_city("Paris", seed=2, size=64).image).convert("CMYK").save(src / "sub" / "a.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    route = f"{tmp_path / 'd'}+{tmp_path / 'p'}"
    assert main(["--model", route, str(src), "--out", str(tmp_path / "out")]) == 1
    out = tmp_path / "out"
    assert Image.open(out / "a.png").size == (64, 64) and Image.open(out / "sub" / "a.png").size == (64, 64)
    depth = np.load(out / "a_depth.npy")
    assert depth.dtype == np.float32 and depth.shape == (64, 64) and MIN_DEPTH <= depth.min()
    err = capsys.readouterr()
    assert "skipped" in err.err and "broken.png" in err.err and "converted from CMYK" in err.out

    video = [Image.fromarray(s.image) for s in world.render_pan("Paris", seed=3, size=64, frames=4)]
    video[0].save(tmp_path / "pan.gif", save_all=True, append_images=video[1:], duration=100)
    assert main(["--model", route, "--frames", str(tmp_path / "pan.gif"), "--out", str(tmp_path / "vid")]) == 0
    assert len(list((tmp_path / "vid" / "frames").glob("*.png"))) == 4
    assert Image.open(tmp_path / "vid" / "translated.gif").n_frames == 4

    pano = world.render_panorama(48.86, 2.35, seed=0, height=64, famous_city="Paris").image
    Image.fromarray(pano).save(tmp_path / "pano.png")
    assert main(["--model", route, "--panorama", str(tmp_path / "pano.png"), "--out", str(tmp_path / "pano")]) == 0
    assert Image.open(tmp_path / "pano" / "pano.png").size == (128, 64)
    assert np.load(tmp_path / "pano" / "pano_depth.npy").shape == (64, 128)

    assert main(["--model", route, str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert main(["--model", "country_diffusion", str(src / "a.png"), "--out", str(tmp_path / "x")]) == 2
    assert "needs --target" in capsys.readouterr().err
    assert main(["--model", "judges/seg", str(src / "a.png"), "--out", str(tmp_path / "x")]) == 2
    assert "not a city translator" in capsys.readouterr().err
