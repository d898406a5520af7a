"""Train the street segmenter of the City tab's layout route (photo → label map → SPADE in another city).

    python -m train.train_segmenter --name segmenter --per-city 200 --per-country 10 --steps 3000 --device cpu

The route needs the classes of any street photo, so the segmenter learns from three sources at once: famous-city
renders (the cities the route paints), renders of every judge country (other places' streets), and CamVid train
(real Cambridge photos; the export then carries CamVid's non-commercial licence). Labels are exact for renders.

It is the judges' `Segmenter` design but a separate network on other renders (data seed 6; the evaluation's
segmenter `judges/seg` used the judge seeds), so when `eval --task city` reads the route's outputs with its own
segmenter it is not reading back its own mistakes. Cross-entropy, void ignored, AdamW with a cosine schedule,
brightness/contrast jitter and horizontal flips (a label map has no driving side); the EMA weights are exported.

To read real photos at any size (the evaluation's judge, `checkpoints/judges/seg`):

    python -m train.train_segmenter --name seg_judge --data-seed 9001 --scale-min 0.7 --scale-max 1.6 \
        --photometric --class-balance 0.5 --input-rows 128 --camvid-weight 0.5

crops are seen at random scales (CamVid is kept at 1.6 × the working rows so zooming in stays sharp), photos get
strong photometric augmentation, rare classes weigh more (median-frequency weights to the power given), and the
exported model reads any photo at 128 rows. Its card reports CamVid val at 128 rows and at the native 480×360.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from streetgen import classes, geo, world
from streetgen.classes import IGNORE
from streetgen.models.card import ModelCardInfo
from streetgen.models.judges import Segmenter
from train.common.data import (
    center_crops,
    jitter,
    judge_countries,
    load_camvid,
    photometric,
    random_crops,
    rescaled_crops,
    render_city_images,
    render_world_arrays,
    to_tensor,
)
from train.common.evaluate import evaluate_seg
from train.common.export import init_from
from train.common.loop import TrainConfig, Trainer, parse_config

CAMVID_LICENSE = "CamVid: CC BY-NC 4.0 (non-commercial); streetgen.world renders: MIT"
DESCRIPTIONS = {
    "route": "Street segmenter (11 CamVid classes) for the City tab's layout route: it reads a photo's layout, which "
             "a city-conditioned SPADE then paints in another city.",
    "judge": "streetgen seg judge for `python -m streetgen.eval` (11 CamVid classes): trained to read real photos "
             "at any size; its real-photo numbers (real_*) are on this card beside its render numbers.",
}


@dataclass
class SegmenterConfig(TrainConfig,
                      name="segmenter", steps=3000, batch_size=16, log_every=100, ckpt_every=500, sample_every=1000,
                      ema_decay=0.995, ema_warmup=100):
    """Street segmenter (11 CamVid classes) for the layout route."""

    size: int = field(default=128, metadata={"help": "training crop side"})
    per_city: int = field(default=200, metadata={"help": "renders per famous city"})
    per_country: int = field(default=10, metadata={"help": "renders per judge country (0 = none)"})
    data_seed: int = field(default=6, metadata={"help": "render seed (judges 9001/9002, city eval 9004)"})
    camvid: str = field(default="../shared/datasets/camvid", metadata={"help": "CamVid root with train/ and val/ "
                                                                               "(empty = renders only)"})
    camvid_weight: float = field(default=0.3, metadata={"help": "share of each batch drawn from CamVid"})
    width: int = 24  # the Segmenter's first-stage channels
    lr: float = 3e-3  # AdamW peak learning rate (100-step warmup, cosine decay)
    scale_min: float = 1.0  # crops are seen at a random scale in [scale_min, scale_max] (1, 1: plain crops)
    scale_max: float = 1.0  # … (> 1 zooms in; CamVid is then loaded at size × scale_max rows)
    photometric: bool = False  # strong colour / gamma / blur / noise augmentation (not just brightness/contrast)
    class_balance: float = 0.0  # class weights: median frequency / frequency, to this power (0 = unweighted)
    input_rows: int = 0  # the exported model reads photos at this many rows (0 = at the size given)
    init_from: str = field(default="", metadata={"help": "an exported segmenter (folder or Hub id) to start from"})
    role: str = field(default="route", metadata={"help": "what the card says it is for: 'route' (the City tab's "
                                                         "layout route) or 'judge' (eval's segmenter)"})


def batch_tensors(images: np.ndarray, labels: np.ndarray, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """[0, 1] images with the judges' brightness/contrast jitter and int64 labels, both flipped at random."""
    return flip_pairs(jitter(to_tensor(images), g), torch.from_numpy(labels.astype(np.int64)), g)


