"""Where the denoising chain starts: SDEdit from given images, or noise given the country's start prior.

Why a start prior: sampling starts below t = T, where the shifted schedule still leaves enough α̅ that the image-wide
colour of x_t tells the model the image's colour, and pure noise says "mid grey". A model with `start_grid` > 0
keeps each country's mean (and pooled covariance) of its training images' block means; the starting noise gets that
signal at the first step's α̅, as the forward process would have put it there.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    from streetgen.models.country_diffusion import CountryDiffusion


def block_means(images: torch.Tensor, grid: int) -> torch.Tensor:
    """Images (B, C, H, W) → each pixel replaced by the mean of its cell in a grid × grid tiling (the orthogonal
    projection onto piecewise-constant images: subtracting it leaves the rest of a white noise white)."""
    cell = images.shape[-1] // grid
    return F.interpolate(F.avg_pool2d(images, cell), scale_factor=cell, mode="nearest")


def check_start_options(image_size: int, start_spread: float, seed_low_grid: int) -> None:
    """ValueError unless start_spread lies in [0, 3] and seed_low_grid is 0 or an integer dividing image_size."""
    if not 0.0 <= float(start_spread) <= 3.0:
        raise ValueError(f"start_spread must be in [0, 3], got {start_spread!r}")
    if isinstance(seed_low_grid, bool) or not isinstance(seed_low_grid, int) or seed_low_grid < 0 or (
            seed_low_grid and image_size % seed_low_grid):
        raise ValueError(f"seed_low_grid must be 0 or an integer dividing {image_size}, got {seed_low_grid!r}")


def start_signal(model: CountryDiffusion, labels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Low-frequency images (B, 3, H, W) drawn from `model`'s start prior: the labels' (mixed) means + chol · noise,
    noise (B, 3·start_grid²) standard normal; bilinearly upsampled from the start_grid² block means."""
    if labels.dim() == 1:
        mean = model.start_mean[labels.to(model.start_mean.device)]
    else:
        w = labels.to(model.start_mean.device, model.start_mean.dtype)
        mean = (w / w.sum(dim=1, keepdim=True)) @ model.start_mean[:w.shape[1]]
    low = mean + noise.to(mean) @ model.start_chol.T
    g = model.start_grid
    return F.interpolate(low.view(-1, 3, g, g).float(), size=(model.image_size, model.image_size),
                         mode="bilinear", align_corners=False)


def add_start_prior(model: CountryDiffusion, x: torch.Tensor, labels: torch.Tensor, alpha_bar: float,
                    noise_gen: torch.Generator, shared_noise: bool, start_spread: float,
                    seed_low_grid: int) -> torch.Tensor:
    """The starting noise x given the labels' start signal at α̅ = alpha_bar: √(1 − α̅)·x + √α̅·signal.

    start_spread scales the draw around the country's mean (0: the mean alone); seed_low_grid > 0 first removes
    the noise's own block means on that grid, which would otherwise set each seed's colour cast."""
    b = x.shape[0]
    z = torch.randn((1 if shared_noise else b, 3 * model.start_grid ** 2), generator=noise_gen) * start_spread
    signal = start_signal(model, labels, z.expand(b, -1)).to(x.device)
    if seed_low_grid:
        x = x - block_means(x, seed_low_grid)
    return (1 - alpha_bar) ** 0.5 * x + alpha_bar ** 0.5 * signal


def sdedit_start(sched: SchedulerMixin, x: torch.Tensor, init_images: torch.Tensor, strength: float,
                 latent_shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, the timesteps left) for SDEdit (Meng et al., 2022): init_images (B, 3, H, W) in [0, 1] noised by x
    to the step that `strength` in (0, 1] of the schedule leaves (1: pure noise, the images forgotten)."""
    b = x.shape[0]
    timesteps = sched.timesteps
    if not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"strength must be in (0, 1], got {strength!r}")
    if tuple(init_images.shape) != (b, *latent_shape):
        raise ValueError(f"init_images must be {(b, *latent_shape)}, got {tuple(init_images.shape)}")
    keep = max(1, min(len(timesteps), round(len(timesteps) * float(strength))))
    timesteps = timesteps[len(timesteps) - keep:]
    if hasattr(sched, "set_begin_index"):  # multistep solvers: their step counter starts here, not at 0
        sched.set_begin_index(len(sched.timesteps) - keep)
    if float(strength) < 1.0:
        x = sched.add_noise(init_images.to(x.device, torch.float32) * 2 - 1, x, timesteps[:1].repeat(b))
    return x, timesteps
