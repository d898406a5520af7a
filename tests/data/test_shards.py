"""The sharded cache, the WebDataset tar reader and the bounded zip pool, on a fake OSV-5M in both real formats."""
import gzip
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from streetgen.data import OSV5M
from streetgen.data.cache import Cache, build_cache
from streetgen.data.fake_osv5m import write_fake
from streetgen.data.image import ZIPS, ZipPool, decode, decode_bytes
from streetgen.data.shards import ShardedCache, build_sharded_cache, plan_shard_rows
from streetgen.data.wds import WdsFields, iter_tar, list_shards, split_key, split_shards

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """20 renders (48×64) of FR, JP, NA as zip shards + CSV and as WebDataset tars, 6 per shard."""
    out = tmp_path_factory.mktemp("fake")
    counts = write_fake(out, n=20, size=(48, 64), seed=3, countries=["FR", "JP", "NA"], per_shard=6, workers=1,
                        splits={"train": 0.8, "test": 0.2})
    assert counts == {"train": 16, "test": 4}
    return out


def test_zip_pool_keeps_at_most_k_open_and_closes_evicted(fake, tmp_path):
    zips = sorted((fake / "osv5m" / "images" / "train").glob("*.zip"))
    assert len(zips) == 3
    pool, seen = ZipPool(max_open=2), []
    for z in zips + zips[:1]:
        seen.append(pool.get(str(z)))
        assert len(pool.open_paths()) <= 2
    assert seen[0].fp is None and seen[1].fp is None  # evicted handles were closed ...
    assert seen[2].fp is not None and pool.open_paths() == [str(zips[2]), str(zips[0])]  # ... LRU order kept
    pool.close()
    assert pool.open_paths() == [] and all(z.fp is None for z in seen)
    with pytest.raises(ValueError, match="at least 1"):
        ZipPool(0)


def test_decoding_through_the_module_pool_is_bounded(fake, monkeypatch):
    monkeypatch.setattr(ZIPS, "max_open", 2)
    ds = OSV5M(fake / "osv5m", "train")
    for i in range(len(ds)):
        ds.image(i, size=16)
        assert len(ZIPS.open_paths()) <= 2
    ZIPS.close()
    assert ZIPS.open_paths() == []


def test_tar_samples_match_the_csv_and_zip_copies(fake):
    ds = OSV5M(fake / "osv5m", "train")
    by_id = {r.id: r for r in ds}
    shards = list_shards(fake / "osv5m-wds", "train")
    samples = [s for t in shards for s in iter_tar(t)]
    assert [s.record.id for s in samples] == ds.ids  # every row, in order, nothing extracted
    for s in samples[:5]:
        r = by_id[s.record.id]
        assert (s.record.lat, s.record.lon, s.record.country) == (r.lat, r.lon, r.country)
        assert s.data == zipfile.ZipFile(r.path).read(r.member)  # the same JPEG bytes in both formats
        assert np.array_equal(s.image(24), decode(r.path, 24, r.member))
        assert s.image().shape == (48, 64, 3) and s.record.extra["city"] == r.extra["city"]
    assert not list((fake / "osv5m-wds" / "train").glob("*.jpg"))


def test_tar_reader_streams_compressed_shards_and_renamed_fields(fake, tmp_path):
    src = list_shards(fake / "osv5m-wds", "train")[0]
    gz = tmp_path / "a.tar.gz"
    gz.write_bytes(gzip.compress(Path(src).read_bytes()))
    assert [s.record.id for s in iter_tar(gz)] == [s.record.id for s in iter_tar(src)]
    # A shard whose json names fields differently, inside a folder, and without an id field.
    renamed = tmp_path / "r.tar"
    with tarfile.open(src) as tin, tarfile.open(renamed, "w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()
            if m.name.endswith(".json"):
                meta = json.loads(data)
                data = json.dumps({"lat": meta["latitude"], "lng": meta["longitude"], "cc": meta["country"]}).encode()
            info = tarfile.TarInfo("train/0000/" + m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))
    fields = WdsFields(lat="lat", lon="lng", country="cc")
    got = list(iter_tar(renamed, fields))
    ref = list(iter_tar(src))
    assert [(g.record.id, g.record.country) for g in got] == [(r.record.id, r.record.country) for r in ref]
    assert got[0].key == f"train/0000/{ref[0].record.id}"
    with pytest.raises(ValueError, match="lacks.*WdsFields"):
        list(iter_tar(renamed))  # default names are not there: the message says how to rename


def test_tar_reader_reads_a_pipe_front_to_back(fake, tmp_path):
    """A FIFO cannot seek: reading one proves the reader streams (tarfile's random-access mode would fail)."""
    import os
    import threading

    src = list_shards(fake / "osv5m-wds", "train")[1]
    fifo = tmp_path / "shard.tar"
    os.mkfifo(fifo)
    feed = threading.Thread(target=lambda: fifo.write_bytes(Path(src).read_bytes()))
    feed.start()
    try:
        got = [(s.record.id, s.data) for s in iter_tar(fifo)]
    finally:
        feed.join(timeout=30)
    assert got == [(s.record.id, s.data) for s in iter_tar(src)] and len(got) == 6


