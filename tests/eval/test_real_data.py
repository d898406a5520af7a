"""Judges scored on labelled real data (`--task judge`): every data kind in its real layout, the metrics' arithmetic
checked against judges whose answers are known, and the command line's messages."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streetgen import classes, geo, metrics, world
from streetgen.data import camvid_pairs, read_depth
from streetgen.data.paired import save_depth_mm
from streetgen.eval.judges import load_judge
from streetgen.eval.real import eval_judge, parse_data

ROOT = Path(__file__).resolve().parents[2]


class Always:
    """A place judge that answers one country for every photo (its score is then a property of the data)."""
    kind, description = "place", "always one country"

    def __init__(self, answer: str, countries: list[str]):
        self.countries, self.answer = countries, answer

    def predict(self, images: np.ndarray) -> dict:
        probs = np.zeros((len(images), len(self.countries)), np.float32)
        probs[:, self.countries.index(self.answer)] = 1
        return {"countries": self.countries, "probs": probs, "latlon": None}


class InverseDepth:
    """A relative depth judge whose disparity is an affine map of the true one: aligned errors must vanish."""
    kind, description, output = "depth", "affine disparity", "relative_disparity"

    def __init__(self, truth: dict[bytes, np.ndarray]):
        self.truth = truth

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.stack([3.0 / self.truth[im.tobytes()] + 0.2 for im in images]).astype(np.float32)


@pytest.fixture(scope="module")
def segnet_camvid(tmp_path_factory, camvid_root) -> Path:
    """Four CamVid pairs in the SegNet tutorial's layout (test/ + testannot/), the layout its test split ships in."""
    root = tmp_path_factory.mktemp("segnet_camvid")
    (root / "test").mkdir()
    (root / "testannot").mkdir()
    pairs = camvid_pairs(camvid_root, "val")  # the real val split, or conftest's two-frame stand-in
    for image, label in pairs.pairs[:4]:
        shutil.copy(image, root / "test" / Path(image).name)
        shutil.copy(label, root / "testannot" / Path(label).name)
    return root


@pytest.fixture(scope="module")
def depth_root(tmp_path_factory) -> tuple[Path, dict[bytes, np.ndarray]]:
    root = tmp_path_factory.mktemp("depth_pairs")
    (root / "images").mkdir()
    (root / "depth").mkdir()
    truth = {}
    for s in range(3):
        sample = world.render(48.85 + 0.01 * s, 2.35, seed=s, size=64)
        Image.fromarray(sample.image).save(root / "images" / f"f{s}.png")
        save_depth_mm(np.asarray(sample.depth), root / "depth" / f"f{s}.png")
        truth[np.ascontiguousarray(sample.image).tobytes()] = read_depth(root / "depth" / f"f{s}.png")  # as stored
    return root, truth


def test_confusion_iou_equals_the_per_image_definition():
    rng = np.random.default_rng(0)
    pred, target = rng.integers(0, 12, (2, 40, 50)), rng.integers(0, 12, (2, 40, 50))
    cm = metrics.confusion(pred[0], target[0]) + metrics.confusion(pred[1], target[1])
    expected = metrics.class_iou(pred, target)
    assert np.allclose(metrics.iou_from_confusion(cm), expected, equal_nan=True)
    assert cm.sum() == np.count_nonzero(target != classes.IGNORE)


def test_depth_errors_align_relative_outputs_only():
    gt = np.linspace(2, 35, 400).reshape(20, 20)  # doubled, still nearer than max_depth (80 m)
    assert metrics.depth_errors(gt, gt)["abs_rel"] == pytest.approx(0, abs=1e-9)
    doubled = metrics.depth_errors(2 * gt, gt)
    assert doubled["abs_rel"] == pytest.approx(1.0) and doubled["delta_1.25"] == 0
    assert metrics.depth_errors(5 / gt + 0.1, gt, "relative_disparity")["abs_rel"] < 1e-6
    assert metrics.depth_errors(2 * gt, gt, "relative_depth")["delta_1.25"] == 1
    with pytest.raises(ValueError, match="metric, relative"):
        metrics.depth_errors(gt, gt, "inverse")


def test_camvid_splits_read_in_both_layouts(camvid_root, segnet_camvid):
    copied = min(4, len(camvid_pairs(camvid_root, "val")))
    assert len(camvid_pairs(segnet_camvid, "test")) == copied >= 2
    assert len(camvid_pairs(camvid_root, "train")) > len(camvid_pairs(camvid_root, "val"))
    with pytest.raises(FileNotFoundError, match="found: test, testannot"):
        camvid_pairs(segnet_camvid, "val")
    with pytest.raises(ValueError, match="one of train, val, test"):
        camvid_pairs(segnet_camvid, "holdout")
    with pytest.raises(ValueError, match="KIND:ROOT"):
        parse_data("kitti:/data")


@pytest.mark.slow
def test_seg_judge_on_camvid_test_at_both_scales(segnet_camvid):
    out = eval_judge(load_judge("seg", "judges/seg"), f"camvid:{segnet_camvid}", "test")
    assert out["n_images"] == len(camvid_pairs(segnet_camvid, "test"))
    for tag in ("native", "128rows"):
        assert 0 < out[f"miou_{tag}"] < 1 and 0 < out[f"pixel_accuracy_{tag}"] <= 1
        assert set(out[f"per_class_iou_{tag}"]) <= set(classes.CLASS_NAMES)
    assert sum(out["true_share"].values()) == pytest.approx(1, abs=1e-3)
    assert out["pred_share"]["unmapped"] == 0  # a streetgen segmenter only answers our classes


