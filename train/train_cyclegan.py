"""Train CycleGAN city → city translators (Zhu et al. 2017): two generators G: A → B and F: B → A from unpaired photos.

    # world renders of two famous cities (made in memory), the paper's recipe at 128²:
    python -m train.train_cyclegan --name paris_venice --city-a Paris --city-b Venice --per-city 400 \\
        --size 128 --steps 40000
    # any two folders of photos (searched recursively; central squares); the export has no licence of its own:
    python -m train.train_cyclegan --name day_night --city-a Day --city-b Night \\
        --data-a folder:photos/day --data-b folder:photos/night

Two exports: runs/<name>/export is G (A → B, the EMA weights, the usual export and what --push-to-hub uploads),
runs/<name>/export_reverse is F (B → A, EMA weights too, with its own card; pushed to <repo>-reverse). Both load
with streetgen.load(folder) as a CycleGenerator whose `source` / `target` name the cities.

Losses, as the paper: least-squares GAN terms on two 70×70 PatchGANs (D_A judges city A, D_B city B),
cycle consistency λ_cyc · (|F(G(a)) − a|₁ + |G(F(b)) − b|₁) with λ_cyc = 10, and the identity term
λ_id · λ_cyc · (|G(b) − b|₁ + |F(a) − a|₁) with λ_id = 0.5, which keeps colours from drifting when the input is
already in the target style. Each D minimises 0.5 · (LSGAN(real) + LSGAN(fake)), where the fake comes from a pool
of the last 50 generated images half the time. Adam 2e-4, betas (0.5, 0.999); the LR is constant for the first
--decay-start of the steps, then falls linearly to ~0. Batch 1 (the paper), random crops of a 1.12× resize, flips.
Sample grids show, per row: real A | G(A) | F(G(A)) and real B | F(B) | G(F(B)) (EMA weights).
"""
from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

import streetgen
from streetgen.classes import NUM_CLASSES
from streetgen.models.card import ModelCardInfo, read_card
from streetgen.models.cyclegan import CycleGenerator
from streetgen.models.judges import Segmenter
from train.common.data import (
    WorldRenderFields,
    crop_batch,
    load_folder,
    render_city_images,
)
from train.common.ema import EMA
from train.common.export import export_model, init_from, push_export
from train.common.loop import TrainConfig, Trainer, parse_config, set_lr
from train.discriminators.patchgan import ImagePool, PatchDiscriminator
from train.losses import freeze, lsgan_loss, pretrain_segmenter, semantic_loss, targets

WORLD_LICENSE = "streetgen.world renders (procedural, MIT)"
SHOW = 3  # sample rows per domain


@dataclass
class CycleGANConfig(WorldRenderFields, TrainConfig,
                     name="cyclegan", steps=40000, log_every=100, ckpt_every=2000, sample_every=2000):
    """CycleGAN: unpaired city A ↔ city B street photos."""

    city_a: str = field(default="Paris", metadata={"help": "domain A's name; with 'world' data one of "
                                                          "streetgen.geo.FAMOUS_CITIES"})
    city_b: str = field(default="Venice", metadata={"help": "domain B's name (as --city-a)"})
    data_a: str = field(default="world", metadata={"help": "'world' (renders of --city-a made in memory) or "
                                                          "'folder:PATH' (every photo under PATH)"})
    data_b: str = field(default="world", metadata={"help": "as --data-a, for domain B"})
    per_city: int = field(default=400, metadata={"help": "world: renders per city"})
    folder_limit: int = field(default=0, metadata={"help": "folder: first N photos only (smoke tests); 0 = all"})
    size: int = field(default=128, metadata={"help": "square training crop side"})
    zoom: float = field(default=1.12, metadata={"help": "images are loaded at size x zoom and randomly cropped "
                                                       "(the paper: 286 → 256)"})
    flip: bool = field(default=True, metadata={"help": "random horizontal flips (mirrors the driving side)"})
    batch_size: int = field(default=1, metadata={"help": "per process (the paper: 1)"})
    lr: float = 2e-4  # Adam, both generators and both discriminators
    beta1: float = 0.5  # Adam's first beta
    beta2: float = 0.999  # Adam's second beta
    decay_start: float = field(default=0.5, metadata={"help": "LR constant for this fraction of --steps, then "
                                                               "linear to ~0"})
    lambda_cyc: float = 10.0  # cycle-consistency weight
    lambda_id: float = field(default=0.5, metadata={"help": "identity weight, as a fraction of --lambda-cyc"})
    pool_size: int = field(default=50, metadata={"help": "fake image history per discriminator; 0 = none"})
    init_from: str = field(default="", metadata={"help": "'A2B+B2A' exported generators (folders or Hub ids) to "
                                                         "start from, e.g. cyclegan_paris_venice+cyclegan_venice_paris"})
    lambda_sem: float = field(default=0.0, metadata={"help": "semantic consistency weight (CyCADA): a frozen "
                              "segmenter must read each translation as its input's classes; 0 = off (the paper)"})
    sem_steps: int = field(default=1500, metadata={"help": "steps (batch 8) training that segmenter on the labelled "
                                                          "crops before the GAN starts"})
    sem_width: int = field(default=16, metadata={"help": "that segmenter's width (the judges' Segmenter design)"})
    sem_init: str = field(default="", metadata={"help": "a segmenter checkpoint (folder or Hub id) instead of "
                                                       "training one: needed when neither domain has labels"})
    ngf: int = 64  # generator width
    n_blocks: int = field(default=6, metadata={"help": "residual blocks (the paper: 6 at 128², 9 at 256²)"})
    d_width: int = 64  # PatchGAN first-layer channels
    d_layers: int = 3  # PatchGAN stride-2 layers (3: 70×70 patches)


