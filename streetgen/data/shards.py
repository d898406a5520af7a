"""A sharded preprocessing cache: many fixed-size shard files written in parallel, so a node maps only its own.

    python -m streetgen.data.shards --root osv5m --split train --size 128 --top-countries 84 --out cache/train128
    python -m streetgen.data.shards --root osv5m-wds --split train --size 128 --like cache/train128 --out cache/wds128

    <out>/meta.json            format, dataset id + licence, size, countries (label i = countries[i]), counts,
                               shards [{"name", "rows"}] in row order
    <out>/shards/<name>.u8     (rows, size, size, 3) uint8, raw (no header): np.memmap with the shape from meta
    <out>/shards/<name>.csv    offset, id, latitude, longitude, country of each row of that shard

`--root` is an OSV-5M-layout folder (split CSV + loose JPEGs or zip shards) or a WebDataset folder (.tar shards in
<root>/<split>/ or <root>/). A shard holds at most `shard_rows` rows: by default 1% of the data, at most
`max_shard_bytes` (2 GB), at least 64 rows. One process writes each shard group (a run of CSV rows sorted by zip
shard, or one input tar) into its own files; nothing is shared, so workers need no locks. Rows of a tar source
take the labels of `countries` (e.g. a CSV-built cache's via --like), or all countries seen, sorted.
`ShardedCache` reads these and the single-file caches of streetgen.data.cache alike.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import multiprocessing as mp
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .cache import Cache, TorchCache, label_list, select_countries, source_arguments
from .image import ZIPS, decode
from .osv5m import OSV5M
from .provenance import dataset_of, license_of
from .wds import WdsFields, iter_tar, list_shards

log = logging.getLogger("streetgen.data")
FORMAT = "streetgen.sharded-cache/1"
MAX_SHARD_BYTES = 2_000_000_000
MAX_SHARD_FRAC = 0.01
MIN_SHARD_ROWS = 64


def plan_shard_rows(n: int | None, size: int, max_frac: float = MAX_SHARD_FRAC,
                    max_bytes: int = MAX_SHARD_BYTES) -> int:
    """Rows per shard: `max_frac` of n rows (when n is known) but no more than `max_bytes`, at least 64 rows."""
    by_bytes = max(1, max_bytes // (size * size * 3))
    by_frac = math.ceil(n * max_frac) if n else by_bytes
    return max(1, min(by_bytes, max(MIN_SHARD_ROWS, by_frac)))


@dataclass
class GroupJob:
    """What one worker process writes: the rows of a CSV source (id, lat, lon, country, path, member) or a tar."""

    out: str
    name: str
    size: int
    shard_rows: int
    on_error: str
    rows: list[tuple[str, float, float, str, str, str | None]] | None = None
    tar: str | None = None
    countries: frozenset[str] | None = None
    fields: WdsFields = WdsFields()


def _group_samples(job: GroupJob) -> Iterator[tuple[tuple[str, float, float, str], Callable[[], np.ndarray]]]:
    """(id, lat, lon, country) and a zero-argument decoder per sample of the job, in order."""
    if job.rows is not None:
        for ident, lat, lon, country, path, member in job.rows:
            yield (ident, lat, lon, country), (lambda p=path, m=member: decode(p, job.size, m))
        return
    for s in iter_tar(job.tar, job.fields):
        r = s.record
        if job.countries is None or r.country in job.countries:
            yield (r.id, r.lat, r.lon, r.country), (lambda s=s: s.image(job.size))


class _ShardWriter:
    """Appends decoded rows to <name>-<part>.u8 / .csv, starting a new part every `shard_rows` rows."""

    def __init__(self, job: GroupJob):
        self.job, self.part, self.rows = job, -1, 0
        self.done: list[dict] = []
        self.img = self.idx = self.csv = None

    def add(self, meta: tuple[str, float, float, str], image: np.ndarray) -> None:
        if self.img is None or self.rows == self.job.shard_rows:
            self.close()
            self.part += 1
            base = Path(self.job.out) / "shards" / f"{self.job.name}-{self.part:03d}"
            self.img, self.idx = open(f"{base}.u8", "wb"), open(f"{base}.csv", "w", newline="", encoding="utf-8")
            self.csv = csv.writer(self.idx)
            self.csv.writerow(["offset", "id", "latitude", "longitude", "country"])
        self.img.write(np.ascontiguousarray(image, np.uint8).tobytes())
        self.csv.writerow([self.rows, meta[0], repr(float(meta[1])), repr(float(meta[2])), meta[3]])
        self.rows += 1

    def close(self) -> None:
        if self.img is not None:
            self.img.close()
            self.idx.close()
            self.done.append({"name": f"{self.job.name}-{self.part:03d}", "rows": self.rows})
            self.img, self.rows = None, 0


def write_group(job: GroupJob) -> tuple[list[dict], list[tuple[str, str]]]:
    """Decode one group into its shard files; returns (shards written, (id, problem) of skipped rows)."""
    writer, failed = _ShardWriter(job), []
    try:
        for meta, load in _group_samples(job):
            try:
                image = load()
            except (ValueError, FileNotFoundError) as err:
                if job.on_error == "raise":
                    raise
                failed.append((meta[0], str(err)))
                continue
            writer.add(meta, image)
    finally:
        writer.close()
        ZIPS.close()  # a worker's zip handles end with its group
    return writer.done, failed


def _csv_jobs(root: str, split: str, size: int, countries: list[str] | None, top: int | None,
              min_count: int | None, skip_missing: bool) -> tuple[list[tuple], list[str]]:
    """The kept rows of a CSV source, sorted by zip shard (so a group opens few zips), and the label list."""
    ds = OSV5M(root, split, skip_missing=skip_missing, columns=())
    if countries is None:
        countries = select_countries(ds.country, top, min_count)
    keep = set(countries)
    rows = [(ds.ids[i], float(ds.lat[i]), float(ds.lon[i]), ds.country[i], *ds.sources[i])
            for i in range(len(ds)) if ds.country[i] in keep]
    if not rows:
        raise ValueError(f"no rows of split {split!r} in countries {list(countries)[:10]}")
    rows.sort(key=lambda r: r[4] if r[5] is not None else "")  # stable: CSV order within a zip shard
    return rows, list(countries)


def _is_wds(root: Path, split: str) -> bool:
    """A WebDataset folder: .tar shards in root/split or root, and no split CSV."""
    if (root / f"{split}.csv").exists() or (root / "train.csv").exists():
        return False
    return any(p.suffix == ".tar" for d in (root / split, root) if d.is_dir() for p in d.iterdir())


def plan_jobs(root: str | os.PathLike, out: Path, split: str, size: int, countries: Sequence[str] | None,
              top: int | None, min_count: int | None, shard_rows: int | None, max_bytes: int, on_error: str,
              fields: WdsFields) -> tuple[list[GroupJob], list[str] | None]:
    """One GroupJob per shard group, and the label list (None: all countries a tar source holds, found later)."""
    root = Path(root)
    common = dict(out=str(out), size=size, on_error=on_error, fields=fields)
    if _is_wds(root, split):
        if countries is None and (top is not None or min_count is not None):
            raise ValueError("a WebDataset source has no CSV to count countries in: pass --countries or --like")
        tars = list_shards(root, split if (root / split).is_dir() else None)
        k = shard_rows or plan_shard_rows(None, size, max_bytes=max_bytes)
        keep = frozenset(countries) if countries is not None else None
        return [GroupJob(name=f"{g:05d}", shard_rows=k, tar=t, countries=keep, **common)
                for g, t in enumerate(tars)], (list(countries) if countries is not None else None)
    rows, labels = _csv_jobs(str(root), split, size, list(countries) if countries else None, top, min_count,
                             on_error == "skip")
    k = shard_rows or plan_shard_rows(len(rows), size, max_bytes=max_bytes)
    return [GroupJob(name=f"{g:05d}", shard_rows=k, rows=rows[a:a + k], **common)
            for g, a in enumerate(range(0, len(rows), k))], labels


def build_sharded_cache(root: str | os.PathLike, out: str | os.PathLike, split: str = "train", size: int = 128,
                        countries: Sequence[str] | None = None, top_countries: int | None = None,
                        min_per_country: int | None = None, workers: int | None = None,
                        shard_rows: int | None = None, max_shard_bytes: int = MAX_SHARD_BYTES,
                        dataset: str | None = None, on_error: str = "raise",
                        fields: WdsFields = WdsFields()) -> Path:
    """Build a sharded cache of `split` at `out` with `workers` processes (one shard group each at a time)."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    out = Path(out)
    if (out / "shards").exists() and any((out / "shards").iterdir()):
        raise FileExistsError(f"{out / 'shards'} is not empty: choose a new --out")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    jobs, labels = plan_jobs(root, out, split, size, countries, top_countries, min_per_country, shard_rows,
                             max_shard_bytes, on_error, fields)
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            results = pool.map(write_group, jobs, chunksize=1)
    else:
        results = [write_group(job) for job in jobs]
    shards = [s for done, _ in results for s in done]
    skipped = [f for _, failed in results for f in failed]
    for ident, msg in skipped:
        log.warning("skipping id %s: %s", ident, msg)
    counts = Counter(c for s in shards for c in _shard_column(out, s["name"], "country"))
    labels = labels if labels is not None else sorted(counts)
    dataset = dataset or dataset_of(root)
    meta = {"format": FORMAT, "dataset": dataset, "license": license_of(dataset), "split": split, "size": size,
            "n": sum(s["rows"] for s in shards), "countries": labels, "counts": {c: counts.get(c, 0) for c in labels},
            "shards": shards, "skipped": [i for i, _ in skipped], "source": Path(root).name,
            "resize": "central square, bilinear, JPEG draft-mode decode"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return out


def _shard_column(out: Path, name: str, column: str) -> list[str]:
    with open(out / "shards" / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return [r[column] for r in csv.DictReader(fh)]


class ShardedCache:
    """A sharded cache (or a single-file one, as one shard): `cache[i]` → (uint8 (size, size, 3) image, int label).

    `shards` limits it to those shard numbers (a rank's, from `shards_for`): only their index and memmaps are read.
    Memmaps open lazily and are not pickled, so DataLoader workers map the files themselves."""

    def __init__(self, path: str | os.PathLike, shards: Sequence[int] | None = None):
        self.path = Path(path)
        if not (self.path / "meta.json").is_file():
            raise FileNotFoundError(f"{self.path / 'meta.json'} not found: not a cache built by streetgen.data")
        self.meta = json.loads((self.path / "meta.json").read_text())
        self.countries: list[str] = self.meta["countries"]
        self.size = int(self.meta["size"])
        self.single = "shards" not in self.meta  # streetgen.data.cache's one images.npy
        self.num_shards = 1 if self.single else len(self.meta["shards"])
        self.shards = list(range(self.num_shards)) if shards is None else sorted(int(k) for k in shards)
        if any(not 0 <= k < self.num_shards for k in self.shards):
            raise ValueError(f"shard numbers must be in 0..{self.num_shards - 1}, got {list(shards)[:10]}")
        self._maps: dict[int, np.ndarray] = {}
        self._read_index()

    def _read_index(self) -> None:
        if self.single:
            c = Cache(self.path)
            ids, country, lat, lon = c.ids, c.country, list(c.lat), list(c.lon)
            shard, offset = [0] * len(ids), list(range(len(ids)))
        else:
            ids, country, lat, lon, shard, offset = [], [], [], [], [], []
            for k in self.shards:
                with open(self.path / "shards" / f"{self.meta['shards'][k]['name']}.csv", newline="",
                          encoding="utf-8") as fh:
                    rows = list(csv.DictReader(fh))
                ids += [r["id"] for r in rows]
                country += [r["country"] for r in rows]
                lat += [r["latitude"] for r in rows]
                lon += [r["longitude"] for r in rows]
                offset += [int(r["offset"]) for r in rows]
                shard += [k] * len(rows)
        label_of = {c: i for i, c in enumerate(self.countries)}
        self.ids, self.country = ids, country
        self.lat, self.lon = np.array(lat, np.float64), np.array(lon, np.float64)
        self.labels = np.array([label_of.get(c, -1) for c in country], np.int64)
        self.shard, self.offset = np.array(shard, np.int64), np.array(offset, np.int64)

    def shard_images(self, k: int) -> np.ndarray:
        """Shard k's (rows, size, size, 3) uint8 memmap."""
        if k not in self._maps:
            if self.single:
                self._maps[k] = np.load(self.path / "images.npy", mmap_mode="r")
            else:
                info = self.meta["shards"][k]
                f = self.path / "shards" / f"{info['name']}.u8"
                shape = (info["rows"], self.size, self.size, 3)
                if not f.is_file() or f.stat().st_size != math.prod(shape):
                    raise ValueError(f"shard {info['name']} of {self.path}: missing or not {shape} uint8 bytes")
                self._maps[k] = np.memmap(f, np.uint8, "r", shape=shape)
        return self._maps[k]

    def shards_for(self, rank: int, world_size: int) -> list[int]:
        """The shard numbers rank `rank` of `world_size` reads: every world_size-th shard of the whole cache."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world size {world_size}")
        if self.num_shards < world_size:
            raise ValueError(f"{self.num_shards} shards cannot be split over {world_size} ranks; "
                             "rebuild with a smaller --shard-rows")
        return list(range(rank, self.num_shards, world_size))

    def for_rank(self, rank: int, world_size: int) -> "ShardedCache":
        """The same cache limited to this rank's shards."""
        return ShardedCache(self.path, self.shards_for(rank, world_size))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def images(self) -> "RowView":
        """The images as one (N, size, size, 3) uint8 array-like (ints, slices and index arrays read the shards),
        so code written for a single-file cache's memmap reads a sharded one unchanged."""
        return RowView(self)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """uint8 (len(rows), size, size, 3) images of these rows, in the order given; each shard's part is read in
        one indexing of its memmap (sorted rows read fastest)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.size, self.size, 3), np.uint8)
        shard = self.shard[rows]
        for k in np.unique(shard):
            at = np.nonzero(shard == k)[0]
            out[at] = self.shard_images(int(k))[self.offset[rows[at]]]
        return out

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        i = range(len(self))[i]
        return np.asarray(self.shard_images(int(self.shard[i]))[self.offset[i]]), int(self.labels[i])

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_maps": {}}

    def torch(self) -> TorchCache:
        """A map-style dataset for torch's DataLoader: (uint8 (3, H, W) tensor, int64 label)."""
        return TorchCache(self)


class RowView:
    """An array-like over a ShardedCache's rows: `view[i]`, `view[a:b]`, `view[index_array]` → uint8 numpy."""

    def __init__(self, cache: ShardedCache):
        self.cache = cache
        self.shape = (len(cache), cache.size, cache.size, 3)
        self.dtype = np.dtype(np.uint8)
        self.nbytes = math.prod(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.cache.read(np.array([range(len(self))[key]]))[0]
        rows = np.arange(len(self))[key]
        return self.cache.read(np.atleast_1d(rows))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m streetgen.data.shards", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source_arguments(p)
    p.add_argument("--shard-rows", type=int, default=None, help="rows per shard (default: 1%% of the data, ≤ 2 GB)")
    p.add_argument("--dataset", default=None, help="dataset id for meta.json (default: from the folder)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = build_sharded_cache(args.root, args.out, args.split, args.size, label_list(args), args.top_countries,
                                  args.min_per_country, args.workers or None, args.shard_rows,
                                  dataset=args.dataset, on_error="skip" if args.skip_bad else "raise")
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    meta = json.loads((out / "meta.json").read_text())
    print(f"cached {meta['n']} images of {len(meta['countries'])} countries at {args.size}px in "
          f"{len(meta['shards'])} shards in {out} ({meta['dataset']}, {meta['license']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
