"""The world dataset writer (OSV-5M layout + labels + depth) and the `python -m streetgen.world` command."""
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streetgen import world
from streetgen.world.dataset import CSV_COLUMNS, DatasetSpec, read_csv, write_dataset, write_sample

ROOT = Path(__file__).resolve().parents[2]


def test_writer_round_trips(tmp_path):
    spec = DatasetSpec(out=str(tmp_path / "ds"), n=10, size=(64, 96), seed=3, countries=["NA", "JP"],
                       splits={"train": 0.8, "test": 0.2})
    counts = write_dataset(spec, workers=1, progress=False)
    assert counts == {"train": 8, "test": 2}
    rows = read_csv(tmp_path / "ds" / "train.csv") + read_csv(tmp_path / "ds" / "test.csv")
    assert len(rows) == 10
    with open(tmp_path / "ds" / "train.csv", newline="") as fh:
        assert next(csv.reader(fh)) == CSV_COLUMNS
    assert {r["country"] for r in rows} == {"NA", "JP"}  # Namibia's "NA" survives as a string
    for r in rows:
        assert len(r["id"]) == 16 and r["id"].isdigit()
        assert r["drive_side"] == "1"  # both drive on the left
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 10
    # Files exist and hold exactly what the renderer produced for that sample.
    i = 3
    row = rows[i]
    split = spec.split_of(i)
    lat, lon = spec.place_of(i)
    s = world.render(lat, lon, seed=spec.seed * 1_000_003 + i, size=spec.size)
    assert abs(float(row["latitude"]) - lat) < 1e-5 and abs(float(row["longitude"]) - lon) < 1e-5
    labels = np.array(Image.open(tmp_path / "ds" / "labels" / split / f"{row['id']}.png"))
    assert labels.dtype == np.uint8 and (labels == s.labels).all()
    depth = np.array(Image.open(tmp_path / "ds" / "depth" / split / f"{row['id']}.png"))
    assert depth.dtype == np.uint16
    assert (depth == np.clip(np.round(s.depth * 1000), 0, 65535).astype(np.uint16)).all()
    img = Image.open(tmp_path / "ds" / "images" / split / f"{row['id']}.jpg")
    assert img.size == (96, 64) and img.mode == "RGB"
    assert np.abs(np.asarray(img, float) - s.image).mean() < 8  # JPEG of the same picture


def test_writer_is_deterministic_per_sample(tmp_path):
    spec = DatasetSpec(out=str(tmp_path / "a"), n=4, size=(48, 48), seed=1)
    (tmp_path / "a" / "images" / "train").mkdir(parents=True)
    for kind in ("labels", "depth"):
        (tmp_path / "a" / kind / "train").mkdir(parents=True)
    s1, r1 = write_sample(spec, 2)
    s2, r2 = write_sample(spec, 2)
    assert r1 == r2 and s1 == s2 == "train"


def test_world_sampling_without_countries_spans_the_globe(tmp_path):
    spec = DatasetSpec(out=str(tmp_path), n=40, seed=0)
    countries = {__import__("streetgen.geo", fromlist=["reverse"]).reverse(*spec.place_of(i)).country for i in range(40)}
    assert len(countries) >= 12


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0), "n must be positive"), (dict(splits={"train": 0.5}), "sum to 1"),
    (dict(countries=["Narnia"]), "unknown country"), (dict(jpeg_quality=0), "jpeg_quality"),
])
def test_bad_specs(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        DatasetSpec(out=str(tmp_path), **kwargs)


@pytest.mark.slow
def test_cli_dataset_and_grid(tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "streetgen.world", "dataset", "--out", str(out), "--n", "6",
                        "--size", "48x64", "--countries", "FR,KE", "--splits", "train=0.5,test=0.5", "--workers", "2"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(read_csv(out / "train.csv")) == 3 and len(read_csv(out / "test.csv")) == 3
    assert len(list((out / "images" / "test").glob("*.jpg"))) == 3
    grid = tmp_path / "grid.png"
    r = subprocess.run([sys.executable, "-m", "streetgen.world", "grid", "--countries", "NO,Paris", "--size", "64",
                        "--out", str(grid)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert Image.open(grid).size == (64 * 3, 64 * 2)


def test_cli_bad_country_exits_with_message(tmp_path):
    r = subprocess.run([sys.executable, "-m", "streetgen.world", "dataset", "--out", str(tmp_path), "--n", "2",
                        "--countries", "Narnia"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "unknown country" in r.stderr
