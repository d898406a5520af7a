"""Preprocess an OSV-5M-layout split once into a cache that training reads at memory speed.

    python -m streetgen.data.cache --root osv5m --split train --size 128 --top-countries 84 --out cache/train128
    python -m streetgen.data.cache --root osv5m --split test --size 128 --like cache/train128 --out cache/test128

    <out>/images.npy   (N, size, size, 3) uint8, read back as a memmap
    <out>/index.csv    row, id, latitude, longitude, country, label   (row = position in images.npy)
    <out>/meta.json    countries (label i = countries[i]), per-country counts, size, split, how it was resized,
                       dataset id and licence (streetgen.data.provenance)

Like the original study: keep a country subset (the N best-covered countries and/or those with ≥ K images),
label = the country's position in the sorted subset, images resized to size² (the central square, so nothing is
squashed). JPEGs are decoded at a reduced DCT scale (Pillow draft mode), several times faster than a full decode.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import multiprocessing as mp
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from .image import decode
from .osv5m import OSV5M
from .provenance import dataset_of, license_of

log = logging.getLogger("streetgen.data")
CHUNK = 64  # images per pool task: big enough to amortise the memmap open, small enough for a smooth bar


def select_countries(countries: Sequence[str], top: int | None = None, min_count: int | None = None) -> list[str]:
    """The `top` most frequent countries and/or those with ≥ `min_count` rows, sorted (= label order)."""
    counts = Counter(countries)
    order = sorted(counts, key=lambda c: (-counts[c], c))  # ties broken by code, so the subset is deterministic
    if top is not None:
        order = order[:top]
    if min_count is not None:
        order = [c for c in order if counts[c] >= min_count]
    return sorted(order)


def _work(job: tuple) -> list[tuple[int, str]]:
    """Decode a chunk straight into the shared memmap (no image crosses the pipe); return the failures."""
    out_path, size, start, sources, on_error = job
    arr = np.load(out_path, mmap_mode="r+")
    failed = []
    for k, (path, member) in enumerate(sources):
        try:
            arr[start + k] = decode(path, size, member)
        except (ValueError, FileNotFoundError) as err:
            if on_error == "raise":
                raise
            failed.append((start + k, str(err)))
    arr.flush()
    return failed


def build_cache(root: str | os.PathLike, out: str | os.PathLike, split: str = "train", size: int = 128,
                top_countries: int | None = None, min_per_country: int | None = None,
                countries: Sequence[str] | None = None, workers: int | None = None, on_error: str = "raise",
                skip_missing: bool = False, progress: bool = True) -> Path:
    """Build the cache of `split` at `out`. `countries` fixes the label list (e.g. a train cache's) instead of
    selecting one; on_error="skip" logs and drops unreadable images instead of raising."""
    from tqdm import tqdm

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    ds = OSV5M(root, split, skip_missing=skip_missing, columns=())
    if countries is None:
        countries = select_countries(ds.country, top_countries, min_per_country)
        if not countries:
            most = ", ".join(f"{c} {k}" for c, k in Counter(ds.country).most_common(5))
            raise ValueError(f"no country of {root} split {split!r} has ≥ {min_per_country} images "
                             f"(most covered: {most})")
    countries = list(countries)
    label_of = {c: i for i, c in enumerate(countries)}
    rows = [i for i, c in enumerate(ds.country) if c in label_of]
    if not rows:
        raise ValueError(f"no rows of {root} split {split!r} in countries {countries[:10]}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "images.tmp.npy"
    np.lib.format.open_memmap(tmp, "w+", np.uint8, (len(rows), size, size, 3)).flush()
    workers = workers or os.cpu_count() or 1
    chunk = max(1, min(CHUNK, -(-len(rows) // (4 * workers))))  # small builds still spread over every worker
    jobs = [(str(tmp), size, a, [ds.sources[i] for i in rows[a:a + chunk]], on_error)
            for a in range(0, len(rows), chunk)]
    workers = min(workers, len(jobs))
    failed: list[tuple[int, str]] = []
    with tqdm(total=len(rows), desc=f"caching {split} at {size}px", unit="img", disable=not progress) as bar:
        if workers > 1:
            with mp.get_context("spawn").Pool(workers) as pool:
                for job, f in zip(jobs, pool.imap(_work, jobs)):
                    failed += f
                    bar.update(len(job[3]))
        else:
            for job in jobs:
                failed += _work(job)
                bar.update(len(job[3]))
    bad = {k for k, _ in failed}
    skipped = [ds.ids[rows[k]] for k in sorted(bad)]
    for k, msg in failed:
        log.warning("skipping id %s: %s", ds.ids[rows[k]], msg)
    if bad:  # compact: copy the good rows into the final file, in chunks so memory stays flat
        src = np.load(tmp, mmap_mode="r")
        good = [k for k in range(len(rows)) if k not in bad]
        dst = np.lib.format.open_memmap(out / "images.npy", "w+", np.uint8, (len(good), size, size, 3))
        for a in range(0, len(good), 1024):
            dst[a:a + 1024] = src[good[a:a + 1024]]
        dst.flush()
        del src, dst
        tmp.unlink()
        rows = [rows[k] for k in good]
    else:
        os.replace(tmp, out / "images.npy")
    with open(out / "index.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "id", "latitude", "longitude", "country", "label"])
        for r, i in enumerate(rows):
            w.writerow([r, ds.ids[i], repr(float(ds.lat[i])), repr(float(ds.lon[i])), ds.country[i],
                        label_of[ds.country[i]]])
    counts = Counter(ds.country[i] for i in rows)
    meta = {"split": split, "size": size, "n": len(rows), "countries": countries,
            "counts": {c: counts.get(c, 0) for c in countries}, "skipped": skipped,
            "resize": "central square, bilinear, JPEG draft-mode decode", "source": Path(root).name,
            "dataset": dataset_of(root), "license": license_of(dataset_of(root))}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return out


class Cache:
    """A built cache: `cache[i]` → (uint8 (size, size, 3) image, int label); `countries[label]` is the code.

    The image memmap opens lazily and is not pickled, so DataLoader workers each map the file themselves."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        for name in ("images.npy", "index.csv", "meta.json"):
            if not (self.path / name).exists():
                raise FileNotFoundError(f"{self.path / name} not found: not a cache built by streetgen.data.cache")
        self.meta = json.loads((self.path / "meta.json").read_text())
        self.countries: list[str] = self.meta["countries"]
        with open(self.path / "index.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        self.ids = [r["id"] for r in rows]
        self.country = [r["country"] for r in rows]
        self.lat = np.array([r["latitude"] for r in rows], np.float64)
        self.lon = np.array([r["longitude"] for r in rows], np.float64)
        self.labels = np.array([r["label"] for r in rows], np.int64)
        self._images: np.ndarray | None = None
        if self.images.shape[0] != len(rows):
            raise ValueError(f"{self.path}: images.npy has {self.images.shape[0]} rows, index.csv {len(rows)}")

    @property
    def images(self) -> np.ndarray:
        if self._images is None:
            self._images = np.load(self.path / "images.npy", mmap_mode="r")
        return self._images

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.asarray(self.images[i]), int(self.labels[i])

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": None}

    def torch(self) -> "TorchCache":
        """A map-style dataset for torch's DataLoader: (uint8 (3, H, W) tensor, int64 label)."""
        return TorchCache(self)


class TorchCache:
    """Torch view of a Cache; torch is imported on first use, so `streetgen.data` itself never needs it."""

    def __init__(self, cache: Cache):
        self.cache = cache

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, i: int):
        import torch

        img, label = self.cache[i]
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))), torch.tensor(label)


