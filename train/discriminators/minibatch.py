"""Minibatch standard deviation (Karras et al. 2018), shared by the layout discriminator and the map critic.

A discriminator that sees the spread of a group of samples can punish a generator that collapses onto a few
outputs (one layout, one street) even when each output alone looks real.
"""
from __future__ import annotations

import torch


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one channel: the mean std over each group of `group` consecutive samples, broadcast over the map.

    Consecutive (not strided) groups, so a batch that concatenates [real, fake, mixed] parts whose sizes are
    multiples of `group` never mixes statistics across the parts.
    """
    b, c, h, w = x.shape
    if b % group:
        raise ValueError(f"minibatch-stddev group {group} does not divide the batch of {b}")
    y = x.float().view(b // group, group, c, h, w)
    std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (b // group,)
    std = std.repeat_interleave(group).view(b, 1, 1, 1).expand(b, 1, h, w).to(x.dtype)
    return torch.cat([x, std], dim=1)


def stddev_group(batch: int, largest: int = 4) -> int:
    """The largest group size ≤ `largest` that divides `batch`."""
    return next(g for g in range(min(largest, batch), 0, -1) if batch % g == 0)
