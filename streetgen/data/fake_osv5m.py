"""Write a small dataset in OSV-5M's real storage formats from world renders, for tests and benches.

    python -m streetgen.data.fake_osv5m OUT --n 200            # 512-px-high renders, as OSV-5M's photos are

    OUT/osv5m/<split>.csv                  OSV-5M columns the world knows, plus lon_bin / lat_bin (the loader's)
    OUT/osv5m/images/<split>/<NN>.zip      zip shards, members <NN>/<id>.jpg (as `osv5m/osv5m` ships them)
    OUT/osv5m-wds/<split>/<NNNN>.tar       WebDataset shards: <id>.jpg then <id>.json (the CSV row; numbers as
                                           JSON numbers), the layout streetgen.data.wds assumes
    OUT/*/dataset.json                     generator streetgen.data.fake_osv5m (so caches say streetgen.world)

Both copies hold the same JPEG bytes, so caches built from either must agree pixel for pixel.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

from streetgen.world.dataset import CSV_COLUMNS, DatasetSpec, read_csv, write_dataset

from .osv5m import official_bins

NUMERIC = ("latitude", "longitude", "lon_bin", "lat_bin")


def _with_bins(rows: list[dict]) -> list[dict]:
    """The rows with OSV-5M's lon_bin / lat_bin columns, binned the way its loader bins them."""
    if not rows:
        return rows
    lon_bin, lat_bin = official_bins([float(r["latitude"]) for r in rows], [float(r["longitude"]) for r in rows])
    return [{**r, "lon_bin": int(a), "lat_bin": int(b)} for r, a, b in zip(rows, lon_bin, lat_bin)]


def _tar_add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # fixed times: the same input gives the same bytes
    tf.addfile(info, io.BytesIO(data))


def _write_split(src: Path, out: Path, split: str, per_shard: int) -> int:
    """One split's CSV, zip shards and tar shards from the loose renders in `src`; returns the row count."""
    rows = _with_bins(read_csv(src / f"{split}.csv"))
    (out / "osv5m" / "images" / split).mkdir(parents=True, exist_ok=True)
    (out / "osv5m-wds" / split).mkdir(parents=True, exist_ok=True)
    with open(out / "osv5m" / f"{split}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=[*CSV_COLUMNS, "lon_bin", "lat_bin"])
        w.writeheader()
        w.writerows(rows)
    for j, a in enumerate(range(0, len(rows), per_shard)):
        chunk = rows[a:a + per_shard]
        with zipfile.ZipFile(out / "osv5m" / "images" / split / f"{j:02d}.zip", "w", zipfile.ZIP_STORED) as zf, \
                tarfile.open(out / "osv5m-wds" / split / f"{j:04d}.tar", "w", format=tarfile.USTAR_FORMAT) as tf:
            for r in chunk:
                jpeg = (src / "images" / split / f"{r['id']}.jpg").read_bytes()
                zf.writestr(f"{j:02d}/{r['id']}.jpg", jpeg)
                meta = {k: (float(v) if k in NUMERIC else str(v)) for k, v in r.items()}
                _tar_add(tf, f"{r['id']}.jpg", jpeg)
                _tar_add(tf, f"{r['id']}.json", json.dumps(meta).encode())
    return len(rows)


def write_fake(out: str | os.PathLike, n: int = 200, size: tuple[int, int] = (512, 680), seed: int = 0,
               countries: Sequence[str] = (), splits: dict[str, float] | None = None, per_shard: int = 50,
               workers: int | None = None, progress: bool = False) -> dict[str, int]:
    """Render n places and write them in both formats under `out`; returns the row count per split."""
    if per_shard < 1:
        raise ValueError(f"per_shard must be at least 1, got {per_shard}")
    out = Path(out)
    splits = splits or {"train": 0.9, "test": 0.1}
    with tempfile.TemporaryDirectory() as tmp:
        spec = DatasetSpec(out=tmp, n=n, size=tuple(size), seed=seed, countries=list(countries), splits=splits)
        write_dataset(spec, workers, progress)
        counts = {split: _write_split(Path(tmp), out, split, per_shard) for split in splits}
    info = {"generator": "streetgen.data.fake_osv5m", "n": n, "size": list(size), "seed": seed,
            "countries": list(countries), "per_shard": per_shard, "counts": counts}
    for folder in ("osv5m", "osv5m-wds"):
        (out / folder / "dataset.json").write_text(json.dumps(info, indent=1))
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m streetgen.data.fake_osv5m", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="folder to write osv5m/ and osv5m-wds/ into")
    p.add_argument("--n", type=int, default=200, help="images in all splits")
    p.add_argument("--height", type=int, default=512, help="image height (OSV-5M: 512)")
    p.add_argument("--width", type=int, default=680, help="image width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--countries", default="", help="ISO codes to cycle through, e.g. FR,JP,NA (default: world)")
    p.add_argument("--per-shard", type=int, default=50, help="images per zip / tar shard")
    p.add_argument("--workers", type=int, default=0, help="render processes (0 = all cores)")
    args = p.parse_args(argv)
    countries = [c.strip() for c in args.countries.split(",") if c.strip()]
    try:
        counts = write_fake(args.out, args.n, (args.height, args.width), args.seed, countries,
                            per_shard=args.per_shard, workers=args.workers or None, progress=True)
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {counts} in zip and tar shards under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
