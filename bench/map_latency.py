"""CPU latency of the Map pipeline: seconds for n images (default 4 at the model's size), best of --repeats.

    python bench/map_latency.py --model map_gan --n 4 --threads 2
    python bench/map_latency.py --untrained --threads 2     # the default MapGenerator config, random weights
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.timing import parse_args, report, time_calls  # noqa: E402

from streetgen.pipelines import MapPipeline  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="map_gan")
    p.add_argument("--untrained", action="store_true", help="time MapGenerator() with its default config")
    args = parse_args(p)
    if args.untrained:
        from streetgen.models.map_gan import MapGenerator
        pipe, name = MapPipeline(MapGenerator()), "MapGenerator() (untrained)"
    else:
        pipe, name = MapPipeline.from_pretrained(args.model), args.model
    pipe.model.to(args.device)
    best, median = time_calls(lambda k: pipe(48.8566, 2.3522, n=args.n, seed=k), args.repeats)
    size = pipe.model.image_size
    print(report(name, args.n, f"{size}x{size}", args.device, best, median))


if __name__ == "__main__":
    main()
