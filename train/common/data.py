"""Training data shared by the trainers: world renders, CamVid, photo folders, caches, and the batch helpers.

    world renders   render_world_arrays / render_world_labels (N places per country), render_city_arrays /
                    render_city_views (N views per famous city); rendered in memory with worker processes
    CamVid          load_camvid (photo + label pairs), load_camvid_labels (label maps only)
    photo folders   load_folder ('folder:PATH' data sources)
    caches          cache_batch (streetgen.data.Cache images → a float batch), to_model_input (a uint8 batch of
                    the input pipeline, train/common/input.py → a float batch)
    config          WorldRenderFields (--data-seed, --render-workers), country_list (--countries)
    batches         crop_batch (random or centre crops with labels), random_crops / center_crops (numpy),
                    rescaled_crops (random crops seen at a random scale), to_tensor, jitter, photometric

Why in memory rather than files: judges and generators train on ~10-20k small renders; rendering straight into
arrays with all cores (≈ 300 images/s at 128²) is faster than writing and decoding JPEGs, and avoids JPEG
artefacts in labels. Seeds: judge data uses dataset seeds 9001 (train) and 9002 (test); generator datasets use
small seeds (0, 1, …), so no judge ever sees a generator's training image.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from streetgen import geo, world
from streetgen.models.judges import CLIMATES

JUDGE_TRAIN_SEED, JUDGE_TEST_SEED = 9001, 9002

# Smaller countries the issues and kiosk visitors ask for by name (Nordic roads, Namibia's "NA" code, …).
EXTRA_COUNTRIES = ("NO", "FI", "DK", "NZ", "IE", "SG", "IS", "NA", "BW", "UY", "CR")


def judge_countries(n: int = 100, extra: tuple[str, ...] = EXTRA_COUNTRIES) -> list[str]:
    """The n most populous countries the world can render (they span all architecture families), plus `extra`."""
    ranked = sorted(geo.renderable_countries(), key=lambda c: -c.population)
    return sorted({c.iso2 for c in ranked[:n]} | set(extra))


def country_list(text: str, upper: bool = False) -> list[str]:
    """Comma-separated ISO codes from a --countries flag; empty text = the judge countries."""
    codes = [c.strip().upper() if upper else c.strip() for c in text.split(",") if c.strip()]
    return codes or judge_countries()


@dataclass
class WorldRenderFields:
    """Data-source fields of trainers that render world data in memory (mixed into their TrainConfig)."""

    data_seed: int = field(default=0, metadata={"help": "world: render seed (judges use 9001/9002)"})
    render_workers: int = field(default=0, metadata={"help": "world: render processes; 0 = all cores"})


# ---- world renders ------------------------------------------------------------------------------------------------
def pool_map(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int | None = None,
             chunksize: int = 16) -> list[Any]:
    """`fn` over `jobs` in forked worker processes (all cores when `workers` is None or 0), results in job order."""
    geo.reverse(0.0, 0.0)  # load tables before forking
    with mp.get_context("fork").Pool(workers or os.cpu_count() or 1) as pool:
        return pool.map(fn, jobs, chunksize=chunksize)


@dataclass
class WorldArrays:
    """Renders of places in many countries with everything the judges learn from."""

    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N, H, W) uint8
    depth: np.ndarray  # (N, H, W) float32 metres
    country: np.ndarray  # (N,) int64 index into countries
    style: np.ndarray  # (N,) int64 index into world.FAMILIES
    drive: np.ndarray  # (N,) 1 = left
    climate: np.ndarray  # (N,) index into CLIMATES
    latlon: np.ndarray  # (N, 2) float64
    countries: list[str]  # ISO codes, in the order `country` indexes


def world_jobs(countries: list[str], per_country: int, seed: int, size: Any) -> list[tuple[str, int, int, Any]]:
    """(country, seed, index, size) per render, interleaved over countries so every prefix stays balanced."""
    return [(c, seed, k * len(countries) + j, size) for k in range(per_country) for j, c in enumerate(countries)]


def _render_place(args: tuple[str, int, int, Any]) -> tuple[world.WorldSample, tuple[float, float]]:
    country, seed, i, size = args
    rng = np.random.default_rng([seed, i, 5])
    lat, lon = geo.sample_place(country, rng)
    return world.render(lat, lon, seed=seed * 1_000_003 + i, size=size), (lat, lon)


def _render_world_row(args: tuple[str, int, int, Any]) -> tuple:
    s, latlon = _render_place(args)
    m = s.meta
    return (s.image, s.labels, s.depth, world.FAMILIES.index(m["region_style"]), int(m["drive_side"] == "left"),
            CLIMATES.index(m["climate"]), latlon)


def _render_world_labels(args: tuple[str, int, int, Any]) -> np.ndarray:
    return _render_place(args)[0].labels


def render_world_arrays(countries: list[str], per_country: int, size: Any, seed: int,
                        workers: int | None = None) -> WorldArrays:
    """Balanced renders: `per_country` places in each country, rendered with all cores."""
    jobs = world_jobs(countries, per_country, seed, size)
    cols = list(zip(*pool_map(_render_world_row, jobs, workers, chunksize=32)))
    idx = {c: i for i, c in enumerate(countries)}
    return WorldArrays(np.stack(cols[0]), np.stack(cols[1]), np.stack(cols[2]),
                       np.array([idx[j[0]] for j in jobs]), np.array(cols[3]), np.array(cols[4]),
                       np.array(cols[5]), np.array(cols[6]), list(countries))


def render_world_labels(countries: list[str], per_country: int, size: tuple[int, int], seed: int,
                        workers: int | None = None) -> np.ndarray:
    """(N, H, W) uint8 label maps of the places `render_world_arrays` renders; labels only, so 20k maps at
    128×256 take 650 MB instead of the 5 GB that images + depth would add."""
    return np.stack(pool_map(_render_world_labels, world_jobs(countries, per_country, seed, size), workers))


def _render_city_fields(args: tuple[str, int, int, tuple[str, ...]]) -> tuple:
    city, seed, size, fields = args
    sample = world.render_city(city, seed=seed, size=size)
    return tuple(getattr(sample, f) for f in fields)


def render_city_views(city: str, seeds: Sequence[int], size: int, fields: tuple[str, ...] = ("image", "labels"),
                      workers: int | None = None) -> tuple[np.ndarray, ...]:
    """One stacked array per `fields` entry (image, labels, depth) of a famous city rendered at each seed."""
    if city not in geo.FAMOUS_CITIES:
        raise ValueError(f"world data: unknown famous city {city!r}; choose one of {', '.join(geo.FAMOUS_CITIES)}")
    out = pool_map(_render_city_fields, [(city, s, size, fields) for s in seeds], workers)
    return tuple(np.stack(col) for col in zip(*out))


def render_city_images(city: str, n: int, size: int, seed: int, offset: int = 0,
                       workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, size, size, 3) uint8 renders of a famous city and their (n, size, size) uint8 CamVid labels."""
    seeds = [seed * 1_000_003 + offset + i for i in range(n)]
    images, labels = render_city_views(city, seeds, size, ("image", "labels"), workers)
    return images, labels