def flip_pairs(x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Photos and their labels mirrored together at random (half of them)."""
    flip = torch.rand(x.shape[0], generator=g) < 0.5
    x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
    return x, y


def augmented_batch(cfg: SegmenterConfig, sources: list, counts: list[int], bases: list[float],
                    g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch for --scale-min/--scale-max/--photometric: each source's crops at random scales, then the
    photometric augmentation (or the plain jitter), then flips."""
    parts = [rescaled_crops(*src, cfg.size, n, g, (cfg.scale_min, cfg.scale_max), base)
             for src, n, base in zip(sources, counts, bases) if n]
    x, y = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    return flip_pairs(photometric(x, g) if cfg.photometric else jitter(x, g), y, g)


def class_weights(sources: list, counts: list[int], power: float) -> torch.Tensor | None:
    """Median-frequency class weights (SegNet's balancing) to `power`, from each source's label histogram weighted
    by its share of a batch; None when power is 0."""
    if power == 0:
        return None
    freq = np.zeros(classes.NUM_CLASSES)
    for (_, labels), n in zip(sources, counts):
        hist = np.bincount(labels.ravel(), minlength=IGNORE + 1)[:classes.NUM_CLASSES].astype(np.float64)
        freq += n * hist / max(hist.sum(), 1)
    freq = np.maximum(freq / freq.sum(), 1e-6)
    return torch.tensor((np.median(freq) / freq) ** power, dtype=torch.float32)


def load_sources(cfg: SegmenterConfig) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """[(renders, labels)] (+ CamVid train as the last source when used) and the card's data sentence."""
    cities = list(geo.FAMOUS_CITIES)
    parts = [render_city_images(c, cfg.per_city, cfg.size, cfg.data_seed) for c in cities]
    renders = [np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])]
    text = f"{len(renders[0])} renders of the {len(cities)} famous cities"
    if cfg.per_country:
        countries = judge_countries()
        arr = render_world_arrays(countries, cfg.per_country, cfg.size, cfg.data_seed)
        renders = [np.concatenate([renders[0], arr.images]), np.concatenate([renders[1], arr.labels])]
        text += f" and {len(arr.images)} of {len(countries)} countries"
    text = f"streetgen.world: {text} at {cfg.size}² (data seed {cfg.data_seed}), exact labels"
    sources = [tuple(renders)]
    if cfg.camvid:
        rows = round(cfg.size * max(1.0, cfg.scale_max))  # zoomed-in crops stay sharp
        sources.append(load_camvid(cfg.camvid, "train", height=rows))
        text += (f"; CamVid train ({len(sources[-1][0])} photos, SegNet labels, random {cfg.size}² crops, "
                 f"{cfg.camvid_weight:.0%} of each batch)")
    if cfg.scale_min != 1 or cfg.scale_max != 1:
        text += f"; crops at random scales {cfg.scale_min}–{cfg.scale_max}"
    if cfg.photometric:
        text += "; strong photometric augmentation"
    return sources, text


def camvid_val_metrics(model: Segmenter, root: str, size: int) -> dict[str, float]:
    """CamVid val (real photos): centre crops at `size` rows (the old measure), whole frames at `size` rows and at
    their native 480×360; mIoU and per-class IoU, `real_` names for the real-photo numbers."""
    val = load_camvid(root, "val", height=size)
    out = {"camvid_val_miou": evaluate_seg(model, *center_crops(*val, size))["miou"]}
    for tag, pair in (("128rows" if size == 128 else f"{size}rows", val),
                      ("native", load_camvid(root, "val", height=360))):
        res = evaluate_seg(model, *pair, batch=16)
        out[f"real_camvid_val_miou_{tag}"] = res["miou"]
        out.update({f"real_camvid_val_{tag}/{k}": float(v) for k, v in res["per_class_iou"].items()})
    return out


