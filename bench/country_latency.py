"""CPU latency of the Country pipeline: seconds for n images (default 4 at the model's size), best of --repeats.

    python bench/country_latency.py --model cvae --n 4
    python bench/country_latency.py --model country_diffusion+country_guide --n 4   # with classifier guidance
    python bench/country_latency.py --model country_diffusion+country_diffusion_early --n 4   # with autoguidance
    python bench/country_latency.py --model country_diffusion+country_diffusion_early --morph-chunks 1,4,16 \
        --repeats 2 --threads 1   # a 16-frame morph streamed: first frame and total, per chunk size
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.timing import parse_args, report, time_calls  # noqa: E402

from streetgen.pipelines import CountryPipeline  # noqa: E402


def morph_stream(pipe: CountryPipeline, chunk: int, repeats: int) -> tuple[float, float]:
    """Best-of-`repeats` (seconds to the first frame, seconds to the last) of a 16-frame `iter_morph` JP → NO
    made `chunk` frames per sampler call, after one warm-up call."""
    best_first = best_total = float("inf")
    for k in range(repeats + 1):
        start = time.perf_counter()
        stream = pipe.iter_morph(pipe.countries[0], pipe.countries[1], frames=16, seed=k, chunk=chunk)
        next(stream)
        first = time.perf_counter() - start
        for _ in stream:
            pass
        if k:  # the first run is the warm-up
            best_first, best_total = min(best_first, first), min(best_total, time.perf_counter() - start)
    return best_first, best_total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="cvae")
    p.add_argument("--morph-chunks", default="", help="time a streamed 16-frame morph per chunk size instead")
    args = parse_args(p)
    pipe = CountryPipeline.from_pretrained(args.model)
    pipe.to(args.device)  # with its guide or autoguide, if the route names one ("country_diffusion+…")
    for chunk in [int(c) for c in args.morph_chunks.split(",") if c]:
        first, total = morph_stream(pipe, chunk, args.repeats)
        print(f"{args.model}: 16-frame morph, {chunk} frames per call: first frame {first:.2f} s, all {total:.2f} s"
              f" (best of {args.repeats})", flush=True)
    if args.morph_chunks:
        return
    country = pipe.countries[0]
    best, median = time_calls(lambda k: pipe(country, n=args.n, seed=k), args.repeats)
    size = pipe.model.image_size
    print(report(args.model, args.n, f"{size}x{size}", args.device, best, median))


if __name__ == "__main__":
    main()
