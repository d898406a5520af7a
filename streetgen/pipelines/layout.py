"""Layout → street: a photo painted for a segmentation map by a SPADE generator.

    pipe = SpadePipeline.from_pretrained("spade_world")
    photo = pipe("sketch.png", seed=3)                     # uint8 (H, W, 3) at the model's training size
    photo = pipe(labels, seed=3, style="nordic", size=(256, 256))

The layout can be anything `streetgen.layout.read_layout` reads (class-id PNG, colour map, array, path, bytes).
It is fitted to the model's training size (or `size`) with its aspect kept and void padding, checked (an empty or
single-class map is refused with a clear error), and painted; the same seed gives the same photo.
"""
from __future__ import annotations

import numpy as np

from streetgen.layout import check_layout, fit_layout, read_layout

MAX_SIDE = 1024  # the generator's cost grows with the pixel count; this keeps one call near ten seconds on a CPU


class SpadePipeline:
    """`pipe(layout, seed=0, style=None, size=None)` → uint8 (H, W, 3) photo."""

    def __init__(self, model) -> None:
        self.model = model.eval()
        self.styles: list[str] = list(model.styles)

    @classmethod
    def from_pretrained(cls, name: str = "spade_world") -> "SpadePipeline":
        import streetgen

        return cls(streetgen.load(name))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) the model was trained at."""
        return tuple(self.model.image_size)

    def _size(self, size) -> tuple[int, int]:
        if size is None:
            return self.size
        h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(v) for v in size)
        m = self.model.multiple
        if not (m <= h <= MAX_SIDE and m <= w <= MAX_SIDE) or h % m or w % m:
            raise ValueError(f"size must be (height, width) multiples of {m} between {m} and {MAX_SIDE}, "
                             f"got {size!r}")
        return h, w

    def style_index(self, style: str | int | None) -> int | None:
        """Index of a region style name (or index) for this model; None = "any" (or a model without styles)."""
        if style is None or style == "any":
            return None
        if not self.styles:
            raise ValueError("this model was trained without region styles; leave style=None")
        if isinstance(style, (int, np.integer)) and not isinstance(style, bool):
            if not 0 <= style < len(self.styles):
                raise ValueError(f"style index must be in 0..{len(self.styles) - 1}, got {style}")
            return int(style)
        key = str(style).strip().lower().replace(" ", "_").replace("-", "_")
        if key not in self.styles:
            raise ValueError(f"unknown region style {style!r}; choose one of {', '.join(self.styles)} or 'any'")
        return self.styles.index(key)

    def prepare(self, layout, size=None, fit: str = "pad") -> np.ndarray:
        """The (H, W) id map the generator will paint: read, fitted to the size, checked."""
        labels = read_layout(layout)
        check_layout(labels)  # before fitting: the user's map, not the padded one, must name two classes
        return fit_layout(labels, self._size(size), mode=fit)

    def __call__(self, layout, seed: int = 0, style: str | int | None = None, size=None,
                 fit: str = "pad") -> np.ndarray:
        """A photo (uint8 H×W×3) for `layout`; `fit` is how a layout of another aspect is fitted (see fit_layout)."""
        import torch

        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        labels = torch.from_numpy(self.prepare(layout, size, fit).astype(np.int64))[None]
        s = self.style_index(style)
        style_t = None if s is None else torch.tensor([s])
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            photo = self.model.synthesize(labels, generator=g, style=style_t)
        return (photo[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
