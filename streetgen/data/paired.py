"""Paired folders: photos with label maps (CamVid style) or with depth maps, matched by file stem.

    pairs = LabelPairs("camvid/train/images", "camvid/train/labels")              # class-id PNGs, 11 = void
    pairs = LabelPairs(imgs, colour_labels, palette=streetgen.classes.PALETTE)      # colour label images
    image, label = pairs[0]      # (H, W, 3) uint8 RGB, (H, W) uint8 ids with void → ignore_index
    depth = DepthPairs(imgs, "depth", encoding="mm")[0][1]                       # (H, W) float32 metres

Pairs are checked when the reader is built: a photo without a partner (or the reverse), duplicate stems, an
unreadable header or a size mismatch raise a ValueError naming the files, or, with on_error="skip", are logged
on logger "streetgen.data" and dropped. Corrupt pixel data found later, at load time, always raises.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .image import list_images, open_image, read_rgb, to_rgb8

log = logging.getLogger("streetgen.data")
DEPTH_ENCODINGS = ("mm", "npy", "kitti_depth", "disparity")


def _by_stem(folder: str | os.PathLike, exts: tuple[str, ...], suffix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    dup = []
    for p in list_images(folder, exts):
        stem = os.path.splitext(os.path.basename(p))[0]
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
        if stem in out:
            dup.append(f"{out[stem]} / {p}")
        out[stem] = p
    if dup:
        raise ValueError(f"{folder}: {len(dup)} file stem(s) appear twice, pairs would be ambiguous: {dup[:5]}")
    return out


def _problem(on_error: str, msg: str) -> None:
    if on_error == "raise":
        raise ValueError(msg)
    log.warning("skipping: %s", msg)


def match_pairs(a_dir: str | os.PathLike, b_dir: str | os.PathLike, b_exts: tuple[str, ...] = (".png",),
                b_suffix: str = "", on_error: str = "raise") -> list[tuple[str, str]]:
    """[(photo, partner)] matched by stem (partner stem minus `b_suffix`), recursively; unmatched → error/skip."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    a, b = _by_stem(a_dir, (".jpg", ".jpeg", ".png", ".webp")), _by_stem(b_dir, b_exts, b_suffix)
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        _problem(on_error, f"unmatched pairs between {a_dir} and {b_dir}: {len(only_a)} photo(s) without a partner "
                           f"{[a[s] for s in only_a[:5]]}, {len(only_b)} partner(s) without a photo "
                           f"{[b[s] for s in only_b[:5]]}")
    pairs = [(a[s], b[s]) for s in sorted(set(a) & set(b))]
    if not pairs:
        raise ValueError(f"no pairs between {a_dir} and {b_dir}")
    return pairs


def _size_of(path: str) -> tuple[int, int]:
    """(height, width) from the header only."""
    if path.endswith(".npy"):
        shape = np.load(path, mmap_mode="r").shape
        return int(shape[0]), int(shape[1])
    with open_image(path) as img:
        return img.height, img.width


def _check_sizes(pairs: list[tuple[str, str]], on_error: str) -> list[tuple[str, str]]:
    kept = []
    for a, b in pairs:
        try:
            sa, sb = _size_of(a), _size_of(b)
        except (ValueError, OSError) as err:
            _problem(on_error, str(err))
            continue
        if sa != sb:
            _problem(on_error, f"size mismatch: {a} is {sa[1]}x{sa[0]}, {b} is {sb[1]}x{sb[0]}")
            continue
        kept.append((a, b))
    return kept


def labels_from_ids(ids: np.ndarray, num_classes: int = 11, void_id: int = 11, ignore_index: int = 11,
                    name: str = "label") -> np.ndarray:
    """Class-id map → uint8 ids with void_id → ignore_index; any other id ≥ num_classes raises."""
    bad = np.unique(ids[(ids >= num_classes) & (ids != void_id)])
    if bad.size:
        raise ValueError(f"{name}: class id(s) {bad[:10].tolist()} outside 0..{num_classes - 1} and not void "
                         f"({void_id})")
    out = ids.astype(np.uint8)
    out[ids == void_id] = ignore_index
    return out


