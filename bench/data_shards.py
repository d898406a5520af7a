"""Decode + resize throughput from OSV-5M's two storage formats, and the sharded cache's disk size per image.

    python bench/data_shards.py                  # 160 renders 512×680 (OSV-5M's height), size 128
    python bench/data_shards.py --n 400 --repeats 5

(t) tar: WebDataset shards streamed with streetgen.data.wds.iter_tar, each JPEG draft-decoded + resized (one core)
(z) zip: OSV-5M zip shards + CSV through OSV5M.image (bounded zip pool), the same decode (one core)
(m) the same JPEG bytes already in memory: the decode alone, to show what reading a shard adds (one core)
then sharded caches built with all cores at 128² and 256²: bytes on disk per image (shards + index + meta), and
the time 4.9M images would take on 16 cores at the measured per-core rate (decode is CPU-bound and embarrassingly
parallel; disk and page cache are assumed not to bind). Fixtures come from streetgen.data.fake_osv5m (JPEG q92,
50 per shard) in a temporary folder. Each rate is the best of --repeats passes, the three readers taking turns in
every pass so that they see the same machine load; "CPU" rates divide by this process's CPU time (what one core
does when it is not shared), "wall" rates by elapsed time (what this busy machine gave).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from streetgen.data.fake_osv5m import write_fake  # noqa: E402
from streetgen.data.image import ZIPS, decode_bytes  # noqa: E402
from streetgen.data.osv5m import OSV5M  # noqa: E402
from streetgen.data.shards import build_sharded_cache  # noqa: E402
from streetgen.data.wds import iter_tar, list_shards  # noqa: E402

FULL = 4_900_000  # OSV-5M train images
CORES = 16


def folder_bytes(path: Path) -> int:
    """Bytes of every file under path."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def best_rates(fns: dict[str, Callable[[], object]], count: int, repeats: int) -> dict[str, tuple[float, float]]:
    """{name: (images per CPU-second, images per wall-second)}, best of `repeats` interleaved passes."""
    cpu, wall = {k: float("inf") for k in fns}, {k: float("inf") for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu[name] = min(cpu[name], time.process_time() - c0)
            wall[name] = min(wall[name], time.perf_counter() - w0)
    return {k: (count / cpu[k], count / wall[k]) for k in fns}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=160, help="fixture images (90% land in train)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=0, help="processes for rendering and cache builds (0 = all)")
    args = p.parse_args()
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="streetgen-bench-") as tmp:
        t0 = time.perf_counter()
        write_fake(tmp, n=args.n, size=(512, 680), seed=0, workers=workers)
        ds = OSV5M(Path(tmp) / "osv5m", "train")
        tars = list_shards(Path(tmp) / "osv5m-wds", "train")
        jpeg_kb = sum(os.path.getsize(t) for t in tars) / len(ds) / 1e3
        print(f"fixtures: {len(ds)} train JPEGs 680x512 in {len(tars)} tars / zips (about {jpeg_kb:.0f} kB per "
              f"sample in a tar), rendered in {time.perf_counter() - t0:.1f}s")
        s, n = args.size, len(ds)
        blobs = [x.data for t in tars for x in iter_tar(t)]
        rates = best_rates({"(t) tar shards, streamed": lambda: [x.image(s) for t in tars for x in iter_tar(t)],
                            "(z) zip shards + CSV": lambda: [ds.image(i, s) for i in range(n)],
                            "(m) bytes in memory": lambda: [decode_bytes(b, s, "bench") for b in blobs]},
                           n, args.repeats)
        ZIPS.close()
        print(f"\ndecode + resize 512x680 -> {s}², one process ({os.cpu_count()} cores on this machine, shared)")
        for name, (cpu, wall) in rates.items():
            hours = FULL / (cpu * CORES) / 3600
            print(f"{name:26s} {cpu:6.0f} img/s per CPU-second ({wall:5.0f} wall)  -> {FULL / 1e6:.1f}M images on "
                  f"{CORES} cores: {hours:.2f} h ({cpu * CORES:,.0f} img/s)")
        print(f"\nsharded cache, {workers} processes, from the zip shards")
        for size in (128, 256):
            t0 = time.perf_counter()
            out = build_sharded_cache(Path(tmp) / "osv5m", Path(tmp) / f"cache{size}", size=size, workers=workers)
            secs = time.perf_counter() - t0
            per = folder_bytes(out) / n
            print(f"{size}²: {per:10,.0f} bytes/image on disk ({size * size * 3:,} pixels' bytes + index) -> "
                  f"{per * FULL / 1e9:,.0f} GB for {FULL / 1e6:.1f}M; built at {n / secs:.0f} img/s "
                  f"(incl. pool start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
