"""Layout → street: random street layouts (a StyleGAN-style generator) and photos painted for a layout (SPADE).

    layouts = LayoutPipeline.from_pretrained("layout_world")(n=4, seed=1)   # 4 × (128, 256) uint8 class ids

    pipe = SpadePipeline.from_pretrained("spade_world")
    photo = pipe("sketch.png", seed=3)                     # uint8 (H, W, 3) at the model's training size
    photo = pipe(labels, seed=3, style="nordic", size=(256, 256))

The layout can be anything `streetgen.io.labels.read_layout` reads (class-id PNG, colour map, array, path, bytes).
It is fitted to the model's training size (or `size`) with its aspect kept and void padding, checked (an empty or
single-class map is refused with a clear error), and painted; the same seed gives the same photo.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from streetgen.io.labels import check_layout, fill_void, fit_layout, read_layout
from streetgen.pipelines.base import Pipeline
from streetgen.validate import MAX_PAINT_SIDE, check_seed, shown

if TYPE_CHECKING:
    import torch

MAX_LAYOUTS = 16


def sample_layouts(model: Any, n: int, generator: torch.Generator | None = None, truncation: float = 1.0,
                   noise_mode: str = "random", latents: torch.Tensor | None = None) -> torch.Tensor:
    """Label maps (n, H, W) int64 in 0..num_classes-1 from a `LayoutGenerator`: the argmax of its logits for
    z ~ N(0, I) drawn from `generator` (on its device) unless `latents` is given; `noise_mode` as in its forward."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        z = latents if latents is not None else torch.randn(n, model.z_dim, generator=generator,
                                                            device=generator.device if generator else device)
        return model(z.to(device), truncation, noise_mode, generator).argmax(dim=1)


class LayoutPipeline(Pipeline):
    """`pipe(n=1, seed=0, truncation=0.8)` → n street label maps, (H, W) uint8 class ids (never void)."""

    default_spec = "layout_world"

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the generated maps."""
        return tuple(self.model.size)

    def __call__(self, n: int = 1, seed: int = 0, truncation: float = 0.8) -> list[np.ndarray]:
        """n label maps; the same (n, seed, truncation) gives the same maps (noise inputs fixed: "const").

        truncation < 1 pulls the style toward the average street (tidier maps, less variety), as in StyleGAN."""
        import torch

        seed = check_seed(seed)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_LAYOUTS:
            raise ValueError(f"n must be an integer in 1..{MAX_LAYOUTS}, got {n!r}")
        if not 0.0 <= float(truncation) <= 1.0:
            raise ValueError(f"truncation must be in 0..1, got {truncation!r}")
        g = torch.Generator().manual_seed(seed)
        maps = sample_layouts(self.model, int(n), generator=g, truncation=float(truncation), noise_mode="const")
        return [m.cpu().numpy().astype(np.uint8) for m in maps]


class SpadePipeline(Pipeline):
    """`pipe(layout, seed=0, style=None, size=None)` → uint8 (H, W, 3) photo."""

    default_spec = "spade_world"

    def __init__(self, model) -> None:
        super().__init__(model)
        self.styles: list[str] = list(model.styles)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) the model was trained at."""
        return tuple(self.model.image_size)

    def _size(self, size) -> tuple[int, int]:
        if size is None:
            return self.size
        h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(v) for v in size)
        m = self.model.multiple
        if not (m <= h <= MAX_PAINT_SIDE and m <= w <= MAX_PAINT_SIDE) or h % m or w % m:
            raise ValueError(f"size must be (height, width) multiples of {m} between {m} and {MAX_PAINT_SIDE}, "
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
            raise ValueError(f"unknown region style {shown(style)}; choose one of {', '.join(self.styles)} or 'any'")
        return self.styles.index(key)

    def prepare(self, layout, size=None, fit: str = "pad", fill: bool = False) -> np.ndarray:
        """The (H, W) id map the generator will paint: read, checked, (filled,) fitted to the size."""
        labels = read_layout(layout)
        check_layout(labels)  # before fitting: the user's map, not the padded one, must name two classes
        if fill:
            labels = fill_void(labels)
        return fit_layout(labels, self._size(size), mode=fit)

    def __call__(self, layout, seed: int = 0, style: str | int | None = None, size=None,
                 fit: str = "pad", fill: bool = False) -> np.ndarray:
        """A photo (uint8 H×W×3) for `layout`; `fit` is how a layout of another aspect is fitted (see fit_layout);
        `fill` gives unpainted (void) pixels the nearest painted class first, so a sketch becomes a whole scene."""
        import torch

        seed = check_seed(seed)
        labels = torch.from_numpy(self.prepare(layout, size, fit, fill).astype(np.int64))[None]
        s = self.style_index(style)
        style_t = None if s is None else torch.tensor([s])
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            photo = self.model.synthesize(labels, generator=g, style=style_t)
        return (photo[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
