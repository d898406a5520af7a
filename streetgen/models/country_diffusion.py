"""The sharp country model: a class-conditional diffusion model on diffusers' `UNet2DModel`.

Why diffusion: the study's CVAE averages (blurry) and its decoder learns to ignore the label ("not great difference
between countries"). A denoising model trained with classifier-free guidance can turn the country signal up at
sampling time. The label goes through our own embedding table (plus a "no country" row for guidance) and is added
to the time embedding (`class_embed_type="identity"`), so mixtures of countries — weighted sums of rows — morph.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from streetgen.models.base import StreetgenModel


class CountryDiffusion(StreetgenModel, architecture="country_diffusion"):
    """ε-prediction DDPM over images in [-1, 1]; `sample` runs DDIM or DPM-Solver with classifier-free guidance."""

    def __init__(self, countries: list[str] | None = None, image_size: int = 64,
                 block_out_channels: tuple[int, ...] | list[int] = (64, 128, 128, 256), layers_per_block: int = 2,
                 attention: tuple[bool, ...] | list[bool] = (False, False, True, True), norm_num_groups: int = 16,
                 num_train_timesteps: int = 1000):
        super().__init__()
        from diffusers import UNet2DModel

        self.countries = list(countries or [])
        self.image_size = image_size
        self.num_train_timesteps = num_train_timesteps
        down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention)
        up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention))
        self.unet = UNet2DModel(sample_size=image_size, in_channels=3, out_channels=3,
                                block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
                                down_block_types=down, up_block_types=up, norm_num_groups=norm_num_groups,
                                class_embed_type="identity")
        # Row k = country k; the last row = "no country" (the unconditional branch of classifier-free guidance).
        self.label_embed = nn.Embedding(len(self.countries) + 1, block_out_channels[0] * 4)

    @property
    def null_label(self) -> int:
        return len(self.countries)

    def embed(self, labels: torch.Tensor) -> torch.Tensor:
        """Indices (B,) or weights over countries (B, n) / (B, n + 1) → class embeddings."""
        if labels.dim() == 1:
            return self.label_embed(labels)
        w = labels if labels.shape[1] == self.label_embed.num_embeddings else \
            torch.cat([labels, torch.zeros_like(labels[:, :1])], dim=1)
        return w @ self.label_embed.weight

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Predicted noise ε for noisy images x_t at integer timesteps."""
        return self.unet(noisy, timesteps, class_labels=self.embed(labels)).sample

    def noise_schedule(self):
        from diffusers import DDPMScheduler

        return DDPMScheduler(num_train_timesteps=self.num_train_timesteps, beta_schedule="squaredcos_cap_v2")

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return (3, self.image_size, self.image_size)

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None,
               latents: torch.Tensor | None = None, steps: int = 25, guidance: float = 3.0, solver: str = "ddim",
               progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] for country indices or weights; `latents` fixes the starting noise."""
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

        base = self.noise_schedule()
        sched = (DPMSolverMultistepScheduler if solver == "dpm" else DDIMScheduler).from_config(base.config)
        sched.set_timesteps(steps)
        b = labels.shape[0]
        device = self.label_embed.weight.device
        x = latents if latents is not None else torch.randn((b, *self.latent_shape), generator=generator)
        x = x.to(device)
        cond = self.embed(labels.to(device))
        uncond = self.label_embed.weight[self.null_label].expand(b, -1)
        for i, t in enumerate(sched.timesteps):
            tt = torch.full((b,), int(t), device=device, dtype=torch.long)
            if guidance == 1.0:
                eps = self.unet(x, tt, class_labels=cond).sample
            else:  # one batched call for both branches of classifier-free guidance
                both = self.unet(torch.cat([x, x]), torch.cat([tt, tt]), class_labels=torch.cat([cond, uncond])).sample
                e_c, e_u = both.chunk(2)
                eps = e_u + guidance * (e_c - e_u)
            x = sched.step(eps, t, x).prev_sample
            if progress is not None:
                progress(i + 1, len(sched.timesteps))
        return ((x.clamp(-1, 1) + 1) / 2).float()
