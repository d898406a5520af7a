"""CPU latency of City → city: seconds for one translation of a --size photo by each route, best of --repeats.

    python bench/city_latency.py --threads 2                          # 256x256, the shipped models
    python bench/city_latency.py --size 512x384 --threads 2 --repeats 5
    python bench/city_latency.py --n9 --threads 2                     # also the study's 9-block, ngf-64 CycleGAN

Routes: a CycleGAN pair, the depth route (pix2pix image→depth, then depth→image), the layout route (segmenter,
then the city-conditioned SPADE), and any-city (SDEdit on the
country diffusion model: `strength × steps` DDIM steps at the model's 128², resized back). --n9 times a CycleGAN
generator with the study's design (9 residual blocks, 64 base channels, random weights) in the same code: the
difference with the shipped one is the design's cost. The last line times `steady_frames` alone (optical flow +
blend per frame of a video, on top of the route's own time).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import parse_args, report, time_calls  # noqa: E402

from streetgen import world  # noqa: E402
from streetgen.pipelines import (AnyCityPipeline, CycleGANPipeline, DepthRoutePipeline,  # noqa: E402
                                 LayoutRoutePipeline)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="256x256", help="HEIGHTxWIDTH of the photo")
    p.add_argument("--cyclegan", default="cyclegan_paris_venice", help="'' to skip")
    p.add_argument("--depth-route", default="pix2pix_depth_paris+pix2pix_photo_venice", help="'' to skip")
    p.add_argument("--layout-route", default="street_segmenter+spade_cities", help="'' to skip")
    p.add_argument("--any-city", default="country_diffusion", help="'' to skip")
    p.add_argument("--strength", type=float, default=0.2)
    p.add_argument("--n9", action="store_true", help="also time the study's 9-block CycleGAN design")
    p.set_defaults(n=1, repeats=5)
    args = parse_args(p)
    if args.device != "cpu":
        p.error("this bench times the CPU path (the City pipelines keep their models on the CPU)")
    h, w = (int(v) for v in args.size.lower().split("x"))
    photo = world.render_city("Paris", seed=0, size=(h, w)).image
    routes = []
    if args.cyclegan:
        pipe = CycleGANPipeline.from_pretrained(args.cyclegan)
        routes.append((f"CycleGAN {args.cyclegan}", [pipe.model], lambda k: pipe(photo)))
    if args.n9:
        from streetgen.models.cyclegan import CycleGenerator

        study = CycleGANPipeline(CycleGenerator(n_blocks=9, ngf=64, source="Paris", target="Venice").eval())
        routes.append(("CycleGAN, the study's design (9 blocks, ngf 64, untrained)", [study.model],
                       lambda k: study(photo)))
    if args.depth_route:
        route = DepthRoutePipeline.from_pretrained(*args.depth_route.split("+", 1))
        routes.append((f"depth route {args.depth_route}", [route.to_depth, route.to_photo], lambda k: route(photo)))
    if args.layout_route:
        layout = LayoutRoutePipeline.from_pretrained(*args.layout_route.split("+", 1))
        routes.append((f"layout route {args.layout_route}", [layout.segmenter, layout.painter],
                       lambda k: layout(photo, "Venice", seed=k)))
    if args.any_city:
        anycity = AnyCityPipeline.from_pretrained(args.any_city)
        routes.append((f"any city {args.any_city} (strength {args.strength})", [anycity.model],
                       lambda k: anycity(photo, "Venice", strength=args.strength, seed=k)))
    for name, models, call in routes:
        params = sum(t.numel() for m in models for t in m.parameters()) / 1e6
        best, median = time_calls(call, args.repeats)
        print(report(f"{name} ({params:.1f}M params)", 1, f"{h}x{w}", args.device, best, median))
    from streetgen.pipelines import steady_frames

    video = [s.image for s in world.render_pan("Paris", seed=0, size=(h, w), frames=9)]
    best, median = time_calls(lambda k: steady_frames(video, video), args.repeats)
    print(report("steady_frames (flow + blend) per frame", 1, f"{h}x{w}", args.device, best / 8, median / 8))


if __name__ == "__main__":
    main()
