"""Equirectangular panoramas ↔ six 90° cube faces, and single perspective views.

For users who bring Street View-style 360°×180° panoramas (H×W with W = 2H).

Conventions:
  Camera space: x right, y up, z forward (right-handed as seen by the viewer looking along +z).
  A direction (x, y, z) has longitude lon = atan2(x, z) (0 straight ahead, increasing to the right, ±180° behind)
  and latitude lat = asin(y / |d|) (+90° straight up).
  Panorama pixel centres: column j is at lon = (j + 0.5) / W · 360° − 180° (so lon 0 is the centre of the image,
  the ±180° seam is its left/right edge); row i is at lat = 90° − (i + 0.5) / H · 180° (top row = up).
  A view with (yaw, pitch) is the forward camera pitched up by `pitch` (about x) and then turned right by `yaw`
  (about y). Faces: front yaw 0, right yaw 90, back yaw 180, left yaw −90, up pitch +90, down pitch −90.
  Because up/down are the front camera tilted, the top edge of "up" borders "back" and its bottom edge borders
  "front"; the top edge of "down" borders "front".
Sampling is bilinear: panoramas wrap horizontally across the seam and clamp vertically; faces clamp at their
edges. Any numeric dtype is kept (integers are rounded and clipped); (H, W) and (H, W, C) arrays both work.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image

from streetgen.data.image import open_image, to_rgb8
from streetgen.validate import MAX_READ_SIDE, file_name

FACES = ("front", "right", "back", "left", "up", "down")
FACE_ANGLES = {"front": (0.0, 0.0), "right": (90.0, 0.0), "back": (180.0, 0.0), "left": (-90.0, 0.0),
               "up": (0.0, 90.0), "down": (0.0, -90.0)}  # (yaw, pitch) in degrees
MIN_HEIGHT = 8
MAX_PANO_WIDTH = 16384  # Street View's largest panoramas are 16384×8192; larger files are refused before decoding
_CHUNK = 1 << 20  # output pixels per pass: bounds the float temporaries (~100 MB) for big outputs

PanoramaInput = Union[str, os.PathLike, Image.Image, np.ndarray]
__all__ = ["FACES", "perspective_view", "equirect_to_cube", "cube_to_equirect", "load_panorama"]


def _check_pano(pano: np.ndarray) -> np.ndarray:
    pano = np.asarray(pano)
    if pano.ndim not in (2, 3) or pano.dtype.kind not in "uif":
        raise ValueError(f"a panorama must be an (H, W) or (H, W, C) numeric array, got shape {pano.shape} "
                         f"and dtype {pano.dtype}")
    h, w = pano.shape[:2]
    if h < MIN_HEIGHT:
        raise ValueError(f"panorama too small: {h} px high, need at least {MIN_HEIGHT}")
    if abs(w - 2 * h) > 2:
        raise ValueError(f"not an equirectangular panorama: {w}x{h} (width x height) is not 2:1; "
                         "a 360°x180° panorama is twice as wide as it is high")
    return pano


def _check_side(n: object, what: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_READ_SIDE:
        raise ValueError(f"{what} must be an integer between 1 and {MAX_READ_SIDE}, got {n!r}")
    return int(n)


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Camera → world rotation: pitch up about x, then yaw right about y (see the module doc)."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    pitch = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    yaw = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    return yaw @ pitch


def _work_dtype(dtype: np.dtype) -> type:
    return np.float64 if dtype == np.float64 else np.float32  # float32 is ample for 8/16-bit values


def bilinear(img: np.ndarray, y: np.ndarray, x: np.ndarray, wrap_x: bool,
              face: np.ndarray | None = None) -> np.ndarray:
    """Sample (H, W, C), or (F, H, W, C) with `face` indices, at continuous pixel coordinates → (N, C) floats."""
    h, w = img.shape[-3:-1]
    work = _work_dtype(img.dtype)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(work)[:, None], (y - y0).astype(work)[:, None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    if wrap_x:  # the ±180° seam: the column right of the last one is the first
        x0, x1 = x0 % w, (x0 + 1) % w
    else:
        x0, x1 = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
    y0, y1 = np.clip(y0, 0, h - 1), np.clip(y0 + 1, 0, h - 1)

    def at(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        # Only the gathered pixels become floats: a float copy of a whole 16k panorama would be gigabytes.
        return (img[yi, xi] if face is None else img[face, yi, xi]).astype(work, copy=False)

    # Lerp form, not weighted sums: a constant region (e.g. a flat depth) comes back bit-exact.
    top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx
    bot = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx
    return top + (bot - top) * fy


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype, copy=False)


def perspective_view(pano: np.ndarray, yaw_deg: float, pitch_deg: float = 0.0, fov_deg: float = 90.0,
                     size: int | tuple[int, int] = 256) -> np.ndarray:
    """A pinhole view of the panorama; `fov_deg` is horizontal, `size` is N or (height, width)."""
    pano = _check_pano(pano)
    if not np.isfinite(fov_deg) or not 0 < fov_deg < 180:
        raise ValueError(f"fov_deg must be between 0 and 180 degrees (exclusive), got {fov_deg}")
    if not (np.isfinite(yaw_deg) and np.isfinite(pitch_deg)):
        raise ValueError(f"yaw and pitch must be finite, got yaw={yaw_deg}, pitch={pitch_deg}")
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"size must be N or (height, width), got {size!r}")
        oh, ow = size
    else:
        oh = ow = size
    oh, ow = _check_side(oh, "view height"), _check_side(ow, "view width")
    h, w = pano.shape[:2]
    src = pano.reshape(h, w, -1)
    rot = _rotation(yaw_deg, pitch_deg)
    tx = np.tan(np.radians(fov_deg) / 2)
    ty = tx * oh / ow  # square pixels
    out = np.empty((oh * ow, src.shape[-1]), _work_dtype(pano.dtype))
    for start in range(0, oh * ow, _CHUNK):
        idx = np.arange(start, min(start + _CHUNK, oh * ow))
        r, c = idx // ow, idx % ow
        cam = np.stack([(2 * (c + 0.5) / ow - 1) * tx, (1 - 2 * (r + 0.5) / oh) * ty, np.ones(len(idx))], -1)
        d = cam @ rot.T
        lon = np.arctan2(d[:, 0], d[:, 2])
        lat = np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2]))
        px = (lon / (2 * np.pi) + 0.5) * w - 0.5
        py = (0.5 - lat / np.pi) * h - 0.5
        out[start:start + len(idx)] = bilinear(src, py, px, wrap_x=True)
    return _cast(out.reshape((oh, ow) + pano.shape[2:]), pano.dtype)


def equirect_to_cube(pano: np.ndarray, face_size: int | None = None) -> dict[str, np.ndarray]:
    """The six 90° faces of a panorama (names in FACES), each face_size² (default W // 4, about the same detail)."""
    pano = _check_pano(pano)
    n = _check_side(pano.shape[1] // 4 if face_size is None else face_size, "face_size")
    return {f: perspective_view(pano, *FACE_ANGLES[f], fov_deg=90.0, size=n) for f in FACES}


def _check_faces(faces: dict[str, np.ndarray]) -> np.ndarray:
    """Validate the six faces and stack them in FACES order → (6, n, n, C)."""
    if not isinstance(faces, dict):
        raise ValueError(f"faces must be a dict of face name → array, got {type(faces).__name__}")
    missing, extra = [f for f in FACES if f not in faces], sorted(set(faces) - set(FACES), key=str)
    if missing or extra:
        raise ValueError(f"faces must be exactly {', '.join(FACES)}; missing: {missing or 'none'}, "
                         f"unexpected: {extra or 'none'}")
    arrs = {f: np.asarray(faces[f]) for f in FACES}
    for f, a in arrs.items():
        if a.ndim not in (2, 3) or a.dtype.kind not in "uif" or a.shape[0] != a.shape[1]:
            raise ValueError(f"face {f!r} must be a square (n, n) or (n, n, C) numeric array, got shape {a.shape} "
                             f"and dtype {a.dtype}")
    first = arrs["front"]
    for f, a in arrs.items():
        if a.shape != first.shape or a.dtype != first.dtype:
            raise ValueError(f"all faces must have the same size and dtype: face {f!r} is {a.shape} {a.dtype}, "
                             f"'front' is {first.shape} {first.dtype}")
    _check_side(first.shape[0], "face size")
    return np.stack([a.reshape(a.shape[0], a.shape[1], -1) for a in arrs.values()])


def cube_to_equirect(faces: dict[str, np.ndarray], size: tuple[int, int] | None = None) -> np.ndarray:
    """Six faces (as from equirect_to_cube) → an (H, W) panorama, default (2n, 4n) for n×n faces."""
    stack = _check_faces(faces)
    n, dtype, shape_c = stack.shape[1], np.asarray(faces["front"]).dtype, np.asarray(faces["front"]).shape[2:]
    if size is None:
        h, w = 2 * n, 4 * n
    else:
        h, w = size if isinstance(size, (tuple, list)) and len(size) == 2 else (0, 0)  # (0, 0): refused below
    if not all(isinstance(v, (int, np.integer)) for v in (h, w)) or abs(w - 2 * h) > 2 or h < MIN_HEIGHT:
        raise ValueError(f"panorama size must be (H, W) with W = 2H (within 2 px) and H >= {MIN_HEIGHT}, "
                         f"got {size!r}")
    _check_side(h, "panorama height")
    work = _work_dtype(dtype)
    rots = np.stack([_rotation(*FACE_ANGLES[f]) for f in FACES])  # (6, 3, 3) camera → world
    out = np.empty((h * w, stack.shape[-1]), work)
    for start in range(0, h * w, _CHUNK):
        idx = np.arange(start, min(start + _CHUNK, h * w))
        lon = ((idx % w + 0.5) / w - 0.5) * 2 * np.pi
        lat = (0.5 - (idx // w + 0.5) / h) * np.pi
        d = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], -1)
        # The face a direction hits is the one whose axis has the largest |coordinate|. Ties (face edges) go to
        # the first axis; both faces hold the same edge pixels there, so the choice does not matter.
        axis = np.abs(d).argmax(-1)
        sign = d[np.arange(len(idx)), axis] > 0
        face = np.select([(axis == 2) & sign, (axis == 0) & sign, axis == 2, axis == 0, (axis == 1) & sign],
                         [0, 1, 2, 3, 4], 5)
        cam = np.einsum("nji,nj->ni", rots[face], d)  # world → that face's camera (rotation transposed)
        u, v = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]  # both in [-1, 1] for a 90° face
        px, py = (u + 1) / 2 * n - 0.5, (1 - v) / 2 * n - 0.5
        out[start:start + len(idx)] = bilinear(stack, py, px, wrap_x=False, face=face)
    return _cast(out.reshape((h, w) + shape_c), dtype)


def _read(path: str | os.PathLike, max_w: int, max_h: int, what: str) -> np.ndarray:
    """Decode an image file as uint8 RGB, refusing oversize ones from the header, before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limits apply instead
            img = open_image(path)
    except Image.DecompressionBombError as err:
        raise ValueError(f"{what} {file_name(path)} is too large: {err}") from err
    with img:
        if img.width > max_w or img.height > max_h:
            raise ValueError(f"{what} {file_name(path)} is too large: {img.width}x{img.height}, at most "
                             f"{max_w}x{max_h}")
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as err:
            raise ValueError(f"corrupt image {file_name(path)}: {err}") from err
        return to_rgb8(img, file_name(path))


def load_panorama(path_or_image: PanoramaInput) -> np.ndarray:
    """A panorama file, PIL image or array → checked (H, W, 3) uint8 RGB (arrays are only checked, not converted)."""
    if isinstance(path_or_image, np.ndarray):
        return _check_pano(path_or_image)
    if isinstance(path_or_image, Image.Image):
        img = path_or_image
        if img.width > MAX_PANO_WIDTH or img.height > MAX_PANO_WIDTH // 2:
            raise ValueError(f"panorama too large: {img.width}x{img.height}, at most {MAX_PANO_WIDTH}x"
                             f"{MAX_PANO_WIDTH // 2}")
        return _check_pano(to_rgb8(img, "panorama image"))
    if isinstance(path_or_image, (str, os.PathLike)):
        return _check_pano(_read(path_or_image, MAX_PANO_WIDTH, MAX_PANO_WIDTH // 2, "panorama"))
    raise TypeError(f"expected a path, PIL image or array, not {type(path_or_image).__name__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streetgen.panorama",
                                     description="Split an equirectangular panorama into six cube faces, or merge "
                                                 "them back.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split", help="PANO → DIR/front.png … DIR/down.png")
    sp.add_argument("pano", help="equirectangular panorama image (2:1)")
    sp.add_argument("--out", required=True, help="output folder for the six faces")
    sp.add_argument("--face-size", type=int, default=None, help="face side in pixels (default: width / 4)")
    mp = sub.add_parser("merge", help="DIR with the six face PNGs → panorama")
    mp.add_argument("dir", help="folder holding front.png, right.png, back.png, left.png, up.png, down.png")
    mp.add_argument("--out", required=True, help="output panorama image (e.g. pano.png)")
    mp.add_argument("--height", type=int, default=None, help="panorama height (default: 2 × face size)")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "split":
            faces = equirect_to_cube(load_panorama(args.pano), args.face_size)
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            for name, face in faces.items():
                Image.fromarray(face).save(out / f"{name}.png")
            print(f"wrote {len(faces)} faces of {face.shape[1]}x{face.shape[0]} to {out}")
        else:
            folder = Path(args.dir)
            if not folder.is_dir():
                raise ValueError(f"face folder not found: {folder}")
            missing = [f"{f}.png" for f in FACES if not (folder / f"{f}.png").is_file()]
            if missing:
                raise ValueError(f"{folder} is missing face images: {', '.join(missing)}")
            faces = {f: _read(folder / f"{f}.png", MAX_READ_SIDE, MAX_READ_SIDE, "face") for f in FACES}
            size = None if args.height is None else (args.height, 2 * args.height)
            pano = cube_to_equirect(faces, size)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pano).save(args.out)
            print(f"wrote a {pano.shape[1]}x{pano.shape[0]} panorama to {args.out}")
    except (ValueError, FileNotFoundError, OSError) as err:
        parser.error(str(err))  # exits with status 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
