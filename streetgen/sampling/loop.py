"""The denoising loop of the country diffusion model: start, guided steps, finish."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn as nn

from streetgen.sampling.guidance import GuidancePlan, guided_eps, plan_guidance
from streetgen.sampling.lattice import remove_patch_lattice
from streetgen.sampling.schedulers import check_solver, make_scheduler
from streetgen.sampling.start import add_start_prior, check_start_options, sdedit_start

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    from streetgen.models.country_diffusion import CountryDiffusion


@dataclass(frozen=True)
class DiffusionOptions:
    """The sampler's options; the defaults are the shipped sampler (measurements: the model's card).

    solver: "ddim", "dpm" or "sde-dpm". guidance: classifier-free guidance, only while t / T lies in
    guidance_interval. shared_noise: every row gets the same fresh noise (morphs: frames differ only by their
    label). init_images (B, 3, H, W) in [0, 1] with strength in (0, 1]: SDEdit; low strength keeps the scene.
    degrid: remove the patch grid from the result. start_prior: give the starting noise the country's
    low-frequency signal (models with start_grid > 0, not with init_images); start_spread scales the draw around
    the country's mean (0: the mean alone) and seed_low_grid > 0 removes the seed's own block means on that grid
    first. guide/guide_scale: classifier guidance by a `CountryGuide` trained for this model; autoguide/
    autoguide_scale: autoguidance (Karras et al., 2024) by a weaker version of this model. A scale of 0 is off."""

    steps: int = 10
    guidance: float = 12.0
    solver: str = "ddim"
    guidance_interval: tuple[float, float] = (0.1, 0.9)
    shared_noise: bool = False
    init_images: torch.Tensor | None = None
    strength: float = 1.0
    degrid: bool = True
    start_prior: bool = True
    start_spread: float = 0.0
    guide: nn.Module | None = None
    guide_scale: float = 0.0
    seed_low_grid: int = 4
    autoguide: nn.Module | None = None
    autoguide_scale: float = 0.0


@torch.no_grad()
def sample_diffusion(model: CountryDiffusion, labels: torch.Tensor, generator: torch.Generator | None = None,
                     latents: torch.Tensor | None = None, progress: Callable[[int, int], None] | None = None,
                     **options) -> torch.Tensor:
    """Images (B, 3, H, W) in [0, 1] from a `CountryDiffusion` for country indices (B,) or weights (B, n) (each
    image then follows the mixture of its countries' predictions); `latents` fixes the starting noise (with
    init_images: the noise that is added), `generator` draws it and any noise on the way, `progress(done, total)`
    is called after each step; `options` are `DiffusionOptions` fields."""
    opts = DiffusionOptions(**options)
    check_solver(opts.solver, opts.steps)
    check_start_options(model.image_size, opts.start_spread, opts.seed_low_grid)
    sched = make_scheduler(model, opts.solver, opts.steps)
    device = model.label_embed.weight.device
    x = latents if latents is not None else torch.randn((labels.shape[0], *model.latent_shape), generator=generator)
    x = x.to(device)
    timesteps = sched.timesteps
    if opts.init_images is not None:
        x, timesteps = sdedit_start(sched, x, opts.init_images, opts.strength, model.latent_shape)
    noise_gen = generator if generator is not None else torch.Generator().manual_seed(0)
    plan = plan_guidance(model, labels, opts.guidance, opts.guidance_interval, opts.guide, opts.guide_scale,
                         opts.autoguide, opts.autoguide_scale)
    if opts.start_prior and model.start_grid and opts.init_images is None:
        x = add_start_prior(model, x, labels, float(sched.alphas_cumprod[int(timesteps[0])]), noise_gen,
                            opts.shared_noise, opts.start_spread, opts.seed_low_grid)
    stochastic = opts.solver == "sde-dpm"
    x = denoise(model, sched, x, timesteps, plan, noise_gen, stochastic, opts.shared_noise, progress)
    if opts.degrid:
        x = remove_patch_lattice(x, model.patch_size)
    return ((x.clamp(-1, 1) + 1) / 2).float()


def denoise(model: CountryDiffusion, sched: SchedulerMixin, x: torch.Tensor, timesteps: torch.Tensor,
            plan: GuidancePlan, noise_gen: torch.Generator, stochastic: bool, shared_noise: bool,
            progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """x_t walked down `timesteps` by `sched` with the plan's guided ε; a stochastic solver (sde-dpm) draws each
    step's fresh noise from noise_gen (one draw for every row with shared_noise)."""
    for i, t in enumerate(timesteps):
        eps = guided_eps(model, plan, x, int(t), sched.alphas_cumprod)
        if stochastic:
            noise = torch.randn((1 if shared_noise else x.shape[0], *model.latent_shape), generator=noise_gen)
            x = sched.step(eps, t, x, variance_noise=noise.expand_as(x).to(x.device)).prev_sample
        else:
            x = sched.step(eps, t, x).prev_sample
        if progress is not None:
            progress(i + 1, len(timesteps))
    return x
