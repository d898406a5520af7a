"""OpenStreetView-5M reader: the real CSV format and its pitfalls, nested and zipped shards, the derived val split."""
import csv
import io
import logging
import zipfile

import numpy as np
import pytest
from PIL import Image

from streetgen.data import OSV5M, OSV5M_COLUMNS, load_image, val_mask
from streetgen.data.osv5m import val_indices
from streetgen.world.dataset import DatasetSpec, write_dataset

NAMIBIA_ID = "3859149887465501"
ROWS = [  # id, lat, lon, country; one row per storage kind below
    (NAMIBIA_ID, "-22.5609", "17.0658", "NA"),  # nested shard folder
    ("0012345678901234", "48.8566", "2.3522", "FR"),  # leading zeros: an id is a string, never a number
    ("9007199254740993", "35.6812", "139.7671", "JP"),  # > 2**53: would change if it passed through a float
    ("1000000000000004", "-33.9249", "18.4241", "ZA"),  # zip shard, member in a sub-folder
    ("1000000000000005", "64.1466", "-21.9426", "IS"),  # zip shard, member at the zip's root
]


def _jpeg(seed: int, size=(40, 56)) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _full_row(i: int, ident: str, lat: str, lon: str, country: str) -> list[str]:
    row = {c: "" for c in OSV5M_COLUMNS}  # optional fields left empty, as they often are in the real CSV
    row.update(id=ident, latitude=lat, longitude=lon, country=country, city="Windhoek" if country == "NA" else "",
               drive_side="1" if country in ("NA", "JP", "ZA") else "0", sequence=f"seq{i}")
    return [row[c] for c in OSV5M_COLUMNS]


