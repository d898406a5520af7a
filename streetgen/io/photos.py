"""Reading photos, animations and frame folders the way every entry point reads them, and writing GIFs.

Photos may be any size and mode: `read_photo` converts RGBA / CMYK / 16-bit / grayscale to RGB and shrinks anything
whose long side is above a cap, saying what it changed, so a bad upload becomes one clear ValueError.
"""
from __future__ import annotations

import os
from typing import Union

import numpy as np
from PIL import Image

from streetgen.data.image import list_images, open_capped, to_rgb8
from streetgen.validate import MAX_TRANSLATE_SIDE, file_name

MAX_FRAMES = 64
PhotoInput = Union[np.ndarray, Image.Image, str, os.PathLike]


def read_photo(photo: PhotoInput, max_side: int = MAX_TRANSLATE_SIDE) -> tuple[np.ndarray, str]:
    """(uint8 (H, W, 3), note): any image or path as RGB, shrunk so its long side is at most `max_side`; the note
    says what was changed (empty when nothing was). ValueError for what is not an image."""
    notes = []
    if isinstance(photo, (str, os.PathLike)):
        with open_capped(photo, "photo") as img:  # refused from its header when it has too many pixels
            try:
                img.load()
                mode = img.mode
                arr = to_rgb8(img, file_name(photo))
            except (OSError, SyntaxError, ValueError) as err:
                raise ValueError(f"photo {file_name(photo)} is not a readable image ({err})") from None
        if mode != "RGB":
            notes.append(f"converted from {mode} to RGB")
    elif isinstance(photo, Image.Image):
        arr = to_rgb8(photo)
        if photo.mode != "RGB":
            notes.append(f"converted from {photo.mode} to RGB")
    else:
        arr = np.asarray(photo)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=-1)
            notes.append("grayscale repeated to RGB")
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise ValueError(f"a photo must be (H, W, 3) or (H, W, 4), got shape {arr.shape}")
        if arr.dtype != np.uint8:
            if arr.dtype == np.uint16:
                arr = np.round(arr / 257.0).astype(np.uint8)
                notes.append("16-bit reduced to 8-bit")
            else:
                raise ValueError(f"a photo must be uint8 or uint16, got {arr.dtype}")
        arr = np.ascontiguousarray(arr[..., :3])
    h, w = arr.shape[:2]
    if min(h, w) < 16:
        raise ValueError(f"the photo is too small ({w}×{h}); at least 16 pixels per side")
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        size = (max(16, round(w * s)), max(16, round(h * s)))
        arr = np.asarray(Image.fromarray(arr).resize(size, Image.LANCZOS, reducing_gap=3.0))
        notes.append(f"resized from {w}×{h} to {size[0]}×{size[1]}")
    return arr, "; ".join(notes)


def read_frames(source: str | os.PathLike, max_frames: int = MAX_FRAMES) -> list[np.ndarray]:
    """Frames of an animated GIF/WebP, or the images of a folder in name order, as uint8 RGB (same size)."""
    if os.path.isdir(source):
        paths = sorted(list_images(source))
        if not paths:
            raise ValueError(f"no images in the folder {file_name(source)}")
        frames = [read_photo(p)[0] for p in paths[:max_frames]]
    else:
        with open_capped(source, "animation") as img:  # refused from its header when frames are too large
            try:
                frames = []
                for k in range(min(getattr(img, "n_frames", 1), max_frames)):
                    img.seek(k)
                    frames.append(read_photo(img.convert("RGB"))[0])
            except (OSError, SyntaxError, EOFError) as err:
                raise ValueError(f"animation {file_name(source)} is not readable ({err})") from None
    if len({f.shape for f in frames}) > 1:
        raise ValueError("the frames differ in size; a sequence must have one frame size")
    return frames


def save_gif(frames: list[np.ndarray], path: str, fps: float = 8.0, bounce: bool = True) -> str:
    """Write frames as a looping animated GIF (there and back again when `bounce`); returns the path."""
    seq = list(frames) + (list(frames[-2:0:-1]) if bounce else [])
    images = [Image.fromarray(f) for f in seq]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
