"""Train the sharp country model: class-conditional DDPM (diffusers UNet2DModel) with classifier-free guidance.

    # the same kind of cache as the CVAE (world renders or real OSV-5M); 128² in 4×4 patches:
    python -m train.train_country_diffusion --data data/world_diffusion111_128 --name diffusion128 --time-limit 60
    # continue the shipped model (same countries in the same order, same architecture flags as its config.json):
    python -m train.train_country_diffusion --data data/world_diffusion111_128 --name more128 \
        --init-from checkpoints/country_diffusion --warmup-steps 1000 --batch-size 512 --time-limit 20
    # several GPUs: accelerate launch --multi_gpu --num_processes N -m train.train_country_diffusion ... --precision bf16

`--rival-weight 1` adds a logistic loss that makes the true country's ε-error beat a rival country's (mostly of the
same region style) on the same noisy image: one more forward pass per step (off by default; see docs/results.md).
On a CPU without native bf16 (AVX2 only) train in fp32 (`--precision no`): emulated bf16 is ~15x slower there.

Country labels are dropped 10% of the time (the "no country" row) so sampling can use classifier-free guidance.
Sample grids show every few countries with DDIM; export keeps only the EMA weights.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from streetgen import geo
from streetgen.data.licences import from_meta
from streetgen.data.shards import ShardedCache
from streetgen.models.card import ModelCardInfo
from streetgen.models.country_diffusion import CountryDiffusion
from streetgen.sampling import sample_diffusion
from train.common.data import to_model_input
from train.common.export import init_from
from train.common.loop import TrainConfig, Trainer, parse_config


@dataclass
class DiffusionConfig(TrainConfig,
                      name="country_diffusion", steps=60000, log_every=50, ckpt_every=1000, sample_every=2000,
                      ema_decay=0.9995):
    """Class-conditional diffusion over countries (the 'sharp' model beside the CVAE)."""

    data: str = "data/world_cvae111_128"  # a cache built by streetgen.data.cache
    image_size: int = 128  # the cache is resized on the fly when this is smaller
    patch_size: int = field(default=4, metadata={"shape": True, "help": "the U-Net runs at image_size / "
                                                                         "patch_size (CPU latency)"})
    noise_shift: float = 2.0  # cosine log-SNR shift; 2 at 128² keeps a 64²-like share of high-noise steps
    start_grid: int = 4  # start prior over 4×4 block means (0: none); fitted on the data before step 1
    start_prior_images: int = 10000  # images (a seeded random subset) the start prior is fitted on
    batch_size: int = field(default=64, metadata={"help": "per process"})
    lr: float = 2e-4  # AdamW learning rate after the warmup
    warmup_steps: int = 500  # linear learning-rate warmup
    channels: str = field(default="96,160,224", metadata={"shape": True,
                                                          "help": "U-Net block widths, comma-separated"})
    attention: str = field(default="0,0,1", metadata={"shape": True,
                                                      "help": "self-attention per block (1/0), comma-separated"})
    layers_per_block: int = field(default=1, metadata={"shape": True, "help": "ResNet layers per U-Net block"})
    label_dropout: float = 0.1  # share of samples trained as "no country" (for classifier-free guidance)
    p2_gamma: float = field(default=0.0, metadata={"help": "perception-prioritised loss weight 1/(k+SNR)^gamma "
                                                           "(Choi et al., 2022); 0 = plain ε-MSE"})
    p2_k: float = 1.0  # the k of the P2 weight (SNR offset)
    sample_steps: int = 12  # DDIM steps of the sample grids
    init_from: str = field(default="", metadata={"help": "an exported country_diffusion model (folder or Hub id) "
                                                        "whose weights start the run: same architecture flags "
                                                        "and the same countries in the same order; the start "
                                                        "prior is refitted on --data"})
    guidance: float = 3.0  # classifier-free guidance scale of the sample grids
    rival_weight: float = field(default=0.0, metadata={"help": "weight of the rival loss (0 = off): the true "
                                                               "country's ε-error must beat a rival country's "
                                                               "on the same noisy image"})
    rival_scale: float = field(default=1e4, metadata={"help": "per-pixel ε-error gap that counts as one logit, "
                                                              "inverted (1e4: a gap of 1e-4 is one logit)"})
    rival_same_region: float = field(default=0.8, metadata={"help": "share of rivals drawn from the true "
                                                                    "country's region style"})
    train_only: str = field(default="", metadata={"help": "train only the parameters whose names start with one of "
                                                         "these comma-separated prefixes, e.g. 'label_embed' (the "
                                                         "country embeddings); empty = all"})


def p2_weights(alphas_cumprod: torch.Tensor, gamma: float, k: float = 1.0) -> torch.Tensor:
    """Per-timestep loss weights 1/(k + SNR_t)^gamma, scaled to mean 1 over uniformly drawn timesteps.

    Why: with plain ε-MSE every timestep counts alike, and the nearly clean ones (SNR ≫ 1), which only polish
    pixels, take as much of the updates as the noisy ones where layout and colours — the country — are decided.
    gamma 0 gives all ones. The mean-1 scaling keeps the learning rate meaning what it did.
    """
    snr = alphas_cumprod / (1 - alphas_cumprod)
    weights = (k + snr).pow(-gamma)
    return weights / weights.mean()


def rival_table(countries: list[str]) -> list[list[int]]:
    """For each country index, the indices of the other countries of its region style (empty when it has none).

    Countries geo does not know (a real dataset's odd codes) count as their own region."""
    table = geo.countries()
    region = [table[c].region_style if c in table else f"?{c}" for c in countries]
    return [[j for j in range(len(countries)) if j != i and region[j] == region[i]] for i in range(len(countries))]


def draw_rivals(labels: torch.Tensor, same_region: list[list[int]], share: float,
                generator: torch.Generator) -> torch.Tensor:
    """One rival country per label, never the label itself: from its region style with probability `share`
    (where the region has another country), else uniformly from all the other countries."""
    n = len(same_region)
    coins = torch.rand(len(labels), generator=generator).tolist()
    picks = torch.rand(len(labels), generator=generator).tolist()
    rivals = []
    for label, coin, pick in zip(labels.tolist(), coins, picks):
        pool = same_region[label]
        if pool and coin < share:
            rivals.append(pool[int(pick * len(pool))])
        else:  # any other country: shift by 1..n-1 so the label itself is never drawn
            rivals.append((label + 1 + int(pick * (n - 1))) % n)
    return torch.tensor(rivals, dtype=labels.dtype)


def masked_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean of `values` over the rows whose 0/1 `weight` is 1 (all rows when None; 0 when none is)."""
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum().clamp(min=1)


def rival_loss(error_true: torch.Tensor, error_rival: torch.Tensor, scale: float,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Logistic loss on the gap between per-image ε-errors: small when the true country explains the noise better.

    Why: the model's implicit classifier — which label predicts the noise better — is what classifier-free
    guidance amplifies (how often it prefers the true country: docs/results.md, "A rival loss in training").
    Dividing by `scale` keeps the gradient of one image near ±1 × the gap's, like the ε-MSE's own.
    `weight` (0/1 per image) leaves rows out of the mean, e.g. those trained as "no country"."""
    return masked_mean(F.softplus(scale * (error_true - error_rival)) / scale, weight)


def freeze_except(model: torch.nn.Module, prefixes: str) -> list[torch.nn.Parameter]:
    """Leave only the parameters named with one of the comma-separated `prefixes` trainable (all when empty).

    Why: fine-tuning the 111 × 384 country embeddings alone on a frozen network changes what separates the
    countries and nothing of how a street is drawn; the backward pass then skips every weight gradient."""
    wanted = [p.strip() for p in prefixes.split(",") if p.strip()]
    if not wanted:
        return list(model.parameters())
    names = [name for name, _ in model.named_parameters()]
    unknown = [w for w in wanted if not any(name.startswith(w) for name in names)]
    if unknown:
        raise ValueError(f"--train-only {','.join(unknown)} names no parameter; they start with e.g. "
                         f"{sorted({n.split('.')[0] for n in names})}")
    for name, param in model.named_parameters():
        param.requires_grad_(any(name.startswith(w) for w in wanted))
    return [p for p in model.parameters() if p.requires_grad]


def samples_view(model: CountryDiffusion, labels: list[int], countries: list[str], steps: int,
                 guidance: float) -> tuple[np.ndarray, list[str]]:
    was_training = model.training
    model.eval()
    imgs = sample_diffusion(model, torch.tensor(labels), generator=torch.Generator().manual_seed(0), steps=steps,
                            guidance=guidance)
    model.train(was_training)
    arr = (imgs * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return arr, [countries[k] for k in labels]


def build_model(cfg: DiffusionConfig, cache: ShardedCache) -> CountryDiffusion:
    """The U-Net over the cache's countries, started from --init-from and given its start prior when asked."""
    channels = [int(c) for c in cfg.channels.split(",")]
    attention = [c.strip() == "1" for c in cfg.attention.split(",")]
    if len(attention) != len(channels):
        raise ValueError(f"--attention has {len(attention)} entries for {len(channels)} --channels")
    model = CountryDiffusion(countries=cache.countries, image_size=cfg.image_size, block_out_channels=channels,
                             layers_per_block=cfg.layers_per_block, attention=attention,
                             norm_num_groups=math.gcd(32, *channels), patch_size=cfg.patch_size,
                             noise_shift=cfg.noise_shift, start_grid=cfg.start_grid)
    if cfg.init_from:  # e.g. the shipped GPU run continued, or fine-tuned on real photos; a resumed run overrides
        init_from(model, cfg.init_from, same=("countries",))
    if cfg.start_grid:  # a buffer, not a weight: resume and EMA carry it, the export keeps it
        pick = np.sort(np.random.default_rng(cfg.seed).permutation(len(cache))[:cfg.start_prior_images])
        model.fit_start_prior(cache.images[pick], cache.labels[pick])
    return model


def model_card(cfg: DiffusionConfig, cache: ShardedCache) -> ModelCardInfo:
    """The export's card: architecture, sampling and data."""
    return ModelCardInfo(
        description="Class-conditional diffusion model over countries (diffusers UNet2DModel on "
                    f"{cfg.patch_size}×{cfg.patch_size} pixel patches, ε-prediction, cosine schedule shifted by "
                    f"{cfg.noise_shift}, classifier-free guidance; sample with DPM-Solver or DDIM). The sharp "
                    "Country model.",
        data=f"{len(cache)} images from cache {cfg.data} ({len(cache.countries)} countries), at {cfg.image_size}²",
        tags=["diffusion", "country"], **from_meta(cache.meta).card_fields(),
        notes=f"Weights started from {cfg.init_from}." if cfg.init_from else "")


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(DiffusionConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_country_diffusion")
    cache, own_rows = trainer.open_cache(cfg.data)
    labels = torch.from_numpy(cache.labels)
    model = build_model(cfg, cache)
    schedule = model.noise_schedule()
    optimizer = torch.optim.AdamW(freeze_except(model, cfg.train_only), lr=cfg.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / cfg.warmup_steps))
    model, optimizer = trainer.prepare(model, optimizer)
    ema = trainer.make_ema(model)
    sampler = trainer.make_sampler(len(cache), own_rows=own_rows)
    trainer.track(model=model, optimizer=optimizer, scheduler=scheduler, ema=ema, sampler=sampler)
    shown = list(np.linspace(0, len(cache.countries) - 1, min(8, len(cache.countries))).astype(int)) * 2
    unwrap = trainer.accelerator.unwrap_model
    trainer.set_sampler(model, lambda m: samples_view(unwrap(m), shown, cache.countries, cfg.sample_steps,
                                                      cfg.guidance), ema, ncols=8)
    alphas = schedule.alphas_cumprod.to(trainer.device)
    loss_weights = p2_weights(schedule.alphas_cumprod, cfg.p2_gamma, cfg.p2_k).to(trainer.device)
    same_region = rival_table(cache.countries)
    rival_rng = torch.Generator().manual_seed(cfg.seed + 1000 * trainer.rank)

    start = trainer.start()
    model.train()
    batches = trainer.cache_batches(cache, sampler)

    def micro_step() -> dict[str, torch.Tensor]:  # one --batch-size micro-batch; --grad-accum of them per step
        rows, batch = batches.next()
        x0 = to_model_input(batch, cfg.image_size)
        y = labels[rows].to(trainer.device)
        y = torch.where(torch.rand(len(y), device=y.device) < cfg.label_dropout, unwrap(model).null_label, y)
        noise = torch.randn_like(x0)
        t = torch.randint(0, schedule.config.num_train_timesteps, (len(x0),), device=trainer.device)
        a = alphas[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        per_image = F.mse_loss(model(xt, t, y).float(), noise, reduction="none").mean(dim=(1, 2, 3))
        loss = (loss_weights[t] * per_image).mean()
        logs = {"loss": loss}
        if cfg.rival_weight > 0:
            # the whole batch goes through again with rival labels (no boolean-mask gather: same shapes every
            # step); rows trained as "no country" have no rival and are masked out of the mean
            has_country = (y != unwrap(model).null_label).float()
            rivals = draw_rivals(y.clamp(max=len(cache.countries) - 1).cpu(), same_region, cfg.rival_same_region,
                                 rival_rng).to(y.device)
            per_image_rival = F.mse_loss(model(xt, t, rivals).float(), noise, reduction="none").mean(dim=(1, 2, 3))
            contrast = rival_loss(per_image, per_image_rival, cfg.rival_scale, has_country)
            loss = loss + cfg.rival_weight * contrast
            logs["rival"] = contrast
            logs["rival_win"] = masked_mean((per_image < per_image_rival).float(), has_country)
        return {**logs, "objective": loss}  # "loss" logs the ε-loss alone; the objective adds the rival term

    for step in range(start + 1, trainer.last_step + 1):
        logs = trainer.accumulate(model, micro_step, objective="objective")
        trainer.accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(model)
        if not trainer.step_done(step, logs, lr=scheduler.get_last_lr()[0]):
            break  # --time-limit reached

    return trainer.finish(model, card=model_card(cfg, cache), ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
