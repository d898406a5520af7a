"""Train the StyleGAN2-style layout generator on street label maps (world renders or CamVid).

    # world label maps rendered in memory (40 per country over the judge countries, 128×256):
    python -m train.train_layout_gan --name layout_world --steps 20000 --batch-size 32
    # CamVid's 367 training label maps (resized to 256 wide with nearest neighbour, random 128-row crops):
    python -m train.train_layout_gan --name layout_camvid --data camvid:../shared/datasets/camvid --steps 20000

The recipe is StyleGAN2's: non-saturating logistic loss, R1 on reals every --r1-every steps (lazy: the penalty is
scaled by the interval, and Adam's lr / betas are adjusted for the D steps it adds), Adam lr 2e-3 betas (0, 0.99),
style mixing, an EMA generator (the one exported) and w_avg tracked by the generator for truncation. How the
discriminator sees one-hot reals against generated logits is the one choice that is not StyleGAN's: see
train/discriminators/layout.py (--disc-input).

Void pixels (CamVid's unlabelled, ~7 % of its pixels) take the nearest labelled class: the generator has no void
class, so a void the discriminator could see would be a free tell. Sample grids: the first row real maps, the rest
EMA samples with fixed latents and constant noise, all in the CamVid palette. The card gets the layout distance
(streetgen.layout_stats) of 256 EMA samples to the training maps.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from streetgen import classes
from streetgen.classes import NUM_CLASSES
from streetgen.io.labels import fill_void
from streetgen.layout_stats import layout_distance
from streetgen.data.licences import WORLD, source
from streetgen.models.card import ModelCardInfo
from streetgen.models.layout_gan import LayoutGenerator, default_channels
from streetgen.pipelines.layout import sample_layouts
from train.common.data import country_list, load_camvid_labels, render_world_labels
from train.common.ema import unwrap
from train.common.loop import TrainConfig, Trainer, parse_config
from train.discriminators.layout import (
    MODES,
    LayoutDiscriminator,
    fake_input,
    real_input,
)
from train.discriminators.minibatch import stddev_group
from train.losses import d_logistic_loss, g_logistic_loss, r1_penalty


@dataclass
class LayoutGANConfig(TrainConfig, name="layout_gan", steps=20000, ckpt_every=1000, sample_every=1000, ema_warmup=100):
    """Unconditional StyleGAN2-style generator of street label maps."""

    data: str = field(default="world", metadata={"help": "'world' (renders in memory) or 'camvid:ROOT'"})
    log_every: int = field(default=64, metadata={"help": "a multiple of --r1-every, so every record has r1"})
    batch_size: int = field(default=32, metadata={"help": "per process"})
    height: int = 128  # label-map height (the generator starts at 1/32 of it)
    width: int = 256  # label-map width
    countries: str = field(default="", metadata={"help": "world: comma-separated ISO2 codes; empty = the judge "
                                                          "countries"})
    per_country: int = field(default=40, metadata={"help": "world: label maps per country"})
    data_seed: int = field(default=1, metadata={"help": "world: dataset seed (9001-9003 are the judges')"})
    workers: int = field(default=0, metadata={"help": "world: render processes; 0 = all cores"})
    limit: int = field(default=0, metadata={"help": "camvid: use only the first N label maps; 0 = all"})
    z_dim: int = 128  # latent size
    w_dim: int = 256  # intermediate (style) latent size
    mapping_layers: int = 4  # MLP layers from z to w
    g_last: int = field(default=16, metadata={"help": "generator width at full resolution (doubles per halving)"})
    g_max: int = 256  # generator width cap
    d_last: int = field(default=32, metadata={"help": "discriminator width at full resolution"})
    d_max: int = 256  # discriminator width cap
    lr: float = 2e-3  # Adam learning rate, betas (0, 0.99) (D's adjusted for lazy R1)
    r1_gamma: float = field(default=1.0, metadata={"help": "R1 weight (γ/2 · ‖∇D(real)‖²)"})
    r1_every: int = field(default=16, metadata={"help": "lazy R1 interval; 0 = no R1"})
    mix_prob: float = field(default=0.9, metadata={"help": "style-mixing probability per generator batch"})
    disc_input: str = field(default="st", metadata={"choices": list(MODES),
                                                     "help": "how one-hot reals and fake logits reach D"})
    tau: float = field(default=1.0, metadata={"help": "softmax temperature of the discriminator input"})
    soft_noise: float = field(default=0.5, metadata={"help": "--disc-input soft: logit noise std"})
    soft_margin: float = field(default=4.0, metadata={"help": "--disc-input soft: logit margin of real maps"})
    eval_n: int = field(default=256, metadata={"help": "EMA samples for the final layout distance; 0 = skip"})


# ---- data ---------------------------------------------------------------------------------------------------------
def real_batch(maps: np.ndarray, idx: np.ndarray, size: tuple[int, int], g: torch.Generator) -> torch.Tensor:
    """(B, H, W) int64: a random `size` crop of each map, flipped left-right half of the time."""
    h, w = size
    oy = torch.randint(0, maps.shape[1] - h + 1, (len(idx),), generator=g).tolist()
    ox = torch.randint(0, maps.shape[2] - w + 1, (len(idx),), generator=g).tolist()
    flip = (torch.rand(len(idx), generator=g) < 0.5).tolist()
    crops = [maps[i, y:y + h, x:x + w] for i, y, x in zip(idx.tolist(), oy, ox)]
    return torch.from_numpy(np.stack([c[:, ::-1] if f else c for c, f in zip(crops, flip)]).astype(np.int64))


def load_data(cfg: LayoutGANConfig) -> tuple[np.ndarray, str, str]:
    """(maps, description for the card, data licence)."""
    size = (cfg.height, cfg.width)
    if cfg.data == "world":
        countries = country_list(cfg.countries, upper=True)
        maps = render_world_labels(countries, cfg.per_country, size, cfg.data_seed, cfg.workers or None)
        return (maps, f"{len(maps)} streetgen.world label maps ({cfg.per_country} per country over "
                      f"{len(countries)} countries, dataset seed {cfg.data_seed}), {cfg.height}×{cfg.width}",
                WORLD.text)
    if cfg.data.startswith("camvid:"):
        maps = load_camvid_labels(cfg.data.split(":", 1)[1], "train", size, cfg.limit)
        return (maps, f"{len(maps)} CamVid train label maps (SegNet 11-class version), nearest-neighbour resized "
                      f"to {maps.shape[1]}×{maps.shape[2]}, random {cfg.height}×{cfg.width} crops and flips, "
                      "void filled with the nearest class", source("camvid").text)
    raise ValueError(f"--data must be 'world' or 'camvid:ROOT', got {cfg.data!r}")


# ---- views --------------------------------------------------------------------------------------------------------
def samples_view(model: LayoutGenerator, reals: torch.Tensor, n: int = 12) -> tuple[np.ndarray, list[str]]:
    """First row real maps, then n EMA samples (fixed latents, constant noise), colourised."""
    fakes = sample_layouts(model, n, generator=torch.Generator().manual_seed(0), noise_mode="const").cpu()
    labels = torch.cat([reals.cpu(), fakes]).numpy()
    return classes.colorize_labels(labels), ["real"] * len(reals) + ["generated"] * n


@torch.no_grad()
def final_distance(model: LayoutGenerator, maps: np.ndarray, n: int, size: tuple[int, int]) -> dict[str, float]:
    """layout_distance of n samples (truncation 1) to up to 1000 centre-cropped training maps."""
    g = torch.Generator().manual_seed(1)
    fakes = torch.cat([sample_layouts(model, min(64, n - k), generator=g).cpu() for k in range(0, n, 64)]).numpy()
    h, w = size
    y, x = (maps.shape[1] - h) // 2, (maps.shape[2] - w) // 2
    reals = maps[np.linspace(0, len(maps) - 1, min(len(maps), 1000)).astype(np.int64), y:y + h, x:x + w]
    return {f"layout_{k}": v for k, v in layout_distance(fakes, reals).items()}


# ---- training -----------------------------------------------------------------------------------------------------
def build(cfg: LayoutGANConfig) -> tuple[LayoutGenerator, LayoutDiscriminator, torch.optim.Adam, torch.optim.Adam]:
    """Generator, discriminator and their Adam optimisers (D's lr and betas adjusted for lazy R1, as StyleGAN2)."""
    size = (cfg.height, cfg.width)
    num_blocks = int(math.log2(32)) + 1  # the constant is 1/32 of the output: 4×8 → 128×256
    generator = LayoutGenerator(size=size, z_dim=cfg.z_dim, w_dim=cfg.w_dim, mapping_layers=cfg.mapping_layers,
                                channels=default_channels(num_blocks, cfg.g_max, cfg.g_last))
    disc = LayoutDiscriminator(size=size, last=cfg.d_last, max_channels=cfg.d_max)
    # lazy R1 adds one D step every r1_every; StyleGAN2 scales D's lr and betas so the schedule stays the same
    c = cfg.r1_every / (cfg.r1_every + 1) if cfg.r1_every > 0 else 1.0
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr * c, betas=(0.0, 0.99 ** c))
    return generator, disc, opt_g, opt_d


