"""Train the noise-aware country classifier that guides the country diffusion model (classifier guidance).

    # renders of the diffusion model's countries (its own seed, not the judge's or the diffusion model's data):
    python -m streetgen.world dataset --out data/world_guide111 --n 55500 --size 128 --countries <the 111> \
        --splits train=1.0 --quality 95 --seed 21
    python -m streetgen.data.cache --root data/world_guide111 --split train --size 128 --countries <the 111> \
        --out data/world_guide111_128
    python -m train.train_country_guide --data data/world_guide111_128 --name guide128 \
        --schedule-from checkpoints/country_diffusion --time-limit 45 --device cpu --precision bf16

The classifier sees x_t = √α̅_t x0 + √(1 − α̅_t) ε at timesteps drawn uniformly over the diffusion model's schedule
(`--schedule-from` copies its noise shift, size and country list, which the guide must share to be used with it).
A held-out share of the cache (`--val-share`) gives accuracy per noise level in the card. No flips: a mirrored
street drives on the other side of the road, which is a country cue.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from streetgen.data.licences import from_meta
from streetgen.models.card import ModelCardInfo
from streetgen.models.country_diffusion import CountryDiffusion
from streetgen.models.country_guide import CountryGuide
from train.common.data import cache_batch, to_model_input
from train.common.loop import TrainConfig, Trainer, parse_config

VAL_TIMESTEPS = (100, 300, 500, 700, 900)


@dataclass
class GuideConfig(TrainConfig,
                  name="country_guide", steps=20000, log_every=50, ckpt_every=500, sample_every=2000, ema_warmup=200):
    """Noise-aware country classifier for classifier guidance."""

    data: str = "data/world_guide111_128"  # a cache built by streetgen.data.cache with the guided model's countries
    schedule_from: str = field(default="checkpoints/country_diffusion", metadata={
        "help": "the country_diffusion model to be guided: its countries, size and noise schedule are used"})
    batch_size: int = field(default=64, metadata={"help": "per process"})
    lr: float = 1e-3  # AdamW peak learning rate
    weight_decay: float = 0.05  # AdamW weight decay
    warmup_steps: int = 200  # linear warmup, then cosine decay to 5%
    label_smoothing: float = 0.1  # cross-entropy label smoothing
    channels: str = field(default="96,128,192,256", metadata={"help": "block widths (32², 16², 8², 4²)"})
    val_share: float = 0.02  # share of the cache held out for the per-timestep accuracy


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup, then cosine decay to 5%."""
    if step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))


