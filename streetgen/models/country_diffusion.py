"""The sharp country model: a class-conditional diffusion model on diffusers' `UNet2DModel`.

Why diffusion: the study's CVAE averages (blurry) and its decoder learns to ignore the label ("not great difference
between countries"). A denoising model trained with classifier-free guidance can turn the country signal up at
sampling time. The label goes through our own embedding table (plus a "no country" row for guidance) and is added
to the time embedding (`class_embed_type="identity"`). A mixture of countries (the morph) mixes the countries'
predictions, not their embedding rows (`mixture_eps`).

Why patches: a CPU must draw 4 images at 128² in a few seconds, so the U-Net never sees full resolution. With
`patch_size=4` each 4×4 pixel block becomes 48 channels (pixel_unshuffle) and the U-Net runs at 32² — 16× fewer
positions — while the loss stays per pixel. Higher resolution keeps more signal at a given noise level, so the
cosine schedule is shifted toward noise (`noise_shift`, the "simple diffusion" log-SNR shift) to keep the coarse
layout decided at the high-noise steps, as it is at 64². The price is a fixed 4-pixel grid in an under-trained
model's samples, which `remove_patch_lattice` takes out after sampling.

Why a start prior: sampling starts at t = 900 (t = 999 has α̅ ≈ 1e-9, where an ε-model's x0 is meaningless), and
there the shifted schedule still leaves α̅ = 0.006 — enough that the image-wide colour of x_t tells the model the
image's colour (Lin et al., 2024, on non-zero terminal SNR). Pure noise says "mid grey", so samples came out grey
(mean 124/255 vs 101 in real renders, half their spread). With `start_grid` > 0 the model keeps each country's
mean and the pooled covariance of 4×4 block means of its training images (`fit_start_prior`), and the starting
noise gets the country's mean (or a draw around it, `start_spread`) at the starting step's α̅, as the forward
process would have put it there.
"""
from __future__ import annotations

import math
from typing import Callable

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


