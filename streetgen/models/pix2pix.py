"""pix2pix U-Net translators for the depth route of City → city: photo → depth in city A, depth → photo in city B.

    to_depth = streetgen.load("pix2pix_depth_paris")          # kind "image_to_depth"
    depth = to_depth.image_to_depth(photo)                    # uint8 (H, W, 3) → float32 metres (H, W)
    to_photo = streetgen.load("pix2pix_photo_venice")         # kind "depth_to_image"
    venice = to_photo.depth_to_image(depth, seed=0)           # float32 metres → uint8 (H, W, 3)

The generator is Isola et al.'s "U-Net 256": `num_downs` stride-2 4×4 conv encoders (widths ngf, 2ngf, 4ngf, 8ngf,
8ngf, …; LeakyReLU 0.2, no norm on the first), a mirrored decoder of stride-2 transposed convs (ReLU) with a skip
connection from each encoder level, and dropout 0.5 in the three innermost decoder levels — pix2pix's only noise,
kept on at test time when a seed is given, so one depth map can become several photos. Instance norm instead of
batch norm: at batch 1 they are the same thing, and instance norm does not change between train and eval.

Depth travels as float metres, never as 8-bit colours: the network sees log-depth scaled to [-1, 1] between
MIN_DEPTH and MAX_DEPTH (the sky saturates at MAX_DEPTH), which spends its resolution where street depth varies
(near things), as the depth judge does. Any input size works: it is reflect-padded to a multiple of 2**num_downs
and cropped back, so a model trained at 128² runs at 256² or on non-square photos.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.base import StreetgenModel

MIN_DEPTH, MAX_DEPTH = 0.5, 200.0  # metres; the same range as the depth judge (streetgen.models.judges.MAX_DEPTH)
KINDS = ("image_to_depth", "depth_to_image")


def depth_to_unit(depth: torch.Tensor) -> torch.Tensor:
    """Metres → [-1, 1] on a log scale (clamped to MIN_DEPTH..MAX_DEPTH)."""
    t = (depth.clamp(MIN_DEPTH, MAX_DEPTH).log() - math.log(MIN_DEPTH)) / math.log(MAX_DEPTH / MIN_DEPTH)
    return t * 2 - 1


def unit_to_depth(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → metres (the inverse of depth_to_unit)."""
    return torch.exp((x.clamp(-1, 1) + 1) / 2 * math.log(MAX_DEPTH / MIN_DEPTH) + math.log(MIN_DEPTH))


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, act: bool, norm: bool):
        super().__init__()
        self.act = act  # the first level sees the raw input; every later one a LeakyReLU of the previous
        self.conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)
        self.norm = nn.InstanceNorm2d(cout) if norm else nn.Identity()  # none at the 1-pixel-ish bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(F.leaky_relu(x, 0.2) if self.act else x))


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: bool):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        self.norm = nn.InstanceNorm2d(cout)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, generator: torch.Generator | None, drop: bool) -> torch.Tensor:
        y = self.norm(self.conv(F.relu(x)))
        if self.dropout and drop:
            # an explicit mask so a seed gives the same photo (F.dropout has no generator argument)
            keep = torch.rand(y.shape, generator=generator, device=generator.device if generator else y.device)
            y = y * (keep.to(y.device) >= 0.5).to(y.dtype) * 2.0
        return y


class UNetTranslator(StreetgenModel, architecture="pix2pix"):
    """U-Net generator: (B, in_channels, H, W) in [-1, 1] → (B, out_channels, H, W) in [-1, 1]."""

    def __init__(self, in_channels: int = 3, out_channels: int = 1, ngf: int = 64, num_downs: int = 7,
                 kind: str = "image_to_depth", city: str = "", train_size: int = 128):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if num_downs < 2:
            raise ValueError(f"num_downs must be at least 2, got {num_downs}")
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, num_downs
        self.kind, self.city, self.train_size = kind, city, train_size
        widths = [ngf * min(2 ** k, 8) for k in range(num_downs)]
        self.downs = nn.ModuleList([_Down(in_channels, widths[0], act=False, norm=False)] + [
            _Down(widths[k - 1], widths[k], act=True, norm=k < num_downs - 1) for k in range(1, num_downs)])
        # decoder level k mirrors encoder level k; its input is the previous decoder output + the skip
        self.ups = nn.ModuleList()
        for k in range(num_downs - 1, 0, -1):
            cin = widths[k] if k == num_downs - 1 else widths[k] * 2
            self.ups.append(_Up(cin, widths[k - 1], dropout=k >= num_downs - 3))
        self.out = nn.ConvTranspose2d(widths[0] * 2, out_channels, 4, 2, 1)

    @property
    def multiple(self) -> int:
        return 2 ** self.num_downs

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                dropout: bool | None = None) -> torch.Tensor:
        """dropout: None = on in training mode only; True = on (with `generator`: seeded) for varied outputs."""
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = -h % m, -w % m
        if ph or pw:  # reflect needs pad < size: repeat the pad for tiny inputs
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
        drop = self.training if dropout is None else dropout
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        y = skips.pop()
        for up in self.ups:
            y = torch.cat([up(y, generator, drop), skips.pop()], 1)
        y = torch.tanh(self.out(F.relu(y)))
        return y[..., :h, :w]

    # ---- numpy in, numpy out ------------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def image_to_depth(self, images: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) or (B, H, W, 3) photos → float32 depth in metres, (H, W) or (B, H, W)."""
        if self.kind != "image_to_depth":
            raise ValueError(f"this model translates {self.kind.replace('_', ' ')}, not image to depth")
        a = np.asarray(images)
        single = a.ndim == 3
        if a.ndim not in (3, 4) or a.shape[-1] != 3 or a.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (H, W, 3) or (B, H, W, 3), got {a.dtype} {a.shape}")
        # a copy: photos read through PIL are read-only arrays, which torch.from_numpy warns about
        x = torch.from_numpy(np.array(a[None] if single else a)).permute(0, 3, 1, 2)
        x = x.to(self._device(), torch.float32) / 127.5 - 1
        d = unit_to_depth(self(x, dropout=False)[:, 0]).float().cpu().numpy()
        return d[0] if single else d

    @torch.no_grad()
    def depth_to_image(self, depth: np.ndarray, seed: int | None = None) -> np.ndarray:
        """float depth in metres, (H, W) or (B, H, W) → uint8 photos; a seed turns dropout on (varied output)."""
        if self.kind != "depth_to_image":
            raise ValueError(f"this model translates {self.kind.replace('_', ' ')}, not depth to image")
        d = np.asarray(depth, dtype=np.float32)
        single = d.ndim == 2
        if d.ndim not in (2, 3) or not np.isfinite(d).all():
            raise ValueError(f"depth must be finite (H, W) or (B, H, W) metres, got shape {d.shape}")
        x = depth_to_unit(torch.from_numpy(np.ascontiguousarray(d[None] if single else d))[:, None])
        g = None if seed is None else torch.Generator().manual_seed(int(seed))
        y = self(x.to(self._device()), generator=g, dropout=seed is not None)
        out = ((y + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()
        return out[0] if single else out
