"""Layouts (street segmentation maps) from whatever a user hands in: the input side of layout → street.

    labels = read_layout("sketch.png")           # (H, W) uint8 class ids 0..11 (11 = void), see streetgen.classes
    labels = fit_layout(labels, (128, 256))      # nearest-neighbour resize to the model's size, aspect kept
    check_layout(labels)                         # ValueError for an empty (all void) or single-class map

What `read_layout` accepts, and how each is read:
  class-id maps   mode L / P / I;16 / I (8- or 16-bit) PNGs, or 2-D integer arrays, with every value ≤ 11: the
                  values are the ids (CamVid's own label PNGs, our world renders' labels). An RGB image whose three
                  channels are equal with values ≤ 11 is the same map saved by a tool that forced RGB.
  colour maps     RGB (or P whose palette entries are display colours) in the CamVid/SegNet colours of
                  streetgen.classes.PALETTE: each pixel snaps to the nearest palette colour (`snap_to_palette`), so
                  JPEG noise and anti-aliased brush edges land on a class instead of failing. A picture whose
                  colours are mostly far from every class colour (a photo, another palette) is refused instead.
  RGBA / LA       pixels with alpha < 128 become void: a transparent pixel is one nobody painted, and compositing it
                  on white would invent a class (white is nearest to Pole). Opaque pixels are read as above.
  grayscale       with values above 11 is refused: grey levels name no class (a grey photo is not a layout).
Images with a side above `max_side` are first reduced with nearest neighbour (no new colours), because a
generator working at 256 px gains nothing from a 8000 px map, and snapping it would take seconds.

Padding (`fit_layout(mode="pad")`) fills with void: the band is not part of the layout, and void is the class
the data uses for "unlabelled", so the generator paints it as unremarkable filler. The box of the real content is
returned on request, so callers can crop the photo back to the layout's own aspect.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from streetgen.classes import CLASS_NAMES, NUM_IDS, PALETTE, VOID
from streetgen.data.image import open_capped, to_rgb8
from streetgen.validate import MAX_READ_SIDE, file_name

LayoutInput = Union[Image.Image, np.ndarray, str, os.PathLike, bytes]
FIT_MODES = ("pad", "stretch", "crop")

__all__ = ["snap_to_palette", "far_from_palette_share", "read_layout", "fit_layout", "check_layout", "fill_void",
           "FIT_MODES"]


# A colour this far (RGB distance) from every palette colour is no class's; a map with more than MAX_FAR_SHARE of
# such pixels is a photo (or another palette) and is refused, not snapped into a random layout. Why these values:
# docs/results.md, "Label-map upload thresholds".
FAR_FROM_PALETTE = 40
MAX_FAR_SHARE = 0.3


def _palette_match(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct colour of (H, W, 3) `rgb`: its nearest PALETTE id and squared distance to it; plus the (H, W)
    index of each pixel's colour. A map has few colours, so they are matched instead of the pixels."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) colour image, got shape {rgb.shape}")
    rgb = np.clip(rgb, 0, 255).astype(np.int64) if rgb.dtype != np.uint8 else rgb
    code = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    uniq, inv = np.unique(code.ravel(), return_inverse=True)
    cols = np.stack([uniq >> 16, (uniq >> 8) & 255, uniq & 255], 1)
    d2 = ((cols[:, None, :] - PALETTE[None].astype(np.int64)) ** 2).sum(-1)
    return d2.argmin(1).astype(np.uint8), d2.min(1), inv.reshape(code.shape)


def _far_share(d2: np.ndarray, pixel_colour: np.ndarray, mask: np.ndarray | None) -> float:
    far = (d2 > FAR_FROM_PALETTE ** 2)[pixel_colour]
    if mask is not None:
        far = far[np.asarray(mask, bool)]
    return float(far.mean()) if far.size else 0.0


def far_from_palette_share(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of the (H, W, 3) colours (those where `mask` is True) farther than FAR_FROM_PALETTE from every class
    colour."""
    _, d2, pixel_colour = _palette_match(rgb)
    return _far_share(d2, pixel_colour, mask)


def snap_to_palette(rgb: np.ndarray, max_distance: float | None = None) -> np.ndarray:
    """(H, W, 3) colours → (H, W) uint8 ids of the nearest PALETTE colour (Euclidean RGB distance).

    With `max_distance`, colours farther than that from every palette colour become void instead.
    """
    best, d2, pixel_colour = _palette_match(rgb)
    if max_distance is not None:
        best[d2 > max_distance ** 2] = VOID
    return best[pixel_colour]


