"""The sharp country model: a class-conditional diffusion model on diffusers' `UNet2DModel`.

Why diffusion: the study's CVAE averages (blurry) and its decoder learns to ignore the label ("not great difference
between countries"). A denoising model trained with classifier-free guidance can turn the country signal up at
sampling time. The label goes through our own embedding table (plus a "no country" row for guidance) and is added
to the time embedding (`class_embed_type="identity"`). This class only predicts ε; `streetgen.sampling` owns the
denoising loop, its guidance (a morph mixes the countries' predictions, not their embedding rows) and the start
prior's use.

Why patches: a CPU must draw 4 images at 128² in a few seconds, so the U-Net never sees full resolution. With
`patch_size=4` each 4×4 pixel block becomes 48 channels (pixel_unshuffle) and the U-Net runs at 32² — 16× fewer
positions — while the loss stays per pixel. Higher resolution keeps more signal at a given noise level, so the
cosine schedule is shifted toward noise (`noise_shift`, the "simple diffusion" log-SNR shift) to keep the coarse
layout decided at the high-noise steps, as it is at 64². The price is a fixed 4-pixel grid in an under-trained
model's samples, which the sampler takes out afterwards (`streetgen.sampling.lattice`).

Why a start prior: sampling starts at t = 900 (t = 999 has α̅ ≈ 1e-9, where an ε-model's x0 is meaningless), and
there the shifted schedule still leaves α̅ = 0.006 — enough that the image-wide colour of x_t tells the model the
image's colour (Lin et al., 2024, on non-zero terminal SNR); pure noise says "mid grey". With `start_grid` > 0 the
model keeps, as weights, each country's mean and the pooled covariance of 4×4 block means of its training images
(`fit_start_prior`); the sampler gives the starting noise that signal (`streetgen.sampling.start`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.models.base import StreetgenModel


def shifted_cosine_betas(steps: int, shift: float) -> list[float]:
    """β_t of the cosine schedule whose log-SNR is lowered by 2·log(shift) (shift = 1: the plain cosine)."""
    def alpha_bar(s: float) -> float:
        t = min(max(s, 1e-5), 1 - 1e-5)
        logsnr = -2 * math.log(math.tan(math.pi * t / 2)) - 2 * math.log(shift)
        return 1 / (1 + math.exp(-logsnr))

    return [min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), 0.999) for i in range(steps)]


class CountryDiffusion(StreetgenModel, architecture="country_diffusion"):
    """ε-prediction DDPM over images in [-1, 1]; `streetgen.sampling.sample_diffusion` samples from it."""

    def __init__(self, countries: list[str] | None = None, image_size: int = 64,
                 block_out_channels: tuple[int, ...] | list[int] = (64, 128, 128, 256), layers_per_block: int = 2,
                 attention: tuple[bool, ...] | list[bool] = (False, False, True, True), norm_num_groups: int = 16,
                 num_train_timesteps: int = 1000, patch_size: int = 1, noise_shift: float = 1.0,
                 start_grid: int = 0):
        super().__init__()
        # Submodule imports: diffusers' lazy top-level `from diffusers import X` is not thread-safe, and the app
        # may load two models at once from its worker threads.
        from diffusers.models.unets.unet_2d import UNet2DModel

        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.countries = list(countries or [])
        self.image_size = image_size
        self.patch_size = patch_size
        self.noise_shift = noise_shift
        self.num_train_timesteps = num_train_timesteps
        down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention)
        up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention))
        channels = 3 * patch_size ** 2
        self.unet = UNet2DModel(sample_size=image_size // patch_size, in_channels=channels, out_channels=channels,
                                block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
                                down_block_types=down, up_block_types=up, norm_num_groups=norm_num_groups,
                                class_embed_type="identity")
        # Row k = country k; the last row = "no country" (the unconditional branch of classifier-free guidance).
        self.label_embed = nn.Embedding(len(self.countries) + 1, block_out_channels[0] * 4)
        if start_grid < 0 or (start_grid and image_size % start_grid):
            raise ValueError(f"start_grid must be 0 or divide image_size {image_size}, got {start_grid}")
        self.start_grid = start_grid
        if start_grid:  # zeros until fit_start_prior: a zero prior leaves the starting noise as it is
            dim = 3 * start_grid ** 2
            self.register_buffer("start_mean", torch.zeros(len(self.countries) + 1, dim))
            self.register_buffer("start_chol", torch.zeros(dim, dim))

    @torch.no_grad()
    def fit_start_prior(self, images, labels, batch: int = 1024) -> None:
        """Fit the start prior from uint8 images (N, H, W, 3) (array or tensor) and country indices (N,): each
        country's mean of the start_grid² block means, their pooled within-country covariance (Cholesky factor);
        the "no country" row and countries without images get the overall mean."""
        if not self.start_grid:
            raise ValueError("this model has start_grid=0 (no start prior)")
        labels = torch.as_tensor(labels).long().cpu()
        k, dim = len(self.countries) + 1, self.start_mean.shape[1]
        sums, counts = torch.zeros(k, dim, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
        outer = torch.zeros(dim, dim, dtype=torch.float64)
        for i in range(0, len(labels), batch):
            chunk = images[i:i + batch]
            chunk = chunk if isinstance(chunk, torch.Tensor) else torch.from_numpy(np.array(chunk, dtype=np.uint8))
            x = chunk.permute(0, 3, 1, 2).float().div(127.5).sub(1)
            f = F.adaptive_avg_pool2d(x, self.start_grid).flatten(1).double().cpu()
            y = labels[i:i + batch]
            sums.index_add_(0, y, f)
            counts.index_add_(0, y, torch.ones(len(y), dtype=torch.float64))
            outer += f.T @ f
        seen = counts > 0
        if not seen.any():
            raise ValueError("fit_start_prior needs at least one image")
        means = sums / counts.clamp_min(1)[:, None]
        within = outer - (means[seen].T * counts[seen]) @ means[seen]  # Σ over countries of their scatter
        cov = within / max(1.0, counts.sum().item() - seen.sum().item())
        overall = sums.sum(0) / counts.sum()
        means[~seen] = overall
        means[-1] = overall
        chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(dim, dtype=torch.float64))
        self.start_mean.copy_(means.to(self.start_mean.dtype))
        self.start_chol.copy_(chol.to(self.start_chol.dtype))

    @property
    def null_label(self) -> int:
        """The "no country" row of the embedding (the unconditional branch of classifier-free guidance)."""
        return len(self.countries)

    def embed(self, labels: torch.Tensor) -> torch.Tensor:
        """Indices (B,) or weights over countries (B, n) / (B, n + 1) → class embeddings."""
        if labels.dim() == 1:
            return self.label_embed(labels)
        w = labels if labels.shape[1] == self.label_embed.num_embeddings else \
            torch.cat([labels, torch.zeros_like(labels[:, :1])], dim=1)
        return w @ self.label_embed.weight

    def predict(self, noisy: torch.Tensor, timesteps: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        """Predicted noise ε for noisy images x_t at integer timesteps, given class embeddings (`embed` rows or
        `label_terms` embeddings): the samplers call this to batch several labels' terms in one pass."""
        p = self.patch_size
        x = F.pixel_unshuffle(noisy, p) if p > 1 else noisy
        eps = self.unet(x, timesteps, class_labels=class_emb).sample
        return F.pixel_shuffle(eps, p) if p > 1 else eps

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Predicted noise ε for noisy images x_t at integer timesteps."""
        return self.predict(noisy, timesteps, self.embed(labels))

    def label_terms(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(rows, embeddings, weights): one term per (image, country) with a non-zero weight. Indices (B,) give one
        term per image; weights (B, n) or (B, n + 1) are normalised per row (each row needs a positive sum)."""
        device = self.label_embed.weight.device
        labels = labels.to(device)
        if labels.dim() == 1:
            rows = torch.arange(labels.shape[0], device=device)
            return rows, self.label_embed(labels), torch.ones(labels.shape[0], device=device)
        if labels.dim() != 2 or labels.shape[1] not in (len(self.countries), len(self.countries) + 1):
            raise ValueError(f"label weights must be (B, {len(self.countries)}) or (B, {len(self.countries) + 1}), "
                             f"got {tuple(labels.shape)}")
        weights = labels.float()
        total = weights.sum(dim=1, keepdim=True)
        if (weights < 0).any() or (total <= 0).any():
            raise ValueError("label weights must be non-negative with a positive sum in every row")
        weights = weights / total
        rows, cols = weights.nonzero(as_tuple=True)
        return rows, self.label_embed.weight[cols], weights[rows, cols]

    def check_autoguide(self, weaker: "CountryDiffusion") -> None:
        """ValueError unless `weaker` can autoguide this model: a country diffusion model with the same countries
        (same order), image size, patches and noise schedule, so its ε answers the same question."""
        if not isinstance(weaker, CountryDiffusion):
            raise ValueError(f"an autoguide must be a country diffusion model, got {type(weaker).__name__}")
        problems = []
        if list(weaker.countries) != self.countries:
            problems.append("a different country list (or order)")
        for name in ("image_size", "patch_size", "noise_shift", "num_train_timesteps"):
            if getattr(weaker, name) != getattr(self, name):
                problems.append(f"{name} {getattr(weaker, name)} vs {getattr(self, name)}")
        if problems:
            raise ValueError("this autoguide does not fit the diffusion model: " + "; ".join(problems))

    def noise_schedule(self):
        """The DDPM noise schedule the model was trained with (cosine, shifted by `noise_shift`)."""
        from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

        if self.noise_shift == 1.0:
            return DDPMScheduler(num_train_timesteps=self.num_train_timesteps, beta_schedule="squaredcos_cap_v2")
        return DDPMScheduler(num_train_timesteps=self.num_train_timesteps,
                             trained_betas=shifted_cosine_betas(self.num_train_timesteps, self.noise_shift))

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """Shape of one image's starting noise: (3, image_size, image_size)."""
        return (3, self.image_size, self.image_size)
