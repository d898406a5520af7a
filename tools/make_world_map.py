"""Build the Map tab's offline world map, `streetgen/assets/geo/world_map.png` (1440 x 720, equirectangular).

Run once by a developer (the image is committed, so users never need this nor the two wheels):

    python -m pip download --no-deps cartopy -d build/cartopy_whl
    python -m pip download --no-deps geo-intel-offline==1.5.0 -d build/geointel_whl
    python tools/make_world_map.py build/cartopy_whl build/geointel_whl

Neither package is installed: the tool reads two files straight out of the wheel zips.
- Base: Natural Earth I shaded relief (public domain), the 720 x 360 copy inside cartopy's wheel, upscaled 2x.
- Borders and coastlines: the Natural Earth admin-0 polygons packaged by geo-intel-offline (MIT), points [lat, lon].
Layout: column 0 is 180 W, row 0 is 90 N, each pixel covers 0.25 deg (what `streetgen.mapview` assumes).
"""
from __future__ import annotations

import gzip
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "streetgen" / "assets" / "geo" / "world_map.png"
SIZE = (1440, 720)
SS = 4  # supersampling for the line overlay: lines thinner than a pixel, anti-aliased by the downsample
RELIEF = "cartopy/data/raster/natural_earth/50-natural-earth-1-downsampled.png"
POLYGONS = "geo_intel_offline/data/polygons.json.gz"


def _wheel_member(folder: str, prefix: str, member: str) -> bytes:
    """Bytes of `member` from the single `prefix*.whl` in `folder` (fails clearly if the download is missing)."""
    wheels = sorted(Path(folder).glob(f"{prefix}*.whl"))
    if not wheels:
        sys.exit(f"no {prefix}*.whl in {folder}; run the pip download commands in this tool's docstring")
    with zipfile.ZipFile(wheels[-1]) as zf:
        return zf.read(member)


def _to_xy(lat: np.ndarray, lon: np.ndarray, w: int, h: int) -> np.ndarray:
    """Degrees to overlay pixel coordinates (continuous: lon -180 is the left edge of column 0)."""
    return np.stack([(lon + 180.0) / 360.0 * w, (90.0 - lat) / 180.0 * h], axis=1)


def _rings(polygons: dict) -> list[np.ndarray]:
    """Every exterior and hole ring, as (n, 2) arrays of [lat, lon]."""
    out = []
    for poly in polygons.values():
        for ring in poly.get("exteriors") or [poly["exterior"]]:
            out.append(np.asarray(ring, dtype=np.float64))
        for hole in poly.get("holes") or []:
            # Holes are stored either as one ring or as a list of rings; normalise to a list of rings.
            holes = hole if hole and isinstance(hole[0][0], list) else [hole]
            out.extend(np.asarray(r, dtype=np.float64) for r in holes if len(r) > 1)
    return [r for r in out if r.ndim == 2 and len(r) > 1]


def line_overlay(polygons: dict, w: int, h: int) -> Image.Image:
    """An L-mode coverage mask (0..255) of graticule and border lines at the target size, anti-aliased."""
    big = Image.new("L", (w * SS, h * SS), 0)
    draw = ImageDraw.Draw(big)
    W, H = big.size
    # Faint graticule every 30 deg: helps reading latitudes without competing with the borders.
    for lon in range(-150, 180, 30):
        x = (lon + 180) / 360 * W
        draw.line([(x, 0), (x, H)], fill=70, width=SS // 2)
    for lat in range(-60, 90, 30):
        y = (90 - lat) / 180 * H
        draw.line([(0, y), (W, y)], fill=70, width=SS // 2)
    for ring in _rings(polygons):
        lat, lon = ring[:, 0], ring[:, 1]
        xy = _to_xy(lat, lon, W, H)
        # Natural Earth cuts polygons at the antimeridian and closes Antarctica along the south pole: those
        # artificial edges are not borders, and a segment jumping across the map must never be drawn either.
        bad = (np.abs(np.diff(lon)) > 180.0) | (
            (np.abs(lon[:-1]) >= 179.999) & (np.abs(lon[1:]) >= 179.999)) | ((lat[:-1] <= -89.9) | (lat[1:] <= -89.9))
        start = 0
        for cut in list(np.flatnonzero(bad) + 1) + [len(xy)]:
            seg = xy[start:cut]
            if len(seg) > 1:
                draw.line([tuple(p) for p in seg], fill=255, width=SS - 1, joint="curve")
            start = cut
    return big.resize((w, h), Image.Resampling.BOX)


def build(cartopy_dir: str, geointel_dir: str) -> Image.Image:
    """The finished RGB map."""
    relief = Image.open(io.BytesIO(_wheel_member(cartopy_dir, "cartopy", RELIEF))).convert("RGB")
    if relief.size != (720, 360):
        sys.exit(f"unexpected relief size {relief.size}; expected 720 x 360 equirectangular")
    base = relief.resize(SIZE, Image.Resampling.LANCZOS)
    polygons = json.loads(gzip.decompress(_wheel_member(geointel_dir, "geo_intel_offline", POLYGONS)))
    alpha = np.asarray(line_overlay(polygons, *SIZE), dtype=np.float32)[..., None] / 255.0 * 0.85
    ink = np.array([40, 40, 48], dtype=np.float32)  # near-black, slightly cool: readable on sand and on sea
    rgb = np.asarray(base, dtype=np.float32) * (1 - alpha) + ink * alpha
    return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit(__doc__)
    img = build(*argv)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # 256-colour palette with dithering: the shaded relief has few hues, and a full RGB PNG would be ~2 MB.
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {img.size[0]} x {img.size[1]})")


if __name__ == "__main__":
    main(sys.argv[1:])