def main(argv: list[str] | None = None) -> Path | None:
    """Train (or resume) runs/<name>; returns the export folder on the main process once --steps is reached."""
    cfg = parse_config(SegmenterConfig, argv)
    if not 0 <= cfg.camvid_weight < 1:
        raise ValueError(f"--camvid-weight must be in [0, 1), got {cfg.camvid_weight}")
    if cfg.role not in DESCRIPTIONS:
        raise ValueError(f"--role must be one of {sorted(DESCRIPTIONS)}, got {cfg.role!r}")
    if not 0 < cfg.scale_min <= cfg.scale_max:
        raise ValueError(f"need 0 < --scale-min <= --scale-max, got {cfg.scale_min}, {cfg.scale_max}")
    trainer = Trainer(cfg, argv, entry="train.train_segmenter")
    sources, data_text = load_sources(cfg)
    test_parts = [world.render_city(c, seed=cfg.data_seed * 1_000_003 + 500_000 + k, size=cfg.size)
                  for c in geo.FAMOUS_CITIES for k in range(5)]  # held out: not in the training seeds
    test_images = np.stack([s.image for s in test_parts])
    test_labels = np.stack([s.labels for s in test_parts])
    model = Segmenter(width=cfg.width, input_rows=cfg.input_rows)
    if cfg.init_from:
        init_from(model, cfg.init_from)
    n_camvid = int(round(cfg.batch_size * cfg.camvid_weight)) if cfg.camvid else 0
    counts = [cfg.batch_size - n_camvid, n_camvid][:len(sources)]
    bases = [1.0, sources[-1][0].shape[1] / cfg.size][:len(sources)]  # source rows per working row
    plain = cfg.scale_min == cfg.scale_max == 1 and not cfg.photometric  # the original batches, bit for bit
    weight = class_weights(sources, counts, cfg.class_balance)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps))))
    model, opt = trainer.prepare(model, opt)
    ema = trainer.make_ema(model)
    trainer.track(model=model, optimizer=opt, scheduler=sched, ema=ema)

    def show(m: Segmenter) -> tuple[np.ndarray, list[str]]:
        pred = m.predict(to_tensor(test_images[::10]).to(trainer.device)).cpu().numpy()
        rows = np.stack([test_images[::10], classes.colorize_labels(test_labels[::10]), classes.colorize_labels(pred)], 1)
        return rows.reshape(-1, *rows.shape[2:]), ["photo", "true", "predicted"] * len(pred)

    trainer.set_sampler(model, show, ema, ncols=6)
    start = trainer.start()
    for step in range(start + 1, trainer.last_step + 1):
        model.train()
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)  # a resumed run draws the same batches

        def micro_step() -> dict[str, torch.Tensor]:  # one --batch-size micro-batch, drawn on from the step's g
            if plain:
                parts = [random_crops(*src, cfg.size, n, g) for src, n in zip(sources, counts) if n]
                x, y = batch_tensors(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), g)
            else:
                x, y = augmented_batch(cfg, sources, counts, bases, g)
            w = None if weight is None else weight.to(trainer.device)
            return {"loss": F.cross_entropy(model(x.to(trainer.device)), y.to(trainer.device), weight=w,
                                            ignore_index=IGNORE)}

        losses = trainer.optimizer_step(model, opt, micro_step)  # BatchNorm statistics stay per micro-batch
        sched.step()
        ema.update(model)
        if not trainer.step_done(step, losses, lr=sched.get_last_lr()[0]):
            break

    averaged = Segmenter(width=cfg.width, input_rows=cfg.input_rows)  # the EMA weights, which are what gets exported
    ema.copy_to(averaged)
    metrics = {"city_render_miou": evaluate_seg(averaged, test_images, test_labels)["miou"]}
    if cfg.camvid:
        metrics.update(camvid_val_metrics(averaged, cfg.camvid, cfg.size))
    print({k: round(v, 4) for k, v in metrics.items() if "/" not in k}, flush=True)
    card = ModelCardInfo(
        description=DESCRIPTIONS[cfg.role],
        data=data_text, data_license=CAMVID_LICENSE if cfg.camvid else "streetgen.world renders (procedural, MIT)",
        license="cc-by-nc-4.0" if cfg.camvid else "mit",
        tags=["segmentation", "city", "layout-route"] if cfg.role == "route" else ["segmentation", "judge", "seg"],
        metrics={k: round(v, 4) for k, v in metrics.items()},
        notes="mIoU on 50 unseen famous-city renders (5 per city) and CamVid val (101 real photos): centre crops at "
              f"{cfg.size} rows (camvid_val_miou), whole frames at {cfg.size} rows and at the native 480×360 "
              "(real_camvid_val_*)." + (f" Weights started from {cfg.init_from}." if cfg.init_from else ""))
    return trainer.finish(model, card=card, ema=ema)


if __name__ == "__main__":
    main(sys.argv[1:])
