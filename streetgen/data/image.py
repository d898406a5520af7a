"""Decoding shared by every reader: open a file or zip member, convert any mode to RGB8, fast square resize.

Conversion rule (`to_rgb8`), so every reader hands back (H, W, 3) uint8 RGB:
  RGB                    kept
  RGBA, LA, PA, P+alpha  alpha dropped (colours kept as stored, not composited over a background)
  L, 1, P                grey / palette expanded to RGB
  I;16*, I (16-bit)      scaled to 8 bits: round(v / 257), i.e. 65535 → 255; values are clipped to 0..65535 first
  CMYK, YCbCr, LAB, HSV  Pillow's conversion (no ICC colour management)
  F (float)              refused: its range is not defined by the file
Square resize (`decode`): the central square is cropped, then resized (no squashing; the sides of wide street
photos are lost). JPEGs are decoded at a reduced DCT scale first (draft mode), which is what makes it fast.
"""
from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from collections import OrderedDict

import numpy as np
from PIL import Image, UnidentifiedImageError

from streetgen.validate import MAX_ECHO, MAX_INPUT_PIXELS, file_name

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")
MAX_OPEN_ZIPS = 8  # per process: else all of OSV-5M's ~100 train zips (~29 MB of directory each) stay open


class ZipPool:
    """A bounded LRU of open ZipFile handles, one pool per process: reading a big shard's central directory per
    image is slow, but keeping every shard open costs memory and file handles. Evicted handles are closed."""

    def __init__(self, max_open: int = MAX_OPEN_ZIPS):
        if max_open < 1:
            raise ValueError(f"max_open must be at least 1, got {max_open}")
        self.max_open = max_open
        self._open: OrderedDict[str, zipfile.ZipFile] = OrderedDict()
        self._pid = os.getpid()

    def get(self, path: str) -> zipfile.ZipFile:
        """The open ZipFile of `path` (opened now, evicting the least recently used one when full)."""
        if self._pid != os.getpid():  # a forked child must not share its parent's file positions
            self._open, self._pid = OrderedDict(), os.getpid()
        zf = self._open.get(path)
        if zf is not None:
            self._open.move_to_end(path)
            return zf
        zf = zipfile.ZipFile(path)
        self._open[path] = zf
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)[1].close()
        return zf

    def open_paths(self) -> list[str]:
        """The archives open now, least recently used first."""
        return list(self._open)

    def close(self) -> None:
        """Close every open handle (the end of a worker's job)."""
        while self._open:
            self._open.popitem(last=False)[1].close()


ZIPS = ZipPool()


def where(path: str, member: str | None = None) -> str:
    """A human-readable name for a file or a zip member, for error messages."""
    return f"{path}::{member}" if member else str(path)


def open_image(path: str | os.PathLike, member: str | None = None) -> Image.Image:
    """Open (header only) a file, or a member of a zip archive; clear errors name the file."""
    path = str(path)
    try:
        if member is None:
            return Image.open(path)
        return Image.open(io.BytesIO(ZIPS.get(path).read(member)))  # one read; no seeks in a compressed stream
    except FileNotFoundError as err:
        raise FileNotFoundError(f"image not found: {where(path, member)}") from err
    except KeyError as err:
        raise FileNotFoundError(f"no member {member!r} in zip {path}") from err
    except (UnidentifiedImageError, OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"cannot read image {where(path, member)}: {err}") from err


def open_capped(path, what: str = "image", max_pixels: int = MAX_INPUT_PIXELS, name: str | None = None) -> Image.Image:
    """A lazily opened PIL image (from a path or a binary file object) whose header says at most `max_pixels`
    pixels, else a ValueError, before anything is decoded (PIL reads only the header in Image.open). Files that are
    no image also give a ValueError; messages name the file by its base name (or `name`)."""
    name = name or f"{what} {file_name(path)}"
    if isinstance(path, (str, os.PathLike)) and os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"{name} is empty (0 bytes): upload the image again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own cap applies instead
            img = Image.open(path)
    except Image.DecompressionBombError:
        raise ValueError(f"{name} is too large to read (over {max_pixels:,} pixels)") from None
    except FileNotFoundError:
        raise FileNotFoundError(f"{name} not found") from None
    except (OSError, SyntaxError, ValueError) as err:  # UnidentifiedImageError is an OSError
        raise ValueError(f"cannot read {name}: not a readable image ({_reason(err)})") from None
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise ValueError(f"{name} is too large: {w}×{h} pixels, at most {max_pixels:,} "
                         f"(e.g. {int((max_pixels * 2) ** 0.5)}×{int((max_pixels / 2) ** 0.5)})")
    if w == 0 or h == 0:
        img.close()
        raise ValueError(f"{name} has no pixels")
    return img


