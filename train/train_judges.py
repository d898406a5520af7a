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
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen import geo, world  # noqa: E402
from streetgen.classes import IGNORE  # noqa: E402
from streetgen.models.judges import (  # noqa: E402
    MAX_DEPTH,
    CityJudge,
    DepthEstimator,
    PlaceJudge,
    Segmenter,
)
from train.common.data import (  # noqa: E402
    JUDGE_TEST_SEED,
    JUDGE_TRAIN_SEED,
    WorldArrays,
    center_crops,
    jitter,
    judge_countries,
    load_camvid,
    photometric,
    random_crops,
    render_city_arrays,
    render_world_arrays,
    to_tensor,
)
from train.common.evaluate import (  # noqa: E402
    real_place_metrics,
    evaluate_city,
    evaluate_depth,
    evaluate_place,
    evaluate_seg,
)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class JudgeConfig:
    """One judge's training run (flags of the same names; train_judges keeps its own plain argparse CLI)."""

    judge: str = "place"  # place | seg | depth | city
    countries: int = 100  # the n most populous renderable countries, plus EXTRA_COUNTRIES
    per_country: int = 120  # training renders per country (world data is balanced over countries)
    test_per_country: int = 20  # held-out renders per country (per city for the city judge)
    size: int = 128  # render size; the place judge resizes to its own input size
    width: int = 32  # the judge's first-stage channels
    steps: int = 3000  # optimizer steps (one-cycle schedule over them)
    batch: int = 64  # images per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step (images per step = batch x grad_accum)
    lr: float = 2e-3  # peak AdamW learning rate
    camvid: str = "../shared/datasets/camvid"  # relative to the repository root
    camvid_weight: float = 0.5  # share of segmenter batches drawn from CamVid
    out: str = ""  # default: checkpoints/judges/<judge>
    threads: int = 0  # torch threads (0 = all cores)
    seed: int = 0  # torch seed of the weights and of the batch / jitter draws
    photometric: bool = False  # strong colour / gamma / blur / noise augmentation instead of the light jitter