def noisy_batch(x0: torch.Tensor, t: torch.Tensor, alphas: torch.Tensor, generator=None) -> torch.Tensor:
    """x_t for clean images x0 in [-1, 1] at timesteps t (the forward process of the guided model)."""
    a = alphas[t].view(-1, 1, 1, 1)
    noise = torch.randn(x0.shape, generator=generator, device="cpu").to(x0) if generator is not None \
        else torch.randn_like(x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


@torch.no_grad()
def accuracy_by_noise(model: CountryGuide, images, labels: np.ndarray, alphas: torch.Tensor, size: int,
                      device, batch: int = 128) -> dict[str, float]:
    """Top-1 of the guide on held-out images noised (fixed seed) to each of VAL_TIMESTEPS."""
    out = {}
    g = torch.Generator().manual_seed(1)
    for t_value in VAL_TIMESTEPS:
        right = 0
        for i in range(0, len(labels), batch):
            idx = np.arange(i, min(i + batch, len(labels)))
            x0 = cache_batch(images, idx, size, device)
            t = torch.full((len(idx),), t_value, device=device, dtype=torch.long)
            pred = model(noisy_batch(x0, t, alphas, g), t).argmax(1).cpu().numpy()
            right += int((pred == labels[idx]).sum())
        out[f"val_top1_t{t_value}"] = right / max(1, len(labels))
    return out


def samples_view(model: CountryGuide, images: np.ndarray, labels: np.ndarray, alphas: torch.Tensor,
                 size: int) -> tuple[np.ndarray, list[str]]:
    """Eight held-out images at each validation noise level, captioned with the guide's answer."""
    device = next(model.parameters()).device
    idx = np.arange(min(8, len(labels)))
    x0 = cache_batch(images, idx, size, device)
    tiles, captions = [], []
    for t_value in VAL_TIMESTEPS:
        t = torch.full((len(idx),), t_value, device=device, dtype=torch.long)
        xt = noisy_batch(x0, t, alphas, torch.Generator().manual_seed(2))
        pred = model(xt, t).argmax(1).cpu().numpy()
        tiles.append(xt)
        captions += [f"t{t_value} {model.countries[y]}: " + ("right" if p == y else f"read {model.countries[p]}")
                     for p, y in zip(pred, labels[idx])]
    arr = ((torch.cat(tiles).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return arr, captions


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(GuideConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_country_guide")
    cache, own_rows = trainer.open_cache(cfg.data)
    target = CountryDiffusion.from_pretrained(cfg.schedule_from)
    if list(cache.countries) != list(target.countries):
        raise ValueError(f"{cfg.data} labels {len(cache.countries)} countries in another order than "
                         f"{cfg.schedule_from}'s {len(target.countries)}: build the cache with its country list")
    size = target.image_size
    alphas = target.noise_schedule().alphas_cumprod.to(trainer.device)
    images, labels = cache.images, np.asarray(cache.labels)
    order = np.random.default_rng(cfg.seed).permutation(len(cache))
    n_val = int(round(cfg.val_share * len(cache)))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    val_images, val_labels = images[val_idx], labels[val_idx]
    train_labels = torch.from_numpy(labels)

    model = CountryGuide(countries=target.countries, image_size=size, patch_size=target.patch_size,
                         channels=[int(c) for c in cfg.channels.split(",")],
                         num_train_timesteps=target.num_train_timesteps, noise_shift=target.noise_shift)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg.warmup_steps, cfg.steps))
    model, optimizer = trainer.prepare(model, optimizer)
    ema = trainer.make_ema(model)
    sampler = trainer.make_sampler(len(train_idx), own_rows=own_rows)
    trainer.track(model=model, optimizer=optimizer, scheduler=scheduler, ema=ema, sampler=sampler)
    unwrap = trainer.accelerator.unwrap_model
    trainer.set_sampler(model, lambda m: samples_view(unwrap(m), val_images, val_labels, alphas, size), ema, ncols=8)

    start = trainer.start()
    model.train()
    batches = trainer.cache_batches(cache, sampler, rows=train_idx)

    def micro_step() -> dict[str, torch.Tensor]:  # one --batch-size micro-batch; --grad-accum of them per step
        rows, batch = batches.next()
        x0 = to_model_input(batch, size)
        y = train_labels[rows].to(trainer.device)
        t = torch.randint(0, target.num_train_timesteps, (len(x0),), device=trainer.device)
        logits = model(noisy_batch(x0, t, alphas), t).float()
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        return {"loss": loss, "train_top1": (logits.argmax(1) == y).float().mean()}

    for step in range(start + 1, trainer.last_step + 1):
        logs = trainer.accumulate(model, micro_step)
        trainer.accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(model)
        if not trainer.step_done(step, logs, lr=scheduler.get_last_lr()[0]):
            break  # --time-limit reached

    metrics = {}
    if trainer.is_main and len(val_labels):
        bare = unwrap(model)
        with ema.apply_to(bare):
            bare.eval()
            metrics = accuracy_by_noise(bare, val_images, val_labels, alphas, size, trainer.device)
            bare.train()
        print("held-out top-1 by timestep:", {k: round(v, 4) for k, v in metrics.items()})
    card = ModelCardInfo(
        description="Noise-aware country classifier (diffusers ResNet blocks on 4×4 pixel patches, timestep "
                    f"embedding) for classifier guidance of {cfg.schedule_from}; its countries, size and noise "
                    "schedule. Not the place judge: trained from scratch on its own renders.",
        data=f"{len(train_idx)} images from cache {cfg.data} ({len(cache.countries)} countries; {len(val_idx)} held "
             "out for the per-timestep accuracy), noised by the guided model's schedule",
        tags=["classifier", "guidance", "country"], metrics=metrics, **from_meta(cache.meta).card_fields())
    return trainer.finish(model, card=card, ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
