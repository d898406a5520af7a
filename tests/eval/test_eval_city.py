"""`python -m streetgen.eval --task city`: the city judge, every route's row, the depth scale check, bad specs."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import streetgen
from streetgen import geo
from streetgen.eval.city import city_renders, depth_errors, eval_city, judge_cities


@pytest.fixture(scope="module")
def judges():
    return streetgen.load("judges/city"), streetgen.load("judges/seg"), streetgen.load("judges/depth")


def test_city_judge_knows_the_famous_cities(judges):
    """On unseen renders the shipped city judge is far above chance (1 in 10) for the cities the app translates."""
    city_judge = judges[0]
    assert city_judge.cities == list(geo.FAMOUS_CITIES)
    for city in ("Paris", "Venice", "Manhattan"):
        images = city_renders(city, 6, 96, seed=123)[0]
        assert (judge_cities(city_judge, images) == city_judge.cities.index(city)).mean() >= 0.5, city


def test_depth_errors_ignore_the_sky():
    truth = np.array([[1.0, 2.0], [500.0, 4.0]])
    pred = np.array([[1.0, 3.0], [1.0, 4.0]])  # the sky pixel (≥ MAX_DEPTH) is wrong but does not count
    err = depth_errors(pred, truth)
    assert err["rmse_m"] == pytest.approx(np.sqrt(1 / 3)) and err["abs_rel"] == pytest.approx(0.5 / 3)


def test_untranslated_reference_row(judges):
    """'world': the source renders themselves — the scene is kept exactly; style is the source's (the floor)."""
    row = eval_city("world", 4, 64, *judges, source="Paris", target="Venice")
    assert row["structure_miou"] == 1.0 and row["label_miou_ratio"] == 1.0
    assert row["target_city_accuracy"] == row["input_target_accuracy"] and not row["goal_met"]


@pytest.mark.slow
def test_cyclegan_and_depth_route_rows(judges):
    gan = eval_city("cyclegan_paris_venice", 4, 64, *judges)
    assert (gan["source"], gan["target"], gan["train_size"]) == ("Paris", "Venice", 64)
    for key in ("target_city_accuracy", "real_target_accuracy", "structure_miou", "label_miou"):
        assert 0.0 <= gan[key] <= 1.0, key
    assert gan["structure_miou"] < 1.0  # the translation changed pixels: not the identity
    route = eval_city("pix2pix_depth_paris+pix2pix_photo_venice", 3, 64, *judges)
    assert (route["source"], route["target"]) == ("Paris", "Venice") and route["intermediate_depth_rmse_m"] > 0
    with pytest.raises(ValueError, match="not Manhattan"):
        eval_city("cyclegan_paris_venice", 2, 64, *judges, source="Manhattan")


@pytest.mark.slow
def test_layout_route_row_scores_its_intermediate(judges):
    """The layout route (shipped segmenter + city SPADE) goes from any city to any city it paints; its label maps
    are scored against the renderer's labels, and a target it cannot paint fails before any rendering."""
    row = eval_city("street_segmenter+spade_cities", 3, 64, *judges, source="Tokyo", target="Cairo")
    assert (row["source"], row["target"]) == ("Tokyo", "Cairo")
    assert 0.2 < row["intermediate_label_miou"] <= 1.0 and "intermediate_depth_rmse_m" not in row
    with pytest.raises(ValueError, match="--target"):
        eval_city("street_segmenter+spade_cities", 2, 64, *judges, source="Paris")


def test_depth_model_at_one_and_two_times_its_training_size(judges):
    row = eval_city("pix2pix_depth_paris", 3, 64, *judges)
    assert (row["size_1x"], row["size_2x"]) == (64, 128)
    assert row["depth_rmse_m_1x"] > 0 and row["depth_rmse_m_2x"] > 0 and row["depth_judge_rmse_m_2x"] > 0
    assert row["rmse_ratio_2x_to_1x"] == pytest.approx(row["depth_rmse_m_2x"] / row["depth_rmse_m_1x"])


@pytest.mark.slow
def test_any_city_needs_a_known_target(judges):
    row = eval_city("country_diffusion", 2, 64, *judges, source="Paris", target="Venice", strength=0.1)
    assert row["strength"] == 0.1 and row["structure_miou"] > 0.3  # low strength keeps much of the scene
    with pytest.raises(ValueError, match="--target"):
        eval_city("country_diffusion", 2, 64, *judges, source="Paris")
    with pytest.raises(ValueError, match="unknown city"):
        eval_city("country_diffusion", 2, 64, *judges, source="Paris", target="Atlantis")


@pytest.mark.slow
def test_cli_writes_metrics_and_rejects_bad_models(tmp_path):
    out = tmp_path / "city"
    r = subprocess.run([sys.executable, "-m", "streetgen.eval", "--task", "city", "--model", "cyclegan_paris_venice",
                        "--n", "2", "--size", "64", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "city" and "target_accuracy_ratio" in m and "| structure_miou |" in r.stdout
    bad = subprocess.run([sys.executable, "-m", "streetgen.eval", "--task", "city", "--model", "judges/place",
                          "--n", "2", "--out", str(tmp_path / "bad")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not a city model" in bad.stderr


@pytest.mark.slow
def test_temporal_stability_on_turning_camera_videos(judges):
    """--frames: warp errors of the input videos and of the translations (fresh seed, shared seed, steadied), as
    ratios to the input's; the steadied frames move less than the raw ones and their sharpness is reported."""
    row = eval_city("cyclegan_paris_venice", 8, 64, *judges, frames=4)
    assert (row["pans"], row["frames_per_pan"]) == (2, 4) and row["warp_error_input"] > 0
    assert row["warp_error_ratio_shared_seed"] == pytest.approx(row["warp_error_shared_seed"] / row["warp_error_input"])
    assert row["warp_error_steady"] < row["warp_error_shared_seed"]
    assert 0 < row["steady_sharpness_ratio"] <= 1.05
    for key in ("pan_raw_target_accuracy", "pan_steady_target_accuracy", "pan_raw_structure_miou",
                "pan_steady_structure_miou"):
        assert 0.0 <= row[key] <= 1.0, key
    with pytest.raises(ValueError, match="frames"):
        eval_city("cyclegan_paris_venice", 8, 64, *judges, frames=1)
