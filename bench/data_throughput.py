"""Data loading throughput: images per second to get a size² training image from an OSV-5M-like JPEG.

    python bench/data_throughput.py                        # 160 fixtures, 512x680 like OSV-5M, size 128
    python bench/data_throughput.py --n 400 --size 64 --camvid path/to/camvid/train/images

(a) naive: full JPEG decode, then centre crop + resize (one core)
(b) draft: Pillow draft-mode decode at a reduced DCT scale, then crop + resize: the cache builder's path (one core)
(c) cache: random batches of 64 read from the built uint8 memmap (one core)
plus the cache build itself on all cores. Fixtures are world renders at 512x680 (height x width, OSV-5M's shape)
written as JPEG q90 into a temporary OSV-5M-layout folder, so the bench runs anywhere. Each figure is the best of
--repeats passes (the machine is shared and noisy); the OS file cache is warm after the first pass.
"""
from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen.data.cache import Cache, build_cache  # noqa: E402
from streetgen.data.image import center_box, decode  # noqa: E402

PLACES = [(48.8566, 2.3522, "FR"), (35.6812, 139.7671, "JP"), (-22.5609, 17.0658, "NA"), (40.7128, -74.006, "US"),
          (-33.8688, 151.2093, "AU"), (59.9139, 10.7522, "NO"), (19.076, 72.8777, "IN"), (-23.5505, -46.6333, "BR")]


def _render(args: tuple[int, str]) -> tuple[str, float, float, str]:
    from streetgen import world

    i, folder = args
    lat, lon, cc = PLACES[i % len(PLACES)]
    s = world.render(lat, lon, seed=i, size=(512, 680))
    ident = str(3_000_000_000_000_000 + i)
    Image.fromarray(s.image).save(os.path.join(folder, f"{ident}.jpg"), quality=90)
    return ident, lat, lon, cc


def make_fixtures(root: Path, n: int, workers: int) -> list[str]:
    """n OSV-5M-shaped JPEGs (512 high, 680 wide) under root/images/train, with a train.csv."""
    folder = root / "images" / "train"
    folder.mkdir(parents=True)
    jobs = [(i, str(folder)) for i in range(n)]
    with mp.get_context("spawn").Pool(workers) as pool:
        rows = pool.map(_render, jobs, chunksize=4)
    with open(root / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "latitude", "longitude", "country"])
        w.writerows(rows)
    return [str(folder / f"{r[0]}.jpg") for r in rows]


def naive(path: str, size: int) -> np.ndarray:
    with Image.open(path) as img:
        img = img.convert("RGB")  # full-resolution decode
        return np.asarray(img.resize((size, size), Image.BILINEAR, box=center_box(*img.size)))


def best_rate(fn, count: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return count / best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=160, help="fixture images to render (about 30/s per core)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--workers", type=int, default=0, help="processes for rendering and the cache build (0 = all)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--camvid", default=None, help="optional folder of real photos (e.g. CamVid images/) to time too")
    args = p.parse_args()
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="streetgen-bench-") as tmp:
        root = Path(tmp) / "osv"
        t0 = time.perf_counter()
        paths = make_fixtures(root, args.n, workers)
        mb = sum(os.path.getsize(q) for q in paths) / len(paths) / 1e3
        print(f"fixtures: {len(paths)} JPEGs 680x512 (avg {mb:.0f} kB) rendered in {time.perf_counter() - t0:.1f}s")
        n, s = len(paths), args.size
        a = best_rate(lambda: [naive(q, s) for q in paths], n, args.repeats)
        b = best_rate(lambda: [decode(q, s) for q in paths], n, args.repeats)
        t0 = time.perf_counter()
        cache = Cache(build_cache(root, Path(tmp) / "cache", size=s, workers=workers, progress=False))
        build = n / (time.perf_counter() - t0)
        rng = np.random.default_rng(0)
        batches = [np.sort(rng.choice(n, min(64, n), replace=False)) for _ in range(200)]
        c = best_rate(lambda: [np.ascontiguousarray(cache.images[idx]) for idx in batches], 200 * len(batches[0]),
                      args.repeats)
        print(f"\nsize {s}², one core unless noted ({os.cpu_count()} cores on this machine, shared)")
        print(f"(a) naive PIL decode + resize   {a:10.0f} img/s   1.0x")
        print(f"(b) draft-mode decode + resize  {b:10.0f} img/s  {b / a:4.1f}x")
        print(f"(c) read from the cache         {c:10.0f} img/s  {c / a:4.0f}x")
        print(f"    cache build, {workers} processes  {build:10.0f} img/s  (incl. pool start-up)")
        if args.camvid:
            real = sorted(str(q) for q in Path(args.camvid).rglob("*.jpg"))[: args.n]
            ra = best_rate(lambda: [naive(q, s) for q in real], len(real), args.repeats)
            rb = best_rate(lambda: [decode(q, s) for q in real], len(real), args.repeats)
            w, h = Image.open(real[0]).size
            print(f"\n{len(real)} real photos from {args.camvid} ({w}x{h}):")
            print(f"(a) naive {ra:.0f} img/s   (b) draft {rb:.0f} img/s  {rb / ra:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
