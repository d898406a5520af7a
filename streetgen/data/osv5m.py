"""OpenStreetView-5M as users download it, and our world datasets (same layout, fewer columns).

    <root>/train.csv, <root>/test.csv           32 columns; only id, latitude, longitude, country are required
    <root>/images/<split>/**/<id>.jpg           loose files, possibly nested in per-shard folders
    <root>/images/<split>/*.zip                 or still-zipped shards (00.zip holding 00/<id>.jpg or <id>.jpg)

    ds = OSV5M("osv5m", split="train_minus_val", countries=["FR", "NA"])
    rec = ds[0]; rec.id, rec.lat, rec.lon, rec.country, rec.extra["city"]; img = ds.image(0, size=128)

Splits: any <name>.csv on disk, plus "val" and "train_minus_val" derived from train.csv when no val.csv exists.
OSV-5M's validation split is not shipped: its loader (gastruc/osv5m, data/data.py) draws int(10%) of train.csv
without replacement, random_state=42, with weights count(lon/lat cell)^-0.75 over a histogram of the CSV's own
lon/lat range, so rare places are over-represented; `val_indices` gives exactly those rows (see its docstring).
Every value is read as a string first: ids keep all 16 digits, Namibia stays "NA" (never "missing").
"""
from __future__ import annotations

import csv
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .image import decode

log = logging.getLogger("streetgen.data")

OSV5M_COLUMNS = ["id", "latitude", "longitude", "thumb_original_url", "country", "sequence", "captured_at",
                 "lon_bin", "lat_bin", "cell", "region", "sub-region", "city", "land_cover", "road_index",
                 "drive_side", "climate", "soil", "dist_sea", "quadtree_10_5000", "quadtree_10_25000",
                 "quadtree_10_1000", "quadtree_10_50000", "quadtree_10_12500", "quadtree_10_500",
                 "quadtree_10_2500", "unique_region", "unique_sub-region", "unique_city", "unique_country",
                 "creator_username", "creator_id"]
REQUIRED = ("id", "latitude", "longitude", "country")
DERIVED = ("val", "train_minus_val")
BIN_COLUMNS = ("lon_bin", "lat_bin")  # the val draw reads them (official loader) when the CSV has them


@dataclass
class Record:
    """One row: where the photo was taken and where its JPEG is (a file, or `member` of the zip at `path`)."""

    id: str
    lat: float
    lon: float
    country: str
    path: str
    member: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # optional columns, as the CSV spells them


def read_table(path: str | os.PathLike, columns: Sequence[str] | None = None) -> dict[str, list[str]]:
    """A split CSV as {column: list of strings}; required columns checked; `columns` limits the optional ones."""
    path = str(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"split CSV not found: {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)  # csv, not pandas defaults: "NA" and 16-digit ids stay strings
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty CSV (no header)")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{path}: missing required column(s) {missing}; header is {header[:8]}...")
        keep = [c for c in header if c in REQUIRED or columns is None or c in columns]
        pos = [header.index(c) for c in keep]
        table: dict[str, list[str]] = {c: [] for c in keep}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {line}: {len(row)} fields, header has {len(header)}")
            for c, p in zip(keep, pos):
                table[c].append(row[p])
    return table


