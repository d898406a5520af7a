"""Shared by the latency benches: best-of-N wall-clock timing of one call, printed the same way everywhere."""
from __future__ import annotations

import time
from typing import Callable


def parse_args(parser):
    """Add the options every latency bench takes (--n, --repeats, --threads, --device), parse, set threads."""
    import torch

    parser.add_argument("--n", type=int, default=4, help="images per call")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for GPU throughput")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def time_calls(call: Callable[[int], object], repeats: int) -> tuple[float, float]:
    """(best, median) seconds of `call(k)` over `repeats` runs after one warm-up (first-call allocations and
    kernel selection). Best-of is the number to compare on a shared, noisy machine; the median is reported beside."""
    call(0)
    times = []
    for k in range(repeats):
        t = time.perf_counter()
        call(k)  # pipelines return uint8 arrays on the host, so any GPU work is finished here
        times.append(time.perf_counter() - t)
    times.sort()
    return times[0], times[len(times) // 2]


def report(name: str, n: int, size: str, device: str, best: float, median: float) -> str:
    import torch

    where = f"CPU ({torch.get_num_threads()} threads)" if device == "cpu" else torch.cuda.get_device_name()
    return (f"{name}: {n} images at {size} on {where}: best {best:.3f} s, median {median:.3f} s "
            f"({n / best:.1f} images/s)")
