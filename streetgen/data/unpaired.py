"""Unpaired folders (domain A / domain B, CycleGAN style): two folders of photos, any sizes, searched recursively.

    a2b = Unpaired("photos/day", "photos/night", size=128)
    a, b = a2b[0]        # two (128, 128, 3) uint8 RGB images, central squares
"""
from __future__ import annotations

import logging
import os

import numpy as np

from .image import IMAGE_EXTS, decode, list_images, open_image

log = logging.getLogger("streetgen.data")


class ImageFolder:
    """Every .jpg/.jpeg/.png/.webp under `root`, sorted; `folder[i]` → uint8 RGB (central size² square if `size`).

    Headers are checked up front: an unreadable file raises a ValueError naming it, or with on_error="skip"
    is logged and left out."""

    def __init__(self, root: str | os.PathLike, size: int | None = None, exts: tuple[str, ...] = IMAGE_EXTS,
                 on_error: str = "raise"):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.root, self.size = str(root), size
        self.paths = []
        for p in list_images(root, exts):
            try:
                open_image(p).close()
            except (ValueError, OSError) as err:
                if on_error == "raise":
                    raise
                log.warning("skipping: %s", err)
                continue
            self.paths.append(p)
        if not self.paths:
            raise ValueError(f"no images ({', '.join(exts)}) under {root}")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        return decode(self.paths[i], self.size)


class Unpaired:
    """Domain A and domain B: item i is (A[i mod |A|], B[perm[i mod |B|]]), perm a seeded shuffle of B, so an
    epoch of max(|A|, |B|) items sees every image of both domains and pairs A with varying B."""

    def __init__(self, a: str | os.PathLike, b: str | os.PathLike, size: int | None = None, seed: int = 0,
                 on_error: str = "raise"):
        self.a, self.b = ImageFolder(a, size, on_error=on_error), ImageFolder(b, size, on_error=on_error)
        self.perm = np.random.default_rng(seed).permutation(len(self.b))

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        i = range(len(self))[i]
        return self.a[i % len(self.a)], self.b[int(self.perm[i % len(self.b)])]
