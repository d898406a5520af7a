"""Train the country CVAE of the original study (MSE + KL with a growing weight, Adam + a learning-rate schedule).

    # world data in the OSV-5M layout, then the study's preprocessing into a cache, then training:
    python -m streetgen.world dataset --out data/world_cvae111 --n 22200 --size 128 --seed 1 --splits train=1.0 \
        --countries "$(python -c 'from train.common.data import judge_countries; print(",".join(judge_countries()))')"
    python -m streetgen.data.cache --root data/world_cvae111 --split train --size 128 --out data/world_cvae111_128
    python -m train.train_cvae --data data/world_cvae111_128 --name cvae111 --steps 1500 --batch-size 32

Real OSV-5M works the same way (build the cache from the downloaded folder; the study used 84 countries at 128²).
Runs keep the study's own views: original vs reconstruction pairs in the sample grids, and curves of the
reconstruction loss, the KL term and the total loss in runs/<name>/curves.png.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from streetgen.data.licences import from_meta
from streetgen.models.card import ModelCardInfo
from streetgen.models.cvae import CountryCVAE, cvae_loss
from streetgen.pipelines.country import sample_cvae
from train.common.loop import TrainConfig, Trainer, parse_config
from train.losses import JudgePerceptualLoss


@dataclass
class CVAEConfig(TrainConfig, name="cvae", steps=6000, log_every=50, ckpt_every=500, sample_every=500, ema_warmup=100):
    """The study's CVAE; the 'improvements' it listed are the latent/embedding/size options."""

    data: str = "data/world_cvae111_128"  # a cache built by streetgen.data.cache
    batch_size: int = field(default=64, metadata={"help": "per process"})
    lr: float = 1e-3  # Adam learning rate before the schedule's halvings
    lr_gamma: float = 0.5  # the schedule: halve the learning rate at 50% and 75% of training
    latent_dim: int = field(default=64, metadata={"shape": True, "help": "size of the latent code"})
    embed_dim: int = field(default=32, metadata={"shape": True, "help": "size of the country label embedding"})
    kl_max: float = 1.0  # final KL weight
    kl_warmup: float = 0.5  # fraction of training over which the KL weight grows from 0 to kl_max
    perceptual_weight: float = field(default=0.0, metadata={"help": "the study's 'perceptual-style loss' "
                                     "improvement: weight of a feature-matching term on the frozen place judge's "
                                     "conv stages (no VGG is reachable offline); 0 = the study's plain MSE"})
    perceptual_judge: str = "judges/place"  # checkpoint whose conv stages the perceptual term compares


def kl_weight(step: int, total: int, warmup: float, kl_max: float) -> float:
    """The growing ("annealed") KL weight: linear from 0 to kl_max over the first `warmup` share of training."""
    return kl_max * min(1.0, step / max(1.0, warmup * total))


def lr_factor(step: int, total: int, gamma: float) -> float:
    """LR multiplier: 1, then × gamma at half of training and again at three quarters (the study's schedule)."""
    return gamma ** ((step >= total // 2) + (step >= 3 * total // 4))


def samples_view(model: CountryCVAE, originals: torch.Tensor, labels: torch.Tensor,
                 countries: list[str]) -> tuple[np.ndarray, list[str]]:
    """The study's figure: original | reconstruction pairs, then one free sample per shown country."""
    device = next(model.parameters()).device
    x, y = originals.to(device), labels.to(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(x, y)
        recon = model.decode(mu, y)
        free = sample_cvae(model, y, generator=torch.Generator().manual_seed(0))
    model.train(was_training)
    rows = torch.stack([x, recon, free], dim=1).flatten(0, 1)
    imgs = (rows.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    names = [countries[int(c)] for c in labels]
    return imgs, [t for n in names for t in (f"{n} original", f"{n} recon", f"{n} sample")]


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(CVAEConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_cvae")
    cache, own_rows = trainer.open_cache(cfg.data)
    images = cache.images  # uint8 N×H×W×3, memory-mapped: batches are read by the input pipeline
    labels = torch.from_numpy(cache.labels)
    size = images.shape[1]
    model = CountryCVAE(countries=cache.countries, image_size=size, latent_dim=cfg.latent_dim,
                        embed_dim=cfg.embed_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg.steps, cfg.lr_gamma))
    model, optimizer = trainer.prepare(model, optimizer)
    ema = trainer.make_ema(model)
    perceptual = None
    if cfg.perceptual_weight > 0:
        import streetgen
        perceptual = JudgePerceptualLoss(streetgen.load(cfg.perceptual_judge)).to(trainer.device)
    sampler = trainer.make_sampler(len(images), own_rows=own_rows)
    trainer.track(model=model, optimizer=optimizer, scheduler=scheduler, ema=ema, sampler=sampler)
    # six different countries (their first image each), spread over the label range
    first = np.unique(cache.labels, return_index=True)[1]
    show = torch.from_numpy(first[np.linspace(0, len(first) - 1, min(6, len(first))).astype(np.int64)])
    originals = torch.from_numpy(images[show.numpy()]).permute(0, 3, 1, 2).float() / 255
    trainer.set_sampler(model, lambda m: samples_view(m, originals, labels[show], cache.countries), ema, ncols=6)

    start = trainer.start()
    model.train()
    batches = trainer.cache_batches(cache, sampler)

    def micro_step(w: float) -> dict[str, torch.Tensor]:  # one --batch-size micro-batch (--grad-accum per step)
        rows, batch = batches.next()  # sorted rows (kinder to the memory map); labels follow the same order
        x = batch.permute(0, 3, 1, 2).float().div_(255)
        y = labels[torch.from_numpy(rows)].to(trainer.device)
        recon, mu, logvar = model(x, y)
        loss, mse, kl = cvae_loss(recon.float(), x, mu.float(), logvar.float(), w)
        logged = {"loss": loss, "recon_mse": mse, "kl": kl, "kl_weight": torch.tensor(w)}
        if perceptual is not None:
            p_loss = perceptual(recon.float(), x)
            logged["loss"] = loss + cfg.perceptual_weight * p_loss
            logged["perceptual"] = p_loss.detach()
        return logged

    for step in range(start + 1, trainer.last_step + 1):
        w = kl_weight(step, cfg.steps, cfg.kl_warmup, cfg.kl_max)
        logged = trainer.accumulate(model, lambda: micro_step(w))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(model)
        if not trainer.step_done(step, logged, lr=scheduler.get_last_lr()[0]):
            break  # --time-limit reached

    card = ModelCardInfo(
        description="Conditional VAE of the original country → street study (128², 3 stride-2 convs + BN + "
                    "LeakyReLU, one-hot label embedding, MSE + annealed KL). The fast, blurry baseline.",
        data=f"{len(images)} images from cache {cfg.data} ({len(cache.countries)} countries, {size}²)",
        tags=["cvae", "country"], **from_meta(cache.meta).card_fields())
    return trainer.finish(model, card=card, ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