def _floats(values: list[str], name: str, table: dict[str, list[str]], path: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        bad = next(i for i, v in enumerate(values) if not _is_float(v))
        raise ValueError(f"{path}: {name} {values[bad]!r} is not a number (id {table['id'][bad]})") from None


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def official_bins(lat: np.ndarray, lon: np.ndarray, bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """(lon_bin, lat_bin) of every row as OSV-5M's loader bins them: the cell of `np.histogram2d` over
    `np.linspace(min, max, bins)` edges (so bins - 1 cells per axis, the maximum in the last one)."""
    out = []
    for v in (np.asarray(lon, np.float64), np.asarray(lat, np.float64)):
        edges = np.linspace(v.min(), v.max(), bins)
        out.append(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, bins - 2))
    return out[0], out[1]


def val_indices(lat: np.ndarray, lon: np.ndarray, frac: float = 0.1, seed: int = 42, bins: int = 100,
                power: float = -0.75, lon_bin: np.ndarray | None = None,
                lat_bin: np.ndarray | None = None) -> np.ndarray:
    """Row positions of OSV-5M's official val split, in the order its loader draws them: `train.sample(n=int(frac *
    len), weights=w, replace=False, random_state=seed)` with w = count(lon/lat cell)**power over a histogram of
    (bins - 1)² cells. `lon_bin`/`lat_bin` are the CSV's columns of that name (computed like the loader when None).
    pandas' draw is numpy's legacy `RandomState(seed).choice(p=w)`, repeated here without pandas, bit for bit."""
    lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
    k = int(frac * len(lat))
    if k == 0:
        return np.zeros(0, np.int64)
    if lat.min() == lat.max() or lon.min() == lon.max():
        raise ValueError("val split: every row has the same latitude or longitude, so there is no lon/lat grid")
    edges = [np.linspace(lon.min(), lon.max(), bins), np.linspace(lat.min(), lat.max(), bins)]
    hist = np.histogram2d(lon, lat, bins=edges)[0]
    if lon_bin is None or lat_bin is None:
        lon_bin, lat_bin = official_bins(lat, lon, bins)
    count = hist[np.asarray(lon_bin, np.int64), np.asarray(lat_bin, np.int64)]
    if (count == 0).any():
        bad = int(np.flatnonzero(count == 0)[0])
        raise ValueError(f"val split: row {bad}'s lon_bin/lat_bin cell holds no row (bins made another way?)")
    w = 1.0 / np.power(count, -power)  # the loader's own expression, so the weights agree to the last bit
    w = w / np.sum(w)  # the loader normalises ...
    p = w / w.sum()  # ... and pandas' sample again
    return np.random.RandomState(seed).choice(len(lat), size=k, replace=False, p=p).astype(np.int64)


def val_mask(lat: np.ndarray, lon: np.ndarray, frac: float = 0.1, seed: int = 42, bins: int = 100,
             power: float = -0.75, lon_bin: np.ndarray | None = None,
             lat_bin: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the official val rows (`val_indices`); the rest is train_minus_val."""
    mask = np.zeros(len(lat), bool)
    mask[val_indices(lat, lon, frac, seed, bins, power, lon_bin, lat_bin)] = True
    return mask


def _bin_columns(table: dict[str, list[str]]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The CSV's lon_bin / lat_bin columns as integers, or (None, None) when absent or incomplete."""
    try:
        return tuple(np.array(table[c], np.float64).astype(np.int64) for c in ("lon_bin", "lat_bin"))
    except (KeyError, ValueError):
        return None, None


def index_images(folder: str | os.PathLike) -> dict[str, tuple[str, str | None]]:
    """{stem: (path, zip member or None)} for every .jpg under folder, recursively, including inside .zip shards."""
    folder = str(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    loose: dict[str, tuple[str, str | None]] = {}
    zipped: dict[str, tuple[str, str | None]] = {}
    for dirpath, dirnames, files in os.walk(folder):
        dirnames.sort()
        for f in sorted(files):
            low = f.lower()
            if low.endswith((".jpg", ".jpeg")):
                loose.setdefault(os.path.splitext(f)[0], (os.path.join(dirpath, f), None))
            elif low.endswith(".zip"):
                zpath = os.path.join(dirpath, f)
                try:
                    with zipfile.ZipFile(zpath) as zf:
                        names = zf.namelist()
                except zipfile.BadZipFile as err:
                    raise ValueError(f"corrupt zip shard {zpath}: {err}") from err
                for m in names:
                    base = m.rsplit("/", 1)[-1]
                    if base.lower().endswith((".jpg", ".jpeg")) and not m.startswith("__MACOSX"):
                        zipped.setdefault(os.path.splitext(base)[0], (zpath, m))
    return {**zipped, **loose}  # an extracted file wins over the same id still in its zip


class OSV5M:
    """A split of an OSV-5M-layout dataset: a sequence of `Record`s, with `image(i, size)` to decode one."""

    def __init__(self, root: str | os.PathLike, split: str = "train", countries: Iterable[str] | None = None,
                 skip_missing: bool = False, columns: Sequence[str] | None = None, val_frac: float = 0.1,
                 val_seed: int = 42):
        self.root, self.split = Path(root), split
        csv_split = split
        if split in DERIVED and not (self.root / "val.csv").exists():
            csv_split = "train"
        elif split == "train_minus_val":
            csv_split = "train"  # a val.csv on disk is its own split: train has no rows of it to remove
        csv_path = self.root / f"{csv_split}.csv"
        if not csv_path.exists():
            have = sorted(p.stem for p in self.root.glob("*.csv"))
            raise FileNotFoundError(f"{csv_path} not found; splits here: {have + list(DERIVED)}")
        derived = csv_split != split
        table = read_table(csv_path, columns if columns is None or not derived else [*columns, *BIN_COLUMNS])
        lat = _floats(table["latitude"], "latitude", table, str(csv_path))
        lon = _floats(table["longitude"], "longitude", table, str(csv_path))
        keep = np.ones(len(lat), bool)
        if derived:  # from train: the val mask is drawn over all of train, before any filter
            lon_bin, lat_bin = _bin_columns(table)
            v = val_mask(lat, lon, val_frac, val_seed, lon_bin=lon_bin, lat_bin=lat_bin)
            keep = v if split == "val" else ~v
            if columns is not None:
                for c in set(BIN_COLUMNS) - set(columns):
                    table.pop(c, None)
        if countries is not None:
            wanted = {countries} if isinstance(countries, str) else {c.strip() for c in countries}
            keep &= np.array([c in wanted for c in table["country"]], bool)
        rows = np.flatnonzero(keep)
        found = index_images(self.root / "images" / csv_split)
        missing = [i for i in rows if table["id"][i] not in found]
        if missing:
            ids = [table["id"][i] for i in missing[:5]]
            msg = (f"{len(missing)} of {len(rows)} images of split {split!r} not found under "
                   f"{self.root / 'images' / csv_split} (ids {', '.join(ids)}{', ...' if len(missing) > 5 else ''})")
            if not skip_missing:
                raise FileNotFoundError(msg + "; pass skip_missing=True to drop them")
            log.warning("skipping %s", msg)
            rows = np.setdiff1d(rows, missing)
        self.ids = [table["id"][i] for i in rows]
        self.lat, self.lon = lat[rows], lon[rows]
        self.country = [table["country"][i] for i in rows]
        self.sources = [found[i] for i in self.ids]
        self.extra = {c: [v[i] for i in rows] for c, v in table.items() if c not in REQUIRED}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> Record:
        i = range(len(self))[i]  # negative indices, and IndexError past the end
        path, member = self.sources[i]
        return Record(self.ids[i], float(self.lat[i]), float(self.lon[i]), self.country[i], path, member,
                      {c: v[i] for c, v in self.extra.items()})

    def image(self, i: int, size: int | None = None) -> np.ndarray:
        """Decode image i as uint8 RGB; with `size`, the central square at size×size (draft-mode JPEG decode)."""
        path, member = self.sources[range(len(self))[i]]
        return decode(path, size, member)

    def __repr__(self) -> str:
        return f"OSV5M({str(self.root)!r}, split={self.split!r}, n={len(self)}, countries={len(set(self.country))})"


def load_image(record: Record, size: int | None = None) -> np.ndarray:
    """Decode a record's photo as uint8 RGB (H, W, 3); with `size`, its central square at size×size."""
    return decode(record.path, size, record.member)