def labels_from_colors(rgb: np.ndarray, palette: np.ndarray, tolerance: int = 0, name: str = "label") -> np.ndarray:
    """Colour label image → palette index per pixel; a colour farther than `tolerance` (max over channels) from
    every palette entry raises a ValueError naming the file, the colour and where it is."""
    pal = np.asarray(palette, np.int64).reshape(-1, 3)
    code = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    uniq, inv = np.unique(code.ravel(), return_inverse=True)  # few colours per map: match those, not pixels
    cols = np.stack([uniq >> 16, (uniq >> 8) & 255, uniq & 255], 1)
    dist = np.abs(cols[:, None, :] - pal[None]).max(-1)
    best = dist.argmin(1)
    off = dist[np.arange(len(uniq)), best] > tolerance
    if off.any():
        k = int(np.flatnonzero(off)[0])
        y, x = np.unravel_index(int(np.flatnonzero(inv == k)[0]), code.shape)
        raise ValueError(f"{name}: colour {tuple(int(v) for v in cols[k])} at (x={x}, y={y}) is not in the palette "
                         f"(tolerance {tolerance}); {int(off.sum())} off-palette colour(s) in this file")
    return best[inv].reshape(code.shape).astype(np.uint8)


class LabelPairs:
    """Photos + label maps matched by stem: class-id PNGs, or colour PNGs mapped through `palette`.

    Ids in files: 0..num_classes-1 plus `void_id`; the returned map has void_id replaced by `ignore_index`.
    With a palette, palette row i is class i (so row void_id is void). `label_suffix` is stripped from label
    stems (e.g. "_L" for CamVid's 0001TP_006690_L.png)."""

    def __init__(self, images: str | os.PathLike, labels: str | os.PathLike, palette: np.ndarray | None = None,
                 tolerance: int = 0, num_classes: int = 11, void_id: int = 11, ignore_index: int = 11,
                 label_suffix: str = "", on_error: str = "raise"):
        if not 0 <= ignore_index <= 255 or ignore_index < num_classes:
            raise ValueError(f"ignore_index must be in {num_classes}..255 (not a class id), got {ignore_index}")
        self.palette = None if palette is None else np.asarray(palette, np.uint8).reshape(-1, 3)
        self.tolerance, self.num_classes = tolerance, num_classes
        self.void_id, self.ignore_index = void_id, ignore_index
        self.pairs = _check_sizes(match_pairs(images, labels, (".png",), label_suffix, on_error), on_error)

    def __len__(self) -> int:
        return len(self.pairs)

    def label(self, i: int) -> np.ndarray:
        """Label map i as (H, W) uint8 class ids, void → ignore_index."""
        path = self.pairs[i][1]
        with open_image(path) as img:
            try:
                img.load()
            except (OSError, SyntaxError, ValueError) as err:
                raise ValueError(f"corrupt label {path}: {err}") from err
            if self.palette is not None:
                idx = labels_from_colors(to_rgb8(img, path), self.palette, self.tolerance, path)
                return labels_from_ids(idx, len(self.palette), self.void_id, self.ignore_index, path)
            if img.mode not in ("L", "P") and not img.mode.startswith("I"):
                raise ValueError(f"{path}: a {img.mode} image is not a class-id map; pass palette= for colour labels")
            ids = np.asarray(img)  # for mode P, the palette indices themselves (VOC-style label PNGs)
        return labels_from_ids(ids, self.num_classes, self.void_id, self.ignore_index, path)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return read_rgb(self.pairs[i][0]), self.label(i)