def _check_ids(ids: np.ndarray, name: str) -> np.ndarray:
    if ids.size and (ids.min() < 0 or ids.max() >= NUM_IDS):
        raise ValueError(f"{name}: values {int(ids.min())}..{int(ids.max())} are not class ids 0..{NUM_IDS - 1}; "
                         "pass a colour label map (streetgen.classes.PALETTE colours) or a class-id PNG")
    return ids.astype(np.uint8)


def _open(image: LayoutInput) -> tuple[Image.Image, str]:
    """A PIL image from a path, bytes or an image; ValueError naming the input when it is not an image."""
    if isinstance(image, Image.Image):
        return image, "layout image"
    if isinstance(image, (bytes, bytearray)):
        src, name = io.BytesIO(image), "layout bytes"
    elif isinstance(image, (str, os.PathLike)):
        src, name = Path(image), file_name(image)  # messages name the file, never the server's folders
        if not src.is_file():
            raise FileNotFoundError(f"layout file not found: {name}")
    else:
        raise TypeError(f"a layout must be a PIL image, numpy array, path or bytes, not {type(image).__name__}")
    img = open_capped(src, "layout", name=name)  # too many pixels: refused from the header, before decoding
    try:
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"cannot read {name} as an image: {err}") from err
    return img, name


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.NEAREST)  # nearest: no blended colours or ids


def _from_array(a: np.ndarray, name: str, max_distance: float | None) -> np.ndarray:
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        if a.dtype.kind not in "iub":
            raise ValueError(f"{name}: a 2-D layout must hold integer class ids, got dtype {a.dtype}")
        return _check_ids(a, name)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"{name}: expected (H, W) class ids or (H, W, 3|4) colours, got shape {a.shape}")
    if a.dtype.kind == "f":
        raise ValueError(f"{name}: float colour arrays are ambiguous (0..1 or 0..255?); pass uint8 colours")
    rgb = np.clip(a[..., :3], 0, 255).astype(np.uint8)
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all() and rgb.max() < NUM_IDS:
        ids = rgb[..., 0].copy()  # an id map saved as RGB: as colours these would all be near-black void
    else:
        best, d2, pixel_colour = _palette_match(rgb)
        if max_distance is not None:  # the caller asked for far colours to become void: nothing to refuse
            best[d2 > max_distance ** 2] = VOID
        else:
            share = _far_share(d2, pixel_colour, a[..., 3] >= 128 if a.shape[-1] == 4 else None)
            if share > MAX_FAR_SHARE:
                raise ValueError(f"{name}: {share:.0%} of its pixels are far from every class colour, so this looks "
                                 "like a photo (or a map in another palette), not a label map in the CamVid colours "
                                 "of streetgen.classes.PALETTE; upload a colour label map or a class-id PNG, or paint "
                                 "one")
        ids = best[pixel_colour]
    if a.shape[-1] == 4:
        ids[a[..., 3] < 128] = VOID
    return ids


