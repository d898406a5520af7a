"""What a run leaves to look at: metrics.jsonl, curves.png and sample grids (PIL only; no matplotlib).

    log = MetricsLog(run_dir / "metrics.jsonl")
    log.append({"step": 100, "time": 12.5, "lr": 3e-4, "loss": 0.42})
    plot_curves(read_metrics(log.path), run_dir / "curves.png")
    save_grid(images_uint8, run_dir / "samples" / "step_000100.png", captions=[...])
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from train.common.run import write_text_atomic

NOT_CURVES = {"step", "time", "lr", "epoch"}  # logged per step, but not losses
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


# ---- metrics.jsonl ----------------------------------------------------------------------------------------------
def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All records; a torn last line (process killed mid-write) is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class MetricsLog:
    """Append-only JSON lines, flushed per record so a kill loses at most the line being written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        """Drop records past `step`: after a resume those steps are trained again, and would appear twice."""
        kept = [r for r in read_metrics(self.path) if r.get("step", 0) <= step]
        write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (must hold "step")."""
        if "step" not in record:
            raise ValueError("a metrics record needs a 'step'")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()


# ---- loss curves ------------------------------------------------------------------------------------------------
def _font(size: int = 12) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    # Pillow's bundled scalable font when FreeType is available, else the tiny bitmap one
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """About `n` round numbers (1, 2, 2.5, 5 x 10^k apart) inside [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _downsample(xs: np.ndarray, ys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    # a 1e5-step run has more points than pixels; bucket means keep the trend and drop the noise
    if len(xs) <= n:
        return xs, ys
    edges = np.linspace(0, len(xs), n + 1).astype(int)
    return (np.array([xs[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
            np.array([ys[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]))


def plot_curves(records: Sequence[dict[str, Any]], out: str | Path, keys: Iterable[str] | None = None,
                log_y: bool | None = None, size: tuple[int, int] = (900, 500), title: str = "") -> Path:
    """Draw one polyline per metric against step, with axes, ticks and a legend; returns `out`.

    `keys` defaults to every numeric field except step/time/lr/epoch. `log_y=None` picks a log axis when all
    values are positive and span more than two decades.
    """
    keys = list(keys) if keys is not None else sorted(
        {k for r in records for k, v in r.items() if k not in NOT_CURVES and isinstance(v, (int, float))})
    series = {}
    for k in keys:
        pts = [(r["step"], float(r[k])) for r in records if isinstance(r.get(k), (int, float))
               and math.isfinite(float(r[k]))]
        if pts:
            series[k] = (np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float))
    W, H = size
    left, right, top, bottom = 80, 190, 30, 50
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    font = _font(12)
    draw.text((left, 8), title or "loss curves", fill="black", font=font)
    x0, x1, y0, y1 = left, W - right, top, H - bottom  # plot box (y0 top)
    draw.rectangle([x0, y0, x1, y1], outline="black")
    if not series:
        draw.text((x0 + 10, y0 + 10), "no data yet", fill="gray", font=font)
        img.save(out)
        return Path(out)
    all_y = np.concatenate([ys for _, ys in series.values()])
    if log_y is None:
        log_y = bool(all_y.min() > 0 and all_y.max() / all_y.min() > 100)
    tf = np.log10 if log_y else (lambda v: v)
    smin = min(xs.min() for xs, _ in series.values())
    smax = max(xs.max() for xs, _ in series.values())
    smax = smax if smax > smin else smin + 1
    vmin, vmax = float(tf(all_y).min()), float(tf(all_y).max())
    pad = (vmax - vmin) * 0.05 or 0.5
    vmin, vmax = vmin - pad, vmax + pad

    def px(step: np.ndarray) -> np.ndarray:
        return x0 + (step - smin) / (smax - smin) * (x1 - x0)

    def py(v: np.ndarray) -> np.ndarray:
        return y1 - (v - vmin) / (vmax - vmin) * (y1 - y0)

    for t in _nice_ticks(smin, smax):  # x ticks
        x = float(px(np.array(t)))
        draw.line([x, y1, x, y1 + 4], fill="black")
        draw.text((x - 12, y1 + 7), f"{t:g}", fill="black", font=font)
    draw.text(((x0 + x1) // 2 - 12, H - 18), "step", fill="black", font=font)
    yticks = [float(e) for e in range(math.ceil(vmin), math.floor(vmax) + 1)] if log_y else _nice_ticks(vmin, vmax)
    if log_y and len(yticks) < 2:
        log_y, yticks = False, []  # narrow log range: fall back to labelled min/max below
    for t in yticks:
        y = float(py(np.array(t)))
        draw.line([x0 - 4, y, x0, y], fill="black")
        draw.line([x0 + 1, y, x1 - 1, y], fill=(235, 235, 235))
        draw.text((4, y - 6), f"{10 ** t:.3g}" if log_y else f"{t:.3g}", fill="black", font=font)
    if not yticks:
        for v in (vmin + pad, vmax - pad):
            draw.text((4, float(py(np.array(v))) - 6), f"{10 ** v:.3g}", fill="black", font=font)
    for i, (k, (xs, ys)) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        xs, ys = _downsample(xs, ys, x1 - x0)
        pts = list(zip(px(xs).tolist(), py(tf(ys)).tolist()))
        if len(pts) == 1:
            draw.ellipse([pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2], fill=color)
        else:
            draw.line(pts, fill=color, width=2)
        ly = y0 + 6 + 16 * i  # legend: swatch, name, last value
        draw.line([x1 + 12, ly + 6, x1 + 32, ly + 6], fill=color, width=3)
        draw.text((x1 + 38, ly), f"{k} = {series[k][1][-1]:.4g}", fill="black", font=font)
    if log_y:
        draw.text((x0 + 4, y0 + 4), "log scale", fill="gray", font=font)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp.png")
    img.save(tmp)  # readers (a browser refreshing the file) never see a half-written PNG
    tmp.replace(out)
    return out


# ---- sample grids -----------------------------------------------------------------------------------------------
def _as_hwc_list(images: Any) -> list[np.ndarray]:
    """uint8 images as a list of HxWx3 arrays; accepts NHWC/NCHW arrays or tensors, or a list of images."""
    if hasattr(images, "detach"):  # torch tensor, without importing torch here
        images = images.detach().cpu().numpy()
    if isinstance(images, np.ndarray):
        if images.ndim != 4:
            raise ValueError(f"expected a batch of images (4 dims), got shape {images.shape}")
        if images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
            images = images.transpose(0, 2, 3, 1)  # NCHW -> NHWC
        images = list(images)
    out = []
    for im in images:
        a = np.asarray(im)
        if a.dtype != np.uint8:
            raise ValueError(f"sample images must be uint8 (0..255), got {a.dtype}; convert in make_samples")
        if a.ndim == 2:
            a = a[..., None]
        out.append(np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a[..., :3])
    return out


def make_grid(images: Any, ncols: int | None = None, captions: Sequence[str] | None = None,
              pad: int = 2, min_tile: int = 64) -> Image.Image:
    """Tile uint8 images into one picture, an optional caption under each tile.

    Tiles narrower than `min_tile` px are enlarged by an integer factor (nearest neighbour, pixels stay
    visible) so that 16-px training samples and their captions are readable.
    """
    tiles = _as_hwc_list(images)
    if not tiles:
        raise ValueError("make_grid needs at least one image")
    if captions is not None and len(captions) != len(tiles):
        raise ValueError(f"{len(captions)} captions for {len(tiles)} images")
    scale = max(1, math.ceil(min_tile / max(t.shape[1] for t in tiles)))
    if scale > 1:
        tiles = [t.repeat(scale, axis=0).repeat(scale, axis=1) for t in tiles]
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    ncols = ncols or math.ceil(math.sqrt(len(tiles)))
    nrows = math.ceil(len(tiles) / ncols)
    cap_h = 14 if captions is not None else 0
    grid = Image.new("RGB", (ncols * (w + pad) + pad, nrows * (h + cap_h + pad) + pad), "white")
    draw = ImageDraw.Draw(grid)
    font = _font(11)
    max_chars = max(1, w // 6)  # ~6 px per character at this size
    for i, t in enumerate(tiles):
        r, c = divmod(i, ncols)
        x, y = pad + c * (w + pad), pad + r * (h + cap_h + pad)
        grid.paste(Image.fromarray(t), (x, y))
        if captions is not None:
            draw.text((x, y + h), str(captions[i])[:max_chars], fill="black", font=font)
    return grid


def save_grid(images: Any, path: str | Path, captions: Sequence[str] | None = None,
              ncols: int | None = None) -> Path:
    """`make_grid` saved as PNG (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_grid(images, ncols=ncols, captions=captions).save(path)
    return path
