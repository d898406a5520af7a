"""Map → street: images of a place from its (latitude, longitude), and journeys along a great circle.

    pipe = MapPipeline.from_pretrained("map_gan")
    images = pipe(48.8566, 2.3522, n=4, seed=0)              # list of uint8 (H, W, 3)
    frames = pipe.journey((48.86, 2.35), (35.68, 139.77))     # one latent, the place walking Paris → Tokyo
    stream = pipe.iter_journey((48.86, 2.35), (35.68, 139.77))  # the same frames, each yielded once it is made
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from streetgen import geo, mapview
from streetgen.pipelines.base import Pipeline, chunk_spans, to_uint8
from streetgen.validate import check_int, check_seed

if TYPE_CHECKING:
    import torch

MAX_IMAGES = 16
MAX_FRAMES = 64


def great_circle(a: tuple[float, float], b: tuple[float, float], frames: int) -> np.ndarray:
    """(frames, 2) (lat, lon) degrees from a to b along the shorter great circle (`mapview.great_circle`)."""
    return mapview.great_circle(*a, *b, n=frames)


def sample_map(model: Any, latlon: torch.Tensor | np.ndarray, generator: torch.Generator | None = None,
               latents: torch.Tensor | None = None) -> torch.Tensor:
    """Images (B, 3, S, S) in [0, 1] from a `MapGenerator` (in eval mode) for (B, 2) (lat, lon) degrees: z ~ N(0, I)
    drawn from `generator` (on the CPU) unless `latents` is given."""
    import torch

    with torch.no_grad():
        latlon = torch.as_tensor(latlon, dtype=torch.float64)
        z = latents if latents is not None else torch.randn(latlon.shape[0], model.z_dim, generator=generator)
        return model.decode(z, latlon)


class MapPipeline(Pipeline):
    """`pipe(lat, lon, n=4, seed=0)` → list of uint8 (H, W, 3) images; the same seed gives the same images."""

    default_spec = "map_gan"

    def __call__(self, lat: float, lon: float, n: int = 4, seed: int = 0) -> list[np.ndarray]:
        """n images of the place at (lat, lon) degrees."""
        import torch

        lat, lon = geo.check_latlon(lat, lon)
        check_int("n", n, 1, MAX_IMAGES)
        check_seed(seed)
        latlon = torch.tensor([[lat, lon]], dtype=torch.float64).expand(int(n), 2)
        with torch.no_grad():
            images = sample_map(self.model, latlon, generator=torch.Generator().manual_seed(int(seed)))
        return to_uint8(images)

    def journey(self, a: tuple[float, float], b: tuple[float, float], frames: int = 16,
                seed: int = 0) -> list[np.ndarray]:
        """One latent, the place moved from a to b along the great circle: `frames` images (for a GIF)."""
        return list(self.iter_journey(a, b, frames=frames, seed=seed))

    def iter_journey(self, a: tuple[float, float], b: tuple[float, float], frames: int = 16, seed: int = 0,
                     chunk: int | tuple[int, ...] | None = None) -> Iterator[np.ndarray]:
        """`journey`'s frames in order, each yielded as soon as it exists; arguments are checked at the call,
        before the first frame. The model decodes `chunk` frames at a time (sizes in turn for a tuple, as
        `chunk_spans`; None: all at once, exactly `journey`; smaller chunks give the same frames up to float
        rounding in batched arithmetic)."""
        import torch

        a, b = geo.check_latlon(*_pair(a, "a")), geo.check_latlon(*_pair(b, "b"))
        check_int("frames", frames, 2, MAX_FRAMES)
        check_seed(seed)
        spans = chunk_spans(int(frames), chunk)
        path = torch.from_numpy(great_circle(a, b, int(frames)))
        z = torch.randn((1, *self.model.latent_shape), generator=torch.Generator().manual_seed(int(seed)))
        return self._journey_frames(path, z, spans)

    def _journey_frames(self, path: torch.Tensor, z: torch.Tensor,
                        spans: list[tuple[int, int]]) -> Iterator[np.ndarray]:
        """The frames of `iter_journey`, one decode per span of the path."""
        import torch

        for start, stop in spans:
            with torch.no_grad():
                images = sample_map(self.model, path[start:stop],
                                    latents=z.expand(stop - start, *self.model.latent_shape))
            yield from to_uint8(images)


def _pair(point, name: str) -> tuple:
    if isinstance(point, (str, bytes)) or not hasattr(point, "__len__") or len(point) != 2:
        raise ValueError(f"{name} must be a (latitude, longitude) pair, got {point!r}")
    return tuple(point)

