"""Distances and scores between sets of images, computed on judge features. Every function takes numpy arrays and
returns plain floats.

Names say what they measure: a Fréchet distance on our place judge's features is *not* comparable with a
published FID (Inception features on other data); the standard `fid` / `kid` come from streetgen.eval.fid.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) — the formula behind FID."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Fréchet distance needs at least 2 samples per set")
    mu1, mu2 = a.mean(0), b.mean(0)
    xa = (a - mu1) / np.sqrt(len(a) - 1)  # covariance = xa.T @ xa
    xb = (b - mu2) / np.sqrt(len(b) - 1)
    tr1, tr2 = (xa ** 2).sum(), (xb ** 2).sum()
    if min(len(a), len(b)) < a.shape[1]:
        # Few samples in many dimensions: tr sqrt(S1 S2) equals the nuclear norm of xa @ xb.T (same non-zero
        # spectrum), an n×n problem instead of a d×d matrix square root (2048-d Inception features).
        tr_covmean = np.linalg.svd(xa @ xb.T, compute_uv=False).sum()
    else:
        covmean = linalg.sqrtm((xa.T @ xa) @ (xb.T @ xb))
        tr_covmean = np.trace(np.real(covmean))
    return float(((mu1 - mu2) ** 2).sum() + tr1 + tr2 - 2 * tr_covmean)


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = 20, subset_size: int = 200, seed: int = 0) -> float:
    """Unbiased MMD² with the cubic polynomial kernel (the KID estimator), averaged over random subsets."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("kernel distance needs at least 2 samples per set")
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        vals.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                    - 2 * kxy.mean())
    return float(np.mean(vals))


def diversity(features: np.ndarray) -> float:
    """Mean pairwise L2 distance between the samples of one condition (0 = mode collapse)."""
    f = np.asarray(features, np.float64)
    if len(f) < 2:
        return 0.0
    d = np.sqrt(np.maximum(((f[:, None] - f[None]) ** 2).sum(-1), 0))
    return float(d.sum() / (len(f) * (len(f) - 1)))


def topk_accuracy(logits: np.ndarray, target: np.ndarray, k: int) -> float:
    """Share of rows whose target is among the k largest logits."""
    top = np.argsort(-np.asarray(logits), axis=1)[:, :k]
    return float((top == np.asarray(target)[:, None]).any(1).mean())


def class_iou(pred: np.ndarray, target: np.ndarray, num_classes: int = 11, ignore: int = 11) -> list[float]:
    """IoU per class (NaN for classes absent from both maps); pixels labelled `ignore` in target are skipped."""
    valid = np.asarray(target) != ignore
    p, t = np.asarray(pred)[valid], np.asarray(target)[valid]
    out = []
    for c in range(num_classes):
        union = np.count_nonzero((p == c) | (t == c))
        out.append(np.count_nonzero((p == c) & (t == c)) / union if union else float("nan"))
    return out


def mean_iou(pred: np.ndarray, target: np.ndarray, num_classes: int = 11, ignore: int = 11) -> float:
    """Mean IoU over the classes present in either map."""
    ious = [v for v in class_iou(pred, target, num_classes, ignore) if v == v]
    return float(np.mean(ious)) if ious else float("nan")


def confusion(pred: np.ndarray, target: np.ndarray, num_classes: int = 11, ignore: int = 11) -> np.ndarray:
    """(num_classes, num_classes + 1) pixel counts: row = true class, column = predicted class, the last column
    counting predictions outside the classes (a judge's unmapped labels). Target pixels labelled `ignore` are
    skipped. Sum these over a dataset and pass the total to `iou_from_confusion` (dataset-level IoU, the standard)."""
    t = np.asarray(target).ravel().astype(np.int64)
    p = np.minimum(np.asarray(pred).ravel().astype(np.int64), num_classes)
    keep = t != ignore
    counts = np.bincount(t[keep] * (num_classes + 1) + p[keep], minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1)


def iou_from_confusion(cm: np.ndarray) -> list[float]:
    """IoU per class from a `confusion` matrix (NaN for classes neither present nor predicted)."""
    n = cm.shape[0]
    inter = np.diag(cm[:, :n]).astype(np.float64)
    union = cm.sum(1) + cm[:, :n].sum(0) - inter
    return [float(i / u) if u else float("nan") for i, u in zip(inter, union)]


