"""Judges: small networks that score generated street images against what was asked for.

- `PlaceJudge`: country, region style, drive side, climate and location (a unit vector on the sphere) from a photo,
  plus a 256-d feature vector used for Fréchet/kernel distances and diversity.
- `Segmenter`: the 11 CamVid classes per pixel (layout fidelity: does the photo keep the asked-for layout?).
- `DepthEstimator`: metric depth per pixel (depth error of generated or translated images).
- `CityJudge`: which famous city (`geo.FAMOUS_CITIES`) a street looks like (City → city: did the style move?).

They are trained on held-out world renders (and CamVid for the segmenter) by `train/train_judges.py`; their scores
on unseen real renders are the "real" baseline that every generator is compared with (see their model cards).
Inputs are float tensors in [0, 1], shape (B, 3, H, W); H and W multiples of 16.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.classes import NUM_CLASSES
from streetgen.models.base import StreetgenModel

CLIMATES = ("tropical", "arid", "mediterranean", "temperate", "continental", "boreal", "polar")
MAX_DEPTH = 200.0  # metres: the depth judge predicts log-depth up to this range (the sky saturates here)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def normalise(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] images → the judges' input scale (what their first conv expects; perceptual terms reuse it)."""
    return (x - 0.45) / 0.25


class PlaceJudge(StreetgenModel, architecture="place_judge"):
    """A compact CNN with one head per place attribute; `features` is the embedding used for distances."""

    def __init__(self, countries: list[str] | None = None, styles: list[str] | None = None, width: int = 32,
                 input_size: int = 96, feature_dim: int = 256):
        super().__init__()
        self.countries = list(countries or [])
        self.styles = list(styles or [])
        self.input_size = input_size
        w = width
        self.body = nn.Sequential(_block(3, w, 2), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2),
                                  _block(4 * w, 8 * w, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(8 * w, feature_dim), nn.ReLU(inplace=True))
        self.country_head = nn.Linear(feature_dim, max(len(self.countries), 1))
        self.style_head = nn.Linear(feature_dim, max(len(self.styles), 1))
        self.drive_head = nn.Linear(feature_dim, 2)  # 0 right, 1 left
        self.climate_head = nn.Linear(feature_dim, len(CLIMATES))
        self.xyz_head = nn.Linear(feature_dim, 3)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] → (B, feature_dim); images are resized to the judge's input size."""
        if images.shape[-2:] != (self.input_size, self.input_size):
            images = F.interpolate(images, size=(self.input_size, self.input_size), mode="bilinear",
                                   align_corners=False, antialias=True)
        return self.body(normalise(images))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.features(images)
        return {"features": f, "country": self.country_head(f), "style": self.style_head(f),
                "drive": self.drive_head(f), "climate": self.climate_head(f),
                "xyz": F.normalize(self.xyz_head(f), dim=-1)}


class _UNet(nn.Module):
    """A small U-Net working at half resolution (4 scales, skips), upsampled bilinearly to the input size.

    Why half resolution: judges run on CPUs; the full-resolution stage costs 4x and buys only sharper edges.
    """

    def __init__(self, out_channels: int, width: int):
        super().__init__()
        w = width
        self.enc = nn.ModuleList([_block(3, w, 2), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2),
                                  _block(4 * w, 8 * w, 2)])
        self.dec = nn.ModuleList([_block(8 * w + 4 * w, 4 * w), _block(4 * w + 2 * w, 2 * w), _block(2 * w + w, w)])
        self.out = nn.Conv2d(w, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        skips = []
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
        skips.pop()
        for dec in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], dim=1))
        return F.interpolate(self.out(x), size=size, mode="bilinear", align_corners=False)


class CityJudge(StreetgenModel, architecture="city_judge"):
    """Logits over famous cities. Why its own judge: the place judge knows countries, and Venice and Burano (or a
    Paris street and a French village) share one; city → city translation is scored by the city look itself."""

    def __init__(self, cities: list[str] | None = None, width: int = 24, input_size: int = 96):
        super().__init__()
        self.cities = list(cities or [])
        self.input_size = input_size
        w = width
        self.body = nn.Sequential(_block(3, w, 2), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2),
                                  _block(4 * w, 8 * w, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(8 * w, max(len(self.cities), 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1], any size (resized to the judge's input) → (B, cities) logits."""
        if images.shape[-2:] != (self.input_size, self.input_size):
            images = F.interpolate(images, size=(self.input_size, self.input_size), mode="bilinear",
                                   align_corners=False, antialias=True)
        return self.head(self.body(normalise(images)))


class Segmenter(StreetgenModel, architecture="segmenter"):
    """Per-pixel logits over the 11 CamVid classes.

    `input_rows` > 0: `predict` reads a photo at that many rows (aspect kept) and scales its logits back, so a photo
    at its native size is read at the scale the network learned (a 480×360 frame read as is collapses otherwise).
    """

    def __init__(self, width: int = 24, num_classes: int = NUM_CLASSES, input_rows: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.input_rows = input_rows
        self.net = _UNet(num_classes, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(normalise(images))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) → (B, H, W) class ids."""
        h, w = images.shape[-2:]
        if not self.input_rows or h == self.input_rows:
            return self(images).argmax(1)
        small = F.interpolate(images, size=(self.input_rows, max(16, round(w * self.input_rows / h))),
                              mode="bilinear", align_corners=False, antialias=h > self.input_rows)
        return F.interpolate(self(small), size=(h, w), mode="bilinear", align_corners=False).argmax(1)


class DepthEstimator(StreetgenModel, architecture="depth_estimator"):
    """Metric depth in metres (0.5 … MAX_DEPTH), predicted as log-depth."""

    def __init__(self, width: int = 24):
        super().__init__()
        self.net = _UNet(1, width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Log-depth (B, H, W)."""
        return self.net(normalise(images))[:, 0]

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) → (B, H, W) depth in metres."""
        return self(images).exp().clamp(0.5, MAX_DEPTH)
