"""The critic of the map GAN: a progressive CNN mirroring `MapGenerator`, conditioned on the same coordinates.

Training-only (never exported). Per resolution a 1×1 fromRGB and a block (conv3×3, conv3×3, 2× average pool),
run from the image's size down to start_size; a new resolution fades in by blending its block's output with the
previous resolution's fromRGB of the 2× downsampled image. At start_size a minibatch-stddev channel is appended
(a critic that sees the batch's spread can punish a generator that collapses onto a few images), then a conv and a
linear layer give the feature vector φ(x). The condition enters as a projection term ⟨φ(x), W·ctx⟩ added to the
unconditional score (Miyato & Koyama's projection discriminator), or, with condition="concat", by concatenating
the context to φ(x) before the last layer.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.map_gan import (
    CoordEncoder,
    EqualConv2d,
    EqualLinear,
    default_channels,
)
from train.discriminators.minibatch import minibatch_stddev, stddev_group


class DBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = EqualConv2d(cin, cin, 3)
        self.conv2 = EqualConv2d(cin, cout, 3)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Two 3×3 convs then a 2× average pool."""
        h = F.leaky_relu(self.conv1(h), 0.2)
        return F.avg_pool2d(F.leaky_relu(self.conv2(h), 0.2), 2)


class MapCritic(nn.Module):
    """Wasserstein critic D(x, latlon, stage, alpha) → (B,) unbounded scores."""

    def __init__(self, final_size: int = 128, start_size: int = 8, coord_bands: int = 6, context_dim: int = 64,
                 channels: list[int] | None = None, context_norm: bool = True, context_noise: float = 0.0,
                 condition: str = "projection"):
        super().__init__()
        if condition not in ("projection", "concat"):
            raise ValueError(f"condition must be 'projection' or 'concat', got {condition!r}")
        channels = list(channels) if channels is not None else default_channels(start_size, final_size)
        self.sizes = [start_size * 2 ** k for k in range(len(channels))]
        if self.sizes[-1] != final_size:
            raise ValueError(f"channels {channels} do not span {start_size}² → {final_size}²")
        self.channels, self.start_size, self.condition = channels, start_size, condition
        self.encoder = CoordEncoder(coord_bands, context_dim, context_norm, context_noise)
        self.from_rgb = nn.ModuleList([EqualConv2d(3, c, 1) for c in channels])
        # blocks[k] takes resolution sizes[k] to sizes[k - 1]; blocks[0] is unused (the head works at start_size)
        self.blocks = nn.ModuleList([nn.Identity()] + [DBlock(channels[k], channels[k - 1])
                                                       for k in range(1, len(channels))])
        c0, feat = channels[0], channels[0]
        self.head_conv = EqualConv2d(c0 + 1, c0, 3)
        self.head_fc = EqualLinear(c0 * start_size ** 2, feat)
        if condition == "projection":
            self.out = EqualLinear(feat, 1, gain=1.0)
            self.project = EqualLinear(context_dim, feat, gain=1.0)
        else:
            self.out = EqualLinear(feat + context_dim, 1, gain=1.0)

    def forward(self, x: torch.Tensor, latlon: torch.Tensor, stage: int, alpha: float = 1.0,
                group: int | None = None) -> torch.Tensor:
        """(B, 3, s, s) images at stage `stage`'s size and their (B, 2) coordinates → (B,) scores."""
        if x.shape[-1] != self.sizes[stage]:
            raise ValueError(f"stage {stage} expects {self.sizes[stage]}² images, got {tuple(x.shape[-2:])}")
        h = F.leaky_relu(self.from_rgb[stage](x), 0.2)
        if stage > 0:
            h = self.blocks[stage](h)
            if alpha < 1.0:  # fade-in: the previous resolution's path on the downsampled image
                old = F.leaky_relu(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)), 0.2)
                h = torch.lerp(old.to(h.dtype), h, float(alpha))
            for k in range(stage - 1, 0, -1):
                h = self.blocks[k](h)
        h = minibatch_stddev(h, group or stddev_group(len(h)))
        h = F.leaky_relu(self.head_conv(h), 0.2)
        phi = F.leaky_relu(self.head_fc(h.flatten(1)), 0.2)
        ctx = self.encoder(latlon)
        if self.condition == "projection":
            return self.out(phi)[:, 0] + (phi * self.project(ctx)).sum(dim=1)
        return self.out(torch.cat([phi, ctx], dim=1))[:, 0]
