"""City → city: the CycleGAN ResNet generator (Zhu et al. 2017, after Johnson et al. 2016) that repaints a street
photo of one city in another city's style while keeping the scene.

    g = CycleGenerator(source="Paris", target="Venice")          # ngf 64, 9 residual blocks (6 suit 128²)
    out = g(x)                                                  # (B, 3, H, W) in [-1, 1] → same shape, [-1, 1]
    venice = g.translate(photo)                                 # uint8 (H, W, 3) or (B, H, W, 3) → same shape
    g = streetgen.load("runs/paris_venice/export")              # a trained A → B model (train/train_cyclegan.py)

Layout, as the paper's "c7s1-64, d128, d256, R256 × n, u128, u64, c7s1-3":
- a 7×7 conv on a reflect-padded input (width ngf), instance norm, ReLU;
- two stride-2 3×3 convs (2·ngf, 4·ngf), each with instance norm and ReLU: the residual blocks then work at 1/4
  of the image size, which is where most of the compute goes and where the receptive field becomes large;
- `n_blocks` residual blocks (reflect pad, 3×3 conv, IN, ReLU, reflect pad, 3×3 conv, IN, plus the input);
- two ×2 upsamplings back to full size, then a 7×7 conv to RGB on a reflect-padded map and tanh.

Instance norm without affine parameters (the paper's choice): the statistics of each image are removed at every
layer, so the overall brightness and contrast of a photo do not leak through as "style" the generator has to undo.
There is no batch statistic and no dropout, so train and eval mode compute the same function.

Fully convolutional: any H, W works. The two stride-2 convs need sides that are multiples of 4, so `forward`
reflect-pads other sizes up to the next multiple of 4 and crops the result back (250×333 in, 250×333 out).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.base import StreetgenModel

MULTIPLE = 4  # two stride-2 downsamplings
MIN_SIDE = 8  # reflect padding needs more pixels than it pads: 1/4 size must be ≥ 2 for the blocks' pad of 1


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + (reflect pad → 3×3 conv → IN → ReLU → reflect pad → 3×3 conv → IN)(x); width unchanged."""

    def __init__(self, dim: int):
        super().__init__()
        # reflect rather than zero padding: a zero border reads as a dark frame, which nine blocks would amplify
        # into visible edge artefacts; reflection continues the image's own texture across the border
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    """×2 nearest-neighbour resize, then a 3×3 conv, IN and ReLU.

    Why not a stride-2 transposed conv (the paper's choice): its kernel overlaps unevenly between neighbouring
    output pixels, so every other row and column gets a different number of contributions — the familiar
    checkerboard pattern, which a GAN discriminator then chases instead of content (Odena et al. 2016,
    "Deconvolution and Checkerboard Artifacts"). Resize-then-convolve weights every output pixel alike.
    """

    def __init__(self, cin: int, cout: int, mode: str = "nearest"):
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")
        self.norm = _norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode=self.mode)
        return F.relu(self.norm(self.conv(x)), inplace=True)


class CycleGenerator(StreetgenModel, architecture="cyclegan"):
    """Image → image in [-1, 1], (B, 3, H, W) → (B, 3, H, W), for any H, W ≥ 8.

    `source` / `target` name the cities (e.g. "Paris" → "Venice"; recorded for the app, unused by the maths);
    `train_size` is the square crop size it was trained on — it runs at any size, but content is painted at the
    scale it saw in training, so inputs near that size (or a few times it) look best.
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 9, source: str = "", target: str = "", train_size: int = 128):
        super().__init__()
        if ngf < 1 or n_blocks < 0:
            raise ValueError(f"need ngf >= 1 and n_blocks >= 0, got ngf={ngf}, n_blocks={n_blocks}")
        self.ngf, self.n_blocks = int(ngf), int(n_blocks)
        self.source, self.target, self.train_size = str(source), str(target), int(train_size)
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), _norm(ngf), nn.ReLU(inplace=True))
        self.down = nn.Sequential(
            nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1), _norm(2 * ngf), nn.ReLU(inplace=True),
            nn.Conv2d(2 * ngf, 4 * ngf, 3, stride=2, padding=1), _norm(4 * ngf), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResnetBlock(4 * ngf) for _ in range(n_blocks)])
        self.up = nn.Sequential(Upsample(4 * ngf, 2 * ngf), Upsample(2 * ngf, ngf))
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7))
        for m in self.modules():  # N(0, 0.02), as the paper's reference code initialises every conv
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] → translated images of the same shape in [-1, 1]."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if min(h, w) < MIN_SIDE:
            raise ValueError(f"image {h}x{w} is too small: both sides must be at least {MIN_SIDE} pixels")
        ph, pw = -h % MULTIPLE, -w % MULTIPLE
        if ph or pw:
            # split the padding between both sides so the crop keeps the image centred on the feature grid
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="reflect")
        y = self.head(self.up(self.blocks(self.down(self.stem(x)))))
        if ph or pw:
            y = y[..., ph // 2:ph // 2 + h, pw // 2:pw // 2 + w]
        return torch.tanh(y)

    @torch.no_grad()
    def translate(self, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
        """uint8 RGB (H, W, 3) or (B, H, W, 3) → translated uint8 of the same shape (`batch_size` per forward)."""
        arr = np.asarray(images)
        if arr.dtype != np.uint8:
            raise ValueError(f"translate takes uint8 RGB images, got dtype {arr.dtype}")
        single = arr.ndim == 3
        if single:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"expected (H, W, 3) or (B, H, W, 3) RGB images, got shape {tuple(np.shape(images))}")
        p = next(self.parameters())
        out = np.empty_like(arr)
        for i in range(0, len(arr), max(1, batch_size)):
            x = torch.from_numpy(np.array(arr[i:i + batch_size])).to(p.device)  # a copy: PIL arrays are read-only
            x = x.permute(0, 3, 1, 2).to(p.dtype).div(127.5).sub(1)
            y = self(x).float().add(1).mul(127.5).round().clamp(0, 255)
            out[i:i + batch_size] = y.byte().permute(0, 2, 3, 1).cpu().numpy()
        return out[0] if single else out
