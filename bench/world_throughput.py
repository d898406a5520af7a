"""World renderer throughput: images per second on one core and on all cores.

    python bench/world_throughput.py                 # 128², all cores, plus one core and 256² for reference
    python bench/world_throughput.py --size 128x256 --n 2000 --workers 2

Places are drawn like the dataset writer's "world" mode (by population). Start-up (loading the place tables,
forking workers) is excluded: the clock runs over rendering only, after one warm-up render per worker. The
machine is shared and noisy, so each figure is the best of --repeats runs.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen import geo, world  # noqa: E402

_PLACES: list[tuple[float, float]] = []
_SIZE: tuple[int, int] = (128, 128)


def _init(places, size) -> None:
    global _PLACES, _SIZE
    _PLACES, _SIZE = places, size
    world.render(*places[0], 0, size)  # warm-up: tables, noise textures, first-call costs


def _render_range(bounds: tuple[int, int]) -> int:
    a, b = bounds
    for i in range(a, b):
        world.render(*_PLACES[i % len(_PLACES)], i, _SIZE)
    return b - a


def run(n: int, size: tuple[int, int], workers: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    places = [geo.sample_world(rng) for _ in range(min(n, 500))]
    best = 0.0
    if workers == 1:
        _init(places, size)
        for _ in range(repeats):
            t = time.perf_counter()
            _render_range((0, n))
            best = max(best, n / (time.perf_counter() - t))
        return best
    parts = workers * 8  # small tasks keep both workers busy to the end
    chunks = [(i * n // parts, (i + 1) * n // parts) for i in range(parts)]
    with mp.get_context("fork").Pool(workers, initializer=_init, initargs=(places, size)) as pool:
        pool.map(_render_range, [(0, 1)] * workers)  # make sure every worker is up and warm
        for _ in range(repeats):
            t = time.perf_counter()
            done = sum(pool.map(_render_range, chunks, chunksize=1))
            best = max(best, done / (time.perf_counter() - t))
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1200, help="images per run")
    p.add_argument("--size", default="128", help="N or HxW")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    parts = [int(v) for v in args.size.lower().split("x")]
    size = (parts[0], parts[-1])
    geo.reverse(0.0, 0.0)  # load tables before forking so workers share them
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}")
    all_cores = run(args.n, size, args.workers, args.repeats)
    print(f"world.render {size[0]}x{size[1]}: {all_cores:.0f} images/s on {args.workers} processes")
    one = run(max(args.n // 3, 100), size, 1, args.repeats)
    print(f"world.render {size[0]}x{size[1]}: {one:.0f} images/s on 1 process ({1000 / one:.1f} ms per image)")
    if size == (128, 128):
        big = run(max(args.n // 4, 100), (256, 256), args.workers, args.repeats)
        print(f"world.render 256x256: {big:.0f} images/s on {args.workers} processes")


if __name__ == "__main__":
    main()
