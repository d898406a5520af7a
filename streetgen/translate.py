"""`python -m streetgen.translate`: street photos, a video's frames or 360° panoramas in another city's style.

    python -m streetgen.translate --model cyclegan_paris_venice photos/ --out venice/      # every image, same names
    python -m streetgen.translate --model pix2pix_depth_paris+pix2pix_photo_venice a.jpg --out out/  # + depth maps
    python -m streetgen.translate --model segmenter+spade_cities --target Tokyo photos/ --out tokyo/  # + label maps
    python -m streetgen.translate --model country_diffusion --target Tokyo --strength 0.2 photos/ --out tokyo/
    python -m streetgen.translate --model cyclegan_paris_venice --frames clip.gif --out clip/   # one video, steady
    python -m streetgen.translate --model cyclegan_paris_venice --panorama pano.jpg --out pano/

Photos of any size and mode are read like the app reads uploads (converted, long side shrunk to 512; the note is
printed). A file that cannot be read is reported and skipped; the others are still written (exit status 1 then).
The depth route also writes `<name>_depth.npy` (float32 metres) and `<name>_depth.png` (near = bright); the layout
route `<name>_labels.png` (class ids 0–10, the CamVid order) and `<name>_labels_color.png`.
`--frames`: the input is one animated GIF/WebP or one folder of frames in name order; all frames share one seed
and, unless --no-steady, follow the video's motion (`steady_frames`); writes frames/NNN.png and translated.gif.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def _inputs(paths: list[str]) -> list[tuple[Path, Path]]:
    """(file, output stem relative to --out): a folder's images keep their sub-folders, so no two share a name."""
    from streetgen.data.image import list_images

    files: list[tuple[Path, Path]] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(Path(f) for f in list_images(p))
            if not found:
                raise ValueError(f"no images in the folder {p}")
            files += [(f, f.relative_to(p).with_suffix("")) for f in found]
        elif p.exists():
            files.append((p, Path(p.stem)))
        else:
            raise ValueError(f"no such file or folder: {p}")
    return files


def _write(out_dir: Path, stem: Path, photo: np.ndarray, middle: np.ndarray | None) -> None:
    """The photo and the route's intermediate: depth (float, metres) or a label map (integer class ids)."""
    from PIL import Image

    from streetgen.world import colorize_depth
    from streetgen.classes import colorize_labels

    (out_dir / stem).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo).save(out_dir / f"{stem}.png")
    if middle is not None and not np.issubdtype(middle.dtype, np.floating):
        Image.fromarray(middle.astype(np.uint8)).save(out_dir / f"{stem}_labels.png")
        Image.fromarray(colorize_labels(middle)).save(out_dir / f"{stem}_labels_color.png")
    elif middle is not None:
        np.save(out_dir / f"{stem}_depth.npy", middle.astype(np.float32))
        Image.fromarray(colorize_depth(middle)).save(out_dir / f"{stem}_depth.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m streetgen.translate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="image files and/or folders (with --frames: one GIF/WebP or folder)")
    p.add_argument("--model", required=True,
                   help="a CycleGAN checkpoint, 'to_depth+to_photo' pix2pix checkpoints, 'segmenter+spade' (the "
                        "layout route) or country_diffusion")
    p.add_argument("--target", default=None, help="any-city route: a famous city or a country; layout route: one "
                                                  "of its painter's cities")
    p.add_argument("--strength", type=float, default=0.2, help="any-city route: SDEdit strength in (0, 1]")
    p.add_argument("--seed", type=int, default=0)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--frames", action="store_true", help="the input is one video: translate it as a sequence")
    mode.add_argument("--panorama", action="store_true", help="inputs are 2:1 equirectangular panoramas")
    p.add_argument("--no-steady", action="store_true", help="--frames: keep the raw per-frame translations")
    p.add_argument("--out", required=True, help="output folder")
    args = p.parse_args(argv)

    from PIL import Image

    from streetgen.pipelines.city import (STEADY, AnyCityPipeline, LayoutRoutePipeline, load_city_pipeline,
                                          run_city, target_country, translate_frames,
                                          translate_panorama)
    from streetgen.io.photos import read_frames, read_photo, save_gif

    out_dir = Path(args.out)
    try:
        if args.seed < 0:
            raise ValueError(f"--seed must be non-negative, got {args.seed}")
        pipe = load_city_pipeline(args.model)
        if isinstance(pipe, AnyCityPipeline):  # fail before any work, not once per photo
            if not args.target:
                raise ValueError("the any-city route needs --target (a famous city or a country)")
            target_country(args.target)
        if isinstance(pipe, LayoutRoutePipeline):
            pipe.city_index(args.target)  # names the cities it can paint when --target is missing or unknown

        def translate(photo, seed):
            return run_city(pipe, photo, args.target, args.strength, seed)

        if args.frames:
            if len(args.inputs) != 1:
                raise ValueError("--frames takes one GIF/WebP or one folder of frames")
            frames = read_frames(args.inputs[0])
            out = translate_frames(translate, frames, seed=args.seed, steady=0.0 if args.no_steady else STEADY)
            (out_dir / "frames").mkdir(parents=True, exist_ok=True)
            for k, frame in enumerate(out):
                Image.fromarray(frame).save(out_dir / "frames" / f"{k:03d}.png")
            save_gif(out, str(out_dir / "translated.gif"), bounce=False)
            print(f"{len(out)} frames → {out_dir}/frames/, {out_dir}/translated.gif")
            return 0
        files = _inputs(args.inputs)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path, stem in files:
        try:
            if args.panorama:
                photo, depth = translate_panorama(translate, str(path), seed=args.seed)
                note = ""
            else:
                arr, note = read_photo(str(path))
                photo, depth = translate(arr, args.seed)
        except ValueError as err:
            failed += 1
            print(f"skipped {path}: {err}", file=sys.stderr)
            continue
        _write(out_dir, stem, photo, depth)
        print(f"{path} → {out_dir / stem}.png" + (f" ({note})" if note else ""))
    print(f"{len(files) - failed} of {len(files)} translated into {out_dir}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