def lr_factor(step: int, total: int, decay_start: float = 0.5) -> float:
    """LR multiplier for optimizer step `step` (1..total): 1 up to decay_start·total, then linear down to
    1/(total − start + 1) at the last step — the paper's schedule, which never quite reaches 0 so the last step
    still trains."""
    start = int(decay_start * total)
    if step <= start:
        return 1.0
    return max(0.0, (total - step + 1) / (total - start + 1))


# ---- data ---------------------------------------------------------------------------------------------------------
class Domain:
    """One city's photos (N, S, S, 3) uint8, S = load size, and their (N, S, S) labels when known; `batch` crops to
    size × size in [-1, 1]."""

    def __init__(self, images: np.ndarray, size: int, flip: bool, description: str, world_data: bool,
                 labels: np.ndarray | None = None):
        if images.shape[1] < size or images.shape[2] < size:
            raise ValueError(f"data is {images.shape[1]}x{images.shape[2]}, smaller than the crop {size}")
        if labels is not None and labels.shape != images.shape[:3]:
            raise ValueError(f"labels {labels.shape} do not match images {images.shape[:3]}")
        self.images, self.labels, self.size, self.flip = images, labels, size, flip
        self.description, self.world = description, world_data

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, idx: np.ndarray, g: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Random crops/flips when g is given, centre crops otherwise."""
        return self.crops(idx, g, device)[0]

    def crops(self, idx: np.ndarray, g: torch.Generator | None,
              device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`batch`, plus the same crops of the labels as (B, size, size) int64 (None for unlabelled data)."""
        return crop_batch(self.images, self.labels, idx, (self.size, self.size), self.flip, g, device)


def load_domain(cfg: CycleGANConfig, spec: str, city: str, offset: int) -> Domain:
    """One domain from 'world' or 'folder:PATH'; `offset` keeps the two cities' render seeds disjoint."""
    load = max(cfg.size, math.ceil(cfg.size * cfg.zoom))
    if spec == "world":
        # disjoint seed ranges for A and B: equal seeds would draw the same scene layout in both cities, a hidden
        # pairing that unpaired training must not get
        images, labels = render_city_images(city, cfg.per_city, load, cfg.data_seed, offset,
                                            cfg.render_workers or None)
        desc = (f"{len(images)} streetgen.world renders of {city} at {load}x{load} (data seed {cfg.data_seed}), "
                f"random {cfg.size}x{cfg.size} crops{' and flips' if cfg.flip else ''}")
        return Domain(images, cfg.size, cfg.flip, desc, True, labels)
    if spec.startswith("folder:"):
        root = spec.split(":", 1)[1]
        images = load_folder(root, load, cfg.folder_limit)  # central squares resized to the load size
        desc = (f"{len(images)} photos of {city} from {root} (central squares resized to {load}x{load}), random "
                f"{cfg.size}x{cfg.size} crops{' and flips' if cfg.flip else ''}")
        return Domain(images, cfg.size, cfg.flip, desc, False)
    raise ValueError(f"--data-a / --data-b must be 'world' or 'folder:PATH', got {spec!r}")


