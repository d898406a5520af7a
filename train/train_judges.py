"""Train the judges (place judge, segmenter, depth estimator) on held-out world renders (+ CamVid for the segmenter).

    python train/train_judges.py --judge place --steps 3000
    python train/train_judges.py --judge seg --steps 2500 --camvid ../shared/datasets/camvid
    python train/train_judges.py --judge depth --steps 2500
    python train/train_judges.py --judge city --per-country 300 --steps 1500   # per-country = renders per city

Each run renders its data in memory (seeds disjoint from every generator's data), trains with an explicit loop,
measures the judge on unseen renders (the "real" baseline every generator is compared with) and exports the
inference weights with a model card to checkpoints/judges/<place|seg|depth>/.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen import classes, geo, world  # noqa: E402
from streetgen.classes import IGNORE  # noqa: E402
from streetgen.models.judges import MAX_DEPTH, CityJudge, DepthEstimator, PlaceJudge, Segmenter  # noqa: E402
from streetgen.metrics import class_iou  # noqa: E402
from train.judges_data import (JUDGE_TEST_SEED, JUDGE_TRAIN_SEED, judge_countries, load_camvid,  # noqa: E402
                               render_city_arrays, render_world_arrays)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class JudgeConfig:
    judge: str = "place"  # place | seg | depth | city
    countries: int = 100
    per_country: int = 120  # training renders per country (world data is balanced over countries)
    test_per_country: int = 20
    size: int = 128  # render size; the place judge resizes to its own input size
    width: int = 32
    steps: int = 3000
    batch: int = 64
    lr: float = 2e-3
    camvid: str = "../shared/datasets/camvid"  # relative to the repository root
    camvid_weight: float = 0.5  # share of segmenter batches drawn from CamVid
    out: str = ""  # default: checkpoints/judges/<judge>
    threads: int = 0  # torch threads (0 = all cores)
    seed: int = 0


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255)


def _jitter(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Brightness/contrast jitter; never flips (a mirrored street drives on the wrong side)."""
    b = x.shape[0]
    gain = 1 + 0.25 * (torch.rand(b, 1, 1, 1, generator=g) - 0.5)
    bias = 0.08 * (torch.rand(b, 1, 1, 1, generator=g) - 0.5)
    return (x * gain + bias).clamp_(0, 1)