def test_tar_reader_errors_name_the_sample(tmp_path):
    bad = tmp_path / "b.tar"
    with tarfile.open(bad, "w") as tf:
        info = tarfile.TarInfo("k1.jpg")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(ValueError, match="k1.*no .json"):
        list(iter_tar(bad))
    (tmp_path / "c.tar").write_bytes(b"x" * 1000)
    with pytest.raises(ValueError, match="corrupt tar shard"):
        list(iter_tar(tmp_path / "c.tar"))
    with pytest.raises(ValueError, match="cannot read image"):
        decode_bytes(b"not an image", 16, "k1.jpg")


def test_split_key_and_split_shards():
    assert split_key("a/b/3859.jpg") == ("a/b/3859", "jpg")
    assert split_key("x.seg.png") == ("x", "seg.png")  # the extension starts at the first dot of the base name
    shards = [f"{i}.tar" for i in range(7)]
    parts = [split_shards(shards, r, 2, w, 3) for r in range(2) for w in range(3)]
    assert sorted(s for p in parts for s in p) == shards and all(p for p in parts)
    with pytest.raises(ValueError, match="cannot feed"):
        split_shards(shards[:3], 0, 2, 0, 2)


def test_plan_shard_rows():
    assert plan_shard_rows(4_900_000, 128) == 2_000_000_000 // (128 * 128 * 3)  # 2 GB binds before 1%
    assert plan_shard_rows(4_900_000, 64) == 49_000  # 1% binds
    assert plan_shard_rows(1000, 128) == 64  # small data: at least 64 rows, not 10-row files
    assert plan_shard_rows(None, 256) == 2_000_000_000 // (256 * 256 * 3)


def _by_id(cache):
    return {cache.ids[i]: cache[i] for i in range(len(cache))}


def test_sharded_cache_from_zips_and_tars_agree(fake, tmp_path):
    a = ShardedCache(build_sharded_cache(fake / "osv5m", tmp_path / "a", size=24, shard_rows=5, workers=1))
    assert ZIPS.open_paths() == []  # the writer closed its zip handles at the end of its group
    b = ShardedCache(build_sharded_cache(fake / "osv5m-wds", tmp_path / "b", size=24, shard_rows=5, workers=1))
    assert a.meta["dataset"] == "streetgen.world" and a.meta["license"].startswith("MIT")
    assert len(a) == len(b) == 16 and a.countries == b.countries == ["FR", "JP", "NA"]
    assert [s["rows"] for s in a.meta["shards"]] == [5, 5, 5, 1]
    assert [s["rows"] for s in b.meta["shards"]] == [5, 1, 5, 1, 4]  # one group per input tar (6, 6, 4 rows)
    ia, ib = _by_id(a), _by_id(b)
    assert set(ia) == set(ib)
    ds = {r.id: r for r in OSV5M(fake / "osv5m", "train")}
    for ident, (img, label) in ia.items():
        assert np.array_equal(img, ib[ident][0]) and label == ib[ident][1]
        assert np.array_equal(img, decode(ds[ident].path, 24, ds[ident].member))
        assert a.countries[label] == ds[ident].country
    assert (tmp_path / "a" / "shards" / "00000-000.u8").stat().st_size == 5 * 24 * 24 * 3


def test_ranks_read_only_their_shards(fake, tmp_path):
    full = ShardedCache(build_sharded_cache(fake / "osv5m", tmp_path / "c", size=16, shard_rows=3, workers=1))
    assert full.num_shards == 6
    ranks = [full.for_rank(r, 4) for r in range(4)]
    assert [rk.shards for rk in ranks] == [[0, 4], [1, 5], [2], [3]]
    assert sorted(i for rk in ranks for i in rk.ids) == sorted(full.ids)
    for rk in ranks:
        for i in range(len(rk)):
            img, label = rk[i]
            j = full.ids.index(rk.ids[i])
            assert np.array_equal(img, full[j][0]) and label == full[j][1]
        assert set(rk._maps) == set(rk.shards)  # no other shard was mapped
    with pytest.raises(ValueError, match="cannot be split over 7 ranks"):
        full.shards_for(0, 7)


@pytest.mark.slow
def test_torch_view_of_a_rank(fake, tmp_path):
    rank = ShardedCache(build_sharded_cache(fake / "osv5m", tmp_path / "t", size=16, shard_rows=3, workers=1),
                        shards=[1])
    x, y = rank.torch()[2]
    assert tuple(x.shape) == (3, 16, 16) and int(y) == rank[2][1]
    assert np.array_equal(x.numpy().transpose(1, 2, 0), rank[2][0])