# ---- model --------------------------------------------------------------------------------------------------------
class CyclePair(nn.Module):
    """G: A → B and F: B → A in one module whose forward runs the whole cycle, so that under DDP each generator
    is inside a single forward per backward (calling G, then F, then G again through separate wrappers is not)."""

    def __init__(self, g: CycleGenerator, f: CycleGenerator):
        super().__init__()
        self.g, self.f = g, f

    def forward(self, a: torch.Tensor, b: torch.Tensor, identity: bool = True) -> dict[str, torch.Tensor]:
        """fake_a / fake_b, the cycles rec_a / rec_b and (with `identity`) idt_a / idt_b of a batch of each city."""
        n = a.shape[0]
        fb = self.f(torch.cat([b, a]) if identity else b)  # F(b), and F(a) for the identity term
        fake_a = fb[:n]
        ga = self.g(torch.cat([a, fake_a, b]) if identity else torch.cat([a, fake_a]))  # G(a), G(F(b)), G(b)
        fake_b, rec_b = ga[:n], ga[n:2 * n]
        out = {"fake_a": fake_a, "fake_b": fake_b, "rec_a": self.f(fake_b), "rec_b": rec_b}
        if identity:
            out["idt_a"], out["idt_b"] = fb[n:], ga[2 * n:]
        return out


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] (B, 3, H, W) → uint8 (B, H, W, 3)."""
    return ((x.float() + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()


def samples_view(g: CycleGenerator, f: CycleGenerator, ema_f: EMA, a: Domain, b: Domain,
                 show_a: np.ndarray, show_b: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, list[str]]:
    """Rows real A | G(A) | F(G(A)), then real B | F(B) | G(F(B)); G arrives with its EMA weights (Trainer.sample),
    F gets its own here."""
    device = next(g.parameters()).device
    xa, xb = a.batch(show_a, None, device), b.batch(show_b, None, device)
    with ema_f.apply_to(f):
        fake_b = g(xa)
        rec_a = f(fake_b)
        fake_a = f(xb)
        rec_b = g(fake_a)
    rows = [np.stack([to_uint8(t) for t in trip], 1).reshape(-1, *xa.shape[2:], 3)
            for trip in ((xa, fake_b, rec_a), (xb, fake_a, rec_b))]
    na, nb = names
    # plain ASCII and short: the grid's caption font has no arrow glyph and a 128-pixel cell fits ~20 characters
    captions = ([c for _ in show_a for c in (na, f"as {nb}", "cycle")]
                + [c for _ in show_b for c in (nb, f"as {na}", "cycle")])
    return np.concatenate(rows), captions


def semantic_segmenter(cfg: CycleGANConfig, domains: list[Domain]) -> Segmenter | None:
    """The frozen segmenter of the semantic term (None when --lambda-sem is 0): loaded from --sem-init, or a new
    one to be trained on the labelled domains once the run starts."""
    if cfg.lambda_sem <= 0:
        return None
    if cfg.sem_init:
        seg = streetgen.load(cfg.sem_init)
        if getattr(seg, "architecture", "") != Segmenter.architecture:  # by name: the class may be re-imported
            raise ValueError(f"--sem-init must be a segmenter checkpoint, {cfg.sem_init!r} is a "
                             f"{type(seg).__name__}")
        if seg.num_classes != NUM_CLASSES:
            raise ValueError(f"--sem-init: {cfg.sem_init!r} predicts {seg.num_classes} classes, the world labels "
                             f"have {NUM_CLASSES}")
        return seg  # frozen by main once the run has started
    if not any(d.labels is not None for d in domains):
        raise ValueError("--lambda-sem needs labels to train its segmenter (world data has them) or a segmenter "
                         "checkpoint in --sem-init (e.g. checkpoints/judges/seg)")
    return Segmenter(width=cfg.sem_width)


def pretrain_semantic(cfg: CycleGANConfig, seg: Segmenter, domains: list[Domain], device: torch.device) -> float:
    """Train the semantic segmenter on random labelled crops of both cities (batch 8), then freeze it."""
    labelled = [d for d in domains if d.labels is not None]

    def draw(step: int):
        g = torch.Generator().manual_seed(cfg.seed * 7_919 + step)
        dom = labelled[step % len(labelled)]
        return dom.crops(torch.randint(0, len(dom), (8,), generator=g).numpy(), g, device)

    return pretrain_segmenter(seg, draw, cfg.sem_steps)


def semantic_note(cfg: CycleGANConfig, sem_accuracy: float | None) -> str:
    """The card's sentence on the semantic term (empty when it is off)."""
    if cfg.lambda_sem <= 0:
        return ""
    if cfg.sem_init:
        source = f"({cfg.sem_init})"
    else:
        accuracy = f", pixel accuracy {sem_accuracy:.3f}" if sem_accuracy is not None else ""
        source = f"(width {cfg.sem_width}, trained {cfg.sem_steps} steps on the labelled training crops{accuracy})"
    return (f" Semantic consistency (CyCADA) weight {cfg.lambda_sem}: a frozen segmenter {source} must read each "
            "translation as its input's classes.")


