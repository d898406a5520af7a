"""The SPADE discriminator: multi-scale PatchGANs (pix2pixHD / SPADE) judging (photo, one-hot layout) pairs.

Training-only (never exported). Each scale is a PatchGAN: 4×4 convs, stride 2 then 1, spectral norm and
parameter-free instance norm (the official "spectralinstance"), LeakyReLU 0.2, ending in a one-channel map of
real/fake scores, one per overlapping patch. The second scale sees the pair average-pooled by 2, so one net judges
fine texture and the other larger structure without a deeper, slower net. Every scale returns its intermediate
activations too: the generator's feature-matching loss (train.losses) compares them between real and
generated photos.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """One scale: returns [feature maps..., score map]."""

    def __init__(self, in_channels: int, width: int = 64, layers: int = 4):
        super().__init__()
        stages = [nn.Sequential(nn.Conv2d(in_channels, width, 4, 2, 2), nn.LeakyReLU(0.2, inplace=False))]
        c = width
        for i in range(1, layers):
            cout = min(c * 2, 512)
            stride = 1 if i == layers - 1 else 2  # the last stage keeps the size: a denser grid of patch scores
            stages.append(nn.Sequential(spectral_norm(nn.Conv2d(c, cout, 4, stride, 2, bias=False)),
                                        nn.InstanceNorm2d(cout, affine=False), nn.LeakyReLU(0.2, inplace=False)))
            c = cout
        stages.append(nn.Conv2d(c, 1, 4, 1, 2))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's activation, the last being the score map."""
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """`scales` PatchGANs on the pair at full, 1/2, 1/4 … size; returns one feature list per scale."""

    def __init__(self, num_classes: int = 12, width: int = 64, layers: int = 4, scales: int = 2):
        super().__init__()
        self.nets = nn.ModuleList(PatchDiscriminator(3 + num_classes, width, layers) for _ in range(scales))

    def forward(self, images: torch.Tensor, onehot: torch.Tensor) -> list[list[torch.Tensor]]:
        """Photos (B, 3, H, W) and one-hot layouts (B, C, H, W) → one feature list per scale."""
        x = torch.cat([images, onehot], dim=1)
        out = []
        for i, net in enumerate(self.nets):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out.append(net(x))
        return out
