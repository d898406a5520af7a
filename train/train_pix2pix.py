"""Train a pix2pix U-Net for the depth route: photo → depth in city A, or depth → photo in city B.

    # image → depth on Paris renders (L1 weight 50), depth → image on Venice renders (L1 weight 100):
    python -m train.train_pix2pix --name depth_paris --direction image2depth --city Paris --l1-weight 50
    python -m train.train_pix2pix --name photo_venice --direction depth2image --city Venice --l1-weight 100
    # real pairs (any photo folder + depth maps matched by file stem; see streetgen.data.DepthPairs):
    python -m train.train_pix2pix --name depth_kitti --direction image2depth --data pairs:IMAGES:DEPTH:kitti_depth

The recipe is pix2pix's: a conditional PatchGAN (70×70) sees (input, output) pairs; the generator minimises the
GAN loss plus `--l1-weight` × L1 to the target; Adam lr 2e-4, betas (0.5, 0.999), constant then linearly decayed
to zero; random crops from slightly larger renders (the paper's 286 → 256 jitter). Depth is float metres
throughout (streetgen.models.pix2pix.depth_to_unit), never 8-bit colours. World pairs come from
`streetgen.world.render_city`, rendered in memory; no flips (a mirrored street swaps the driving side).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen import geo, world
from streetgen.models.card import ModelCardInfo
from streetgen.models.pix2pix import UNetTranslator, depth_to_unit, unit_to_depth
from train.common.data import render_city_views
from train.common.export import init_from
from train.common.loop import TrainConfig, Trainer, parse_config, set_lr
from train.discriminators.patchgan import PatchDiscriminator
from train.losses import bce_gan_loss

DIRECTIONS = {"image2depth": "image_to_depth", "depth2image": "depth_to_image"}
MAX_FOR_MISSING = 200.0  # metres: pixels without depth in real pairs (0 in KITTI-style maps) count as far


@dataclass
class Pix2PixConfig(TrainConfig,
                    name="pix2pix", steps=6000, batch_size=4, log_every=50, ckpt_every=500, sample_every=500,
                    ema_warmup=200):
    """pix2pix on (photo, depth) pairs of one city, in one direction."""

    direction: str = field(default="image2depth", metadata={"choices": list(DIRECTIONS)})  # which half of the route
    data: str = field(default="world", metadata={"help": "'world' (renders of --city) or 'pairs:IMAGES:DEPTH[:ENC]'"})
    city: str = field(default="Paris", metadata={"help": "world: a streetgen.geo.FAMOUS_CITIES name"})
    per_city: int = field(default=600, metadata={"help": "world: renders of the city"})
    data_seed: int = 0  # world: render seed (judges use 9001/9002)
    size: int = 128  # square training crop side
    jitter: float = field(default=1.12, metadata={"help": "renders are this much larger; random crops of --size"})
    max_zoom: float = field(default=1.0, metadata={"help": "multi-scale training: renders are also this much "
                            "larger and each crop covers 1/zoom of the view, zoom uniform in [1, max_zoom], resized "
                            "to --size (so the model sees streets at up to max_zoom× its pixel scale)"})
    lr: float = 2e-4  # Adam, generator and discriminator
    beta1: float = 0.5  # Adam's first beta (the second is 0.999)
    decay_start: float = field(default=0.5, metadata={"help": "share of --steps at constant lr before linear decay"})
    l1_weight: float = field(default=50.0, metadata={"help": "50 for image→depth, 100 for depth→image (the study)"})
    ngf: int = 32  # U-Net width at full resolution
    num_downs: int = 7  # U-Net levels (7: 128² down to 1²)
    d_width: int = 64  # PatchGAN first-layer channels
    workers: int = field(default=0, metadata={"help": "world: render processes; 0 = all cores"})
    init_from: str = field(default="", metadata={"help": "an exported pix2pix checkpoint (folder or Hub id) to "
                                                         "start from, e.g. pix2pix_depth_paris"})


def load_pairs(cfg: Pix2PixConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """(photos (N, h, w, 3) uint8, depth (N, h, w) float32 metres, description) at --size × --jitter × --max-zoom."""
    big = int(round(cfg.size * cfg.jitter * cfg.max_zoom))
    if cfg.data == "world":
        if cfg.city not in geo.FAMOUS_CITIES:
            raise ValueError(f"--city must be one of {', '.join(geo.FAMOUS_CITIES)}, got {cfg.city!r}")
        seeds = [cfg.data_seed * 1_000_003 + k for k in range(cfg.per_city)]
        images, depth = render_city_views(cfg.city, seeds, big, ("image", "depth"), cfg.workers or None)
        return images, depth.astype(np.float32), (f"{len(images)} streetgen.world renders of {cfg.city} at {big}² "
                                                  f"(data seed {cfg.data_seed}), exact depth from the renderer")
    if cfg.data.startswith("pairs:"):
        from PIL import Image

        from streetgen.data import DepthPairs

        parts = cfg.data.split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"--data pairs:IMAGES:DEPTH[:ENCODING], got {cfg.data!r}")
        pairs = DepthPairs(parts[1], parts[2], **({"encoding": parts[3]} if len(parts) == 4 else {}))
        images, depth = [], []
        for i in range(len(pairs)):
            im, d = pairs[i]
            h, w = big, max(big, round(im.shape[1] * big / im.shape[0]))
            images.append(np.asarray(Image.fromarray(im).resize((w, h), Image.BILINEAR))[:, :big])
            dd = np.asarray(Image.fromarray(np.nan_to_num(d, nan=0.0).astype(np.float32)).resize((w, h),
                                                                                               Image.NEAREST))
            depth.append(np.where(dd > 0, dd, MAX_FOR_MISSING)[:, :big])  # missing depth (0) reads as far
        return np.stack(images), np.stack(depth), f"{len(images)} photo/depth pairs from {parts[1]} and {parts[2]}"
    raise ValueError(f"--data must be 'world' or 'pairs:IMAGES:DEPTH[:ENCODING]', got {cfg.data!r}")


def batch(images: np.ndarray, depth: np.ndarray, idx: np.ndarray, size: int, g: torch.Generator | None,
          device: torch.device, max_zoom: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """[-1, 1] photos (B, 3, S, S) and depth (B, 1, S, S); random crops with g, centre crops without.

    max_zoom > 1 (the pairs rendered that much larger): each crop's side is drawn in [S, S·max_zoom] (the whole
    jittered view at S·max_zoom; without g always that) and resized to S — photos with antialiasing, depth by
    nearest pixel so no façade/sky blend invents a depth that is in neither."""
    n, h, w = depth.shape
    top_side = int(round(size * max_zoom))
    if g is None:
        sides = [top_side] * len(idx)
        tops, lefts = [(h - c) // 2 for c in sides], [(w - c) // 2 for c in sides]
    elif top_side == size:  # single scale: the original draws, so earlier runs resume identically
        sides = [size] * len(idx)
        tops = torch.randint(0, h - size + 1, (len(idx),), generator=g).tolist()
        lefts = torch.randint(0, w - size + 1, (len(idx),), generator=g).tolist()
    else:
        sides = torch.randint(size, top_side + 1, (len(idx),), generator=g).tolist()
        tops = [int(torch.randint(0, h - c + 1, (1,), generator=g)) for c in sides]
        lefts = [int(torch.randint(0, w - c + 1, (1,), generator=g)) for c in sides]
    xs, ds = [], []
    for i, t, l, c in zip(idx.tolist(), tops, lefts, sides):
        x = torch.from_numpy(np.ascontiguousarray(images[i, t:t + c, l:l + c])).permute(2, 0, 1)[None].float()
        d = torch.from_numpy(np.ascontiguousarray(depth[i, t:t + c, l:l + c]))[None, None]
        if c != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            d = F.interpolate(d, size=(size, size), mode="nearest-exact")
        xs.append(x)
        ds.append(d)
    x = torch.cat(xs).to(device).div_(127.5).sub_(1)
    d = depth_to_unit(torch.cat(ds).to(device))
    return x, d


def lr_factor(step: int, steps: int, decay_start: float) -> float:
    """1 for the first decay_start × steps, then linearly down to 0 at the last step (pix2pix / CycleGAN)."""
    start = int(steps * decay_start)
    return 1.0 if step <= start else max(0.0, 1.0 - (step - start) / max(1, steps - start))


def samples_view(model: UNetTranslator, images: np.ndarray, depth: np.ndarray, show: np.ndarray, size: int,
                 max_zoom: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """Per shown pair: photo | true depth | generated (depth, or photo), depth drawn with world.colorize_depth."""
    device = next(model.parameters()).device
    x, d = batch(images, depth, show, size, None, device, max_zoom)
    src, tgt = (x, d) if model.kind == "image_to_depth" else (d, x)
    out = model(src, dropout=False)

    def show_depth(t):
        return world.colorize_depth(unit_to_depth(t[:, 0]).cpu().numpy())

    def show_photo(t):
        return ((t + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()

    fake = show_depth(out) if model.kind == "image_to_depth" else show_photo(out)
    rows = [show_photo(x), show_depth(d), fake]
    imgs = np.stack(rows, 1).reshape(-1, *rows[0].shape[1:])
    return imgs, [c for _ in show for c in ["photo", "depth", "generated"]]


def model_card(cfg: Pix2PixConfig, kind: str, description: str) -> ModelCardInfo:
    """The export's card: direction, city, recipe and data."""
    what = "photo → depth (float metres)" if kind == "image_to_depth" else "depth (float metres) → photo"
    return ModelCardInfo(
        description=f"pix2pix U-Net (ngf {cfg.ngf}, {cfg.num_downs} levels, dropout as noise): {what}, trained at "
                    f"{cfg.size}² on {cfg.city if cfg.data == 'world' else 'real pairs'}; fully convolutional "
                    "(any size). One half of the City → city depth route.",
        data=description, data_license="streetgen.world renders (procedural, MIT)" if cfg.data == "world"
        else "see the source dataset", license="mit", datasets=[],
        tags=["pix2pix", "depth", "city"] + ([cfg.city.lower()] if cfg.data == "world" else []),
        notes=f"L1 weight {cfg.l1_weight:g}; conditional 70×70 PatchGAN; lr decay from {cfg.decay_start:.0%} of the "
              "steps." + (f" Multi-scale crops: each covers 1/zoom of the view, zoom in [1, {cfg.max_zoom:g}]."
                          if cfg.max_zoom > 1 else "") + (f" Started from {cfg.init_from}." if cfg.init_from else ""))