def source_arguments(p: argparse.ArgumentParser) -> None:
    """The flags both cache builders share: where the data is, the output, the country subset, the workers."""
    p.add_argument("--root", required=True, help="dataset folder (train.csv, images/train/...)")
    p.add_argument("--split", default="train", help="train, test, val, train_minus_val, or any <name>.csv")
    p.add_argument("--size", type=int, default=128, help="output side in pixels (64, 128, 256, ...)")
    p.add_argument("--out", required=True, help="cache folder to write")
    p.add_argument("--top-countries", type=int, default=None, help="keep the N countries with most images")
    p.add_argument("--min-per-country", type=int, default=None, help="keep countries with at least K images")
    p.add_argument("--countries", default=None, help="explicit label list, e.g. FR,JP,NA")
    p.add_argument("--like", default=None, help="reuse another cache's country list (same labels as train)")
    p.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    p.add_argument("--skip-bad", action="store_true", help="log and drop missing/unreadable images")


def label_list(args: argparse.Namespace) -> list[str] | None:
    """The fixed label list the flags ask for (--like another cache, or --countries), else None."""
    if args.like:
        return json.loads((Path(args.like) / "meta.json").read_text())["countries"]
    if args.countries:
        return [c.strip() for c in args.countries.split(",") if c.strip()]
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m streetgen.data.cache", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source_arguments(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = build_cache(args.root, args.out, args.split, args.size, args.top_countries, args.min_per_country,
                          label_list(args), args.workers or None, "skip" if args.skip_bad else "raise",
                          skip_missing=args.skip_bad)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    meta = json.loads((out / "meta.json").read_text())
    skipped = f" ({len(meta['skipped'])} skipped)" if meta["skipped"] else ""
    print(f"cached {meta['n']} images of {len(meta['countries'])} countries at {args.size}px in {out}{skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
