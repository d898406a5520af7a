"""Training input throughput: images per second the input pipeline (train/common/input.py) delivers from a sharded
128² cache, with 0, 1 and 2 DataLoader workers, and the peak memory of the process and of each worker.

    python bench/train_input.py                       # 20,000 rows at 128² in 1%-shards (983 MB), batch 256
    python bench/train_input.py --rows 5000 --size 256 --workers 0,2

The cache is written in the sharded format with random pixels (throughput does not depend on the content; the
bench measures reading rows out of shard memmaps and handing batches over, as the trainers do, uint8 on the CPU;
the float conversion happens on the training device). Batches come in the order of a per-rank ShardSampler, so rows
are random over the whole cache and the page cache is warm after the first pass (as in a long run on a node whose
RAM holds its shards). Each figure is the best of --repeats passes (the machine is shared).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen.data.shards import FORMAT, ShardedCache  # noqa: E402
from train.common.input import CacheBatches  # noqa: E402
from train.common.loop import ShardSampler  # noqa: E402


def write_random_cache(out: Path, rows: int, size: int, shard_frac: float = 0.01) -> Path:
    """A sharded cache of `rows` random images in streetgen.data.shards' format (meta.json, shards/*.u8 + .csv)."""
    per = max(64, math.ceil(rows * shard_frac))
    rng = np.random.default_rng(0)
    (out / "shards").mkdir(parents=True)
    shards, countries = [], ["FR", "JP", "US"]
    for k, start in enumerate(range(0, rows, per)):
        n, name = min(per, rows - start), f"{k:05d}-000"
        rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8).tofile(out / "shards" / f"{name}.u8")
        with open(out / "shards" / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["offset", "id", "latitude", "longitude", "country"])
            w.writerows([i, f"r{start + i}", 0.0, 0.0, countries[(start + i) % 3]] for i in range(n))
        shards.append({"name": name, "rows": n})
    meta = {"format": FORMAT, "dataset": "streetgen.world", "license": "MIT", "split": "train", "size": size,
            "countries": countries, "shards": shards}
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def memory(pid: int) -> str:
    """A process's resident memory split as /proc reports it: private (RssAnon), mapped files (RssFile: the shard
    pages it reads, shared with every process mapping them and reclaimable), and its peak (VmHWM), in MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in KEYS}
    except OSError:
        return "gone"
    return "private {RssAnon:.0f} + files {RssFile:.0f} (peak {VmHWM:.0f}) MB".format(
        **{k: v / 1024 for k, v in kb.items()})


KEYS = ("RssAnon", "RssFile", "VmHWM")


def worker_memory() -> list[str]:
    """`memory` of each child process (the DataLoader workers)."""
    return [memory(child.pid) for child in psutil.Process().children(recursive=True)]


def measure(cache: ShardedCache, workers: int, batch: int, batches: int) -> tuple[float, list[str]]:
    """(images per second over `batches` batches after a warm-up of 3, each worker's memory)."""
    pipe = CacheBatches(cache, ShardSampler(len(cache), batch, seed=workers), device=torch.device("cpu"),
                        num_workers=workers, prefetch=4)
    for _ in range(3):
        pipe.next()
    t0 = time.perf_counter()
    for _ in range(batches):
        pipe.next()
    rate = batches * batch / (time.perf_counter() - t0)
    peaks = worker_memory()
    pipe.close()
    return rate, peaks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=20_000, help="images in the cache")
    p.add_argument("--size", type=int, default=128, help="cache side in pixels")
    p.add_argument("--batch", type=int, default=256, help="images per batch")
    p.add_argument("--batches", type=int, default=40, help="batches timed per pass")
    p.add_argument("--workers", default="0,1,2", help="DataLoader worker counts to try")
    p.add_argument("--repeats", type=int, default=3, help="passes per setting; the best is reported")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cache = ShardedCache(write_random_cache(Path(tmp) / "cache", args.rows, args.size))
        print(f"cache: {len(cache)} rows at {args.size}² in {cache.num_shards} shards, "
              f"{cache.images.nbytes / 1e6:.0f} MB ({cache.images.nbytes / len(cache):,.0f} B/image), written in "
              f"{time.perf_counter() - t0:.1f} s; {psutil.cpu_count()} cores")
        for workers in (int(w) for w in args.workers.split(",")):
            runs = [measure(cache, workers, args.batch, args.batches) for _ in range(args.repeats)]
            rate, peaks = max(runs, key=lambda r: r[0])
            print(f"workers {workers}: {rate:,.0f} images/s (best of {args.repeats}: "
                  f"{', '.join(f'{r:,.0f}' for r, _ in runs)}); main process {memory(psutil.Process().pid)}"
                  + "".join(f"; worker {i}: {m}" for i, m in enumerate(peaks)))


if __name__ == "__main__":
    main()