def train_step(trainer: Trainer, nets: tuple[nn.Module, nn.Module], opts: tuple[torch.optim.Optimizer, ...],
               draw: Callable[[], tuple[torch.Tensor, torch.Tensor]], l1_weight: float) -> dict[str, torch.Tensor]:
    """One optimizer step of the generator, then of the discriminator, each over --grad-accum micro-batches of
    `draw()` -> (source, target); D's micro-batches are G's, with G's fakes detached. Returns the logged means."""
    (model, disc), (opt_g, opt_d) = nets, opts
    pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def g_micro() -> dict[str, torch.Tensor]:  # fool the conditional PatchGAN and stay close to the target (L1)
        src, tgt = draw()
        fake = model(src)
        pairs.append((src, tgt, fake.detach()))
        g_gan = bce_gan_loss(disc(torch.cat([src, fake], 1)), True)
        l1 = (fake.float() - tgt).abs().mean()
        loss_g = g_gan + l1_weight * l1
        return {"objective": loss_g, "loss_g": loss_g, "g_gan": g_gan, "l1": l1}

    def d_micro() -> dict[str, torch.Tensor]:  # real pairs vs the generated ones (detached); halved as in pix2pix
        src, tgt, fake = pairs.pop(0)
        pred = disc(torch.cat([torch.cat([src, tgt], 1), torch.cat([src, fake], 1)]))
        b = src.shape[0]
        loss_d = 0.5 * (bce_gan_loss(pred[:b], True) + bce_gan_loss(pred[b:], False))
        return {"objective": loss_d, "loss_d": loss_d}

    g_logs = trainer.optimizer_step(model, opt_g, g_micro, objective="objective")
    # zeroing D's gradients first also drops those the generator step left behind
    d_logs = trainer.optimizer_step(disc, opt_d, d_micro, objective="objective")
    return {"loss_g": g_logs["loss_g"], **d_logs, "g_gan": g_logs["g_gan"], "l1": g_logs["l1"]}


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(Pix2PixConfig, argv)
    trainer = Trainer(cfg, argv, entry="train.train_pix2pix")
    images, depth, description = load_pairs(cfg)
    kind = DIRECTIONS[cfg.direction]
    cin, cout = (3, 1) if kind == "image_to_depth" else (1, 3)
    model = UNetTranslator(cin, cout, cfg.ngf, cfg.num_downs, kind=kind, city=cfg.city if cfg.data == "world" else "",
                           train_size=cfg.size)
    if cfg.init_from:
        init_from(model, cfg.init_from)
    disc = PatchDiscriminator(cin + cout, cfg.d_width, norm="instance")
    opt_g = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    model, disc, opt_g, opt_d = trainer.prepare(model, disc, opt_g, opt_d)
    ema = trainer.make_ema(model)
    sampler = trainer.make_sampler(len(images))
    trainer.track(model=model, discriminator=disc, opt_g=opt_g, opt_d=opt_d, ema=ema, sampler=sampler)
    show = np.linspace(0, len(images) - 1, min(4, len(images))).astype(np.int64)
    trainer.set_sampler(model, lambda m: samples_view(m, images, depth, show, cfg.size, cfg.max_zoom), ema, ncols=3)

    start = trainer.start()
    model.train()
    disc.train()
    for step in range(start + 1, trainer.last_step + 1):
        lr = cfg.lr * lr_factor(step, cfg.steps, cfg.decay_start)
        set_lr((opt_g, opt_d), lr)
        g = trainer.step_generator(step)

        def draw() -> tuple[torch.Tensor, torch.Tensor]:  # one --batch-size micro-batch: (source, target)
            x, d = batch(images, depth, np.sort(sampler.next().numpy()), cfg.size, g, trainer.device, cfg.max_zoom)
            return (x, d) if kind == "image_to_depth" else (d, x)

        logged = train_step(trainer, (model, disc), (opt_g, opt_d), draw, cfg.l1_weight)
        ema.update(model)
        if not trainer.step_done(step, logged, lr=lr):
            break  # --time-limit reached

    return trainer.finish(model, card=model_card(cfg, kind, description), ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