@pytest.mark.slow
def test_place_scores_follow_the_data(tmp_path, camvid_root):
    from streetgen.data.fake_osv5m import write_fake

    write_fake(tmp_path, n=12, size=(96, 128), seed=3, countries=["FR", "JP", "GB"], per_shard=6, workers=1,
               splits={"test": 1.0})
    truth = [line.split(",") for line in (tmp_path / "osv5m" / "test.csv").read_text().splitlines()]
    col = truth[0].index("country")
    countries = [row[col] for row in truth[1:]]
    labels = ["FR", "JP", "GB", "US"]
    for answer in ("JP", "GB"):
        out = eval_judge(Always(answer, labels), f"osv5m:{tmp_path / 'osv5m'}", "test", size=64)
        assert out["country_top1"] == pytest.approx(countries.count(answer) / len(countries))
        left = np.mean([(c in geo.LEFT_DRIVING) == (answer in geo.LEFT_DRIVING) for c in countries])
        assert out["drive_side_accuracy"] == pytest.approx(left)
        assert "median_km" not in out  # the judge gives no coordinates
    on_camvid = eval_judge(Always("GB", labels), f"camvid:{camvid_root}", "val", n=3, size=64)
    assert on_camvid["country_top1"] == on_camvid["drive_side_accuracy"] == on_camvid["always_most_common_top1"] == 1
    shipped = eval_judge(load_judge("place", "judges/place"), f"osv5m:{tmp_path / 'osv5m'}", "test", size=128)
    assert 0 <= shipped["within_2500km"] <= 1 and 0 <= shipped["geoscore"] <= 5000


@pytest.mark.slow
def test_city_and_depth_judges_on_folders(tmp_path, depth_root):
    for city in ("Paris", "Venice"):
        (tmp_path / city).mkdir()
        for s in range(2):
            Image.fromarray(world.render_city(city, seed=s, size=96).image).save(tmp_path / city / f"{s}.jpg")
    out = eval_judge(load_judge("city", "judges/city"), f"cities:{tmp_path}", size=96)
    assert out["n_images"] == 4 and set(out["per_city_top1"]) == {"Paris", "Venice"}
    shutil.copytree(tmp_path / "Paris", tmp_path / "Atlantis")
    with pytest.raises(ValueError, match="not known: Atlantis"):
        eval_judge(load_judge("city", "judges/city"), f"cities:{tmp_path}", size=96)

    root, truth = depth_root
    exact = eval_judge(InverseDepth(truth), f"depth:{root}")
    assert exact["abs_rel"] < 1e-3 and exact["delta_1.25"] == 1 and exact["aligned"]
    shipped = eval_judge(load_judge("depth", "judges/depth"), f"depth:{root}")
    assert shipped["judge_output"] == "metric" and shipped["rmse_m"] > 0 and not shipped["aligned"]
    with pytest.raises(ValueError, match="cannot be scored on depth data; use camvid or osv5m"):
        eval_judge(load_judge("place", "judges/place"), f"depth:{root}")


@pytest.mark.slow
def test_the_command_line_scores_a_judge_and_says_what_is_missing(tmp_path, camvid_root):
    run = [sys.executable, "-m", "streetgen.eval", "--task", "judge"]
    judge = shutil.copytree(ROOT / "checkpoints" / "judges" / "seg", tmp_path / "my_seg")
    done = subprocess.run([*run, "--judge", f"seg={judge}", "--data", f"camvid:{camvid_root}", "--n", "2",
                           "--out", str(tmp_path / "out"), "--card"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    written = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert written["n_images"] == 2 and written["judge"].startswith("streetgen")
    # --card: the judge's card now carries its real-photo numbers, which the next load reports
    assert load_judge("seg", str(judge)).card_metrics["real_camvid_val_miou_native"] == round(written["miou_native"], 4)
    bad = subprocess.run([*run, "--data", f"camvid:{camvid_root}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "needs --judge KIND=SOURCE" in bad.stderr
    wrong = subprocess.run([*run, "--judge", "sky=judges/seg", "--data", f"camvid:{camvid_root}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "sky" in wrong.stderr


@pytest.mark.slow
def test_every_judge_kind_on_unseen_renders():
    seg = eval_judge(load_judge("seg", "judges/seg"), "world", n=1, size=64)
    assert seg["n_images"] == 111 and seg["miou_native"] > 0.3 and seg["miou_128rows"] > 0.3
    place = eval_judge(load_judge("place", "judges/place"), "world", n=1, size=64)
    assert place["n_images"] == 111 and place["country_top1"] > 2 / 111  # well above chance on its own world
    city = eval_judge(load_judge("city", "judges/city"), "world", n=2, size=96)
    assert city["n_images"] == 20 and city["city_top1"] > 0.5
    depth = eval_judge(load_judge("depth", "judges/depth"), "world", n=1, size=64)
    assert depth["judge_output"] == "metric" and depth["delta_1.25"] > 0.3


@pytest.mark.slow
def test_a_seg_judge_takes_the_segmenters_place_in_the_layout_task():
    import streetgen
    from streetgen.eval.layout import eval_layout

    place = streetgen.load("judges/place")
    direct = eval_layout("world", 4, streetgen.load("judges/seg"), place, None, "world", "", None, (64, 128))
    plugged = eval_layout("world", 4, load_judge("seg", "judges/seg"), place, None, "world", "", None, (64, 128))
    miou = [k for k in direct if "miou" in k]
    assert miou and all(direct[k] == pytest.approx(plugged[k], abs=1e-9) for k in miou)
