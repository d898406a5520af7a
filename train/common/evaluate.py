"""How the judges are scored on held-out data (train_judges reports these; train_segmenter reuses the mIoU).

Every function takes a trained judge, puts it in eval mode and returns plain numbers for the model card.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from streetgen import classes, geo
from streetgen.metrics import class_iou
from streetgen.models.judges import (
    MAX_DEPTH,
    CityJudge,
    DepthEstimator,
    PlaceJudge,
    Segmenter,
)
from train.common.data import WorldArrays, to_tensor


def xyz_to_latlon(xyz: torch.Tensor) -> np.ndarray:
    """Unit vectors (N, 3) → (N, 2) degrees latitude, longitude."""
    x, y, z = xyz.double().unbind(-1)
    return torch.stack([torch.rad2deg(torch.asin(z.clamp(-1, 1))), torch.rad2deg(torch.atan2(y, x))], -1).numpy()


@torch.no_grad()
def evaluate_place(model: PlaceJudge, data: WorldArrays, batch: int = 256) -> dict[str, Any]:
    """Country top-1/top-5, region style / drive side / climate accuracy and the median location error (km)."""
    model.eval()
    outs = [model(to_tensor(data.images[i:i + batch])) for i in range(0, len(data.images), batch)]
    logits = torch.cat([o["country"] for o in outs])
    tgt = torch.from_numpy(data.country)
    top5 = logits.topk(5, dim=1).indices
    pred_ll = xyz_to_latlon(torch.cat([o["xyz"] for o in outs]))
    km = geo.haversine_km(data.latlon[:, 0], data.latlon[:, 1], pred_ll[:, 0], pred_ll[:, 1])

    def acc(key: str, arr: np.ndarray) -> float:
        return float((torch.cat([o[key] for o in outs]).argmax(1) == torch.from_numpy(arr)).float().mean())

    return {"country_top1": float((top5[:, 0] == tgt).float().mean()),
            "country_top5": float((top5 == tgt[:, None]).any(1).float().mean()),
            "region_style_acc": acc("style", data.style), "drive_side_acc": acc("drive", data.drive),
            "climate_acc": acc("climate", data.climate), "median_km": float(np.median(km)),
            "chance_top1": 1.0 / len(data.countries), "n_test": int(len(tgt))}


@torch.no_grad()
def evaluate_seg(model: Segmenter, images: np.ndarray, labels: np.ndarray, batch: int = 64) -> dict[str, Any]:
    """Mean IoU over the classes present, and the IoU per class."""
    model.eval()
    pred = torch.cat([model.predict(to_tensor(images[i:i + batch])) for i in range(0, len(images), batch)])
    ious = class_iou(pred.numpy(), labels)
    present = [v for v in ious if v == v]
    return {"miou": float(np.mean(present)),
            "per_class_iou": {n: round(v, 4) for n, v in zip(classes.CLASS_NAMES, ious) if v == v}}


@torch.no_grad()
def evaluate_depth(model: DepthEstimator, images: np.ndarray, depth: np.ndarray, batch: int = 64) -> dict[str, Any]:
    """RMSE (m), absolute relative error and δ<1.25 over the pixels nearer than MAX_DEPTH."""
    model.eval()
    pred = torch.cat([model.predict(to_tensor(images[i:i + batch])) for i in range(0, len(images), batch)])
    gt = torch.from_numpy(depth)
    valid = gt < MAX_DEPTH  # the sky and the far horizon have no meaningful depth
    err = pred[valid] - gt[valid]
    return {"rmse_m": float(err.pow(2).mean().sqrt()), "abs_rel": float((err.abs() / gt[valid]).mean()),
            "delta_1.25": float((torch.maximum(pred[valid] / gt[valid], gt[valid] / pred[valid]) < 1.25).float().mean())}


def evaluate_city(model: CityJudge, images: np.ndarray, city: np.ndarray, batch: int = 256) -> dict[str, Any]:
    """City top-1 overall and per city."""
    model.eval()
    with torch.no_grad():
        pred = np.concatenate([model(to_tensor(images[i:i + batch])).argmax(1).numpy()
                               for i in range(0, len(images), batch)])
    per_city = {c: float((pred[city == k] == k).mean()) for k, c in enumerate(model.cities)}
    return {"city_top1": float((pred == city).mean()), "chance_top1": 1.0 / len(model.cities),
            "n_test": len(images), "per_city_top1": per_city}


def real_place_metrics(model: PlaceJudge, camvid_root: str | Path) -> dict[str, float]:
    """The place judge on real photos: CamVid val (101 frames, all filmed in Cambridge, GB) — the `real_*` numbers
    its card carries beside the render ones (a judge that never answers GB here is not reading real streets)."""
    from streetgen.eval.judges import StreetgenPlace
    from streetgen.eval.real import place_on

    judge = StreetgenPlace(model.eval(), "this run", {}, "cpu", None)
    out = place_on(judge, "camvid", str(camvid_root), "val", 0, 128, 0)
    keys = {"country_top1": "gb_top1", "country_top5": "gb_top5", "drive_side_accuracy": "drive_side",
            "region_style_top1": "region_style", "median_km": "median_km"}
    return {f"real_camvid_val_{new}": round(float(out[old]), 4) for old, new in keys.items()}
