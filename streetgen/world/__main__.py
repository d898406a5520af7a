"""Command line for the world renderer.

    python -m streetgen.world dataset --out data/world --n 10000 --size 128 --countries world --splits train=0.9,test=0.1
    python -m streetgen.world grid --countries NO,MA,JP,US,IN,FR,BR,RU,KE,AU,EG,DE --size 256 --out world_grid.png
    python -m streetgen.world panorama --place Paris --height 512 --out paris_pano   # equirect image, labels, depth
    python -m streetgen.panorama split paris_pano/panorama.png --out views          # its six cube faces
    python -m streetgen.world pan --place Venice --frames 16 --out venice_pan        # a turning-camera video
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("x", " ").split()
    if len(parts) == 1:
        return int(parts[0]), int(parts[0])
    if len(parts) == 2:
        return int(parts[0]), int(parts[1])
    raise argparse.ArgumentTypeError(f"size must be N or HxW (e.g. 128 or 128x256), got {text!r}")


def _splits(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, _, frac = part.partition("=")
        if not name or not frac:
            raise argparse.ArgumentTypeError(f"splits look like train=0.9,test=0.1, got {text!r}")
        out[name.strip()] = float(frac)
    return out


def _countries(text: str) -> list[str]:
    return [] if text.strip().lower() == "world" else [c.strip() for c in text.split(",") if c.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m streetgen.world", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dataset", help="write renders in the OSV-5M layout with labels and depth")
    d.add_argument("--out", required=True, help="output folder")
    d.add_argument("--n", type=int, default=1000, help="number of samples")
    d.add_argument("--size", type=_size, default=(128, 128), help="N or HxW, e.g. 128 or 128x256")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--countries", type=_countries, default=[], help="'world' (by population) or ISO codes: FR,JP")
    d.add_argument("--splits", type=_splits, default={"train": 0.9, "test": 0.1})
    d.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    d.add_argument("--quality", type=int, default=92, help="JPEG quality")
    g = sub.add_parser("grid", help="save a grid of renders (photo | labels | depth) for some places")
    g.add_argument("--countries", default="NO,MA,JP,US,IN,FR,BR,RU,KE,AU,EG,DE",
                   help="ISO codes or famous city names, comma-separated")
    g.add_argument("--size", type=_size, default=(256, 256))
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--per", type=int, default=1, help="renders per place")
    g.add_argument("--photos-only", action="store_true", help="photos only, arranged in 4 columns")
    g.add_argument("--out", default="world_grid.png")
    q = sub.add_parser("panorama", help="a 360° equirectangular panorama of one street (image, labels, depth)")
    q.add_argument("--place", default="Paris", help="a famous city or a country (ISO code or name)")
    q.add_argument("--lat", type=float, default=None, help="with --lon: render this point instead of --place")
    q.add_argument("--lon", type=float, default=None)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--height", type=int, default=512, help="panorama height; the width is twice it")
    q.add_argument("--out", default="world_panorama", help="output folder")
    v = sub.add_parser("pan", help="a video of the camera turning on the spot (frames, labels, depth, GIF)")
    v.add_argument("--place", default="Paris", help="a famous city or a country (ISO code or name)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--size", type=_size, default=(256, 256))
    v.add_argument("--frames", type=int, default=16)
    v.add_argument("--degrees", type=float, default=1.0, help="turn per frame (positive: to the right)")
    v.add_argument("--out", default="world_pan", help="output folder")
    args = p.parse_args(argv)

    from streetgen.world import colorize_depth, render_city, render_country
    from streetgen.classes import colorize_labels
    from streetgen.world.dataset import DatasetSpec, write_dataset

    try:
        if args.cmd == "dataset":
            spec = DatasetSpec(out=args.out, n=args.n, size=args.size, seed=args.seed, countries=args.countries,
                               splits=args.splits, jpeg_quality=args.quality)
            t0 = time.perf_counter()
            counts = write_dataset(spec, workers=args.workers or None)
            dt = time.perf_counter() - t0
            print(f"wrote {sum(counts.values())} samples {counts} to {args.out} in {dt:.1f}s "
                  f"({sum(counts.values()) / dt:.0f} samples/s incl. encoding)")
            return 0
        from PIL import Image
        from streetgen import geo

        if args.cmd == "panorama":
            return _panorama(args)
        if args.cmd == "pan":
            return _pan(args)
        tiles = []
        for name in [c.strip() for c in args.countries.split(",") if c.strip()]:
            for k in range(args.per):
                s = (render_city(name, args.seed + k, args.size) if name in geo.FAMOUS_CITIES
                     else render_country(name, args.seed + k, args.size))
                tiles.append(s.image if args.photos_only else
                             np.concatenate([s.image, colorize_labels(s.labels), colorize_depth(s.depth)], 1))
                print(f"{name:>16} #{k}: {s.meta['city']}, {s.meta['country_name']} · {s.meta['region_style']} · "
                      f"{s.meta['climate']} · {s.meta['weather']} · drive {s.meta['drive_side']}")
        if args.photos_only:
            cols = 4
            while len(tiles) % cols:
                tiles.append(np.zeros_like(tiles[0]))
            grid = np.concatenate([np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)], 0)
        else:
            grid = np.concatenate(tiles, 0)
        Image.fromarray(grid).save(args.out)
        print(f"saved {args.out}")
        return 0
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _panorama(args) -> int:
    """Write panorama.png, labels.png (CamVid colours), labels_ids.png, depth.npy (float32 metres) and meta.json."""
    import json
    from pathlib import Path

    from PIL import Image
    from streetgen import geo
    from streetgen.world import render_panorama
    from streetgen.classes import colorize_labels

    if (args.lat is None) != (args.lon is None):
        raise ValueError("give both --lat and --lon, or neither (then --place)")
    if args.lat is not None:
        lat, lon, city = args.lat, args.lon, None
    elif args.place in geo.FAMOUS_CITIES:
        c = geo.FAMOUS_CITIES[args.place]
        lat, lon, city = c.lat, c.lon, args.place
    else:
        lat, lon = geo.sample_place(geo.country(args.place).iso2, np.random.default_rng(args.seed))
        city = None
    s = render_panorama(lat, lon, args.seed, args.height, famous_city=city)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(s.image).save(out / "panorama.png")
    Image.fromarray(colorize_labels(s.labels)).save(out / "labels.png")
    Image.fromarray(s.labels).save(out / "labels_ids.png")
    np.save(out / "depth.npy", s.depth)
    (out / "meta.json").write_text(json.dumps(s.meta, indent=2, default=str))
    print(f"{s.meta['city']}, {s.meta['country_name']}: {s.image.shape[1]}x{s.image.shape[0]} panorama in {out}/")
    return 0


def _pan(args) -> int:
    """Write frames/NNN.png, labels/NNN.png (CamVid ids), depth.npy (frames, H, W metres), pan.gif and meta.json
    (each frame's camera: with `streetgen.metrics.yaw_flow` it gives the exact motion between frames)."""
    import json
    from pathlib import Path

    from PIL import Image
    from streetgen.io.photos import save_gif
    from streetgen.world import render_pan

    video = render_pan(args.place, args.seed, args.size, args.frames, args.degrees)
    out = Path(args.out)
    for sub in ("frames", "labels"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for k, s in enumerate(video):
        Image.fromarray(s.image).save(out / "frames" / f"{k:03d}.png")
        Image.fromarray(s.labels).save(out / "labels" / f"{k:03d}.png")
    np.save(out / "depth.npy", np.stack([s.depth for s in video]))
    save_gif([s.image for s in video], str(out / "pan.gif"), bounce=False)
    meta = {**video[0].meta, "degrees_per_frame": args.degrees,
            "camera_yaw_deg_per_frame": [s.meta["camera_yaw_deg"] for s in video]}
    (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    print(f"{meta['city']}, {meta['country_name']}: {len(video)} frames in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
