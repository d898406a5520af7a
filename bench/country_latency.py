"""CPU latency of the Country pipeline: seconds for n images (default 4 at the model's size), best of --repeats.

    python bench/country_latency.py --model cvae --n 4
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from streetgen.pipelines import CountryPipeline  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="cvae")
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda for GPU throughput")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = CountryPipeline.from_pretrained(args.model)
    pipe.model.to(args.device)
    country = pipe.countries[0]
    pipe(country, n=args.n, seed=0)  # warm-up: first-call allocations and kernel selection
    times = []
    for k in range(args.repeats):
        t = time.perf_counter()
        pipe(country, n=args.n, seed=k)  # returns uint8 arrays on the host, so the GPU work is finished
        times.append(time.perf_counter() - t)
    times.sort()
    size = pipe.model.image_size
    where = f"CPU ({torch.get_num_threads()} threads)" if args.device == "cpu" else torch.cuda.get_device_name()
    print(f"{args.model}: {args.n} images at {size}x{size} on {where}: best {times[0]:.3f} s, median "
          f"{times[len(times) // 2]:.3f} s ({args.n / times[0]:.1f} images/s)")


if __name__ == "__main__":
    main()