def build_generators(cfg: CycleGANConfig) -> CyclePair:
    """G: A → B and F: B → A, started from --init-from's two exports when given."""
    g_ab = CycleGenerator(cfg.ngf, cfg.n_blocks, source=cfg.city_a, target=cfg.city_b, train_size=cfg.size)
    f_ba = CycleGenerator(cfg.ngf, cfg.n_blocks, source=cfg.city_b, target=cfg.city_a, train_size=cfg.size)
    if cfg.init_from:
        if cfg.init_from.count("+") != 1:
            raise ValueError(f"--init-from needs 'A2B+B2A' (two exported generators), got {cfg.init_from!r}")
        for net, spec in zip((g_ab, f_ba), cfg.init_from.split("+")):
            init_from(net, spec)
    return CyclePair(g_ab, f_ba)


def build_discriminators(cfg: CycleGANConfig, pair: CyclePair) -> tuple[PatchDiscriminator, PatchDiscriminator,
                                                                         torch.optim.Adam, torch.optim.Adam]:
    """D_A (real A vs F(b)), D_B (real B vs G(a)), and one Adam for both generators and one for both
    discriminators, as the reference code."""
    d_a = PatchDiscriminator(3, cfg.d_width, cfg.d_layers, norm="instance")
    d_b = PatchDiscriminator(3, cfg.d_width, cfg.d_layers, norm="instance")
    opt_g = torch.optim.Adam(pair.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    return d_a, d_b, opt_g, opt_d


def start_semantic(cfg: CycleGANConfig, seg: Segmenter | None, start: int, domains: list[Domain],
                   device: torch.device) -> float | None:
    """Once the run has started: train S on a fresh run (its pixel accuracy is returned), then freeze it."""
    if seg is None:
        return None
    sem_accuracy = None
    if start == 0 and not cfg.sem_init:
        sem_accuracy = pretrain_semantic(cfg, seg, domains, device)
        print(f"semantic segmenter trained: pixel accuracy {sem_accuracy:.3f} on its last crops", flush=True)
    freeze(seg)  # also after a resume or --sem-init: eval-mode BatchNorm, no gradients of its own
    return sem_accuracy


def model_card(cfg: CycleGANConfig, data_a: Domain, data_b: Domain, sem_accuracy: float | None) -> ModelCardInfo:
    """The card of G (A → B); the reverse generator's card is derived from it."""
    world_data = data_a.world and data_b.world
    description = (f"CycleGAN ResNet generator ({cfg.n_blocks} residual blocks, width {cfg.ngf}): a street photo "
                   f"of {cfg.city_a} → the same scene in the style of {cfg.city_b}; any image size, trained on "
                   f"{cfg.size}x{cfg.size} crops. Its reverse ({cfg.city_b} → {cfg.city_a}) was trained with it "
                   "and is exported next to it (export_reverse).")
    return ModelCardInfo(
        description=description,
        data=f"Unpaired. A ({cfg.city_a}): {data_a.description}. B ({cfg.city_b}): {data_b.description}.",
        data_license=WORLD_LICENSE if world_data else (
            "photos from local folders: their own licence applies" + (f"; {WORLD_LICENSE}" if data_a.world
                                                                       or data_b.world else "")),
        license="mit" if world_data else None, datasets=[],
        tags=["cyclegan", "image-to-image", "gan"] + (["world"] if world_data else []),
        notes=("Trained on procedural renders; real photos are out of domain. " if world_data else "")
              + "Translation keeps the scene's geometry and changes its look; it cannot add what the scene lacks "
                "(a canal where the street is)." + (f" Started from {cfg.init_from}." if cfg.init_from else "")
              + semantic_note(cfg, sem_accuracy))


def export_reverse(cfg: CycleGANConfig, trainer: Trainer, out: Path, f_ba: CycleGenerator, ema_f: EMA) -> None:
    """F (B → A) gets its own export and card beside G's, and is pushed to <repo>-reverse."""
    reverse = dataclasses.replace(
        read_card(out), description=(
            f"CycleGAN ResNet generator ({cfg.n_blocks} residual blocks, width {cfg.ngf}): a street photo of "
            f"{cfg.city_b} → the same scene in the style of {cfg.city_a}; the reverse (F: B → A) of the "
            f"{cfg.city_a} → {cfg.city_b} model in ../export, trained with it."))
    rev = export_model(f_ba, trainer.run_dir / "export_reverse", card=reverse, ema=ema_f)
    if cfg.push_to_hub:
        push_export(rev, cfg.push_to_hub + "-reverse")


def train_step(trainer: Trainer, nets: tuple[nn.Module, nn.Module, nn.Module], opts: tuple[torch.optim.Optimizer, ...],
               draw: Callable[[], tuple[torch.Tensor, torch.Tensor, Any, Any]], pools: tuple[ImagePool, ImagePool],
               rng: torch.Generator, cfg: CycleGANConfig, seg: Segmenter | None) -> dict[str, torch.Tensor]:
    """One optimizer step of both generators, then of both discriminators, each over --grad-accum micro-batches
    of `draw()` -> (a, b, labels_a, labels_b); D's micro-batches are G's, each querying the pools with its fakes."""
    (pair, d_a, d_b), (opt_g, opt_d), (pool_a, pool_b) = nets, opts, pools
    identity = cfg.lambda_id > 0
    seen: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def g_micro() -> dict[str, torch.Tensor]:  # both generators in one forward (see CyclePair)
        a, b, labels_a, labels_b = draw()
        out = pair(a, b, identity)
        seen.append((a, b, out["fake_a"].detach(), out["fake_b"].detach()))
        gan_ab = lsgan_loss(d_b(out["fake_b"]), real=True)
        gan_ba = lsgan_loss(d_a(out["fake_a"]), real=True)
        cyc = (out["rec_a"].float() - a).abs().mean() + (out["rec_b"].float() - b).abs().mean()
        loss_g = gan_ab + gan_ba + cfg.lambda_cyc * cyc
        logged = {"g_gan_ab": gan_ab, "g_gan_ba": gan_ba, "cycle": cyc}
        if identity:
            idt = (out["idt_b"].float() - b).abs().mean() + (out["idt_a"].float() - a).abs().mean()
            loss_g = loss_g + cfg.lambda_id * cfg.lambda_cyc * idt
            logged["identity"] = idt
        if seg is not None:  # G(a) must read as a's classes, F(b) as b's
            sem = (semantic_loss(seg, out["fake_b"], targets(seg, a, labels_a))
                   + semantic_loss(seg, out["fake_a"], targets(seg, b, labels_b)))
            loss_g = loss_g + cfg.lambda_sem * sem
            logged["semantic"] = sem
        return {"objective": loss_g, "loss_g": loss_g, **logged}

    def d_micro() -> dict[str, torch.Tensor]:  # real vs a pooled fake, one call per discriminator (instance norm
        a, b, fake_a, fake_b = seen.pop(0)  # is per image, so real and fake in one batch do not mix)
        fake_b = pool_b.query(fake_b.float(), rng)
        fake_a = pool_a.query(fake_a.float(), rng)
        n = b.shape[0]
        sb, sa = d_b(torch.cat([b, fake_b])), d_a(torch.cat([a, fake_a]))
        loss_db = 0.5 * (lsgan_loss(sb[:n], real=True) + lsgan_loss(sb[n:], real=False))
        loss_da = 0.5 * (lsgan_loss(sa[:n], real=True) + lsgan_loss(sa[n:], real=False))
        return {"objective": loss_da + loss_db, "loss_d_a": loss_da, "loss_d_b": loss_db}

    g_logs = trainer.optimizer_step(pair, opt_g, g_micro, objective="objective")
    # zeroing D's gradients first also drops those the generator step left behind
    d_logs = trainer.optimizer_step((d_a, d_b), opt_d, d_micro, objective="objective")
    return {"loss_g": g_logs.pop("loss_g"), **d_logs, **g_logs}


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns G's export folder on the main process once --steps is reached."""
    cfg = parse_config(CycleGANConfig, argv)
    if not 0.0 <= cfg.decay_start <= 1.0:
        raise ValueError(f"--decay-start must be in [0, 1], got {cfg.decay_start}")
    trainer = Trainer(cfg, argv, entry="train.train_cyclegan")
    if cfg.push_to_hub:  # F's export goes to its own repo: created before training too
        trainer.create_hub_repo(cfg.push_to_hub + "-reverse")
    data_a = load_domain(cfg, cfg.data_a, cfg.city_a, offset=0)
    data_b = load_domain(cfg, cfg.data_b, cfg.city_b, offset=max(len(data_a), cfg.per_city))
    pair = build_generators(cfg)
    pair, d_a, d_b, opt_g, opt_d = trainer.prepare(pair, *build_discriminators(cfg, pair))
    bare = trainer.accelerator.unwrap_model(pair)
    ema_g, ema_f = trainer.make_ema(bare.g), trainer.make_ema(bare.f)
    pool_a, pool_b = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)  # fakes of A (F(b)) / of B (G(a))
    sampler_a, sampler_b = trainer.make_sampler(len(data_a)), trainer.make_sampler(len(data_b), seed_offset=1)
    trainer.track(generators=pair, d_a=d_a, d_b=d_b, opt_g=opt_g, opt_d=opt_d, ema_g=ema_g, ema_f=ema_f,
                  sampler_a=sampler_a, sampler_b=sampler_b, pool_a=pool_a, pool_b=pool_b)
    seg = semantic_segmenter(cfg, [data_a, data_b])
    if seg is not None:
        seg.to(trainer.device)
        trainer.track(semantic_segmenter=seg)  # a resumed run gets the same frozen S back
    show_a = np.linspace(0, len(data_a) - 1, min(SHOW, len(data_a))).astype(np.int64)
    show_b = np.linspace(0, len(data_b) - 1, min(SHOW, len(data_b))).astype(np.int64)
    trainer.set_sampler(bare.g, lambda m: samples_view(m, bare.f, ema_f, data_a, data_b, show_a, show_b,
                                                       (cfg.city_a, cfg.city_b)), ema_g, ncols=3)

    start = trainer.start()
    sem_accuracy = start_semantic(cfg, seg, start, [data_a, data_b], trainer.device)
    for pool in (pool_a, pool_b):  # a resumed pool comes back on the CPU; new fakes live on the device
        pool.images = [t.to(trainer.device) for t in pool.images]
    pair.train()
    d_a.train()
    d_b.train()
    for step in range(start + 1, trainer.last_step + 1):
        lr = cfg.lr * lr_factor(step, cfg.steps, cfg.decay_start)
        set_lr((opt_g, opt_d), lr)  # not a scheduler: the schedule is a function of the step
        rng = trainer.step_generator(step)  # crops and pool draws: a resumed run draws the same ones

        def draw() -> tuple[torch.Tensor, torch.Tensor, Any, Any]:  # one --batch-size micro-batch of each domain
            a, labels_a = data_a.crops(sampler_a.next().numpy(), rng, trainer.device)
            b, labels_b = data_b.crops(sampler_b.next().numpy(), rng, trainer.device)
            return a, b, labels_a, labels_b

        losses = train_step(trainer, (pair, d_a, d_b), (opt_g, opt_d), draw, (pool_a, pool_b), rng, cfg, seg)
        ema_g.update(bare.g)
        ema_f.update(bare.f)
        if not trainer.step_done(step, losses, lr=lr):
            break  # --time-limit reached

    out = trainer.finish(bare.g, card=model_card(cfg, data_a, data_b, sem_accuracy), ema=ema_g)
    if out is not None:  # main process, --steps reached
        export_reverse(cfg, trainer, out, bare.f, ema_f)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