def model_card(cfg: LayoutGANConfig, data_text: str, data_license: str, metrics: dict[str, float]) -> ModelCardInfo:
    """The export's card, with the layout distance of EMA samples to the training maps."""
    camvid = cfg.data.startswith("camvid:")
    return ModelCardInfo(
        description=f"Unconditional StyleGAN2-style generator of {cfg.height}×{cfg.width} street label maps over the "
                    "11 CamVid classes (argmax of the logits; never void): mapping network, modulated/demodulated "
                    f"convs, per-layer noise, skip toLogits. Discriminator input: {cfg.disc_input}. EMA generator.",
        data=data_text, data_license=data_license, license="cc-by-nc-4.0" if camvid else "mit", metrics=metrics,
        tags=["gan", "layout", "segmentation"] + (["camvid"] if camvid else ["world"]),
        notes="Metrics layout_class_l1 / layout_row_profile_l1 (streetgen.layout_stats, 0 = identical, ≤ 2) compare "
              f"{cfg.eval_n} EMA samples to the training maps." + (" Trained on CamVid: non-commercial use only."
                                                                  if camvid else ""))


def train_step(trainer: Trainer, nets: tuple[nn.Module, nn.Module], opts: tuple[torch.optim.Optimizer, ...],
               draw: Callable[[], torch.Tensor], latents: Callable[[int], tuple[torch.Tensor, torch.Tensor | None]],
               cfg: LayoutGANConfig, step: int) -> dict[str, torch.Tensor]:
    """One optimizer step of D (+ its lazy R1 step on the same reals), then of G, each over --grad-accum
    micro-batches; minibatch-stddev groups stay within a micro-batch. Returns the logged means."""
    (generator, disc), (opt_g, opt_d) = nets, opts
    d_in = dict(mode=cfg.disc_input, tau=cfg.tau, noise=cfg.soft_noise)
    group = stddev_group(cfg.batch_size)
    reals: list[torch.Tensor] = []

    def d_micro() -> dict[str, torch.Tensor]:  # softplus(D(fake)) + softplus(-D(real)), one pass over [real, fake]
        real = real_input(draw(), NUM_CLASSES, margin=cfg.soft_margin, **d_in)
        reals.append(real)
        z, mix = latents(len(real))
        with torch.no_grad():
            fake = fake_input(generator(z, mix_z=mix), **d_in)
        d_real, d_fake = disc(torch.cat([real, fake]), group).float().chunk(2)
        d_loss = d_logistic_loss(d_real, d_fake)
        return {"objective": d_loss, "d_loss": d_loss, "d_real": d_real.mean(), "d_fake": d_fake.mean()}

    def r1_micro() -> dict[str, torch.Tensor]:  # lazy R1: γ/2 · E‖∇D(real)‖², × the interval, per micro-batch
        real_r1 = reals.pop(0).detach().requires_grad_(True)
        scores = disc(real_r1, group).float()
        r1 = r1_penalty(scores, real_r1)
        # + 0 · scores keeps every D parameter in the graph (DDP wants each one to get a gradient)
        return {"objective": r1 * (cfg.r1_gamma / 2 * cfg.r1_every) + 0 * scores.mean(), "r1": r1}

    def g_micro() -> dict[str, torch.Tensor]:  # softplus(-D(fake)) (non-saturating)
        z, mix = latents(b)
        return {"loss": g_logistic_loss(disc(fake_input(generator(z, mix_z=mix), **d_in), group).float())}

    d_logs = trainer.optimizer_step(disc, opt_d, d_micro, objective="objective")
    b = len(reals[0])
    r1 = None
    if cfg.r1_every > 0 and step % cfg.r1_every == 0:
        r1 = trainer.optimizer_step(disc, opt_d, r1_micro, objective="objective")["r1"]
    g_loss = trainer.optimizer_step(generator, opt_g, g_micro)["loss"]
    opt_d.zero_grad(set_to_none=True)  # the generator step's D gradients are not D's to use
    logged = {"d_loss": d_logs["d_loss"], "g_loss": g_loss, "d_real": d_logs["d_real"], "d_fake": d_logs["d_fake"]}
    if r1 is not None:  # logged on R1 steps only: a stale value would not survive a resume
        logged["r1"] = r1
    return logged


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(LayoutGANConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_layout_gan")
    size = (cfg.height, cfg.width)
    maps, data_text, data_license = load_data(cfg)
    maps = fill_void(maps)
    generator, disc, opt_g, opt_d = trainer.prepare(*build(cfg))
    device = trainer.device
    bare = unwrap(generator)
    ema = trainer.make_ema(generator)
    sampler = trainer.make_sampler(len(maps))
    trainer.track(generator=generator, disc=disc, opt_g=opt_g, opt_d=opt_d, ema=ema, sampler=sampler)
    shown = real_batch(maps, np.linspace(0, len(maps) - 1, 4).astype(np.int64), size, torch.Generator().manual_seed(0))
    trainer.set_sampler(generator, lambda m: samples_view(unwrap(m), shown), ema, ncols=4)

    def latents(b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(b, cfg.z_dim, device=device)
        return z, (torch.randn(b, cfg.z_dim, device=device) if torch.rand(()) < cfg.mix_prob else None)

    start = trainer.start()
    generator.train()
    disc.train()
    for step in range(start + 1, trainer.last_step + 1):
        # crops and flips from a per-(seed, step, rank) stream: a resumed run draws the same batches
        g = trainer.step_generator(step)

        def draw() -> torch.Tensor:  # one --batch-size micro-batch of real label maps
            return real_batch(maps, np.sort(sampler.next().numpy()), size, g).to(device)

        logged = train_step(trainer, (generator, disc), (opt_g, opt_d), draw, latents, cfg, step)
        ema.update(generator)
        if not trainer.step_done(step, logged):
            break  # --time-limit reached

    metrics: dict[str, float] = {}
    if trainer.is_main and cfg.eval_n > 0 and (trainer.step >= cfg.steps or trainer.timed_out):
        with ema.apply_to(bare):
            bare.eval()
            metrics = final_distance(bare, maps, cfg.eval_n, size)
            bare.train()
    return trainer.finish(generator, card=model_card(cfg, data_text, data_license, metrics), ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
