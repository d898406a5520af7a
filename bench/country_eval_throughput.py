"""Images per second of a country checkpoint answering eval requests batched (`CountryPipeline.batched`), per
batch size: what `python -m streetgen.eval --task country --batch B` should use on this machine.

    python bench/country_eval_throughput.py --model country_diffusion --requests 64 --batches 1,8,16,64
    python bench/country_eval_throughput.py --device cuda --requests 1024 --batches 64,256,512
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen.pipelines import CountryPipeline  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="country_diffusion")
    p.add_argument("--requests", type=int, default=64, help="(country, seed) requests per measurement")
    p.add_argument("--batches", default="1,8,16,64", help="comma-separated batch sizes to time")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = p.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = CountryPipeline.from_pretrained(args.model).to(args.device)
    # different countries and seeds, as an eval asks: every country in turn, one seed each
    requests = [(pipe.countries[i % len(pipe.countries)], 1000 + i) for i in range(args.requests)]
    pipe.batched(requests[:2], batch=2)  # warm-up: first-call allocations and kernel selection
    where = f"CPU ({torch.get_num_threads()} threads)" if args.device == "cpu" else torch.cuda.get_device_name()
    for batch in (int(b) for b in args.batches.split(",")):
        start = time.perf_counter()
        pipe.batched(requests, batch=batch)  # uint8 arrays on the host: any GPU work has finished
        seconds = time.perf_counter() - start
        print(f"{args.model} on {where}, batch {batch}: {args.requests} images in {seconds:.1f} s "
              f"({args.requests / seconds:.2f} images/s)", flush=True)


if __name__ == "__main__":
    main()