def _latlon_to_xyz(latlon: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(geo.unit_xyz(latlon[:, 0], latlon[:, 1])).float()


def augment(cfg: JudgeConfig, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """The batch's colour augmentation: the light brightness/contrast jitter, or --photometric's strong one (for
    judges that must read real photos after learning on renders)."""
    return photometric(x, g) if cfg.photometric else jitter(x, g)


def place_loss(out: dict, tgt: dict) -> torch.Tensor:
    """The place judge's multi-task loss: country, region style, drive side, climate and location on the sphere."""
    return (F.cross_entropy(out["country"], tgt["country"]) + 0.5 * F.cross_entropy(out["style"], tgt["style"])
            + 0.3 * F.cross_entropy(out["drive"], tgt["drive"]) + 0.3 * F.cross_entropy(out["climate"], tgt["climate"])
            + 2.0 * (1 - (out["xyz"] * tgt["xyz"]).sum(-1)).mean())


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


def accumulated_step(opt: torch.optim.Optimizer, micro_loss: Callable[[], torch.Tensor], n: int) -> torch.Tensor:
    """One optimizer step over `n` micro-batches: backpropagate each `micro_loss()` / n, so the gradient is the
    mean loss's (BatchNorm statistics stay per micro-batch); returns that mean (detached) for the report."""
    if n < 1:
        raise ValueError(f"--grad-accum must be >= 1, got {n}")
    opt.zero_grad(set_to_none=True)
    total = torch.zeros(())
    for _ in range(n):
        loss = micro_loss()
        (loss / n).backward()
        total = total + loss.detach() / n
    opt.step()
    return total


def _report(step: int, steps: int, loss: torch.Tensor, t1: float) -> None:
    if step % 100 == 0 or step == 1:
        print(f"step {step}/{steps} loss {loss.item():.4f} ({step / (time.time() - t1):.2f} steps/s)", flush=True)


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

        def micro_loss() -> torch.Tensor:
            idx = torch.randint(len(images), (cfg.batch,), generator=g).numpy()
            return F.cross_entropy(model(augment(cfg, to_tensor(images[idx]), g)), torch.from_numpy(city[idx]))

        loss = accumulated_step(opt, micro_loss, cfg.grad_accum)
        sched.step()
        _report(step, cfg.steps, loss, t1)
    metrics = evaluate_city(model, test_images, test_city)
    wall = time.time() - t0
    print(json.dumps(metrics, indent=2))
    out = Path(cfg.out) if cfg.out else ROOT / "checkpoints" / "judges" / "city"
    _export(model, out, cfg, argv, metrics, wall, len(images))
    return metrics


def _build(cfg: JudgeConfig, countries: list[str]) -> torch.nn.Module:
    if cfg.judge == "place":
        return PlaceJudge(countries=countries, styles=list(world.FAMILIES), width=cfg.width)
    if cfg.judge == "seg":
        return Segmenter(width=cfg.width)
    if cfg.judge == "depth":
        return DepthEstimator(width=cfg.width)
    raise ValueError(f"unknown judge {cfg.judge!r}: use place, seg or depth")


def _camvid_root(cfg: JudgeConfig) -> Path:
    """--camvid, relative to the repository root unless absolute."""
    return (ROOT / cfg.camvid) if not Path(cfg.camvid).is_absolute() else Path(cfg.camvid)


def _camvid(cfg: JudgeConfig) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """CamVid train and val at the render size for the segmenter (None for the other judges)."""
    if cfg.judge != "seg":
        return None
    return {split: load_camvid(_camvid_root(cfg), split, cfg.size) for split in ("train", "val")}


def _loss(cfg: JudgeConfig, model: torch.nn.Module, data: WorldArrays, xyz: torch.Tensor, camvid: dict | None,
          idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """One batch's loss for the place, seg or depth judge (draws its jitter, crops and flips from `g`)."""
    if cfg.judge == "place":
        x = augment(cfg, to_tensor(data.images[idx.numpy()]), g)
        tgt = {"country": torch.from_numpy(data.country[idx.numpy()]),
               "style": torch.from_numpy(data.style[idx.numpy()]),
               "drive": torch.from_numpy(data.drive[idx.numpy()]),
               "climate": torch.from_numpy(data.climate[idx.numpy()]), "xyz": xyz[idx]}
        return place_loss(model(x), tgt)
    if cfg.judge == "seg":
        n_cv = int(cfg.batch * cfg.camvid_weight)
        cv_im, cv_lab = random_crops(*camvid["train"], cfg.size, n_cv, g)
        im = np.concatenate([data.images[idx[n_cv:].numpy()], cv_im])
        lab = np.concatenate([data.labels[idx[n_cv:].numpy()], cv_lab]).astype(np.int64)
        x, y = augment(cfg, to_tensor(im), g), torch.from_numpy(lab)
        flip = torch.rand(len(x), generator=g) < 0.5  # segmentation has no handedness
        x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
        return F.cross_entropy(model(x), y, ignore_index=IGNORE)
    x = augment(cfg, to_tensor(data.images[idx.numpy()]), g)
    d = torch.from_numpy(data.depth[idx.numpy()]).clamp(0.5, MAX_DEPTH)
    flip = torch.rand(len(x), generator=g) < 0.5
    x[flip], d[flip] = x[flip].flip(-1), d[flip].flip(-1)
    return F.l1_loss(model(x), d.log())


def _evaluate(cfg: JudgeConfig, model: torch.nn.Module, test_data: WorldArrays, camvid: dict | None) -> dict:
    if cfg.judge == "place":
        root = _camvid_root(cfg)
        real = real_place_metrics(model, root) if cfg.camvid and (root / "val").is_dir() else {}
        return {**evaluate_place(model, test_data), **real}
    if cfg.judge == "seg":
        return {"world_test": evaluate_seg(model, test_data.images, test_data.labels),
                "camvid_val": evaluate_seg(model, *center_crops(*camvid["val"], cfg.size))}
    return evaluate_depth(model, test_data.images, test_data.depth)


def train(cfg: JudgeConfig, argv: list[str]) -> dict:
    """Render the judge's data, train it, score it on unseen renders and export it; returns the metrics."""
    if cfg.judge == "city":
        return train_city(cfg, argv)
    g = _seeded(cfg)
    t0 = time.time()
    countries = judge_countries(cfg.countries)
    per_train = cfg.per_country if cfg.judge == "place" else max(cfg.per_country // 2, 1)
    train_data = render_world_arrays(countries, per_train, cfg.size, JUDGE_TRAIN_SEED)
    test_data = render_world_arrays(countries, cfg.test_per_country, cfg.size, JUDGE_TEST_SEED)
    print(f"rendered {len(train_data.images)} train / {len(test_data.images)} test images in {time.time() - t0:.0f}s")
    camvid = _camvid(cfg)
    model = _build(cfg, countries)
    opt, sched = _optimiser(model, cfg)
    n = len(train_data.images)
    xyz = _latlon_to_xyz(train_data.latlon)
    t1 = time.time()
    for step in range(1, cfg.steps + 1):
        model.train()
        loss = accumulated_step(opt, lambda: _loss(cfg, model, train_data, xyz, camvid,
                                                   torch.randint(n, (cfg.batch,), generator=g), g), cfg.grad_accum)
        sched.step()
        _report(step, cfg.steps, loss, t1)
    metrics = _evaluate(cfg, model, test_data, camvid)
    wall = time.time() - t0
    print(json.dumps(metrics, indent=2))
    out = Path(cfg.out) if cfg.out else ROOT / "checkpoints" / "judges" / cfg.judge
    _export(model, out, cfg, argv, metrics, wall, len(train_data.images))
    return metrics


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
    """CLI entry: --field-name flags of JudgeConfig; returns the judge's metrics."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in fields(JudgeConfig):
        if isinstance(f.default, bool):  # a switch: --photometric
            p.add_argument("--" + f.name.replace("_", "-"), action="store_true")
        else:
            p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    cfg = JudgeConfig(**vars(p.parse_args(argv)))
    return train(cfg, argv)


if __name__ == "__main__":
    main()