def _latlon_to_xyz(latlon: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(geo.unit_xyz(latlon[:, 0], latlon[:, 1])).float()


def _xyz_to_latlon(xyz: torch.Tensor) -> np.ndarray:
    x, y, z = xyz.double().unbind(-1)
    return torch.stack([torch.rad2deg(torch.asin(z.clamp(-1, 1))), torch.rad2deg(torch.atan2(y, x))], -1).numpy()


def place_loss(out: dict, tgt: dict) -> torch.Tensor:
    return (F.cross_entropy(out["country"], tgt["country"]) + 0.5 * F.cross_entropy(out["style"], tgt["style"])
            + 0.3 * F.cross_entropy(out["drive"], tgt["drive"]) + 0.3 * F.cross_entropy(out["climate"], tgt["climate"])
            + 2.0 * (1 - (out["xyz"] * tgt["xyz"]).sum(-1)).mean())


@torch.no_grad()
def evaluate_place(model: PlaceJudge, data, batch: int = 256) -> dict:
    model.eval()
    outs = [model(_to_tensor(data.images[i:i + batch])) for i in range(0, len(data.images), batch)]
    logits = torch.cat([o["country"] for o in outs])
    tgt = torch.from_numpy(data.country)
    top5 = logits.topk(5, dim=1).indices
    pred_ll = _xyz_to_latlon(torch.cat([o["xyz"] for o in outs]))
    km = geo.haversine_km(data.latlon[:, 0], data.latlon[:, 1], pred_ll[:, 0], pred_ll[:, 1])
    acc = lambda key, arr: float((torch.cat([o[key] for o in outs]).argmax(1) == torch.from_numpy(arr)).float().mean())
    return {"country_top1": float((top5[:, 0] == tgt).float().mean()),
            "country_top5": float((top5 == tgt[:, None]).any(1).float().mean()),
            "region_style_acc": acc("style", data.style), "drive_side_acc": acc("drive", data.drive),
            "climate_acc": acc("climate", data.climate), "median_km": float(np.median(km)),
            "chance_top1": 1.0 / len(data.countries), "n_test": int(len(tgt))}


@torch.no_grad()
def evaluate_seg(model: Segmenter, images: np.ndarray, labels: np.ndarray, batch: int = 64) -> dict:
    model.eval()
    pred = torch.cat([model.predict(_to_tensor(images[i:i + batch])) for i in range(0, len(images), batch)])
    ious = class_iou(pred.numpy(), labels)
    present = [v for v in ious if v == v]
    return {"miou": float(np.mean(present)),
            "per_class_iou": {n: round(v, 4) for n, v in zip(classes.CLASS_NAMES, ious) if v == v}}


@torch.no_grad()
def evaluate_depth(model: DepthEstimator, images: np.ndarray, depth: np.ndarray, batch: int = 64) -> dict:
    model.eval()
    pred = torch.cat([model.predict(_to_tensor(images[i:i + batch])) for i in range(0, len(images), batch)])
    gt = torch.from_numpy(depth)
    valid = gt < MAX_DEPTH  # the sky and the far horizon have no meaningful depth
    err = pred[valid] - gt[valid]
    return {"rmse_m": float(err.pow(2).mean().sqrt()), "abs_rel": float((err.abs() / gt[valid]).mean()),
            "delta_1.25": float((torch.maximum(pred[valid] / gt[valid], gt[valid] / pred[valid]) < 1.25).float().mean())}


def _random_crops(images, labels, size, n, g):
    """n random size×size crops (with horizontal flips) from a set of equally sized images."""
    idx = torch.randint(len(images), (n,), generator=g).numpy()
    h, w = images.shape[1:3]
    ys = torch.randint(h - size + 1, (n,), generator=g).numpy()
    xs = torch.randint(w - size + 1, (n,), generator=g).numpy()
    im = np.stack([images[i, y:y + size, x:x + size] for i, y, x in zip(idx, ys, xs)])
    lab = np.stack([labels[i, y:y + size, x:x + size] for i, y, x in zip(idx, ys, xs)])
    return im, lab


def evaluate_city(model: CityJudge, images: np.ndarray, city: np.ndarray, batch: int = 256) -> dict:
    model.eval()
    with torch.no_grad():
        pred = np.concatenate([model(_to_tensor(images[i:i + batch])).argmax(1).numpy()
                               for i in range(0, len(images), batch)])
    per_city = {c: float((pred[city == k] == k).mean()) for k, c in enumerate(model.cities)}
    return {"city_top1": float((pred == city).mean()), "chance_top1": 1.0 / len(model.cities),
            "n_test": len(images), "per_city_top1": per_city}


def _seeded(cfg: JudgeConfig) -> torch.Generator:
    """Seed torch, set the thread count, and return the batch-drawing generator."""
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    return torch.Generator().manual_seed(cfg.seed)


def _optimiser(model: torch.nn.Module, cfg: JudgeConfig):
    """AdamW with a one-cycle schedule over the run: every judge trains the same way."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps,
                                                pct_start=max(0.05, 2.0 / cfg.steps))
    return opt, sched


def train_city(cfg: JudgeConfig, argv: list[str]) -> dict:
    """The city judge: famous-city renders only, balanced; same jitter and optimiser as the place judge."""
    g = _seeded(cfg)
    t0 = time.time()
    cities = list(geo.FAMOUS_CITIES)
    images, city = render_city_arrays(cities, cfg.per_country, cfg.size, JUDGE_TRAIN_SEED)
    test_images, test_city = render_city_arrays(cities, cfg.test_per_country, cfg.size, JUDGE_TEST_SEED)
    print(f"rendered {len(images)} train / {len(test_images)} test images in {time.time() - t0:.0f}s")
    model = CityJudge(cities=cities, width=cfg.width)
    opt, sched = _optimiser(model, cfg)
    t1 = time.time()
    for step in range(1, cfg.steps + 1):
        model.train()
        idx = torch.randint(len(images), (cfg.batch,), generator=g).numpy()
        loss = F.cross_entropy(model(_jitter(_to_tensor(images[idx]), g)), torch.from_numpy(city[idx]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == 1:
            print(f"step {step}/{cfg.steps} loss {loss.item():.4f} ({step / (time.time() - t1):.2f} steps/s)",
                  flush=True)
    metrics = evaluate_city(model, test_images, test_city)
    wall = time.time() - t0
    print(json.dumps(metrics, indent=2))
    out = Path(cfg.out) if cfg.out else ROOT / "checkpoints" / "judges" / "city"
    _export(model, out, cfg, argv, metrics, wall, len(images))
    return metrics


def train(cfg: JudgeConfig, argv: list[str]) -> dict:
    if cfg.judge == "city":
        return train_city(cfg, argv)
    g = _seeded(cfg)
    t0 = time.time()
    countries = judge_countries(cfg.countries)
    per_train = cfg.per_country if cfg.judge == "place" else max(cfg.per_country // 2, 1)
    train_data = render_world_arrays(countries, per_train, cfg.size, JUDGE_TRAIN_SEED)
    test_data = render_world_arrays(countries, cfg.test_per_country, cfg.size, JUDGE_TEST_SEED)
    print(f"rendered {len(train_data.images)} train / {len(test_data.images)} test images in {time.time() - t0:.0f}s")
    camvid = None
    if cfg.judge == "seg":
        root = (ROOT / cfg.camvid) if not Path(cfg.camvid).is_absolute() else Path(cfg.camvid)
        camvid = {split: load_camvid(root, split, cfg.size) for split in ("train", "val")}
    if cfg.judge == "place":
        model = PlaceJudge(countries=countries, styles=list(world.FAMILIES), width=cfg.width)
    elif cfg.judge == "seg":
        model = Segmenter(width=cfg.width)
    elif cfg.judge == "depth":
        model = DepthEstimator(width=cfg.width)
    else:
        raise ValueError(f"unknown judge {cfg.judge!r}: use place, seg or depth")
    opt, sched = _optimiser(model, cfg)
    n = len(train_data.images)
    xyz = _latlon_to_xyz(train_data.latlon)
    t1 = time.time()
    for step in range(1, cfg.steps + 1):
        model.train()
        idx = torch.randint(n, (cfg.batch,), generator=g)
        if cfg.judge == "place":
            x = _jitter(_to_tensor(train_data.images[idx.numpy()]), g)
            tgt = {"country": torch.from_numpy(train_data.country[idx.numpy()]),
                   "style": torch.from_numpy(train_data.style[idx.numpy()]),
                   "drive": torch.from_numpy(train_data.drive[idx.numpy()]),
                   "climate": torch.from_numpy(train_data.climate[idx.numpy()]), "xyz": xyz[idx]}
            loss = place_loss(model(x), tgt)
        elif cfg.judge == "seg":
            n_cv = int(cfg.batch * cfg.camvid_weight)
            cv_im, cv_lab = _random_crops(*camvid["train"], cfg.size, n_cv, g)
            im = np.concatenate([train_data.images[idx[n_cv:].numpy()], cv_im])
            lab = np.concatenate([train_data.labels[idx[n_cv:].numpy()], cv_lab]).astype(np.int64)
            x, y = _jitter(_to_tensor(im), g), torch.from_numpy(lab)
            flip = torch.rand(len(x), generator=g) < 0.5  # segmentation has no handedness
            x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
            loss = F.cross_entropy(model(x), y, ignore_index=IGNORE)
        else:
            x = _jitter(_to_tensor(train_data.images[idx.numpy()]), g)
            d = torch.from_numpy(train_data.depth[idx.numpy()]).clamp(0.5, MAX_DEPTH)
            flip = torch.rand(len(x), generator=g) < 0.5
            x[flip], d[flip] = x[flip].flip(-1), d[flip].flip(-1)
            loss = F.l1_loss(model(x), d.log())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == 1:
            rate = step / (time.time() - t1)
            print(f"step {step}/{cfg.steps} loss {loss.item():.4f} ({rate:.2f} steps/s)", flush=True)
    if cfg.judge == "place":
        metrics = evaluate_place(model, test_data)
    elif cfg.judge == "seg":
        metrics = {"world_test": evaluate_seg(model, test_data.images, test_data.labels),
                   "camvid_val": evaluate_seg(model, *_center_crops(*camvid["val"], cfg.size))}
    else:
        metrics = evaluate_depth(model, test_data.images, test_data.depth)
    wall = time.time() - t0
    print(json.dumps(metrics, indent=2))
    out = Path(cfg.out) if cfg.out else ROOT / "checkpoints" / "judges" / cfg.judge
    _export(model, out, cfg, argv, metrics, wall, len(train_data.images))
    return metrics


def _center_crops(images, labels, size):
    w = images.shape[2]
    x = (w - size) // 2
    return images[:, :, x:x + size], labels[:, :, x:x + size]


def _export(model, out: Path, cfg: JudgeConfig, argv: list[str], metrics: dict, wall: float, n_train: int) -> None:
    from streetgen.models.card import ModelCardInfo

    camvid = cfg.judge == "seg"
    if cfg.judge == "city":
        data = (f"{n_train} streetgen.world renders of the {len(geo.FAMOUS_CITIES)} famous cities at {cfg.size}² "
                f"(balanced; dataset seed {JUDGE_TRAIN_SEED}), evaluated on {cfg.test_per_country} unseen renders "
                f"per city (seed {JUDGE_TEST_SEED}).")
    else:
        data = (f"{n_train} streetgen.world renders at {cfg.size}² ({cfg.countries} countries, balanced; dataset "
                f"seed {JUDGE_TRAIN_SEED}), evaluated on {cfg.test_per_country * cfg.countries} unseen renders "
                f"(seed {JUDGE_TEST_SEED}).")
    data = data + (" Plus CamVid train (367 Cambridge photos, SegNet 11-class labels), "
                                       "evaluated on CamVid val (101)." if camvid else "")
    card = ModelCardInfo(
        description=f"streetgen {cfg.judge} judge for `python -m streetgen.eval`: its scores on unseen real renders "
                    "are the baseline every generator is compared with.",
        data=data, training_command="python train/train_judges.py " + " ".join(shlex.quote(a) for a in argv),
        steps=cfg.steps, wall_time_s=round(wall, 1), hardware=f"{torch.get_num_threads()} CPU threads",
        metrics=_flat(metrics),
        data_license="CamVid: CC BY-NC 4.0 (non-commercial); streetgen.world renders: MIT" if camvid
        else "streetgen.world renders (procedural, MIT)",
        license="cc-by-nc-4.0" if camvid else "mit", tags=["judge", cfg.judge],
        notes="Training config: " + json.dumps(asdict(cfg)))
    model.save_pretrained(out, card=card, dtype=torch.float16)
    print(f"exported to {out}")


def _flat(metrics: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            flat.update(_flat(v, f"{prefix}{k}/"))
        else:  # plain Python numbers: numpy scalars do not survive the card's YAML
            flat[prefix + k] = round(float(v), 4) if isinstance(v, (float, np.floating)) else int(v)
    return flat


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in fields(JudgeConfig):
        p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    cfg = JudgeConfig(**vars(p.parse_args(argv)))
    return train(cfg, argv)


if __name__ == "__main__":
    main()
