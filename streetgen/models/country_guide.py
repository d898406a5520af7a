"""A noise-aware country classifier for classifier guidance of the country diffusion model.

Why: classifier-free guidance turns up the country signal the diffusion model learnt itself, and at the shipped
model's size and training time that signal is weak next to the starting noise (for one seed the model draws much
the same street whatever the country). Classifier guidance (Dhariwal & Nichol, 2021) adds a second, independent
pull: a small classifier that reads the *noisy* image x_t at timestep t, and whose gradient ∇ log p(country | x_t)
nudges every denoising step toward pictures it takes for that country.

It is trained from scratch on its own renders by `train/train_country_guide.py`; it is not the place judge
(`streetgen.models.judges`) and shares no weights, data seeds or architecture with it, so that the judge stays an outside
referee of whether the pictures look like their country.

Why patches: like the diffusion U-Net it reads 4×4 pixel patches (128² → 48 channels at 32²), so the extra
forward and backward pass per sampling step costs a fraction of the U-Net's.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.base import StreetgenModel


class CountryGuide(StreetgenModel, architecture="country_guide"):
    """logits = guide(x_t, t): country logits (B, len(countries)) for noisy images x_t (B, 3, H, W) in the
    diffusion model's scale at integer timesteps t of the schedule it was trained with (`noise_shift`)."""

    def __init__(self, countries: list[str] | None = None, image_size: int = 128, patch_size: int = 4,
                 channels: tuple[int, ...] | list[int] = (96, 128, 192, 256), num_train_timesteps: int = 1000,
                 noise_shift: float = 2.0):
        super().__init__()
        # diffusers' blocks with a time embedding: the same building blocks as the U-Net we guide
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps
        from diffusers.models.resnet import Downsample2D, ResnetBlock2D

        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        if not countries:
            raise ValueError("a country guide needs its list of countries")
        self.countries = list(countries)
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_train_timesteps = num_train_timesteps
        self.noise_shift = noise_shift
        channels = list(channels)
        temb = channels[0] * 4
        self.time_proj = Timesteps(channels[0], flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(channels[0], temb)
        self.conv_in = nn.Conv2d(3 * patch_size ** 2, channels[0], 3, padding=1)
        blocks: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip([channels[0]] + channels[:-1], channels)):
            groups = 32 if cin % 32 == 0 and cout % 32 == 0 else 8
            blocks.append(ResnetBlock2D(in_channels=cin, out_channels=cout, temb_channels=temb, groups=groups))
            if i < len(channels) - 1:
                blocks.append(Downsample2D(cout, use_conv=True, out_channels=cout))
        self.blocks = nn.ModuleList(blocks)
        self.norm_out = nn.GroupNorm(32 if channels[-1] % 32 == 0 else 8, channels[-1])
        self.head = nn.Linear(channels[-1], len(self.countries))

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Country logits (B, n) for noisy images (B, 3, H, W) at integer timesteps (B,)."""
        p = self.patch_size
        x = self.conv_in(F.pixel_unshuffle(noisy, p) if p > 1 else noisy)
        emb = self.time_embed(self.time_proj(timesteps).to(x.dtype))
        for block in self.blocks:
            x = block(x, emb) if hasattr(block, "time_emb_proj") else block(x)
        x = F.silu(self.norm_out(x)).mean(dim=(2, 3))
        return self.head(x)

    def log_prob_grad(self, noisy: torch.Tensor, timesteps: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """∇_x log Σ_k w_k p(k | x_t), the guidance direction, for country weights (B, n) (one-hot rows: the plain
        log p(country | x_t); mixed rows, as in a morph, pull toward the mixture)."""
        with torch.enable_grad():
            x = noisy.detach().float().requires_grad_(True)
            log_p = F.log_softmax(self(x, timesteps).float(), dim=1)
            w = weights.to(log_p).clamp_min(0)
            total = w.sum(dim=1, keepdim=True)
            w = w / total.clamp_min(1e-12)
            target = torch.logsumexp(log_p + torch.log(w.clamp_min(1e-12)), dim=1)
            (grad,) = torch.autograd.grad(target.sum(), x)
        return grad * (total > 0).view(-1, 1, 1, 1)  # a row with no country (all zero) is not pulled

    def check_matches(self, model) -> None:
        """ValueError unless this guide was trained for `model`'s countries (same order), size and schedule."""
        problems = []
        if list(model.countries) != self.countries:
            problems.append("a different country list (or order)")
        if int(model.image_size) != self.image_size:
            problems.append(f"image size {self.image_size} vs the model's {model.image_size}")
        if (float(model.noise_shift), int(model.num_train_timesteps)) != (self.noise_shift, self.num_train_timesteps):
            problems.append("a different noise schedule")
        if problems:
            raise ValueError("this country guide does not fit the diffusion model: " + "; ".join(problems))
