"""Judges, metrics and `python -m streetgen.eval`: behaviour on real renders, shuffled conditions and every model."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import streetgen
from streetgen import metrics, world
from streetgen.models.judges import DepthEstimator, PlaceJudge, Segmenter
from streetgen.models.base import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "checkpoints" / "judges"


# ---- metrics ---------------------------------------------------------------------------------------------------
def test_frechet_and_kernel_distance_separate_distributions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    c = rng.normal(loc=0.7, size=(400, 8))
    assert metrics.frechet_distance(a, b) < 0.2 < metrics.frechet_distance(a, c)
    assert abs(metrics.kernel_distance(a, b)) < 0.1 < 1.0 < metrics.kernel_distance(a, c)
    with pytest.raises(ValueError):
        metrics.frechet_distance(a[:1], b)


def test_diversity_topk_iou():
    same = np.ones((5, 4))
    assert metrics.diversity(same) == 0.0
    assert metrics.diversity(np.eye(4)) == pytest.approx(np.sqrt(2))
    logits = np.array([[3.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    assert metrics.topk_accuracy(logits, np.array([0, 0]), 1) == 0.5
    assert metrics.topk_accuracy(logits, np.array([1, 0]), 3) == 1.0
    lab = np.array([[0, 1], [3, 11]])
    assert metrics.mean_iou(lab, lab) == 1.0
    assert metrics.mean_iou(np.array([[1, 0], [3, 5]]), lab) == pytest.approx(1 / 3)  # void pixel ignored


# ---- every registered model: build, run, save, load --------------------------------------------------------------
def _example_input(arch: str):
    return torch.rand(2, 3, 64, 64)


@pytest.mark.parametrize("arch", ["place_judge", "segmenter", "depth_estimator", "city_judge"])
def test_registered_models_round_trip(arch, tmp_path):
    cls = REGISTRY[arch]
    kwargs = {"width": 8}
    if arch == "place_judge":
        kwargs.update(countries=["FR", "JP", "NA"], styles=list(world.FAMILIES), input_size=64)
    if arch == "city_judge":
        kwargs.update(cities=["Paris", "Venice"], input_size=32)
    model = cls(**kwargs).eval()
    x = _example_input(arch)
    with torch.no_grad():
        y = model(x)
    model.save_pretrained(tmp_path / arch)
    loaded = streetgen.load(str(tmp_path / arch))
    assert type(loaded) is cls and loaded.architecture == arch
    with torch.no_grad():
        y2 = loaded(x)
    if isinstance(y, dict):
        for k in y:
            assert torch.allclose(y[k], y2[k], atol=1e-5), k
        assert y["country"].shape == (2, 3) and y["features"].shape[0] == 2
    elif arch == "city_judge":
        assert torch.allclose(y, y2, atol=1e-5) and y.shape == (2, 2)  # logits over its cities, any input size
    else:
        assert torch.allclose(y, y2, atol=1e-5)
        assert y.shape[-2:] == (64, 64)


def test_segmenter_and_depth_outputs():
    x = torch.rand(1, 3, 48, 80)
    assert Segmenter(width=8).eval().predict(x).shape == (1, 48, 80)
    d = DepthEstimator(width=8).eval().predict(x)
    assert d.shape == (1, 48, 80) and (d >= 0.5).all()
    f = PlaceJudge(countries=["FR"], width=8, input_size=64).eval().features(torch.rand(3, 3, 100, 150))
    assert f.shape == (3, 256)  # any input size is resized to the judge's own


# ---- shipped judges and the eval command -----------------------------------------------------------------------
def _shipped(name: str) -> Path:
    folder = SHIPPED / name
    assert (folder / "model.safetensors").exists(), f"{folder} is missing: train it with train/train_judges.py"
    return folder


@pytest.mark.parametrize("name", ["place", "place_photo", "seg", "depth"])
def test_shipped_judges_have_cards_and_load(name):
    import re

    from streetgen.models.card import read_card

    folder = _shipped(name)
    card = read_card(folder)
    # the seg judge comes from the segmenter trainer (transfer training), the others from train_judges
    script = r"python (train/train_judges\.py|-m train\.train_segmenter) "
    assert re.match(script, card.training_command), card.training_command
    assert card.metrics and card.steps
    model = streetgen.load(f"judges/{name}")
    assert not model.training


@pytest.mark.slow
def test_eval_real_renders_beat_shuffled_conditions(tmp_path):
    from streetgen.eval.country import eval_country

    judge = streetgen.load(str(_shipped("place")))
    real = eval_country("world", per=2, size=128, limit=25, place_judge=judge)
    shuffled = eval_country("world-shuffled", per=2, size=128, limit=25, place_judge=judge)
    assert real["country_top5"] > 0.4
    assert shuffled["country_top1"] < real["country_top1"]
    assert shuffled["country_top5"] < 0.5 * real["country_top5"]
    assert real["judge_frechet_distance"] >= 0 and real["diversity_within_country"] > 0
    # one top-1 per generation seed, averaging to the whole; another seed renders other pictures of the same requests
    assert len(real["country_top1_per_seed"]) == 2
    assert abs(np.mean(real["country_top1_per_seed"]) - real["country_top1"]) < 1e-3
    other = eval_country("world", per=2, size=128, limit=25, place_judge=judge, seed=9100)
    assert other["country_top5"] > 0.4 and other["judge_frechet_distance"] != real["judge_frechet_distance"]


@pytest.mark.slow
def test_eval_command_writes_json_and_markdown(tmp_path):
    _shipped("seg")
    r = subprocess.run([sys.executable, "-m", "streetgen.eval", "--task", "layout", "--model", "world", "--n", "6",
                        "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["task"] == "layout" and m["layout_miou"] > 0.5  # real renders keep their own layout
    assert "| layout_miou |" in (tmp_path / "metrics.md").read_text()


@pytest.mark.slow
def test_eval_command_rejects_unknown_model(tmp_path):
    r = subprocess.run([sys.executable, "-m", "streetgen.eval", "--task", "country", "--model", "nope"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown model" in r.stderr


@pytest.mark.slow
def test_layout_eval_rows_for_spade_and_layout_gan(camvid_root):
    """The layout task's rows: a SPADE checkpoint keeps the layouts (mIoU near the real photos'), is further from
    the real photos than they are from themselves; a layout GAN is measured against the real maps, then painted."""
    import streetgen
    from streetgen.eval.layout import eval_layout

    seg, place = streetgen.load("judges/seg"), streetgen.load("judges/place")
    real = eval_layout("world", 12, seg, place)
    spade = eval_layout("spade_world", 12, seg, place)
    assert real["miou_ratio_to_real"] == 1.0 and real["judge_frechet_distance"] < 1e-6
    assert spade["miou_ratio_to_real"] > 0.6 and spade["judge_frechet_distance"] > 1.0
    gan = eval_layout("layout_world", 12, seg, place)
    assert {"layout_class_l1", "layout_row_profile_l1", "layout_frechet_distance",
            "two_stage_judge_frechet_distance"} <= set(gan) and gan["painter"] == "spade_world"
    assert 0 < gan["layout_class_l1"] < 1.0
    cam = eval_layout("spade_camvid", 2, seg, place, data=f"camvid:{camvid_root}")
    assert cam["n_images"] == 2 and cam["data"].startswith("camvid:") and "layout_miou" in cam
    with pytest.raises(ValueError, match="neither"):
        eval_layout("judges/depth", 2, seg, place)


@pytest.mark.slow
def test_layout_eval_unconditional_photo_row():
    """The study's unconditional-photo-generator row: the country diffusion model asked for no country, measured
    against square world renders; its photos vary by sample and sit further from the real photos than they do."""
    import streetgen
    from streetgen.eval.layout import eval_layout, unconditional_photos

    seg, place = streetgen.load("judges/seg"), streetgen.load("judges/place")
    photos = unconditional_photos(streetgen.load("country_diffusion"), 3, batch=2)
    assert photos.shape == (3, 128, 128, 3) and photos.dtype == np.uint8
    assert np.abs(photos[0].astype(int) - photos[1]).mean() > 5  # different samples, not one fixed image
    row = eval_layout("country_diffusion", 4, seg, place)
    assert row["size"] == "128x128" and row["unconditional_judge_frechet_distance"] > 1.0
    assert "layout_miou" not in row  # nothing to keep: no layout went in
    with pytest.raises(ValueError, match="world photos"):
        eval_layout("country_diffusion", 2, seg, place, data="camvid:/nonexistent")


def test_map_eval_reports_the_median_with_its_bootstrap_interval():
    """Real renders are located far better than shuffled nonsense would be, and the median comes with a 95% interval
    that contains it (what an ablation needs to tell an effect from noise)."""
    import streetgen
    from streetgen.eval.map import eval_map

    m = eval_map("world", 12, 1, 64, streetgen.load("judges/place"))
    assert m["n_images"] == 12 and 0 <= m["country_top1"] <= 1
    assert m["median_km_ci95_low"] <= m["median_location_error_km"] <= m["median_km_ci95_high"]
    assert m["median_km_ci95_high"] > m["median_km_ci95_low"]  # 12 points: a real spread, not a point
    assert m["median_location_error_km"] < 6000  # a judge guessing at random is ~8-10,000 km off


def test_country_checkpoint_generator_answers_requests_in_chunks():
    """The eval's checkpoint path: requests split over several model calls give one call's image each."""
    from streetgen.eval.country import checkpoint_country_generator, default_country_batch
    from streetgen.pipelines import CountryPipeline

    assert default_country_batch("cpu") == 8 and default_country_batch("cuda:0") == 256
    factory, known = checkpoint_country_generator("cvae", batch=2)
    requests = [(c, k) for k, c in enumerate(known[:5])]  # 5 requests: chunks of 2, 2 and 1
    images = factory(7)(requests)
    pipe = CountryPipeline.from_pretrained("cvae")
    assert len(images) == 5
    for image, (country, k) in zip(images, requests):
        one = pipe(country, n=1, seed=7 * 1000 + k)[0]
        assert np.abs(image.astype(int) - one.astype(int)).max() <= 1
    assert np.abs(images[0].astype(int) - images[1].astype(int)).mean() > 1  # each request its own image


@pytest.mark.slow
def test_eval_command_rejects_a_negative_batch(tmp_path):
    r = subprocess.run([sys.executable, "-m", "streetgen.eval", "--task", "country", "--model", "cvae", "--batch", "-1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--batch" in r.stderr
