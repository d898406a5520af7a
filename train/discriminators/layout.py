"""The layout GAN's discriminator and what it is fed: residual CNN over per-class maps (training only).

What the discriminator sees matters more than its layers. Real maps are one-hot: every pixel a vertex of the
class simplex. A generator's softmax never is (its pixels sit inside the simplex, most of all at class borders),
so a discriminator fed real one-hot vs fake softmax wins by checking "is every value 0 or 1?" and teaches the
generator nothing about layouts. Two ways to take that shortcut away, chosen with `mode`:

- "st" (default, straight-through): the fake is the exact one-hot of its argmax in the forward pass, and its
  gradient is that of softmax(logits / tau) in the backward pass. Real and fake are then the same kind of object
  (one-hot maps), so only the layout can tell them apart, and the generator is judged on exactly what `sample`
  returns (the argmax). The price is a biased gradient; tau > 1 keeps it alive once the logits grow confident.
- "soft": both sides pass through the same noisy softmax: fakes softmax((logits + σ·ε) / tau), reals
  softmax((margin · onehot + σ·ε) / tau). Neither is exactly one-hot; the generator is pushed to be as confident
  as `margin`. Smoother gradients, but a second thing (confidence) for the discriminator to judge.

Layers: a 1×1 fromClasses conv at full resolution, one residual block per halving (two 3×3 convs, 2× average
pool; skip = pool + 1×1 conv; sum / √2, as StyleGAN2's resnet discriminator) down to the generator's start size,
then a minibatch-stddev channel, a 3×3 conv and two linear layers. Equalised learning rate throughout.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.classes import NUM_CLASSES
from streetgen.models.layout_gan import (
    LRELU_GAIN,
    EqualConv2d,
    EqualLinear,
    default_channels,
)
from train.discriminators.minibatch import minibatch_stddev, stddev_group

MODES = ("st", "soft")


def fake_input(logits: torch.Tensor, mode: str = "st", tau: float = 1.0, noise: float = 0.5) -> torch.Tensor:
    """Generator logits (B, C, H, W) → the discriminator's input (float32, keeps the generator's gradient)."""
    logits = logits.float()
    if mode == "st":
        soft = torch.softmax(logits / tau, dim=1)
        hard = F.one_hot(soft.argmax(dim=1), logits.shape[1]).permute(0, 3, 1, 2).to(soft.dtype)
        return hard + (soft - soft.detach())  # value: exactly hard (the bracket is 0); gradient: soft's
    if mode == "soft":
        return torch.softmax((logits + noise * torch.randn_like(logits)) / tau, dim=1)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def real_input(labels: torch.Tensor, num_classes: int = NUM_CLASSES, mode: str = "st", tau: float = 1.0,
               noise: float = 0.5, margin: float = 4.0) -> torch.Tensor:
    """Label maps (B, H, W) in 0..num_classes-1 → the discriminator's input, treated like `fake_input`'s."""
    onehot = F.one_hot(labels.long(), num_classes).permute(0, 3, 1, 2).float()
    if mode == "st":
        return onehot
    if mode == "soft":
        return torch.softmax((margin * onehot + noise * torch.randn_like(onehot)) / tau, dim=1)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = EqualConv2d(cin, cin, 3)
        self.conv2 = EqualConv2d(cin, cout, 3)
        self.skip = EqualConv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Two 3×3 convs and a 2× average pool, plus the pooled 1×1 skip, scaled by 1/√2."""
        h = F.leaky_relu(self.conv1(x), 0.2) * LRELU_GAIN
        h = F.avg_pool2d(F.leaky_relu(self.conv2(h), 0.2) * LRELU_GAIN, 2)
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class LayoutDiscriminator(nn.Module):
    """D(maps (B, C, H, W)) → (B,) logits of "real"; maps come from `real_input` / `fake_input`."""

    def __init__(self, size: tuple[int, int] = (128, 256), num_classes: int = NUM_CLASSES,
                 start_size: tuple[int, int] | None = None, channels: list[int] | None = None,
                 last: int = 32, max_channels: int = 256, stddev_largest: int = 4):
        super().__init__()
        h, w = size
        sh, sw = start_size if start_size is not None else (h // 32, w // 32)
        num_blocks = int(math.log2(h // sh)) + 1
        # widths per resolution, low → high like the generator's; the discriminator walks them backwards
        ch = list(channels) if channels is not None else default_channels(num_blocks, max_channels, last)
        self.stddev_largest = stddev_largest
        self.from_classes = EqualConv2d(num_classes, ch[-1], 1)
        self.blocks = nn.ModuleList(ResBlock(ch[k], ch[k - 1]) for k in range(num_blocks - 1, 0, -1))
        self.final_conv = EqualConv2d(ch[0] + 1, ch[0], 3)
        self.fc = EqualLinear(ch[0] * sh * sw, ch[0])
        self.out = EqualLinear(ch[0], 1)

    def forward(self, x: torch.Tensor, group: int | None = None) -> torch.Tensor:
        """(B, C, H, W) maps → (B,) logits; `group`: minibatch-stddev group size (default: largest ≤ 4 dividing B)."""
        x = F.leaky_relu(self.from_classes(x), 0.2) * LRELU_GAIN
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, group or stddev_group(x.shape[0], self.stddev_largest))
        x = F.leaky_relu(self.final_conv(x), 0.2) * LRELU_GAIN
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2) * LRELU_GAIN
        return self.out(x).squeeze(1)