def read_depth(path: str | os.PathLike, encoding: str = "mm", scale: float = 256.0, baseline: float | None = None,
               focal: float | None = None) -> np.ndarray:
    """A depth file → (H, W) float32 metres; pixels with no measurement (stored 0) become NaN.

    mm           uint16 PNG, millimetres (our world datasets; 65535 = 65.535 m or further)
    npy          float .npy, metres, returned as stored
    kitti_depth  uint16 PNG, metres × 256 (KITTI depth benchmark)
    disparity    uint16 PNG, disparity × `scale` px (KITTI stereo: 256); depth = baseline [m] · focal [px] / disparity
    """
    path = str(path)
    if encoding not in DEPTH_ENCODINGS:
        raise ValueError(f"depth encoding must be one of {DEPTH_ENCODINGS}, got {encoding!r}")
    if encoding == "npy":
        try:
            d = np.load(path)
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read depth {path}: {err}") from err
        d = d[..., 0] if d.ndim == 3 and d.shape[-1] == 1 else d
        if d.ndim != 2 or d.dtype.kind not in "fiu":
            raise ValueError(f"{path}: depth .npy must be (H, W) numbers, got {d.dtype} {d.shape}")
        return d.astype(np.float32)
    with open_image(path) as img:
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as err:
            raise ValueError(f"corrupt depth {path}: {err}") from err
        if not img.mode.startswith("I"):
            raise ValueError(f"{path}: depth PNG must be 16-bit (encoding {encoding!r}), got mode {img.mode}")
        v = np.asarray(img).astype(np.float64)
    if encoding == "mm":
        d = v / 1000.0
    elif encoding == "kitti_depth":
        d = v / 256.0
    else:
        if not baseline or not focal:
            raise ValueError("disparity depth needs baseline (metres) and focal (pixels)")
        with np.errstate(divide="ignore"):
            d = baseline * focal / (v / scale)
    d[v == 0] = np.nan
    return d.astype(np.float32)


class DepthPairs:
    """Photos + depth maps matched by stem; `pairs[i]` → (uint8 RGB image, float32 metres). See `read_depth`."""

    def __init__(self, images: str | os.PathLike, depth: str | os.PathLike, encoding: str = "mm",
                 scale: float = 256.0, baseline: float | None = None, focal: float | None = None,
                 on_error: str = "raise"):
        if encoding not in DEPTH_ENCODINGS:
            raise ValueError(f"depth encoding must be one of {DEPTH_ENCODINGS}, got {encoding!r}")
        if encoding == "disparity" and not (baseline and focal):
            raise ValueError("encoding='disparity' needs baseline (metres) and focal (pixels)")
        self.encoding, self.scale, self.baseline, self.focal = encoding, scale, baseline, focal
        exts = (".npy",) if encoding == "npy" else (".png",)
        self.pairs = _check_sizes(match_pairs(images, depth, exts, "", on_error), on_error)

    def __len__(self) -> int:
        return len(self.pairs)

    def depth(self, i: int) -> np.ndarray:
        return read_depth(self.pairs[i][1], self.encoding, self.scale, self.baseline, self.focal)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return read_rgb(self.pairs[i][0]), self.depth(i)


def save_depth_mm(depth: np.ndarray, path: str | os.PathLike) -> None:
    """Write float metres as a uint16 millimetre PNG (NaN → 0 = no measurement), the `mm` encoding."""
    mm = np.nan_to_num(np.round(np.asarray(depth, np.float64) * 1000.0), nan=0.0)
    Image.fromarray(np.clip(mm, 0, 65535).astype(np.uint16)).save(Path(path))


CAMVID_SPLITS = ("train", "val", "test")


def camvid_pairs(root: str | os.PathLike, split: str, on_error: str = "raise") -> LabelPairs:
    """A CamVid split (11 classes, 11 = void) in either layout: ours (`split/images` + `split/labels`) or the
    SegNet tutorial's (`split/` photos + `splitannot/` label maps)."""
    if split not in CAMVID_SPLITS:
        raise ValueError(f"CamVid split must be one of {', '.join(CAMVID_SPLITS)}, got {str(split)[:40]!r}")
    root = Path(root)
    for images, labels in ((root / split / "images", root / split / "labels"), (root / split, root / f"{split}annot")):
        if images.is_dir() and labels.is_dir():
            return LabelPairs(images, labels, on_error=on_error)
    have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    raise FileNotFoundError(f"no CamVid {split!r} split in {root.name or root}: expected {split}/images + "
                            f"{split}/labels or {split}/ + {split}annot/ (found: {', '.join(have) or 'nothing'})")
