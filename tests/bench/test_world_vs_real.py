"""bench/world_vs_real.py: its look and layout measures on sets whose answer is known, and one small run."""
import numpy as np
import pytest

from bench.world_vs_real import compare, look, main, profile_picture
from streetgen import classes


def test_look_of_known_colours():
    grey = np.full((2, 8, 8, 3), 128, np.uint8)
    red = np.zeros((2, 8, 8, 3), np.uint8)
    red[..., 0] = 255
    g, r = look(grey), look(red)
    assert g["mean_luma"] == pytest.approx(128 / 255, abs=1e-3) and g["mean_sat"] == 0 and g["contrast"] == 0
    assert r["mean_sat"] == pytest.approx(1) and r["mean_luma"] == pytest.approx(0.299, abs=1e-3)
    assert g["luma_hist"].sum() == pytest.approx(1) and r["sat_hist"][-1] == pytest.approx(1)


def test_a_set_against_itself_is_at_distance_zero_and_profiles_show_where_classes_sit():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 12, 16, 3), dtype=np.uint8)
    labels = np.zeros((3, 12, 16), np.uint8)
    labels[:, 6:] = classes.ROAD
    same = compare((images, labels), (images, labels))
    assert same["class_l1"] == same["row_profile_l1"] == same["luma_hist_l1"] == same["sat_hist_l1"] == 0
    pic = profile_picture(labels, width=20)
    assert pic.shape == (12, 20, 3)
    assert (pic[0] == classes.PALETTE[0]).all() and (pic[-1] == classes.PALETTE[classes.ROAD]).all()


@pytest.mark.slow
def test_a_small_run_prints_and_saves_its_sheet(camvid_root, tmp_path, capsys):
    out = main(["--camvid", str(camvid_root), "--n", "1", "--png", str(tmp_path / "s.png")])
    assert 0 < out["class_l1"] <= 2 and 0 < out["luma_hist_l1"] <= 2
    assert "| Sky |" in capsys.readouterr().out and (tmp_path / "s.png").stat().st_size > 1000