def _reason(err: BaseException) -> str:
    """An exception's text without the file paths PIL puts in it, shortened."""
    text = re.sub(r"<_io\.\w+ object at 0x[0-9a-f]+>", "the data", str(err))
    for word in text.split():
        word = word.strip("'\"(),")
        if os.sep in word:
            text = text.replace(word, os.path.basename(word))
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO - 1] + "…"


def to_rgb8(img: Image.Image, name: str = "image") -> np.ndarray:
    """Any Pillow mode → (H, W, 3) uint8 RGB, following the module's conversion rule."""
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img)
    if mode in ("LA", "La"):
        return np.repeat(np.asarray(img.convert("LA"))[..., :1], 3, axis=-1)
    if mode in ("RGBA", "RGBX", "RGBa", "PA") or (mode == "P" and "transparency" in img.info):
        # Via RGBA: the colours as stored, alpha dropped (Pillow warns on P+transparency → RGB directly).
        return np.ascontiguousarray(np.asarray(img.convert("RGBA"))[..., :3])
    if mode.startswith("I"):  # 16-bit grey PNG/TIFF ("I;16", "I;16B", ...) or 32-bit int holding 16-bit values
        v = np.asarray(img).astype(np.int64)
        g = np.round(np.clip(v, 0, 65535) / 257.0).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=-1)
    if mode == "F":
        raise ValueError(f"{name}: float images (mode F) have no defined range; convert them to 8 or 16 bits")
    return np.asarray(img.convert("RGB"))


def _load(img: Image.Image, name: str) -> None:
    """Decode an opened image's pixels; corrupt or truncated data raises ValueError naming it."""
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"corrupt image {name}: {err}") from err


def load_rgb(img: Image.Image, name: str) -> np.ndarray:
    """Decode an opened image whole as (H, W, 3) uint8 RGB."""
    _load(img, name)
    return to_rgb8(img, name)


def read_rgb(path: str | os.PathLike, member: str | None = None) -> np.ndarray:
    """Decode a whole image as (H, W, 3) uint8 RGB; corrupt or truncated data raises ValueError naming the file."""
    with open_image(path, member) as img:
        return load_rgb(img, where(str(path), member))


def open_bytes(data: bytes, name: str) -> Image.Image:
    """Open (header only) encoded image bytes, e.g. a tar member; a ValueError naming `name` if they are none."""
    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"cannot read image {name}: {err}") from err


def read_rgb_bytes(data: bytes, name: str) -> np.ndarray:
    """Decode whole encoded image bytes as (H, W, 3) uint8 RGB."""
    with open_bytes(data, name) as img:
        return load_rgb(img, name)


def open_draft(path: str | os.PathLike, size: int, member: str | None = None) -> Image.Image:
    """Open a JPEG set to decode at the smallest DCT scale (1/1, 1/2, 1/4, 1/8) whose sides are both ≥ size."""
    img = open_image(path, member)
    if img.format == "JPEG":
        img.draft("RGB", (size, size))  # Pillow keeps both sides ≥ the request, so the square crop stays sharp
    return img


def center_box(w: int, h: int) -> tuple[int, int, int, int]:
    """The central square of a w×h image, as a Pillow box."""
    s = min(w, h)
    x, y = (w - s) // 2, (h - s) // 2
    return x, y, x + s, y + s


def square(img: Image.Image, size: int, name: str) -> np.ndarray:
    """An opened (possibly draft-mode) image → its central square at size×size, uint8 RGB."""
    _load(img, name)
    if img.mode not in ("RGB", "L"):
        img = Image.fromarray(to_rgb8(img, name))
    out = img.resize((size, size), Image.BILINEAR, box=center_box(*img.size))  # crop + resize in one pass
    return to_rgb8(out, name)


def decode(path: str | os.PathLike, size: int | None = None, member: str | None = None,
           draft: bool = True) -> np.ndarray:
    """Image → uint8 RGB; with `size`, the central square resized to size×size (draft-decoded JPEGs by default)."""
    if size is None:
        return read_rgb(path, member)
    with (open_draft(path, size, member) if draft else open_image(path, member)) as img:
        return square(img, size, where(str(path), member))


def decode_bytes(data: bytes, size: int, name: str) -> np.ndarray:
    """Encoded image bytes (e.g. a tar member) → the central square at size×size, decoded like `decode`."""
    with open_bytes(data, name) as img:
        if img.format == "JPEG":
            img.draft("RGB", (size, size))
        return square(img, size, name)


def list_images(root: str | os.PathLike, exts: tuple[str, ...] = IMAGE_EXTS) -> list[str]:
    """Image files under root, recursively, sorted (hidden files and folders skipped)."""
    root = str(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"image folder not found: {root}")
    out = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        out += [os.path.join(dirpath, f) for f in files if f.lower().endswith(exts) and not f.startswith(".")]
    return sorted(out)
