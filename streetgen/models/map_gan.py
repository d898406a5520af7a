"""Map → street: a progressively grown conditional GAN generator fed (latitude, longitude).

The condition is a continuous embedding of the place, never a one-hot: `geo.encode_coords` gives unit-sphere xyz
(no seam at the antimeridian, no pole singularity) plus Fourier features of xyz at several scales; an MLP turns them
into a context vector. Two switches act on that context only:

- context normalisation: the context is scaled to unit RMS, like the pixel-normalised latent it sits beside, so
  neither input drowns the other whatever the coordinate MLP learns;
- context noise: Gaussian noise of std `context_noise` is added to the context while training (never at inference,
  never to the latent or the feature maps), so nearby places share looks instead of being memorised point by point.

The generator grows like a progressive GAN: a block per resolution (start_size, 2×, 4×, … final_size), each with
its own 1×1 toRGB; a new block fades in by blending the upsampled output of the previous resolution with its own.
Layers use the equalised learning rate (weights scaled at run time by He's constant) and pixel norm, as in the
original progressive GAN. The critic and the Wasserstein losses live in train/ (not needed for inference).

    g = MapGenerator()                                   # 8² → 128²
    images = g.decode(torch.randn(1, g.z_dim), torch.tensor([[48.85, 2.35]]))   # (1, 3, 128, 128) in [0, 1]

Drawing the latents for a seed is the pipeline's (`streetgen.pipelines.map.sample_map`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen import geo
from streetgen.models.base import StreetgenModel


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate: N(0, 1) weights, scaled by gain/sqrt(fan_in) when used.

    Why: with Adam, every weight then moves at the same relative speed whatever its layer's fan-in, which is what
    lets progressive GANs train at lr 1e-3.
    """

    def __init__(self, cin: int, cout: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualConv2d(nn.Module):
    """Conv2d (stride 1, 'same' padding) with the equalised learning rate."""

    def __init__(self, cin: int, cout: int, kernel: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def pixel_norm(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Each feature vector scaled to unit RMS along `dim` (channels of a map, or a whole vector)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=dim, keepdim=True) + 1e-8)


def default_channels(start_size: int, final_size: int) -> list[int]:
    """Widths per resolution: 256 at 8², halved per doubling (16 at 128²), the CPU-latency budget."""
    sizes = [start_size * 2 ** k for k in range(int(math.log2(final_size // start_size)) + 1)]
    return [max(16, min(256, 2048 // s)) for s in sizes]


class CoordEncoder(nn.Module):
    """(B, 2) degrees → (B, dim) context: encode_coords features → 2-layer MLP → optional norm, optional noise."""

    def __init__(self, bands: int = 6, dim: int = 64, norm: bool = True, noise: float = 0.0):
        super().__init__()
        self.bands, self.dim, self.norm, self.noise = bands, dim, norm, float(noise)
        self.mlp = nn.Sequential(EqualLinear(3 + 6 * bands, dim), nn.LeakyReLU(0.2), EqualLinear(dim, dim))

    def features(self, latlon: torch.Tensor) -> torch.Tensor:
        """The fixed (not learned) coordinate features; ValueError for out-of-range or non-finite coordinates."""
        if latlon.dim() != 2 or latlon.shape[-1] != 2:
            raise ValueError(f"latlon must have shape (B, 2) as (latitude, longitude), got {tuple(latlon.shape)}")
        # numpy on purpose: one definition of the features (geo.encode_coords) for every model and the judges
        feats = geo.encode_coords(*latlon.detach().cpu().double().numpy().T, n_freqs=self.bands)
        w = self.mlp[0].weight
        return torch.from_numpy(np.ascontiguousarray(feats)).to(w.device, w.dtype)

    def forward(self, latlon: torch.Tensor) -> torch.Tensor:
        ctx = self.mlp(self.features(latlon))
        if self.norm:
            ctx = pixel_norm(ctx)
        if self.training and self.noise > 0:
            ctx = ctx + self.noise * torch.randn_like(ctx)  # the only noise in the model besides the latent
        return ctx


class GBlock(nn.Module):
    """One resolution: (optional ×2 nearest upsampling) → conv3×3 → conv3×3, each LeakyReLU + pixel norm.

    The context also sets a per-channel scale and shift (FiLM) after the first conv. Why: a condition fed only at
    the input can be washed out by the time the fine, high-resolution layers draw the local style of a place.
    """

    def __init__(self, cin: int, cout: int, ctx_dim: int, upsample: bool):
        super().__init__()
        self.upsample = upsample
        self.conv1 = EqualConv2d(cin, cout, 3)
        self.conv2 = EqualConv2d(cout, cout, 3)
        self.film = EqualLinear(ctx_dim, 2 * cout, gain=1.0)

    def forward(self, h: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = pixel_norm(F.leaky_relu(self.conv1(h), 0.2))
        scale, shift = self.film(ctx)[:, :, None, None].chunk(2, dim=1)
        h = h * (1 + scale) + shift
        return pixel_norm(F.leaky_relu(self.conv2(h), 0.2))


class MapGenerator(StreetgenModel, architecture="map_gan"):
    """Images of a place from its (lat, lon): progressive generator, outputs in [-1, 1] (sample() gives [0, 1]).

    `export_stage` (a saved buffer) is the resolution stage `sample` draws at: the trainer sets it to the last
    fully faded-in stage, so a finished run exports at final_size.
    """

    def __init__(self, final_size: int = 128, start_size: int = 8, z_dim: int = 128, coord_bands: int = 6,
                 context_dim: int = 64, channels: list[int] | None = None, context_norm: bool = True,
                 context_noise: float = 0.0):
        super().__init__()
        if start_size < 4 or final_size < start_size or final_size % start_size \
                or (final_size // start_size) & (final_size // start_size - 1):
            raise ValueError(f"final_size must be start_size × a power of two (start_size ≥ 4), got "
                             f"start_size={start_size}, final_size={final_size}")
        self.sizes = [start_size * 2 ** k for k in range(int(math.log2(final_size // start_size)) + 1)]
        channels = list(channels) if channels is not None else default_channels(start_size, final_size)
        if len(channels) != len(self.sizes):
            raise ValueError(f"channels needs one width per resolution {self.sizes}, got {channels}")
        self.final_size, self.start_size, self.z_dim = final_size, start_size, z_dim
        self.channels = channels
        self.encoder = CoordEncoder(coord_bands, context_dim, context_norm, context_noise)
        # the conditional-GAN input: pixel-normed latent and context, concatenated, mapped to the first grid
        self.input = EqualLinear(z_dim + context_dim, channels[0] * start_size ** 2, gain=math.sqrt(2) / 4)
        self.blocks = nn.ModuleList([GBlock(channels[0], channels[0], context_dim, upsample=False)] + [
            GBlock(channels[k - 1], channels[k], context_dim, upsample=True) for k in range(1, len(channels))])
        self.to_rgb = nn.ModuleList([EqualConv2d(c, 3, 1, gain=1.0) for c in channels])
        self.register_buffer("stage_buffer", torch.tensor([len(self.sizes) - 1], dtype=torch.long))

    # ---- stages ---------------------------------------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        return len(self.sizes)

    @property
    def export_stage(self) -> int:
        return int(self.stage_buffer[0])

    @export_stage.setter
    def export_stage(self, stage: int) -> None:
        self.stage_buffer.fill_(self._check_stage(stage))

    @property
    def image_size(self) -> int:
        """Side of the images `sample` returns (final_size once the export stage is the last one)."""
        return self.sizes[self.export_stage]

    def _check_stage(self, stage: int) -> int:
        if not 0 <= int(stage) < self.num_stages:
            raise ValueError(f"stage must be in [0, {self.num_stages - 1}] (sizes {self.sizes}), got {stage}")
        return int(stage)

    @property
    def latent_shape(self) -> tuple[int]:
        return (self.z_dim,)

    # ---- forward --------------------------------------------------------------------------------------------
    def embed(self, latlon: torch.Tensor) -> torch.Tensor:
        """(B, 2) degrees → (B, context_dim) context (noisy in train mode when context_noise > 0)."""
        return self.encoder(latlon)

    def synthesize(self, z: torch.Tensor, ctx: torch.Tensor, stage: int | None = None,
                   alpha: float = 1.0) -> torch.Tensor:
        """Images (B, 3, s, s) at `stage`'s size from latents and contexts; alpha < 1 fades the stage in."""
        stage = self.export_stage if stage is None else self._check_stage(stage)
        h = self.input(torch.cat([pixel_norm(z), ctx], dim=1))
        h = pixel_norm(F.leaky_relu(h.view(-1, self.channels[0], self.start_size, self.start_size), 0.2))
        for k in range(stage):
            h = self.blocks[k](h, ctx)
        if stage == 0 or alpha >= 1.0:
            return self.to_rgb[stage](self.blocks[stage](h, ctx))
        # fade-in: the new block's output blended with the previous resolution's, upsampled as the block does
        old = F.interpolate(self.to_rgb[stage - 1](h), scale_factor=2, mode="nearest")
        new = self.to_rgb[stage](self.blocks[stage](h, ctx))
        return torch.lerp(old.to(new.dtype), new, float(alpha))  # autocast may leave the two in different dtypes

    def forward(self, z: torch.Tensor, latlon: torch.Tensor, stage: int | None = None,
                alpha: float = 1.0) -> torch.Tensor:
        return self.synthesize(z, self.embed(latlon), stage, alpha)

    def decode(self, z: torch.Tensor, latlon: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, image_size, image_size) in [0, 1] at the export stage for latents z (B, z_dim) and (B, 2)
        (lat, lon) degrees, on the model's device and dtype.

        Call it in eval mode (as pipelines and from_pretrained leave the model): in train mode the context is noisy.
        """
        latlon = torch.as_tensor(latlon, dtype=torch.float64)
        device = self.input.weight.device
        out = self(z.to(device, self.input.weight.dtype), latlon, stage=self.export_stage)
        return ((out.float() + 1) / 2).clamp(0, 1)
