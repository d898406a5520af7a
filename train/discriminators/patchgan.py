"""The 70×70 PatchGAN discriminator of pix2pix and CycleGAN, and CycleGAN's pool of generated images.

    disc = PatchDiscriminator(in_channels=3)                 # CycleGAN: judges an image
    disc = PatchDiscriminator(in_channels=3 + 1)             # pix2pix: judges (input, output) concatenated
    scores = disc(x)                                         # (B, 1, h, w): one real/fake score per 70×70 patch

Layout (Isola et al. 2017, "n_layers=3"): 4×4 convs C64 (no norm) → C128 → C256 with stride 2, then C512 and a
1-channel conv with stride 1; LeakyReLU 0.2. Each output cell sees a 70×70 patch of the input, so the
discriminator judges texture and local structure and works on any image size. Instance norm for CycleGAN (batch
statistics of one-image batches are instance statistics anyway), batch norm available for pix2pix.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'instance', 'batch' or 'none', got {kind!r}")


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (n_layers=3) over `in_channels`; `width` is the first layer's channels (64 in the papers)."""

    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3, norm: str = "instance"):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = width
        for k in range(1, n_layers + 1):
            stride = 2 if k < n_layers else 1
            c_out = width * min(2 ** k, 8)
            layers += [nn.Conv2d(c, c_out, 4, stride, 1, bias=norm != "batch"), _norm(norm, c_out),
                       nn.LeakyReLU(0.2, True)]
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        for m in self.modules():  # N(0, 0.02) as both papers
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) → (B, 1, h, w) patch scores."""
        return self.net(x)


class ImagePool:
    """A history of generated images (Shrivastava et al.): the discriminator sees, half the time, an older fake
    instead of the newest, which damps oscillation. size 0 = no pool. Deterministic given `generator`."""

    def __init__(self, size: int = 50):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What the discriminator sees for this batch of fakes (each one kept, or swapped for a pooled one)."""
        if self.size <= 0:
            return images
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand((), generator=generator).item() < 0.5:
                k = int(torch.randint(0, self.size, (), generator=generator))
                out.append(self.images[k].clone())
                self.images[k] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)

    def state_dict(self) -> dict:
        """The pooled images as one tensor (checkpointed without pickling)."""
        return {"images": torch.stack(self.images) if self.images else torch.zeros(0)}

    def load_state_dict(self, state: dict) -> None:
        """Inverse of `state_dict`."""
        imgs = state.get("images")
        self.images = [t.clone() for t in imgs] if imgs is not None and imgs.numel() else []