def depth_errors(pred: np.ndarray, gt: np.ndarray, output: str = "metric", max_depth: float = 80.0,
                 clip: bool = True) -> dict[str, float]:
    """RMSE (m), absolute relative error and δ<1.25 of one depth map over pixels with a measurement nearer than
    `max_depth`. Relative outputs are first aligned to the truth by least squares — scale and shift in disparity
    ("relative_disparity", the MiDaS protocol) or a median scale ("relative_depth") — so only their shape counts.
    `clip`: predictions are clipped to (0.001, max_depth) first, as the KITTI protocol does."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    valid = np.isfinite(gt) & (gt > 0) & (gt < max_depth) & np.isfinite(pred)
    if valid.sum() < 2:
        raise ValueError("depth errors need at least two pixels with a measurement")
    p, t = pred[valid], gt[valid]
    if output == "relative_disparity":
        a = np.stack([p, np.ones_like(p)], 1)
        scale, shift = np.linalg.lstsq(a, 1.0 / t, rcond=None)[0]
        p = 1.0 / np.clip(scale * p + shift, 1.0 / max_depth, None)
    elif output == "relative_depth":
        p = p * np.median(t) / max(np.median(p), 1e-9)
    elif output != "metric":
        raise ValueError(f"depth output must be metric, relative_disparity or relative_depth, got {output!r}")
    p = np.clip(p, 1e-3, max_depth) if clip else p
    ratio = np.maximum(p / t, t / p)
    return {"rmse_m": float(np.sqrt(np.mean((p - t) ** 2))), "abs_rel": float(np.mean(np.abs(p - t) / t)),
            "delta_1.25": float(np.mean(ratio < 1.25))}


def yaw_flow(h: int, w: int, focal: float, horizon: float, degrees: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each pixel of a frame shows up in the previous frame when a pinhole camera (no pitch) turned by
    `degrees` between them: (rows, cols, inside) arrays of shape (h, w), continuous pixel coordinates.

    Why exact: a pure turn is a homography, independent of depth. With u = (col + ½ − w/2)/f and
    v = (horizon − row − ½)/f, a ray at u in the new frame sits at u_prev = (u cos δ + sin δ)/(cos δ − u sin δ) and
    v_prev = v/(cos δ − u sin δ) in the old one (δ the turn toward +x, the renderer's yaw)."""
    d = np.radians(degrees)
    u = (np.arange(w) + 0.5 - w / 2) / focal
    v = (horizon - np.arange(h) - 0.5) / focal
    den = np.cos(d) - u * np.sin(d)
    u_prev = (u * np.cos(d) + np.sin(d)) / den
    cols = np.broadcast_to(u_prev * focal + w / 2 - 0.5, (h, w))
    rows = horizon - 0.5 - (v[:, None] / den[None, :]) * focal
    inside = (den[None, :] > 0) & (cols >= 0) & (cols <= w - 1) & (rows >= 0) & (rows <= h - 1)
    return rows, np.ascontiguousarray(cols), inside


def warp_error(frames: list[np.ndarray], degrees_per_frame: float, focal: float, horizon: float) -> float:
    """Temporal instability of a video of a turning camera: mean absolute difference (0–255 scale) between each
    frame and the previous frame warped onto it by the exact turn (`yaw_flow`), over pixels seen in both.
    `focal` and `horizon` are in the pixels of the frames given (scale them when a model changed the size)."""
    from streetgen.panorama import bilinear

    if len(frames) < 2:
        raise ValueError("warp error needs at least two frames")
    h, w = frames[0].shape[:2]
    rows, cols, inside = yaw_flow(h, w, focal, horizon, degrees_per_frame)
    errors = []
    for prev, cur in zip(frames[:-1], frames[1:]):
        warped = bilinear(np.asarray(prev, np.float32), rows[inside], cols[inside], False)
        errors.append(np.abs(warped - np.asarray(cur, np.float32)[inside]).mean())
    return float(np.mean(errors))
