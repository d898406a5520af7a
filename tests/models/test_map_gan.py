"""The map → street GAN (tiny configs): progressive growing, the coordinate context, the curriculum, the trainer
end to end, save/load, and the map pipeline."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import streetgen
from streetgen import geo
from streetgen.models.map_gan import MapGenerator
from streetgen.pipelines import MapPipeline
from streetgen.pipelines.map import great_circle, sample_map

TINY = dict(final_size=32, start_size=8, z_dim=16, context_dim=8, coord_bands=3, channels=[16, 8, 8])
PARIS, LYON, TOKYO = (48.8566, 2.3522), (45.764, 4.8357), (35.6812, 139.7671)


def _latlon(*points) -> torch.Tensor:
    return torch.tensor(points, dtype=torch.float64)


@pytest.mark.slow
def test_progressive_shapes_and_fade_in():
    torch.manual_seed(0)
    g = MapGenerator(**TINY).eval()
    z, ll = torch.randn(2, 16), _latlon(PARIS, TOKYO)
    assert g.sizes == [8, 16, 32] and g.num_stages == 3
    for stage, size in enumerate(g.sizes):
        assert g(z, ll, stage=stage).shape == (2, 3, size, size)
    with torch.no_grad():
        for stage in (1, 2):
            previous = F.interpolate(g(z, ll, stage=stage - 1), scale_factor=2, mode="nearest")
            assert torch.allclose(g(z, ll, stage=stage, alpha=0.0), previous, atol=1e-6)  # all old path
            assert torch.allclose(g(z, ll, stage=stage, alpha=1.0), g(z, ll, stage=stage), atol=1e-6)  # all new
            half = g(z, ll, stage=stage, alpha=0.5)
            assert torch.allclose(half, 0.5 * previous + 0.5 * g(z, ll, stage=stage), atol=1e-5)
    with pytest.raises(ValueError, match="stage"):
        g(z, ll, stage=3)
    with pytest.raises(ValueError, match="power of two"):
        MapGenerator(final_size=48, start_size=8)


def test_export_stage_and_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    g = MapGenerator(**TINY).eval()
    assert g.export_stage == 2 and g.image_size == 32  # a fresh model exports at its final resolution
    g.export_stage = 1
    assert sample_map(g, _latlon(PARIS)).shape == (1, 3, 16, 16)
    g.export_stage = 2
    g.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((tmp_path / "m" / "config.json").read_text())["architecture"] == "map_gan"
    loaded = streetgen.load(str(tmp_path / "m"))
    assert isinstance(loaded, MapGenerator) and loaded.image_size == 32 and not loaded.training
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    a = sample_map(g, _latlon(PARIS, TOKYO), generator=gen())
    b = sample_map(loaded, _latlon(PARIS, TOKYO), generator=gen())
    assert a.shape == (2, 3, 32, 32) and torch.equal(a, b) and a.min() >= 0 and a.max() <= 1


def test_coordinate_context():
    torch.manual_seed(0)
    g = MapGenerator(**TINY, context_noise=0.5).eval()
    ctx = g.embed(_latlon(PARIS, LYON, TOKYO))
    assert torch.allclose(ctx.pow(2).mean(1), torch.ones(3), atol=1e-4)  # context normalisation: unit RMS
    assert (ctx[0] - ctx[1]).norm() < (ctx[0] - ctx[2]).norm()  # nearby places → closer contexts than far ones
    feats = g.encoder.features(_latlon((0.0, 179.999), (0.0, -179.999)))
    assert torch.allclose(feats[0, :3], feats[1, :3], atol=1e-4)  # xyz: no seam at the antimeridian
    assert torch.equal(g.embed(_latlon(PARIS)), g.embed(_latlon(PARIS)))  # eval mode: no noise
    g.train()
    assert not torch.equal(g.embed(_latlon(PARIS)), g.embed(_latlon(PARIS)))  # train mode: noisy context
    z, fixed = torch.randn(1, 16), ctx[:1]
    assert torch.equal(g.synthesize(z, fixed), g.synthesize(z, fixed))  # ...and noise nowhere but the context
    off = MapGenerator(**TINY, context_norm=False).train()
    assert torch.equal(off.embed(_latlon(PARIS)), off.embed(_latlon(PARIS)))  # noise 0: switched off
    assert not torch.allclose(off.embed(_latlon(PARIS, TOKYO)).pow(2).mean(1), torch.ones(2), atol=1e-3)


def test_bad_coordinates_raise_clear_errors():
    g = MapGenerator(**TINY).eval()
    with pytest.raises(ValueError, match="latitudes must lie"):
        sample_map(g, _latlon((91.0, 0.0)))
    with pytest.raises(ValueError, match="latitudes must lie"):
        sample_map(g, _latlon((float("nan"), 0.0)))
    with pytest.raises(ValueError, match="shape"):
        sample_map(g, torch.zeros(2, 3))
    pipe = MapPipeline(g)
    with pytest.raises(ValueError, match="latitude 95"):
        pipe(95, 0)
    with pytest.raises(ValueError, match="longitude"):
        pipe(0, 200)
    with pytest.raises(ValueError, match="numbers"):
        pipe("north", 0)
    with pytest.raises(ValueError, match="n must be"):
        pipe(0, 0, n=0)
    with pytest.raises(ValueError, match="frames must be"):
        pipe.journey(PARIS, TOKYO, frames=1)
    with pytest.raises(ValueError, match="pair"):
        pipe.journey(PARIS, 3.0)


def test_curriculum_sampler_phases_determinism_and_resume():
    from train.train_map_gan import CurriculumSampler, growth, parse_curriculum

    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 70, 400), rng.uniform(-180, 180, 400)
    phases, steps = parse_curriculum("1,25,all", "3,4")
    assert phases == [1, 25, None] and steps == [3, 4]
    make = lambda: CurriculumSampler(lat, lon, 8, seed=1, phases=phases, phase_steps=steps,  # noqa: E731
                                     place_images=10)
    s = make()
    assert [len(p) for p in s.pools] == [10, len(s.pools[1]), 400] and 10 < len(s.pools[1]) <= 250
    assert set(s.pools[0]) <= set(s.pools[1])  # each phase contains the previous one
    drawn = [s.next().numpy() for _ in range(12)]
    assert all(set(b) <= set(s.pools[0]) for b in drawn[:3])  # one place
    assert all(set(b) <= set(s.pools[1]) for b in drawn[3:7]) and s.places == [1, 25, 400]
    assert s.phase == 2 and not set(np.concatenate(drawn[7:])) <= set(s.pools[1])  # everywhere
    again = make()
    assert all((again.next().numpy() == b).all() for b in drawn)  # deterministic by seed
    resumed = make()
    part = make()
    for _ in range(5):
        part.next()
    resumed.load_state_dict(json.loads(json.dumps(part.state_dict())))
    assert all((resumed.next().numpy() == b).all() for b in drawn[5:])  # resumes mid-phase exactly
    other = CurriculumSampler(lat, lon, 8, seed=2, phases=phases, phase_steps=steps, place_images=10)
    assert not (other.next().numpy() == drawn[0]).all()
    with pytest.raises(ValueError, match="curriculum-steps"):
        parse_curriculum("1,25,all", "3")
    assert growth(0, 3, 10, 10) == (0, 1.0) and growth(15, 3, 10, 10) == (1, 0.5)
    assert growth(25, 3, 10, 10) == (1, 1.0) and growth(10_000, 3, 10, 10) == (2, 1.0)
    assert growth(0, 3, 0, 0) == (2, 1.0)  # no growing: the final resolution from the first step


@pytest.mark.slow
def test_trainer_end_to_end_and_pipeline(tmp_path, tiny_country_cache):
    from train.train_map_gan import main

    # batch 4, 4 images per stage and per fade: step 1 at 8², step 2 fades 16² in, step 3 trains 16² alone
    export = main(["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), "--name", "t",
                   "--steps", "3", "--batch-size", "4", "--final-size", "16", "--z-dim", "16", "--context-dim", "8",
                   "--coord-bands", "3", "--channels", "16,8", "--stage-images", "4", "--fade-images", "4",
                   "--curriculum", "1,all", "--curriculum-steps", "1", "--place-images", "8", "--select-every", "3",
                   "--select-points", "4", "--outlier-km", "25000", "--log-every", "1", "--ckpt-every", "3",
                   "--device", "cpu", "--no-progress"])
    assert sorted(p.name for p in export.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    records = [json.loads(line) for line in (tmp_path / "runs" / "t" / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in records] == [0.0, 1.0, 1.0] and records[1]["alpha"] < 1.0
    assert all("loss_gap" in r for r in records) and "judge_km" in records[-1]
    assert records[0]["places"] == 1.0 and records[-1]["places"] == 24.0
    model = streetgen.load(str(export))
    assert isinstance(model, MapGenerator) and model.image_size == 16  # exported at its final resolution
    assert "judge_median_location_error_km" in (export / "README.md").read_text()

    pipe = MapPipeline(model)
    a, b = pipe(*PARIS, n=2, seed=3), pipe(*PARIS, n=2, seed=3)
    assert len(a) == 2 and a[0].shape == (16, 16, 3) and a[0].dtype == np.uint8
    assert all((u == v).all() for u, v in zip(a, b))  # same seed, same images
    assert not (pipe(*PARIS, n=1, seed=4)[0] == a[0]).all()
    frames = pipe.journey(PARIS, TOKYO, frames=5, seed=1)
    assert len(frames) == 5 and frames[0].shape == (16, 16, 3)
    assert all((u == v).all() for u, v in zip(frames, pipe.journey(PARIS, TOKYO, frames=5, seed=1)))

    # continuing the export at its final size (e.g. a GPU run carried on on the CPU): it starts from the export's
    # weights, trains at 16² from the first step and moves away from them
    tiny = ["--steps", "2", "--batch-size", "4", "--final-size", "16", "--z-dim", "16", "--context-dim", "8",
            "--coord-bands", "3", "--channels", "16,8", "--curriculum", "all", "--select-every", "0",
            "--log-every", "1", "--ckpt-every", "2", "--device", "cpu", "--no-progress"]
    common = ["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), *tiny]
    cont = main([*common, "--name", "c", "--init-from", str(export), "--stage-images", "0", "--fade-images", "0",
                 "--ema-decay", "0.5", "--ema-warmup", "0"])
    records = [json.loads(line) for line in (tmp_path / "runs" / "c" / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in records] == [1.0, 1.0]
    fresh = main([*common, "--name", "f", "--stage-images", "0", "--fade-images", "0", "--ema-decay", "0.5",
                  "--ema-warmup", "0"])
    assert "started from" in (cont / "README.md").read_text()

    def distance(folder) -> float:
        theirs = streetgen.load(str(folder)).state_dict()
        return sum(float((theirs[k].float() - v.float()).norm()) for k, v in model.state_dict().items()
                   if v.is_floating_point())

    assert 0 < distance(cont) < distance(fresh) / 4
    with pytest.raises(ValueError, match="architecture differs"):
        main([*common, "--name", "w", "--init-from", str(export), "--channels", "16,16"])


def test_great_circle_path():
    path = great_circle(PARIS, TOKYO, 9)
    assert path.shape == (9, 2) and np.allclose(path[0], PARIS) and np.allclose(path[-1], TOKYO)
    steps = geo.haversine_km(path[:-1, 0], path[:-1, 1], path[1:, 0], path[1:, 1])
    total = geo.haversine_km(*PARIS, *TOKYO)
    assert np.allclose(steps, total / 8, rtol=1e-6)  # constant speed along the shortest path
    assert path[4, 0] > 60  # Paris → Tokyo passes far north (over Siberia), not along a straight lat/lon line
    anti = great_circle((0.0, 0.0), (0.0, 180.0), 5)
    assert np.allclose(anti[2], (0.0, 90.0)) or np.allclose(anti[2], (0.0, -90.0))


@pytest.mark.slow
def test_critic_stages_fade_in_and_minibatch_stddev():
    from train.discriminators.map_critic import MapCritic
    from train.discriminators.minibatch import minibatch_stddev, stddev_group

    torch.manual_seed(0)
    ll = _latlon(PARIS, TOKYO, LYON, PARIS)
    for condition in ("projection", "concat"):
        d = MapCritic(final_size=32, start_size=8, coord_bands=3, context_dim=8, channels=[16, 8, 8],
                      condition=condition).eval()
        for stage, size in enumerate([8, 16, 32]):
            assert d(torch.randn(4, 3, size, size), ll, stage).shape == (4,)
        x = torch.randn(4, 3, 32, 32)
        assert torch.allclose(d(x, ll, 2, alpha=0.0), d(F.avg_pool2d(x, 2), ll, 1), atol=1e-5)  # old path only
        assert not torch.allclose(d(x, ll, 2), d(x, _latlon(TOKYO, PARIS, PARIS, LYON), 2))  # conditioned
    with pytest.raises(ValueError, match="expects 16"):
        d(torch.randn(4, 3, 32, 32), ll, 1)
    real, fake = torch.zeros(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    both = minibatch_stddev(torch.cat([real, fake]), stddev_group(4))
    assert both.shape == (8, 3, 3, 3) and (both[:4, 2] < 1e-3).all() and (both[4:, 2] > 0.1).all()  # no mixing
    assert stddev_group(6) == 3 and stddev_group(5) == 1


def test_model_selection_keeps_the_best():
    from train.common.ema import EMA
    from train.train_map_gan import Selection

    g = MapGenerator(**TINY)
    ema = EMA(g, decay=0.5)
    sel = Selection()
    assert sel.offer(900.0, 10, ema) and not sel.offer(950.0, 20, ema)
    best = {k: v.clone() for k, v in sel.shadow.items()}
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update(g)
    assert not sel.offer(901.0, 30, ema) and sel.best_step == 10
    assert all(torch.equal(best[k], v) for k, v in sel.shadow.items())  # a copy, not the moving shadow
    again = Selection()
    again.load_state_dict(sel.state_dict())
    assert again.best_km == 900.0 and again.best_step == 10 and again.offer(100.0, 40, ema)