def test_tar_source_with_a_label_list_and_a_broken_shard(fake, tmp_path):
    c = ShardedCache(build_sharded_cache(fake / "osv5m-wds", tmp_path / "d", size=16, countries=["NA", "FR"],
                                         workers=1))
    assert c.countries == ["NA", "FR"] and set(c.country) == {"NA", "FR"} and c.meta["counts"]["FR"] > 0
    with pytest.raises(ValueError, match="pass --countries or --like"):
        build_sharded_cache(fake / "osv5m-wds", tmp_path / "e", size=16, top_countries=2)
    with pytest.raises(FileExistsError):
        build_sharded_cache(fake / "osv5m-wds", tmp_path / "d", size=16)
    shard = tmp_path / "d" / "shards" / "00000-000.u8"
    shard.write_bytes(shard.read_bytes()[:-1])
    with pytest.raises(ValueError, match="00000-000"):
        ShardedCache(tmp_path / "d")[0]


def test_single_file_cache_reads_as_one_shard_and_osv5m_licence(fake, tmp_path):
    root = tmp_path / "osv"
    shutil.copytree(fake / "osv5m", root)
    (root / "dataset.json").unlink()  # no generator: a real OSV-5M download
    one = Cache(build_cache(root, tmp_path / "single", size=16, workers=1, progress=False))
    assert one.meta["dataset"] == "osv5m/osv5m" and one.meta["license"] == "CC BY-SA 4.0"
    view = ShardedCache(tmp_path / "single")
    assert view.num_shards == 1 and len(view) == len(one) and view.ids == one.ids
    assert all(np.array_equal(view[i][0], one[i][0]) and view[i][1] == one[i][1] for i in range(len(one)))
    sharded = ShardedCache(build_sharded_cache(root, tmp_path / "s", size=16, workers=1))
    assert sharded.meta["dataset"] == "osv5m/osv5m" and sharded.meta["license"] == "CC BY-SA 4.0"


@pytest.mark.slow
def test_cli_with_parallel_writers(fake, tmp_path):
    r = subprocess.run([sys.executable, "-m", "streetgen.data.shards", "--root", str(fake / "osv5m"), "--size", "16",
                        "--out", str(tmp_path / "p"), "--workers", "2", "--shard-rows", "4"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "in 4 shards" in r.stdout and "streetgen.world" in r.stdout
    par = ShardedCache(tmp_path / "p")
    ref = ShardedCache(build_sharded_cache(fake / "osv5m", tmp_path / "q", size=16, shard_rows=4, workers=1))
    assert par.ids == ref.ids and all(np.array_equal(par[i][0], ref[i][0]) for i in range(len(ref)))
    bad = subprocess.run([sys.executable, "-m", "streetgen.data.shards", "--root", str(fake / "osv5m-wds"),
                          "--out", str(tmp_path / "x"), "--top-countries", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--countries or --like" in bad.stderr


@pytest.mark.slow
def test_fake_osv5m_cli_writes_both_formats(tmp_path):
    from PIL import Image

    from streetgen.data.fake_osv5m import main as fake_main

    assert fake_main([str(tmp_path), "--n", "5", "--height", "40", "--width", "56", "--per-shard", "2",
                      "--countries", "JP", "--workers", "1"]) == 0
    zips = sorted((tmp_path / "osv5m" / "images" / "train").glob("*.zip"))
    tars = list_shards(tmp_path / "osv5m-wds", "train")
    assert len(zips) == len(tars) == 2  # int(0.9 * 5) = 4 train rows (test gets the 5th), 2 per shard
    with zipfile.ZipFile(zips[0]) as zf:
        name = zf.namelist()[0]
        assert name.startswith("00/") and Image.open(io.BytesIO(zf.read(name))).size == (56, 40)
    ds = OSV5M(tmp_path / "osv5m", "train")
    assert set(ds.country) == {"JP"} and {"lon_bin", "lat_bin"} <= set(ds[0].extra)
    assert fake_main([str(tmp_path / "x"), "--countries", "Atlantis"]) == 2


def test_images_view_reads_rows_across_shards_like_an_array(fake, tmp_path):
    """`cache.images` of a sharded cache indexes like the single-file cache's memmap (ints, slices, index arrays in
    any order), reading each shard's rows in one go; trainers written for the memmap read shards unchanged."""
    single = Cache(build_cache(fake / "osv5m", tmp_path / "one", size=16, workers=1, progress=False))
    sharded = ShardedCache(build_sharded_cache(fake / "osv5m", tmp_path / "many", size=16, shard_rows=3, workers=1))
    order = [sharded.ids.index(i) for i in single.ids]  # the same rows, by id
    whole = sharded.images[np.array(order)]
    assert sharded.images.shape == single.images.shape and sharded.images.nbytes == single.images.nbytes
    assert np.array_equal(whole, single.images)
    assert np.array_equal(sharded.images[5], sharded[5][0])
    assert np.array_equal(sharded.images[2:9], np.stack([sharded[i][0] for i in range(2, 9)]))
    rows = np.array([14, 0, 7, 3])  # unsorted, across four shards
    assert np.array_equal(sharded.read(rows), np.stack([sharded[i][0] for i in rows]))
