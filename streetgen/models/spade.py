"""Layout → street: a SPADE generator (Park et al. 2019) that paints a photo for a segmentation map.

SPADE ("spatially-adaptive denormalisation") normalises a feature map without learned affine parameters and then
modulates it per pixel: γ(x, y) and β(x, y) come from a small conv net run on the one-hot label map resized to the
feature map. Plain normalisation layers wash a flat label map out to nothing; SPADE re-injects it at every layer,
so the layout survives the whole decoder. Residual blocks (two 3×3 convs, a learned 1×1 shortcut when the width
changes, spectral norm on the convs as in the official code) run from 1/32 of the image size up to full size;
the first feature map comes from the label map downsampled to that size, as in the official design.

Multimodality: a style latent z (and, optionally, a region-style embedding added to it) enters every SPADE layer,
broadcast over the map as extra input channels of the modulation net (OASIS' "3D noise"). A constant channel
convolved with a 3×3 kernel is a per-image bias, so it is computed as a linear layer added after the first conv:
the same function for a fraction of the cost. One layout then gives a different photo per seed.

    g = SpadeGenerator()                                        # 128×256 street photos, 12 classes incl. void
    photos = g.synthesize(labels)                               # labels (B, H, W) ids → (B, 3, H, W) in [0, 1]
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from streetgen.classes import NUM_IDS
from streetgen.models.base import StreetgenModel



def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class SPADE(nn.Module):
    """Parameter-free normalisation, then x · (1 + γ) + β with γ, β predicted per pixel from the label map."""

    def __init__(self, channels: int, label_nc: int, hidden: int, latent_dim: int, norm: str = "batch"):
        super().__init__()
        if norm == "batch":
            self.norm = nn.BatchNorm2d(channels, affine=False)
        elif norm == "instance":
            self.norm = nn.InstanceNorm2d(channels, affine=False)
        else:
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        self.shared = nn.Conv2d(label_nc, hidden, 3, padding=1)
        self.latent = nn.Linear(latent_dim, hidden, bias=False)  # the broadcast z channels of `shared`, see above
        # γ and β in one conv: one call instead of two (the modulation nets are most of the cost at full size)
        self.gamma_beta = nn.Conv2d(hidden, 2 * channels, 3, padding=1)

    def forward(self, x: torch.Tensor, seg: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.shared(seg) + self.latent(w)[:, :, None, None])
        gamma, beta = self.gamma_beta(h).chunk(2, dim=1)
        return self.norm(x) * (1 + gamma) + beta


class SpadeResBlock(nn.Module):
    """SPADE → act → conv → SPADE → act → conv, plus the shortcut (SPADE → 1×1 conv when the width changes)."""

    def __init__(self, cin: int, cout: int, label_nc: int, hidden: int, latent_dim: int, norm: str):
        super().__init__()
        mid = min(cin, cout)
        self.learned_shortcut = cin != cout
        self.conv_0 = spectral_norm(nn.Conv2d(cin, mid, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(mid, cout, 3, padding=1))
        self.norm_0 = SPADE(cin, label_nc, hidden, latent_dim, norm)
        self.norm_1 = SPADE(mid, label_nc, hidden, latent_dim, norm)
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(cin, cout, 1, bias=False))
            self.norm_s = SPADE(cin, label_nc, hidden, latent_dim, norm)

    def forward(self, x: torch.Tensor, seg: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.conv_s(self.norm_s(x, seg, w)) if self.learned_shortcut else x
        dx = self.conv_0(_act(self.norm_0(x, seg, w)))
        dx = self.conv_1(_act(self.norm_1(dx, seg, w)))
        return s + dx


class SpadeGenerator(StreetgenModel, architecture="spade"):
    """One-hot label map (B, num_classes, H, W) + style latent → photo; H, W any multiples of `multiple`.

    `image_size` is the (height, width) it was trained at (pipelines fit layouts to that aspect); the convs work
    at any size. `styles` (names, e.g. streetgen.world.FAMILIES) enables the region-style embedding, whose extra
    last row means "any style".
    """

    def __init__(self, num_classes: int = NUM_IDS, image_size: tuple[int, int] | list[int] = (128, 256),
                 channels: tuple[int, ...] | list[int] = (256, 256, 128, 64, 32, 32), spade_hidden: int = 64,
                 latent_dim: int = 64, styles: list[str] | None = None, norm: str = "batch"):
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"channels needs at least two widths (one per resolution), got {channels}")
        self.num_classes = num_classes
        self.channels = [int(c) for c in channels]
        self.multiple = 2 ** (len(self.channels) - 1)  # the first map is 1/multiple of the image on each side
        h, w = (int(v) for v in image_size)
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"image_size {h}x{w} must be multiples of {self.multiple}")
        self.image_size = (h, w)
        self.latent_dim = latent_dim
        self.styles = list(styles or [])
        # one row per style plus "any" (the last row): trained on style-dropped batches, used when style=None
        self.style_embed = nn.Embedding(len(self.styles) + 1, latent_dim) if self.styles else None
        if self.style_embed is not None:
            nn.init.normal_(self.style_embed.weight, std=0.5)  # comparable to z's unit scale, not dominating it
        c0 = self.channels[0]
        self.fc = nn.Conv2d(num_classes, c0, 3, padding=1)  # the downsampled label map → first feature map
        self.fc_latent = nn.Linear(latent_dim, c0)
        blocks = []
        for i, cout in enumerate(self.channels):
            cin = self.channels[max(i - 1, 0)]
            # modulation nets narrower than the block they modulate waste nothing; wider ones cost at full size
            blocks.append(SpadeResBlock(cin, cout, num_classes, min(spade_hidden, max(cout, 32)), latent_dim, norm))
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = spectral_norm(nn.Conv2d(self.channels[-1], 3, 3, padding=1))

    def latent_code(self, z: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) plus the style embedding (None or index len(styles) = "any")."""
        if self.style_embed is None:
            if style is not None:
                raise ValueError("this SPADE model was trained without region styles; pass style=None")
            return z
        if style is None:
            style = torch.full((z.shape[0],), len(self.styles), dtype=torch.long, device=z.device)
        return z + self.style_embed(style.to(z.device))

    def forward(self, onehot: torch.Tensor, z: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] (tanh, as the official code; `synthesize` maps to [0, 1])."""
        b, c, h, w = onehot.shape
        if c != self.num_classes:
            raise ValueError(f"expected a one-hot map with {self.num_classes} channels, got {c}")
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"layout size {h}x{w}: both sides must be multiples of {self.multiple}")
        code = self.latent_code(z, style)
        # Label pyramid by average pooling, finest first: class fractions rather than nearest samples, so a pole
        # one pixel wide still shows up (as a fraction) at 1/32 size instead of vanishing.
        segs = [onehot]
        for _ in range(len(self.blocks) - 1):
            segs.append(F.avg_pool2d(segs[-1], 2))
        segs.reverse()
        x = self.fc(segs[0]) + self.fc_latent(code)[:, :, None, None]
        for i, block in enumerate(self.blocks):
            if i:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(x, segs[i], code)
        return torch.tanh(self.to_rgb(_act(x)))

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        """(B, H, W) class ids → (B, num_classes, H, W) float; ids outside 0..num_classes-1 raise."""
        if labels.dim() != 3:
            raise ValueError(f"labels must be (B, H, W) class ids, got shape {tuple(labels.shape)}")
        labels = labels.long()
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"class ids must be in 0..{self.num_classes - 1}, got {int(labels.min())}.."
                             f"{int(labels.max())}")
        # contiguous NCHW: the permuted (channels-last) view made every conv copy its input first
        return F.one_hot(labels, self.num_classes).permute(0, 3, 1, 2).float().contiguous()

    @torch.no_grad()
    def synthesize(self, labels: torch.Tensor, generator: torch.Generator | None = None,
                   style: torch.Tensor | None = None, latents: torch.Tensor | None = None) -> torch.Tensor:
        """Photos (B, 3, H, W) in [0, 1] for label maps (B, H, W); z ~ N(0, I) from `generator` unless given."""
        device = self.fc.weight.device
        z = latents if latents is not None else torch.randn(labels.shape[0], self.latent_dim, generator=generator)
        out = self(self.one_hot(labels.to(device)).to(self.fc.weight.dtype), z.to(device, self.fc.weight.dtype),
                   style)
        return ((out + 1) / 2).clamp(0, 1)
