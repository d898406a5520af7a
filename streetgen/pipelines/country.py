"""Country → street: images of a country from a country-conditioned model (the study's CVAE, or the diffusion model).

Both models answer `model.sample(label_weights, generator=…, latents=…, **options)` and expose `latent_shape`, so
one pipeline serves them; diffusion options (steps, guidance, solver, progress) pass straight through.
"""
from __future__ import annotations

import numpy as np

from streetgen import geo

MAX_IMAGES = 16


class CountryPipeline:
    """`pipe("JP", n=4, seed=0)` → list of uint8 (H, W, 3) images; the same seed gives the same images."""

    def __init__(self, model) -> None:
        self.model = model.eval()
        self.countries: list[str] = list(model.countries)

    @classmethod
    def from_pretrained(cls, name: str = "cvae") -> "CountryPipeline":
        import streetgen

        return cls(streetgen.load(name))

    def index(self, country: str) -> int:
        """Model index of a country given as ISO code or English name; clear errors for unknown or unsupported."""
        code = geo.country(country).iso2
        if code not in self.countries:
            raise ValueError(f"{geo.country(code).name} is not one of the {len(self.countries)} countries this "
                             f"model was trained on")
        return self.countries.index(code)

    def __call__(self, country: str, n: int = 4, seed: int = 0, mix: tuple[str, float] | None = None,
                 **options) -> list[np.ndarray]:
        """n images of `country`; `mix=(other, t)` blends the label toward another country (0 ≤ t ≤ 1)."""
        import torch

        if not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_IMAGES:
            raise ValueError(f"n must be an integer between 1 and {MAX_IMAGES}, got {n!r}")
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        k = len(self.countries)
        label = torch.zeros(n, k)
        label[:, self.index(country)] = 1.0
        if mix is not None:
            other, t = mix
            if not 0.0 <= float(t) <= 1.0:
                raise ValueError(f"mix weight must be in [0, 1], got {t!r}")
            label *= 1 - float(t)
            label[:, self.index(other)] += float(t)
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            images = self.model.sample(label, generator=g, **options)
        return _to_uint8(images)

    def morph(self, country_a: str, country_b: str, frames: int = 16, seed: int = 0, **options) -> list[np.ndarray]:
        """One latent, the label walked from country A to country B: `frames` images (for an animated GIF)."""
        import torch

        if not 2 <= int(frames) <= 64:
            raise ValueError(f"frames must be between 2 and 64, got {frames!r}")
        k = len(self.countries)
        a, b = self.index(country_a), self.index(country_b)
        t = torch.linspace(0, 1, int(frames))[:, None]
        label = torch.zeros(int(frames), k)
        label[:, a] += 1 - t[:, 0]
        label[:, b] += t[:, 0]
        z = torch.randn((1, *self.model.latent_shape), generator=torch.Generator().manual_seed(int(seed)))
        with torch.no_grad():
            images = self.model.sample(label, latents=z.expand(int(frames), *self.model.latent_shape), **options)
        return _to_uint8(images)


def _to_uint8(images) -> list[np.ndarray]:
    """(B, 3, H, W) floats in [0, 1] → list of uint8 (H, W, 3) arrays."""
    arr = (images.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).cpu().numpy().astype(np.uint8)
    return list(arr)


def save_gif(frames: list[np.ndarray], path: str, fps: float = 8.0, bounce: bool = True) -> str:
    """Write frames as a looping animated GIF (there and back again when `bounce`); returns the path."""
    from PIL import Image

    seq = list(frames) + (list(frames[-2:0:-1]) if bounce else [])
    images = [Image.fromarray(f) for f in seq]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
