"""The preprocessing cache: country subsets, label index, draft-mode decoding, skipping bad images, the CLI."""
import csv
import json
import logging
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streetgen.data import OSV5M
from streetgen.data.cache import Cache, build_cache, main, select_countries
from streetgen.data.image import decode, open_draft
from streetgen.world.dataset import DatasetSpec, write_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """40 renders, countries cycling FR FR FR JP JP NA: uneven coverage for the subset options."""
    out = tmp_path_factory.mktemp("world") / "ds"
    spec = DatasetSpec(out=str(out), n=40, size=(72, 96), seed=5, countries=["FR", "FR", "FR", "JP", "JP", "NA"],
                       splits={"train": 1.0})
    write_dataset(spec, workers=1, progress=False)
    return out


def _counts(root) -> Counter:
    with open(root / "train.csv", newline="") as fh:
        return Counter(r["country"] for r in csv.DictReader(fh))


def test_select_countries():
    c = ["FR"] * 5 + ["JP"] * 3 + ["NA"] * 3 + ["IS"]
    assert select_countries(c, top=2) == ["FR", "JP"]  # tie JP/NA broken by code
    assert select_countries(c, min_count=3) == ["FR", "JP", "NA"]
    assert select_countries(c, top=3, min_count=4) == ["FR"]
    assert select_countries(c) == ["FR", "IS", "JP", "NA"]


def test_build_top_countries_labels_and_pixels(world, tmp_path):
    out = build_cache(world, tmp_path / "c", size=32, top_countries=2, workers=1, progress=False)
    cache = Cache(out)
    counts = _counts(world)
    assert cache.countries == ["FR", "JP"] and counts["FR"] > counts["JP"] > counts["NA"]
    assert cache.images.shape == (counts["FR"] + counts["JP"], 32, 32, 3) and cache.images.dtype == np.uint8
    assert cache.meta["counts"] == {"FR": counts["FR"], "JP": counts["JP"]}
    ds = OSV5M(world, "train")
    where = {r.id: r for r in ds}
    for i in range(len(cache)):
        img, label = cache[i]
        rec = where[cache.ids[i]]
        assert cache.countries[label] == rec.country == cache.country[i]  # label index consistent with country
        assert cache.lat[i] == rec.lat and cache.lon[i] == rec.lon
        assert np.array_equal(img, decode(rec.path, 32))  # exactly the draft-mode decode
    assert len(set(cache.ids)) == len(cache)


def test_min_per_country_and_like(world, tmp_path):
    counts = _counts(world)
    k = counts["JP"]  # keeps FR and JP, drops NA
    out = build_cache(world, tmp_path / "c", size=16, min_per_country=k, workers=1, progress=False)
    cache = Cache(out)
    assert cache.countries == ["FR", "JP"] and "NA" not in cache.country
    # A fixed label list (e.g. the train cache's) keeps labels identical across caches.
    other = Cache(build_cache(world, tmp_path / "d", size=16, countries=["NA", "FR"], workers=1, progress=False))
    assert other.countries == ["NA", "FR"] and set(other.country) == {"NA", "FR"}
    assert all(other.countries[lab] == c for lab, c in zip(other.labels, other.country))


def test_draft_mode_decodes_smaller(tmp_path):
    # A 512-high, 680-wide JPEG like OSV-5M's: at 128 the decoder works at 1/4 scale, not full size.
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((680, 512), Image.BICUBIC))
    Image.fromarray(big).save(tmp_path / "x.jpg", quality=90)
    with open_draft(tmp_path / "x.jpg", 128) as img:
        img.load()
        assert img.size == (170, 128)
    with open_draft(tmp_path / "x.jpg", 200) as img:  # 1/2 scale is the smallest with both sides ≥ 200
        img.load()
        assert img.size == (340, 256)
    fast, full = decode(tmp_path / "x.jpg", 128), decode(tmp_path / "x.jpg", 128, draft=False)
    assert fast.shape == full.shape == (128, 128, 3)
    assert not np.array_equal(fast, full)  # a different decode path really was taken ...
    assert np.abs(fast.astype(int) - full).mean() < 4  # ... and looks the same


def test_bad_image_raises_or_is_skipped(world, tmp_path, caplog):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(world, root)
    victim = OSV5M(root, "train")[3]
    Path(victim.path).write_bytes(b"\xff\xd8garbage")
    with pytest.raises(ValueError, match=victim.id):
        build_cache(root, tmp_path / "c", size=16, workers=1, progress=False)
    with caplog.at_level(logging.WARNING, logger="streetgen.data"):
        cache = Cache(build_cache(root, tmp_path / "c", size=16, workers=1, on_error="skip", progress=False))
    assert len(cache) == 39 and victim.id not in cache.ids and cache.meta["skipped"] == [victim.id]
    assert any(victim.id in r.getMessage() for r in caplog.records)
    rec = {r.id: r for r in OSV5M(root, "train")}
    for i in (0, 3, 38):  # rows after the dropped one moved up with their index entries
        assert np.array_equal(cache[i][0], decode(rec[cache.ids[i]].path, 16))


def test_pickle_leaves_images_out_and_torch_view(world, tmp_path):
    cache = Cache(build_cache(world, tmp_path / "c", size=16, top_countries=1, workers=1, progress=False))
    blob = pickle.dumps(cache)
    assert len(blob) < cache.images.nbytes  # DataLoader workers re-map the file, they don't copy it
    back = pickle.loads(blob)
    assert np.array_equal(back[2][0], cache[2][0])
    x, y = cache.torch()[2]
    assert tuple(x.shape) == (3, 16, 16) and int(y) == cache[2][1] == 0
    assert np.array_equal(x.numpy().transpose(1, 2, 0), cache[2][0])


def test_cli_with_a_process_pool(world, tmp_path):
    out = tmp_path / "c"
    r = subprocess.run([sys.executable, "-m", "streetgen.data.cache", "--root", str(world), "--split", "train",
                        "--size", "24", "--top-countries", "2", "--out", str(out), "--workers", "2"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["countries"] == ["FR", "JP"] and meta["size"] == 24
    ref = Cache(build_cache(world, tmp_path / "ref", size=24, top_countries=2, workers=1, progress=False))
    assert np.array_equal(Cache(out).images, ref.images)  # the pool writes the same rows as one process
    assert main(["--root", str(world), "--out", str(tmp_path / "e"), "--countries", "XX"]) == 2  # clear error