def render_city_arrays(cities: list[str], per_city: int, size: int, seed: int,
                       workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, size, size, 3) uint8, city index (N,)): `per_city` renders of each famous city, interleaved."""
    jobs = [(c, seed * 1_000_003 + k, size, ("image",)) for k in range(per_city) for c in cities]
    images = pool_map(_render_city_fields, jobs, workers)
    return np.stack([im for im, in images]), np.array([cities.index(j[0]) for j in jobs])


# ---- CamVid and photo folders -------------------------------------------------------------------------------------
def load_camvid(root: str | Path, split: str, height: int = 128, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """CamVid pairs resized to `height` rows (aspect kept; labels with nearest neighbour); `limit` > 0: the first
    `limit` pairs only (tests, smoke runs)."""
    root = Path(root) / split
    images, labels = [], []
    paths = sorted((root / "images").glob("*.jpg"))
    for img_path in paths[:limit] if limit > 0 else paths:
        lab_path = root / "labels" / (img_path.stem + ".png")
        if not lab_path.exists():
            raise FileNotFoundError(f"CamVid label missing for {img_path}: expected {lab_path}")
        im = Image.open(img_path).convert("RGB")
        w = round(im.width * height / im.height)
        images.append(np.asarray(im.resize((w, height), Image.BILINEAR, reducing_gap=2.0)))
        labels.append(np.asarray(Image.open(lab_path).resize((w, height), Image.NEAREST)))
    if not images:
        raise FileNotFoundError(f"no CamVid images under {root / 'images'}")
    return np.stack(images), np.stack(labels)


def load_camvid_labels(root: str | Path, split: str, size: tuple[int, int], limit: int = 0) -> np.ndarray:
    """(N, H', W') uint8 CamVid label maps scaled (nearest neighbour, aspect kept) to just cover `size`."""
    paths = sorted((Path(root) / split / "labels").glob("*.png"))[:limit or None]
    if not paths:
        raise FileNotFoundError(f"no CamVid label maps under {Path(root) / split / 'labels'}")
    h, w = size
    out = []
    for p in paths:
        im = Image.open(p)
        scale = max(h / im.height, w / im.width)
        out.append(np.asarray(im.resize((max(w, round(im.width * scale)), max(h, round(im.height * scale))),
                                        Image.NEAREST)))
    return np.stack(out)


def load_folder(root: str | Path, size: int, limit: int = 0) -> np.ndarray:
    """(N, size, size, 3) uint8: every photo under `root` (searched recursively) as its central square resized to
    `size`; unreadable files are skipped; `limit` > 0: the first `limit` only."""
    from streetgen.data import ImageFolder

    folder = ImageFolder(root, size=size, on_error="skip")
    n = min(len(folder), limit) if limit > 0 else len(folder)
    return np.stack([folder[i] for i in range(n)])


# ---- batches ------------------------------------------------------------------------------------------------------
def cache_batch(images: np.ndarray | torch.Tensor, idx: np.ndarray, size: int, device: Any) -> torch.Tensor:
    """Cache images (N, H, W, 3) uint8 (numpy, or a tensor already on the device) at sorted `idx` → [-1, 1]
    (B, 3, size, size), resized with antialiasing when the cache is larger."""
    idx = np.sort(idx)
    x = images[torch.from_numpy(idx).to(images.device)] if isinstance(images, torch.Tensor) else \
        torch.from_numpy(images[idx])
    return to_model_input(x.to(device, non_blocking=True), size)


def to_model_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images (B, H, W, 3) → [-1, 1] (B, 3, size, size) on their device, resized with antialiasing when the
    cache is larger (what the input pipeline's batches become before a model sees them)."""
    x = x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1)
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def crop_batch(images: np.ndarray, labels: np.ndarray | None, idx: np.ndarray, size: tuple[int, int], flip: bool,
               g: torch.Generator | None, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """[-1, 1] photos (B, 3, H, W) and the same crops of their labels as int64 (B, H, W) (None without labels):
    random crops (and flips when `flip`) drawn from `g`, centre crops when `g` is None."""
    H, W = size
    h, w = images.shape[1:3]
    if g is None:
        tops, lefts, flips = [(h - H) // 2] * len(idx), [(w - W) // 2] * len(idx), [False] * len(idx)
    else:
        tops = torch.randint(0, h - H + 1, (len(idx),), generator=g).tolist()
        lefts = torch.randint(0, w - W + 1, (len(idx),), generator=g).tolist()
        flips = (torch.rand(len(idx), generator=g) < 0.5).tolist() if flip else [False] * len(idx)
    ims, labs = [], []
    for i, t, l, fl in zip(np.asarray(idx).tolist(), tops, lefts, flips):
        im = images[i, t:t + H, l:l + W]
        ims.append(im[:, ::-1] if fl else im)
        if labels is not None:
            lab = labels[i, t:t + H, l:l + W]
            labs.append(lab[:, ::-1] if fl else lab)
    x = torch.from_numpy(np.stack(ims)).to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1)
    y = torch.from_numpy(np.stack(labs).astype(np.int64)).to(device) if labs else None
    return x, y


def random_crops(images: np.ndarray, labels: np.ndarray, size: int, n: int,
                 g: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n random size×size crops of random members of a set of equally sized images and their labels (numpy)."""
    idx = torch.randint(len(images), (n,), generator=g).numpy()
    h, w = images.shape[1:3]
    ys = torch.randint(h - size + 1, (n,), generator=g).numpy()
    xs = torch.randint(w - size + 1, (n,), generator=g).numpy()
    im = np.stack([images[i, y:y + size, x:x + size] for i, y, x in zip(idx, ys, xs)])
    lab = np.stack([labels[i, y:y + size, x:x + size] for i, y, x in zip(idx, ys, xs)])
    return im, lab


def rescaled_crops(images: np.ndarray, labels: np.ndarray, size: int, n: int, g: torch.Generator,
                   scale: tuple[float, float], base: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """n random crops seen at a random scale s in `scale` (log-uniform): each covers size * base / s source pixels
    (clamped to the image), resized to size × size — photo antialiased, labels nearest. `base` is the source's rows
    per working row (CamVid stored at 1.5 × the working height: base 1.5). Returns [0, 1] (n, 3, size, size) photos
    and int64 (n, size, size) labels."""
    import cv2

    idx = torch.randint(len(images), (n,), generator=g).tolist()
    lo, hi = np.log(scale[0]), np.log(scale[1])
    s = torch.exp(lo + (hi - lo) * torch.rand(n, generator=g)).tolist()
    u = torch.rand(n, 2, generator=g).tolist()
    h, w = images.shape[1:3]
    xs, ys = [], []
    for i, si, (uy, ux) in zip(idx, s, u):
        side = int(round(min(size * base / si, h, w)))
        top, left = int(uy * (h - side + 1)), int(ux * (w - side + 1))
        xs.append(cv2.resize(images[i, top:top + side, left:left + side], (size, size),
                             interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR))
        ys.append(cv2.resize(labels[i, top:top + side, left:left + side], (size, size),
                             interpolation=cv2.INTER_NEAREST))
    return to_tensor(np.stack(xs)), torch.from_numpy(np.stack(ys).astype(np.int64))


def center_crops(images: np.ndarray, labels: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The central `size` columns of images and labels (CamVid frames resized to `size` rows → squares)."""
    w = images.shape[2]
    x = (w - size) // 2
    return images[:, :, x:x + size], labels[:, :, x:x + size]


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [0, 1], the judges' input range."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255)


def jitter(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Brightness/contrast jitter of [0, 1] images; never flips (a mirrored street drives on the wrong side)."""
    b = x.shape[0]
    gain = 1 + 0.25 * (torch.rand(b, 1, 1, 1, generator=g) - 0.5)
    bias = 0.08 * (torch.rand(b, 1, 1, 1, generator=g) - 0.5)
    return (x * gain + bias).clamp_(0, 1)


def photometric(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Strong photometric augmentation of [0, 1] images (B, 3, H, W), for judges that must read real photos after
    learning on renders: per-channel gains (white balance), saturation, gamma, brightness/contrast, a blur on some
    and sensor noise on some."""
    import cv2

    b = x.shape[0]
    r = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731  (one stream: a resumed run redraws the same)
    x = x * (0.85 + 0.3 * r(b, 3, 1, 1))
    grey = x.mean(1, keepdim=True)
    x = (grey + (x - grey) * (0.5 + 1.0 * r(b, 1, 1, 1))).clamp_(1e-4, 1)
    x = x.pow(torch.exp(0.6 * (r(b, 1, 1, 1) - 0.5)))
    x = jitter(x, g)
    sigma = (1.2 * r(b)).tolist()
    blur = r(b).lt(0.3).tolist()
    for k in range(b):
        if blur[k] and sigma[k] > 0.3:
            x[k] = torch.from_numpy(cv2.GaussianBlur(x[k].permute(1, 2, 0).numpy(), (5, 5), sigma[k])).permute(2, 0, 1)
    noise = r(b, 1, 1, 1).lt(0.5).float() * 0.03 * r(b, 1, 1, 1)
    return (x + noise * torch.randn(x.shape, generator=g)).clamp_(0, 1)
