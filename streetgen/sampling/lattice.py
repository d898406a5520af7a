"""Removing the fixed grid a patch U-Net leaves in its samples."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def remove_patch_lattice(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Images (B, C, H, W) without their image-wide `patch`-periodic pattern: each of the patch² pixel phases
    (pixels at the same (y mod p, x mod p)) loses its mean deviation from the patch mean.

    Why: a U-Net on p×p patches leaves a fixed grid that an under-trained model has not ironed out, and its
    lattice frequencies k·H/p are exactly the phases' image-wide means, so subtracting them removes the grid and
    nothing else (the same as zeroing the lattice bins of the spectrum)."""
    if patch <= 1:
        return images
    b, c, h, w = images.shape
    phases = F.pixel_unshuffle(images, patch).view(b, c, patch * patch, h // patch, w // patch)
    deviation = phases - phases.mean(dim=2, keepdim=True)
    lattice = deviation.mean(dim=(3, 4), keepdim=True)
    return F.pixel_shuffle((phases - lattice).view(b, c * patch * patch, h // patch, w // patch), patch)