def remove_patch_lattice(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Images (B, C, H, W) without their image-wide `patch`-periodic pattern: each of the patch² pixel phases
    (pixels at the same (y mod p, x mod p)) loses its mean deviation from the patch mean.

    Why: a U-Net on p×p patches leaves a fixed grid its training has not yet ironed out — on the shipped model
    9% of the image's (non-DC) power sits at the lattice frequencies k·H/p, against 0.06% in real renders — and
    those frequencies are exactly the phases' image-wide means, so subtracting them removes the grid and nothing
    else (the same as zeroing the lattice bins of the spectrum)."""
    if patch <= 1:
        return images
    b, c, h, w = images.shape
    phases = F.pixel_unshuffle(images, patch).view(b, c, patch * patch, h // patch, w // patch)
    deviation = phases - phases.mean(dim=2, keepdim=True)
    lattice = deviation.mean(dim=(3, 4), keepdim=True)
    return F.pixel_shuffle((phases - lattice).view(b, c * patch * patch, h // patch, w // patch), patch)


def block_means(images: torch.Tensor, grid: int) -> torch.Tensor:
    """Images (B, C, H, W) → each pixel replaced by the mean of its cell in a grid × grid tiling (the orthogonal
    projection onto piecewise-constant images: subtracting it leaves the rest of a white noise white)."""
    cell = images.shape[-1] // grid
    return F.interpolate(F.avg_pool2d(images, cell), scale_factor=cell, mode="nearest")


def _sum_terms(like: torch.Tensor, rows: torch.Tensor, preds: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per image, the weighted sum of its terms' predictions (`label_terms` rows and weights): (B, 3, H, W)."""
    return torch.zeros_like(like).index_add_(0, rows, preds * weights.to(preds.dtype)[:, None, None, None])


class CountryDiffusion(StreetgenModel, architecture="country_diffusion"):
    """ε-prediction DDPM over images in [-1, 1]; `sample` runs DPM-Solver or DDIM with classifier-free guidance."""

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

    def start_signal(self, labels: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Low-frequency images (B, 3, H, W) drawn from the start prior: labels' (mixed) means + chol · noise,
        noise (B, 3·start_grid²) standard normal; bilinearly upsampled from the start_grid² block means."""
        if labels.dim() == 1:
            mean = self.start_mean[labels.to(self.start_mean.device)]
        else:
            w = labels.to(self.start_mean.device, self.start_mean.dtype)
            mean = (w / w.sum(dim=1, keepdim=True)) @ self.start_mean[:w.shape[1]]
        low = mean + noise.to(mean) @ self.start_chol.T
        g = self.start_grid
        return F.interpolate(low.view(-1, 3, g, g).float(), size=(self.image_size, self.image_size),
                             mode="bilinear", align_corners=False)

    def _country_weights(self, labels: torch.Tensor) -> torch.Tensor:
        """Country indices (B,) or weights (B, n) / (B, n + 1) → weights over the n countries (B, n)."""
        n = len(self.countries)
        if labels.dim() == 1:
            return F.one_hot(labels.long().cpu(), n + 1)[:, :n].float()
        return labels[:, :n].float().cpu()

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

    def _eps(self, noisy: torch.Tensor, timesteps: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        x = F.pixel_unshuffle(noisy, p) if p > 1 else noisy
        eps = self.unet(x, timesteps, class_labels=class_emb).sample
        return F.pixel_shuffle(eps, p) if p > 1 else eps

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Predicted noise ε for noisy images x_t at integer timesteps."""
        return self._eps(noisy, timesteps, self.embed(labels))

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

    def mixture_eps(self, x: torch.Tensor, timesteps: torch.Tensor, terms, guidance: float,
                    weaker: "CountryDiffusion | None" = None, weaker_terms=None, autoguidance: float = 0.0
                    ) -> torch.Tensor:
        """ε for each image as the weighted sum of its countries' predictions, guided by `guidance`; with a
        `weaker` model (its own `label_terms` for the same labels) and `autoguidance` > 0, also pushed away from
        what the weaker model predicts for the same countries: + autoguidance · (ε_c − ε_weaker,c).

        Why mix predictions, not embeddings: a weighted sum of two embedding rows is a point the network never saw
        (half-way between Japan and Norway its norm drops by a quarter) and, under guidance 12, sampling from it gave
        pure noise; a weighted sum of the two countries' ε is a mixture of two scores the model does know
        (composable diffusion, Liu et al., 2022). One-hot rows cost what they did before (one term per image)."""
        rows, emb, weights = terms
        b = x.shape[0]
        if guidance == 1.0:
            out = self._eps(x[rows], timesteps[rows], emb)
        else:  # one batched call for every term and the unconditional branch
            uncond = self.label_embed.weight[self.null_label].expand(b, -1)
            both = self._eps(torch.cat([x[rows], x]), torch.cat([timesteps[rows], timesteps]), torch.cat([emb, uncond]))
            out, e_u = both[:len(rows)], both[len(rows):]
        e_c = _sum_terms(x, rows, out, weights)
        eps = e_c if guidance == 1.0 else e_u + guidance * (e_c - e_u)
        if weaker is not None and autoguidance:
            w_rows, w_emb, w_weights = weaker_terms
            e_w = _sum_terms(x, w_rows, weaker._eps(x[w_rows], timesteps[w_rows], w_emb).to(out.dtype), w_weights)
            eps = eps + autoguidance * (e_c - e_w)
        return eps

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
        from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

        if self.noise_shift == 1.0:
            return DDPMScheduler(num_train_timesteps=self.num_train_timesteps, beta_schedule="squaredcos_cap_v2")
        return DDPMScheduler(num_train_timesteps=self.num_train_timesteps,
                             trained_betas=shifted_cosine_betas(self.num_train_timesteps, self.noise_shift))

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return (3, self.image_size, self.image_size)

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None,
               latents: torch.Tensor | None = None, steps: int = 10, guidance: float = 12.0,
               solver: str = "ddim", guidance_interval: tuple[float, float] = (0.1, 0.9),
               shared_noise: bool = False, progress: Callable[[int, int], None] | None = None,
               init_images: torch.Tensor | None = None, strength: float = 1.0,
               degrid: bool = True, start_prior: bool = True, start_spread: float = 0.0,
               guide: nn.Module | None = None, guide_scale: float = 0.0,
               seed_low_grid: int = 4, autoguide: "CountryDiffusion | None" = None,
               autoguide_scale: float = 0.0) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] for country indices or weights; `latents` fixes the starting noise.

        Weights (B, n): each image follows the weighted mixture of its countries' predictions (`mixture_eps`).

        init_images (B, 3, H, W) in [0, 1] with strength in (0, 1]: SDEdit (Meng et al., 2022) — the images are
        noised to the step that `strength` of the schedule leaves (1 = pure noise, the images forgotten) and
        denoised toward the labels from there; low strength keeps the scene, high strength takes the place's style.
        `latents` is then the noise that is added.
        solver: "ddim" (the default), "dpm" (DPM-Solver++ 2M) or "sde-dpm" (SDE-DPM-Solver++ 2M, the default until
        2026-11-24: its fresh noise each step hid the patch grid, which `degrid` now removes for every solver). The
        place judge prefers DDIM by far: country top-1 17.1% vs 9.3% for sde-dpm at 666 images, FD 37.3 vs 53.9.
        guidance_interval=(lo, hi): classifier-free guidance only while t / T lies in [lo, hi] — at the noisiest
        and the last steps it adds little (Kynkäänniemi et al., 2024), and each unguided step costs half.
        shared_noise: every row gets the same per-step noise (morphs: frames differ only by their label).
        guide, guide_scale: classifier guidance (Dhariwal & Nichol, 2021) by a noise-aware country classifier
        (`streetgen.models.country_guide.CountryGuide`, trained for this model): in the guided interval each ε
        loses guide_scale · √(1 − α̅_t) · ∇ log p(country | x_t), on top of classifier-free guidance. 0 = off.
        autoguide, autoguide_scale: autoguidance (Karras et al., 2024) by a weaker version of this model (e.g. an
        earlier export): in the guided interval ε gains autoguide_scale · (ε_c − ε_weaker,c), on top of
        classifier-free guidance; one more forward pass of the weaker model per guided step. 0 = off. Measured on
        the shipped model with its H100 export as the weaker one: see the pipeline's AUTOGUIDE_SCALE.
        degrid: remove the patch grid from the result (`remove_patch_lattice`; patch models only).
        start_prior: give the starting noise the country's low-frequency signal (models with start_grid > 0; not
        with init_images, which bring their own). start_spread scales the draw around the country's mean: 0 (the
        default) adds the mean alone, 1 a full draw from the fitted covariance. Measured on the shipped model at
        1,332 images: mean only 16.1% top-1 / FD 26.7, full draws 14.7% / 29.9, no prior 16.3% / 37.1 — a draw
        shared by a seed shifts every country's picture alike, and the model adds the spread between images itself.
        seed_low_grid: with the start prior, the starting noise loses its own block means on this grid (0 keeps
        them: the sampler before 2026-12-06). Those block means are as large as the country's signal at the first
        step (white noise's 32×32-pixel means have σ 1/32 against √α̅ · signal ≈ 0.02), so they, not the country,
        set a seed's colour cast and light, and the eval's k-th seed does it to all 111 countries alike: on seeds
        nothing was tuned on (`python -m streetgen.eval --task country --n 6 --seed 9100`) top-1 per seed 5%–19%,
        mean 14.4%, FD 44.8; with the 4×4 means removed 14%–23%, 17.6%, FD 34.7. An 8×8 grid scores the same
        (16.4%) but makes a country's samples near-copies of one layout; 4×4 keeps them visibly different.
        guidance 12 (the default) was picked by the place judge on the shipped model with sde-dpm: top-1 6.6% / 9.9% /
        9.6% / 11.4% / 8.7% at 6 / 10 / 12 / 15 / 20, judge-feature FD 60.8 / 49.6 / 46.4 / 48.7 / 66.3 (333 images);
        past ~15 colours burn and the judge loses the place again. Those numbers keep the grid; removing it
        (degrid, the default since) gives 11.7% / FD 37.7 at 333 images and ties at 666 (9.3% vs 8.9%).
        """
        from diffusers.schedulers.scheduling_ddim import DDIMScheduler
        from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

        if solver not in ("sde-dpm", "dpm", "ddim"):
            raise ValueError(f"solver must be 'sde-dpm', 'dpm' or 'ddim', got {solver!r}")
        if not 1 <= int(steps) <= 1000:
            raise ValueError(f"steps must be between 1 and 1000, got {steps!r}")
        if not 0.0 <= float(start_spread) <= 3.0:
            raise ValueError(f"start_spread must be in [0, 3], got {start_spread!r}")
        if isinstance(seed_low_grid, bool) or not isinstance(seed_low_grid, int) or seed_low_grid < 0 or (
                seed_low_grid and self.image_size % seed_low_grid):
            raise ValueError(f"seed_low_grid must be 0 or an integer dividing {self.image_size}, got {seed_low_grid!r}")
        config = self.noise_schedule().config
        # "leading" spacing starts below t = T, where the shifted schedule's α̅ is ~1e-9 and x0 = (x − σε)/α
        # would blow up in the multistep solvers. (Passed as a keyword: from_config ignores an edited dict.)
        if solver == "ddim":
            sched = DDIMScheduler.from_config(config, timestep_spacing="leading")
        else:
            sched = DPMSolverMultistepScheduler.from_config(
                config, timestep_spacing="leading",
                algorithm_type="sde-dpmsolver++" if solver == "sde-dpm" else "dpmsolver++")
        sched.set_timesteps(int(steps))
        b = labels.shape[0]
        device = self.label_embed.weight.device
        x = latents if latents is not None else torch.randn((b, *self.latent_shape), generator=generator)
        x = x.to(device)
        timesteps = sched.timesteps
        if init_images is not None:
            if not 0.0 < float(strength) <= 1.0:
                raise ValueError(f"strength must be in (0, 1], got {strength!r}")
            if tuple(init_images.shape) != (b, *self.latent_shape):
                raise ValueError(f"init_images must be {(b, *self.latent_shape)}, got {tuple(init_images.shape)}")
            keep = max(1, min(len(timesteps), round(len(timesteps) * float(strength))))
            timesteps = timesteps[len(timesteps) - keep:]
            if hasattr(sched, "set_begin_index"):  # multistep solvers: their step counter starts here, not at 0
                sched.set_begin_index(len(sched.timesteps) - keep)
            if float(strength) < 1.0:
                x = sched.add_noise(init_images.to(device, torch.float32) * 2 - 1, x, timesteps[:1].repeat(b))
        noise_gen = generator if generator is not None else torch.Generator().manual_seed(0)
        terms = self.label_terms(labels)  # also validates the labels
        guide_scale = float(guide_scale)
        if not 0.0 <= guide_scale <= 100.0:
            raise ValueError(f"guide_scale must be in [0, 100], got {guide_scale!r}")
        if guide_scale and guide is None:
            raise ValueError("guide_scale > 0 needs a guide (a CountryGuide trained for this model)")
        if guide_scale:
            guide.check_matches(self)
            guide_weights = self._country_weights(labels).to(device)
        autoguide_scale = float(autoguide_scale)
        if not 0.0 <= autoguide_scale <= 100.0:
            raise ValueError(f"autoguide_scale must be in [0, 100], got {autoguide_scale!r}")
        if autoguide_scale and autoguide is None:
            raise ValueError("autoguide_scale > 0 needs an autoguide (a weaker country diffusion model)")
        weaker_terms = None
        if autoguide_scale:
            self.check_autoguide(autoguide)
            weaker_terms = autoguide.label_terms(labels)
        if start_prior and self.start_grid and init_images is None:
            a0 = float(sched.alphas_cumprod[int(timesteps[0])])
            z = torch.randn((1 if shared_noise else b, 3 * self.start_grid ** 2), generator=noise_gen) * start_spread
            signal = self.start_signal(labels, z.expand(b, -1)).to(device)
            if seed_low_grid:
                x = x - block_means(x, seed_low_grid)
            x = (1 - a0) ** 0.5 * x + a0 ** 0.5 * signal
        lo, hi = guidance_interval
        for i, t in enumerate(timesteps):
            tt = torch.full((b,), int(t), device=device, dtype=torch.long)
            guided = lo <= int(t) / self.num_train_timesteps <= hi
            eps = self.mixture_eps(x, tt, terms, float(guidance) if guided else 1.0, autoguide, weaker_terms,
                                   autoguide_scale if guided else 0.0)
            if guide_scale and guided:
                a_t = float(sched.alphas_cumprod[int(t)])
                eps = eps - guide_scale * (1 - a_t) ** 0.5 * guide.log_prob_grad(x, tt, guide_weights).to(eps)
            if solver == "sde-dpm":
                noise = torch.randn((1 if shared_noise else b, *self.latent_shape), generator=noise_gen)
                x = sched.step(eps, t, x, variance_noise=noise.expand_as(x).to(device)).prev_sample
            else:
                x = sched.step(eps, t, x).prev_sample
            if progress is not None:
                progress(i + 1, len(timesteps))
        if degrid:
            x = remove_patch_lattice(x, self.patch_size)
        return ((x.clamp(-1, 1) + 1) / 2).float()
