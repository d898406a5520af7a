"""Write world renders as a dataset in the OpenStreetView-5M layout, plus exact labels and depth.

    <out>/images/<split>/<id>.jpg      photo (JPEG)
    <out>/labels/<split>/<id>.png      uint8 CamVid class ids (11 = void)
    <out>/depth/<split>/<id>.png       uint16 depth in millimetres (65535 = 65.535 m or further, e.g. sky)
    <out>/<split>.csv                  OSV-5M column names, as far as the world knows them
    <out>/dataset.json                 the command's arguments, class names, encodings

Numeric columns follow OSV-5M's encodings: drive_side 1 = left-hand traffic, 0 = right; climate is the
Köppen–Geiger class index (1 Af … 15 Cfb … 29 ET). World-only columns (region_style, weather, …) are appended.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from streetgen import geo
from streetgen.classes import CLASS_NAMES

from . import render

# OSV-5M's first columns, in its order; then what only the world knows.
CSV_COLUMNS = ["id", "latitude", "longitude", "thumb_original_url", "country", "sequence", "captured_at", "city",
               "land_cover", "drive_side", "climate", "dist_sea",
               "unique_country", "unique_city", "country_name", "climate_name", "region_style", "famous_city",
               "urban_index", "weather", "time_of_day", "seed"]
KOPPEN_CODE = {"tropical": 1, "arid": 4, "mediterranean": 8, "temperate": 15, "continental": 26, "boreal": 27,
               "polar": 29}
ID_BASE = 1_000_000_000_000_000  # 16-digit ids like OSV-5M's (never store them as floats)


@dataclass
class DatasetSpec:
    """What to write: how many samples, where, at what size, from which places."""

    out: str
    n: int = 1000
    size: tuple[int, int] = (128, 128)
    seed: int = 0
    countries: list[str] = field(default_factory=list)  # ISO2 codes; empty = the whole world by population
    splits: dict[str, float] = field(default_factory=lambda: {"train": 0.9, "test": 0.1})
    jpeg_quality: int = 92

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError(f"n must be positive, got {self.n}")
        total = sum(self.splits.values())
        if not self.splits or any(v < 0 for v in self.splits.values()) or abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions must be non-negative and sum to 1, got {self.splits}")
        self.countries = [geo.country(c).iso2 for c in self.countries]  # clear error for unknown names
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")

    def split_of(self, i: int) -> str:
        """Splits are contiguous blocks of the index range, so a split's samples don't depend on the others'."""
        edge = 0.0
        for name, frac in self.splits.items():
            edge += frac * self.n
            if i < round(edge):
                return name
        return list(self.splits)[-1]

    def place_of(self, i: int) -> tuple[float, float]:
        rng = np.random.default_rng([self.seed, i, 1])
        if self.countries:
            return geo.sample_place(self.countries[i % len(self.countries)], rng)
        return geo.sample_world(rng)


def _row(spec: DatasetSpec, i: int, meta: dict) -> dict:
    sample_id = str(ID_BASE + spec.seed * 10_000_000 + i)
    return {
        "id": sample_id, "latitude": f"{meta['lat']:.6f}", "longitude": f"{meta['lon']:.6f}",
        "thumb_original_url": "", "country": meta["country"], "sequence": "", "captured_at": "",
        "city": meta["city"], "land_cover": meta["land_cover"], "drive_side": int(meta["drive_side"] == "left"),
        "climate": KOPPEN_CODE[meta["climate"]], "dist_sea": meta.get("dist_sea_km", ""),
        "unique_country": meta["country"], "unique_city": f"{meta['city']}_{meta['country']}",
        "country_name": meta["country_name"], "climate_name": meta["climate"], "region_style": meta["region_style"],
        "famous_city": meta["famous_city"] or "", "urban_index": meta["urban_index"], "weather": meta["weather"],
        "time_of_day": meta["time_of_day"], "seed": meta["seed"],
    }


def write_sample(spec: DatasetSpec, i: int) -> tuple[str, dict]:
    """Render sample i and write its three files; returns (split, csv row). Deterministic in (spec.seed, i)."""
    lat, lon = spec.place_of(i)
    s = render(lat, lon, seed=spec.seed * 1_000_003 + i, size=spec.size)
    split = spec.split_of(i)
    row = _row(spec, i, s.meta)
    root = Path(spec.out)
    Image.fromarray(s.image).save(root / "images" / split / f"{row['id']}.jpg", quality=spec.jpeg_quality)
    Image.fromarray(s.labels).save(root / "labels" / split / f"{row['id']}.png")
    mm = np.clip(np.round(s.depth * 1000.0), 0, 65535).astype(np.uint16)
    Image.fromarray(mm).save(root / "depth" / split / f"{row['id']}.png")
    return split, row


def _worker(args):
    spec, i = args
    return write_sample(spec, i)


def write_dataset(spec: DatasetSpec, workers: int | None = None, progress: bool = True) -> dict[str, int]:
    """Render spec.n samples with `workers` processes (default: all cores); returns the count per split."""
    from tqdm import tqdm

    root = Path(spec.out)
    for split in spec.splits:
        for kind in ("images", "labels", "depth"):
            (root / kind / split).mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    rows: dict[str, list[tuple[int, dict]]] = {s: [] for s in spec.splits}
    jobs = [(spec, i) for i in range(spec.n)]
    bar = tqdm(total=spec.n, desc="rendering", unit="img", disable=not progress)
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers, initializer=_warm) as pool:
            for i, (split, row) in enumerate(pool.imap(_worker, jobs, chunksize=16)):
                rows[split].append((i, row))
                bar.update()
    else:
        for i, job in enumerate(jobs):
            split, row = _worker(job)
            rows[split].append((i, row))
            bar.update()
    bar.close()
    for split, items in rows.items():
        with open(root / f"{split}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            w.writeheader()
            for _, row in sorted(items, key=lambda r: r[0]):
                w.writerow(row)
    info = {"generator": "streetgen.world", "spec": {**asdict(spec), "size": list(spec.size)},
            "classes": list(CLASS_NAMES), "void_id": 11, "depth_png": "uint16 millimetres, clipped at 65535",
            "drive_side": "1 = left-hand traffic, 0 = right", "climate": "Koppen-Geiger class index",
            "counts": {k: len(v) for k, v in rows.items()}}
    (root / "dataset.json").write_text(json.dumps(info, indent=2))
    return info["counts"]


def _warm() -> None:
    """Load the place tables once per worker process, not once per sample."""
    geo.reverse(0.0, 0.0)


def read_csv(path: str | os.PathLike) -> list[dict]:
    """Read a split CSV back as strings (ids stay 16-digit strings, Namibia stays "NA")."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
