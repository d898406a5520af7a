"""CPU latency of the Country pipeline: seconds for n images (default 4 at the model's size), best of --repeats.

    python bench/country_latency.py --model cvae --n 4
    python bench/country_latency.py --model country_diffusion+country_guide --n 4   # with classifier guidance
    python bench/country_latency.py --model country_diffusion+country_diffusion_early --n 4   # with autoguidance
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.timing import parse_args, report, time_calls  # noqa: E402

from streetgen.pipelines import CountryPipeline  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="cvae")
    args = parse_args(p)
    pipe = CountryPipeline.from_pretrained(args.model)
    pipe.to(args.device)  # with its guide or autoguide, if the route names one ("country_diffusion+…")
    country = pipe.countries[0]
    best, median = time_calls(lambda k: pipe(country, n=args.n, seed=k), args.repeats)
    size = pipe.model.image_size
    print(report(args.model, args.n, f"{size}x{size}", args.device, best, median))


if __name__ == "__main__":
    main()