def read_layout(image: LayoutInput, max_side: int = MAX_READ_SIDE, max_distance: float | None = None) -> np.ndarray:
    """Any supported layout (see the module doc) → (H, W) uint8 class ids 0..11; ValueError when it is none."""
    if isinstance(image, np.ndarray):
        a = image
        if max(a.shape[:2], default=0) > max_side:
            step = -(-max(a.shape[:2]) // max_side)
            a = a[::step, ::step]
        if a.size == 0:
            raise ValueError(f"empty layout array of shape {image.shape}")
        return _from_array(a, "layout array", max_distance)
    img, name = _open(image)
    if img.width == 0 or img.height == 0:
        raise ValueError(f"{name}: image has no pixels")
    img = _shrink(img, max_side)
    mode = img.mode
    if mode == "P":
        ids = np.asarray(img)
        pal = np.asarray(img.getpalette() or [], np.int64).reshape(-1, 3)
        used = np.unique(ids)
        alpha = "transparency" in img.info
        # Colours win when every used palette entry is a display colour (an indexed export of a colour map,
        # indices in any order); otherwise small indices are the ids themselves (VOC-style label PNGs).
        is_colours = used.max() < len(pal) and all((pal[u] == PALETTE).all(1).any() for u in used)
        if not is_colours and used.max() < NUM_IDS and not alpha:
            return ids.astype(np.uint8)
        return _from_array(np.asarray(img.convert("RGBA")), name, max_distance)
    if mode in ("L", "1") or mode.startswith("I"):
        ids = np.asarray(img.convert("L") if mode == "1" else img)
        if ids.size and ids.max() >= NUM_IDS:
            raise ValueError(f"{name}: a grayscale image with values up to {int(ids.max())} is not a class-id map "
                             f"(ids 0..{NUM_IDS - 1}); pass a colour label map or a class-id PNG")
        return ids.astype(np.uint8)
    if mode == "LA":
        la = np.asarray(img)
        ids = _from_array(np.ascontiguousarray(la[..., 0]), name, max_distance)
        ids[la[..., 1] < 128] = VOID
        return ids
    if mode in ("RGBA", "RGBa", "PA"):
        return _from_array(np.asarray(img.convert("RGBA")), name, max_distance)
    return _from_array(to_rgb8(img, name), name, max_distance)


def content_box(shape: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a `shape` map scaled to fit inside `size` with its aspect kept, centred."""
    h, w = shape
    H, W = size
    scale = min(H / h, W / w)
    nh, nw = min(H, max(1, round(h * scale))), min(W, max(1, round(w * scale)))
    return (H - nh) // 2, (W - nw) // 2, nh, nw


def _nearest(labels: np.ndarray, h: int, w: int) -> np.ndarray:
    # index arithmetic at pixel centres: the same sampling as PIL's NEAREST, for any integer dtype
    rows = np.minimum(((np.arange(h) + 0.5) * labels.shape[0] / h).astype(np.int64), labels.shape[0] - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * labels.shape[1] / w).astype(np.int64), labels.shape[1] - 1)
    return labels[rows[:, None], cols[None, :]]


def fit_layout(labels: np.ndarray, size: tuple[int, int], mode: str = "pad",
               return_box: bool = False):
    """Resize (nearest neighbour) a (H, W) id map to size=(height, width).

    pad      aspect kept, scaled to fit inside, the rest void (centred); see the module doc for why void
    crop     aspect kept, scaled to cover, the centre cut out (nothing added, the edges lost)
    stretch  both sides scaled independently (shapes distorted)
    With return_box, also the (top, left, height, width) of the layout's content in the result.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty (H, W) map, got shape {labels.shape}")
    H, W = (int(v) for v in size)
    if H < 1 or W < 1:
        raise ValueError(f"size must be positive (height, width), got {size!r}")
    if mode not in FIT_MODES:
        raise ValueError(f"mode must be one of {FIT_MODES}, got {mode!r}")
    h, w = labels.shape
    if mode == "stretch":
        out, box = _nearest(labels, H, W), (0, 0, H, W)
    elif mode == "pad":
        top, left, nh, nw = box = content_box((h, w), (H, W))
        out = np.full((H, W), VOID, labels.dtype)
        out[top:top + nh, left:left + nw] = _nearest(labels, nh, nw)
    else:
        scale = max(H / h, W / w)
        nh, nw = max(H, round(h * scale)), max(W, round(w * scale))
        top, left = (nh - H) // 2, (nw - W) // 2
        out, box = _nearest(labels, nh, nw)[top:top + H, left:left + W], (0, 0, H, W)
    return (out, box) if return_box else out


def check_layout(labels: np.ndarray) -> np.ndarray:
    """The map itself when a generator can use it; ValueError for empty (all void) or single-class maps."""
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("empty layout: the map has no pixels")
    present = [int(c) for c in np.unique(labels) if c != VOID]
    if any(c < 0 or c >= NUM_IDS for c in present):
        raise ValueError(f"layout holds values {present} outside the class ids 0..{NUM_IDS - 1}")
    if not present:
        raise ValueError("empty layout: every pixel is void (unlabelled); paint at least two classes "
                         f"({', '.join(CLASS_NAMES[:-1])}) in the palette colours")
    if len(present) == 1:
        raise ValueError(f"single-class layout: only {CLASS_NAMES[present[0]]} is painted; a street needs at least "
                         "two classes (e.g. Sky above Road)")
    return labels


def fill_void(labels: np.ndarray, void: int = VOID) -> np.ndarray:
    """Each void pixel takes the class of the nearest labelled pixel, for one (H, W) map or a stack (N, H, W).

    A sketch of a few strokes becomes a whole scene this way (a Sky stroke above a Road stroke fills the top with
    sky and the bottom with road), and CamVid's unlabelled pixels get a class for the layout GAN. A map with no
    labelled pixel is returned as it is.
    """
    from scipy.ndimage import distance_transform_edt

    out = np.array(labels, copy=True)
    for m in out.reshape((-1,) + out.shape[-2:]):
        hole = m >= void
        if hole.any() and not hole.all():
            iy, ix = distance_transform_edt(hole, return_distances=False, return_indices=True)
            m[...] = m[iy, ix]
    return out
