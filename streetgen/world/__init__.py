"""streetgen.world: a procedural, place-aware street renderer with exact labels, depth and coordinates.

(placeholder surface while the renderer is written; the API below is final)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streetgen import geo

CLASS_NAMES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
               "Bicyclist", "Void")
PALETTE = np.array([(128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
                    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192), (0, 0, 0)], np.uint8)


@dataclass
class WorldSample:
    image: np.ndarray
    labels: np.ndarray
    depth: np.ndarray
    meta: dict


def _size(size):
    return (size, size) if isinstance(size, int) else tuple(size)


def render(lat: float, lon: float, seed: int = 0, size=128) -> WorldSample:
    lat, lon = geo.check_latlon(lat, lon)
    h, w = _size(size)
    img = np.zeros((h, w, 3), np.uint8); img[: h // 2] = (120, 160, 220); img[h // 2:] = (70, 70, 70)
    lab = np.full((h, w), 3, np.uint8); lab[: h // 2] = 0
    depth = np.full((h, w), 1000.0, np.float32)
    place = geo.reverse(lat, lon)
    return WorldSample(img, lab, depth, {"lat": lat, "lon": lon, "country": place.country, "city": place.city, "seed": seed})


def render_country(country: str, seed: int = 0, size=128) -> WorldSample:
    c = geo.country(country)
    lat, lon = geo.sample_place(c.iso2, np.random.default_rng(seed))
    return render(lat, lon, seed, size)


def render_city(name: str, seed: int = 0, size=128) -> WorldSample:
    c = geo.FAMOUS_CITIES[name]
    return render(c.lat, c.lon, seed, size)


def colorize_labels(labels: np.ndarray) -> np.ndarray:
    return PALETTE[np.minimum(labels, 11)]


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    d = np.clip(np.log1p(depth) / np.log1p(1000.0), 0, 1)
    return (np.stack([1 - d, 1 - d ** 0.7, 1 - d ** 0.4], -1) * 255).astype(np.uint8)
