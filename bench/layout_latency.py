"""CPU latency of Layout → street: seconds for one SPADE synthesis (and one random layout), best of --repeats.

    python bench/layout_latency.py --threads 2                       # shipped spade_world + layout_world
    python bench/layout_latency.py --model spade_camvid --size 256x256 --threads 2
    python bench/layout_latency.py --official --threads 2            # the official SPADE widths, same sizes

--official times SpadeGenerator built with the official generator's widths (ngf 64: 1024 at 1/32, 1024 at 1/16,
then 512, 256, 128, 64; SPADE hidden width 128 everywhere) and random weights, beside the shipped model: the same
code and layout, so the difference is the design's cost. The official design has one more 1024-wide block at 1/16
(G_middle_1), so its real cost is a little higher than the number printed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import parse_args, report, time_calls  # noqa: E402

from streetgen import geo, world  # noqa: E402
from streetgen.pipelines import LayoutPipeline, SpadePipeline  # noqa: E402

OFFICIAL_CHANNELS = (1024, 1024, 512, 256, 128, 64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="spade_world")
    p.add_argument("--layout-model", default="layout_world", help="'' to skip timing the layout generator")
    p.add_argument("--size", default="128x256", help="HEIGHTxWIDTH of the synthesis (multiples of 32)")
    p.add_argument("--official", action="store_true", help="also time the official generator widths")
    p.set_defaults(n=1)
    args = parse_args(p)
    h, w = (int(v) for v in args.size.lower().split("x"))
    labels = world.render(*geo.sample_world(__import__("numpy").random.default_rng(0)), seed=0, size=(h, w)).labels
    pipes = [(args.model, SpadePipeline.from_pretrained(args.model))]
    if args.official:
        from streetgen.models.spade import SpadeGenerator

        pipes.append(("official widths (untrained)", SpadePipeline(
            SpadeGenerator(image_size=(h, w), channels=OFFICIAL_CHANNELS, spade_hidden=128).eval())))
    for name, pipe in pipes:
        pipe.model.to(args.device)
        params = sum(t.numel() for t in pipe.model.parameters()) / 1e6
        best, median = time_calls(lambda k: pipe(labels, seed=k, size=(h, w)), args.repeats)
        print(report(f"{name} ({params:.1f}M params)", 1, f"{h}x{w}", args.device, best, median))
    if args.layout_model:
        layouts = LayoutPipeline.from_pretrained(args.layout_model)
        layouts.model.to(args.device)
        best, median = time_calls(lambda k: layouts(n=args.n, seed=k), args.repeats)
        size = "x".join(str(v) for v in layouts.size)
        print(report(f"{args.layout_model} (layouts)", args.n, size, args.device, best, median))


if __name__ == "__main__":
    main()