@pytest.fixture()
def osv(tmp_path):
    root = tmp_path / "osv5m"
    with open(root.mkdir() or root / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(OSV5M_COLUMNS)
        for i, r in enumerate(ROWS):
            w.writerow(_full_row(i, *r))
    img = root / "images" / "train"
    (img / "00" / "deep").mkdir(parents=True)
    (img / "01").mkdir()
    (img / "00" / "deep" / f"{ROWS[0][0]}.jpg").write_bytes(_jpeg(0))
    (img / "00" / f"{ROWS[1][0]}.jpg").write_bytes(_jpeg(1))
    (img / "01" / f"{ROWS[2][0]}.jpg").write_bytes(_jpeg(2))
    with zipfile.ZipFile(img / "02.zip", "w") as zf:
        zf.writestr(f"02/{ROWS[3][0]}.jpg", _jpeg(3))
        zf.writestr(f"{ROWS[4][0]}.jpg", _jpeg(4))
    return root


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_real_format_ids_namibia_and_shards(osv):
    ds = OSV5M(osv, "train")
    assert len(ds) == 5
    assert [r.id for r in ds] == [r[0] for r in ROWS]  # all 16 digits, leading zeros kept, no float rounding
    na = ds[0]
    assert na.country == "NA" and na.id == NAMIBIA_ID  # Namibia is not "missing"
    assert na.lat == pytest.approx(-22.5609) and na.lon == pytest.approx(17.0658)
    assert na.extra["city"] == "Windhoek" and na.extra["region"] == "" and na.extra["drive_side"] == "1"
    assert set(na.extra) == set(OSV5M_COLUMNS) - {"id", "latitude", "longitude", "country"}
    assert na.member is None and ds[3].member == f"02/{ROWS[3][0]}.jpg" and ds[4].member == f"{ROWS[4][0]}.jpg"
    for i in range(5):  # nested folders and zip members decode to exactly the stored JPEG's pixels
        assert np.array_equal(ds.image(i), _decoded(_jpeg(i)))
        assert np.array_equal(load_image(ds[i]), ds.image(i))
    assert ds.image(3, size=24).shape == (24, 24, 3)
    assert [r.id for r in OSV5M(osv, "train", countries=["NA", "IS"])] == [NAMIBIA_ID, ROWS[4][0]]


def test_extracted_file_wins_over_zip_and_columns_subset(osv):
    ident = ROWS[3][0]
    (osv / "images" / "train" / "02").mkdir()
    (osv / "images" / "train" / "02" / f"{ident}.jpg").write_bytes(_jpeg(3))
    ds = OSV5M(osv, "train", columns=["city"])
    assert ds[3].member is None and ds[3].path.endswith(f"{ident}.jpg")
    assert set(ds[0].extra) == {"city"}


def test_world_dataset_reads_with_the_same_code(tmp_path):
    spec = DatasetSpec(out=str(tmp_path / "w"), n=8, size=(32, 48), seed=2, countries=["NA", "JP"],
                       splits={"train": 0.75, "test": 0.25})
    write_dataset(spec, workers=1, progress=False)
    train, test = OSV5M(spec.out, "train"), OSV5M(spec.out, "test")
    assert (len(train), len(test)) == (6, 2)
    assert {r.country for r in train} == {"NA", "JP"}
    assert all(len(r.id) == 16 for r in train) and "region" not in train[0].extra and "city" in train[0].extra
    assert train.image(1).shape == (32, 48, 3)


def test_missing_image_raises_or_skips_with_log(osv, caplog):
    (osv / "images" / "train" / "01" / f"{ROWS[2][0]}.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=ROWS[2][0]):
        OSV5M(osv, "train")
    with caplog.at_level(logging.WARNING, logger="streetgen.data"):
        ds = OSV5M(osv, "train", skip_missing=True)
    assert ROWS[2][0] not in [r.id for r in ds] and len(ds) == 4
    assert any(ROWS[2][0] in rec.getMessage() for rec in caplog.records)


def test_bad_csvs_name_the_file(osv):
    (osv / "test.csv").write_text("id,lat,lon,country\n1,2,3,FR\n")
    with pytest.raises(ValueError, match=r"test\.csv.*latitude"):
        OSV5M(osv, "test")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        OSV5M(osv, "nope")
    text = (osv / "train.csv").read_text().replace("-22.5609", "south")
    (osv / "train.csv").write_text(text)
    with pytest.raises(ValueError, match=f"'south'.*{NAMIBIA_ID}"):
        OSV5M(osv, "train")
    (osv / "images" / "train" / "02.zip").write_bytes(b"not a zip")
    (osv / "train.csv").write_text(text.replace("south", "-22.5"))
    with pytest.raises(ValueError, match="02.zip"):
        OSV5M(osv, "train")  # a corrupt shard is named


def test_corrupt_image_names_file(osv):
    (osv / "images" / "train" / "01" / f"{ROWS[2][0]}.jpg").write_bytes(_jpeg(2)[:200])
    ds = OSV5M(osv, "train")
    with pytest.raises(ValueError, match=ROWS[2][0]):
        ds.image(2)


def _synthetic_train(root, lat, lon, countries):
    (root / "images" / "train").mkdir(parents=True)
    with open(root / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "latitude", "longitude", "country"])
        for i, (a, b, c) in enumerate(zip(lat, lon, countries)):
            ident = str(2_000_000_000_000_000 + i)
            w.writerow([ident, a, b, c])
            (root / "images" / "train" / f"{ident}.jpg").write_bytes(b"")  # never decoded here


def test_val_split_deterministic_disjoint_and_weighted(tmp_path):
    rng = np.random.default_rng(0)
    n_dense, n_sparse = 900, 100
    lat = np.r_[48.85 + rng.uniform(0, 0.5, n_dense), np.linspace(-80, 80, n_sparse)]  # one crowded bin ...
    lon = np.r_[2.35 + rng.uniform(0, 0.5, n_dense), np.linspace(-170, 170, n_sparse)]  # ... and 100 lonely ones
    countries = ["FR"] * n_dense + ["NA"] * n_sparse
    _synthetic_train(tmp_path, lat, lon, countries)
    train = OSV5M(tmp_path, "train")
    val, rest = OSV5M(tmp_path, "val"), OSV5M(tmp_path, "train_minus_val")
    assert len(val) == 100 and len(rest) == 900
    assert not set(val.ids) & set(rest.ids) and set(val.ids) | set(rest.ids) == set(train.ids)
    assert OSV5M(tmp_path, "val").ids == val.ids  # same seed → same split
    assert OSV5M(tmp_path, "val", val_seed=1).ids != val.ids
    # count^-0.75: each lonely row weighs 900**0.75 ≈ 164× a crowded one, so they dominate the sample, where a
    # uniform 10% would hold about 10 of them.
    lonely = sum(c == "NA" for c in val.country)
    assert lonely > 60
    # A country filter selects within the split; it does not redraw it.
    assert OSV5M(tmp_path, "val", countries=["NA"]).ids == [i for i, c in zip(val.ids, val.country) if c == "NA"]
    mask = val_mask(lat, lon, 0.1, seed=42)  # the official random_state (was seed=0 before the official draw)
    assert mask.sum() == 100 and [i for i, m in zip(train.ids, mask) if m] == sorted(val.ids)
    assert val_mask(lat, lon, 0.1, seed=0, power=0.0)[n_dense:].sum() < 25  # power 0 = unweighted: ~10 lonely


def test_val_csv_on_disk_wins(osv):
    (osv / "val.csv").write_text("id,latitude,longitude,country\n" + f"{ROWS[0][0]},-22.5,17.0,NA\n")
    (osv / "images" / "val").mkdir()
    (osv / "images" / "val" / f"{ROWS[0][0]}.jpg").write_bytes(_jpeg(0))
    assert OSV5M(osv, "val").ids == [ROWS[0][0]]
    assert len(OSV5M(osv, "train_minus_val")) == len(OSV5M(osv, "train"))


def _official_val(csv_path) -> list[int]:
    """OSV-5M's own loader recipe (gastruc/osv5m, data/data.py, OpenWorld.load_split), run with pandas."""
    import pandas as pd

    df = pd.read_csv(csv_path, dtype={"country": str})
    longitude, latitude = df["longitude"].values, df["latitude"].values
    lon_bins = np.linspace(longitude.min(), longitude.max(), 100)
    lat_bins = np.linspace(latitude.min(), latitude.max(), 100)
    hist, _, _ = np.histogram2d(longitude, latitude, bins=[lon_bins, lat_bins])
    weights = 1.0 / np.power(hist[df["lon_bin"], df["lat_bin"]], 0.75)
    normalized_weights = weights / np.sum(weights)
    test_df = df.sample(n=int(0.1 * len(df)), weights=normalized_weights, replace=False, random_state=42)
    return list(test_df.index)


@pytest.mark.slow  # importing pandas takes seconds on a busy 2-core machine
def test_val_split_is_the_official_pandas_draw(tmp_path):
    rng = np.random.default_rng(7)
    n_world, n_city = 1500, 537  # a city cluster among scattered places; 2037 rows → int(203.7) = 203 val rows
    lat = np.r_[rng.uniform(-60, 70, n_world), 52.52 + rng.normal(0, 0.3, n_city)]
    lon = np.r_[rng.uniform(-180, 180, n_world), 13.40 + rng.normal(0, 0.3, n_city)]
    countries = ["XX"] * n_world + ["DE"] * n_city
    _synthetic_train(tmp_path, lat, lon, countries)
    # The CSV's own lon_bin / lat_bin columns, made with np.digitize (not the reader's code).
    lon_bin = np.minimum(np.digitize(lon, np.linspace(lon.min(), lon.max(), 100)) - 1, 98)
    lat_bin = np.minimum(np.digitize(lat, np.linspace(lat.min(), lat.max(), 100)) - 1, 98)
    rows = list(csv.reader(open(tmp_path / "train.csv", newline="")))
    with open(tmp_path / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(rows[0] + ["lon_bin", "lat_bin"])
        w.writerows(r + [int(a), int(b)] for r, a, b in zip(rows[1:], lon_bin, lat_bin))
    official = _official_val(tmp_path / "train.csv")
    assert len(official) == 203
    ids = OSV5M(tmp_path, "train").ids
    assert OSV5M(tmp_path, "val").ids == sorted(ids[i] for i in official)  # the same rows, in file order
    assert val_indices(lat, lon, lon_bin=lon_bin, lat_bin=lat_bin).tolist() == official  # in the draw's order
    assert val_indices(lat, lon).tolist() == official  # bins computed like the loader when the CSV has none
    rest = OSV5M(tmp_path, "train_minus_val", columns=())
    assert len(rest) == len(ids) - 203 and "lon_bin" not in rest[0].extra


def test_val_split_refuses_bins_that_match_no_row():
    lat, lon = np.linspace(-10, 10, 50), np.linspace(0, 40, 50)
    with pytest.raises(ValueError, match="holds no row"):
        val_indices(lat, lon, lon_bin=np.full(50, 98), lat_bin=np.zeros(50, int))
    with pytest.raises(ValueError, match="same latitude"):
        val_indices(np.zeros(50), lon)
