"""Data for the judges: held-out world renders kept in memory, and CamVid pairs for the segmenter.

Why in memory rather than files: judges train on ~10-20k small renders; rendering straight into arrays with all
cores (≈ 300 images/s at 128²) is faster than writing and decoding JPEGs, and avoids JPEG artefacts in labels.
Seeds: judge data uses dataset seeds 9001 (train) and 9002 (test); generator datasets use small seeds (0, 1, …),
so no judge ever sees a generator's training image.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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


@dataclass
class WorldArrays:
    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N, H, W) uint8
    depth: np.ndarray  # (N, H, W) float32 metres
    country: np.ndarray  # (N,) int64 index into countries
    style: np.ndarray  # (N,) int64 index into world.FAMILIES
    drive: np.ndarray  # (N,) 1 = left
    climate: np.ndarray  # (N,) index into CLIMATES
    latlon: np.ndarray  # (N, 2) float64
    countries: list[str]


def _render_one(args):
    country, seed, i, size = args
    rng = np.random.default_rng([seed, i, 5])
    lat, lon = geo.sample_place(country, rng)
    s = world.render(lat, lon, seed=seed * 1_000_003 + i, size=size)
    m = s.meta
    return (s.image, s.labels, s.depth, world.FAMILIES.index(m["region_style"]), int(m["drive_side"] == "left"),
            CLIMATES.index(m["climate"]), (lat, lon))


def render_world_arrays(countries: list[str], per_country: int, size: int, seed: int,
                        workers: int | None = None) -> WorldArrays:
    """Balanced renders: `per_country` places in each country, rendered with all cores."""
    jobs = [(c, seed, k * len(countries) + j, size) for k in range(per_country) for j, c in enumerate(countries)]
    geo.reverse(0.0, 0.0)  # load tables before forking
    with mp.get_context("fork").Pool(workers or os.cpu_count() or 1) as pool:
        out = pool.map(_render_one, jobs, chunksize=32)
    cols = list(zip(*out))
    idx = {c: i for i, c in enumerate(countries)}
    return WorldArrays(np.stack(cols[0]), np.stack(cols[1]), np.stack(cols[2]),
                       np.array([idx[j[0]] for j in jobs]), np.array(cols[3]), np.array(cols[4]),
                       np.array(cols[5]), np.array(cols[6]), list(countries))


def _render_city(args) -> np.ndarray:
    city, seed = args[:2]
    return world.render_city(city, seed=seed, size=args[2]).image


def render_city_arrays(cities: list[str], per_city: int, size: int, seed: int,
                       workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, size, size, 3) uint8, city index (N,)): `per_city` renders of each famous city."""
    jobs = [(c, seed * 1_000_003 + k, size) for k in range(per_city) for c in cities]
    geo.reverse(0.0, 0.0)  # load tables before forking
    with mp.get_context("fork").Pool(workers or os.cpu_count() or 1) as pool:
        images = pool.map(_render_city, jobs, chunksize=16)
    return np.stack(images), np.array([cities.index(j[0]) for j in jobs])


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
