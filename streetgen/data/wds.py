"""WebDataset tar shards (e.g. OSV-5M's `osv5m/osv5m-wds`, train/ val/ test/ folders of .tar), streamed, never
extracted.

    for s in iter_tar("osv5m-wds/train/0000.tar"):      # tarfile mode "r|*": one forward pass, no seeks
        s.record.id, s.record.country, s.image(128)     # uint8 (128, 128, 3), decoded like the CSV reader's

WebDataset's convention: a sample is the run of consecutive members sharing a key, the member path up to the first
dot of its base name (`train/0001/3859149887465501.jpg` and `.json` → key `train/0001/3859149887465501`). The image
is the first member whose extension is in `image_exts`; the metadata is the `.json` member (a dict).
Assumed, not checked against a real osv5m-wds shard (no network here): that its metadata sits in a `.json` member
whose field names are the OSV-5M CSV's (id, latitude, longitude, country, region, city, ...). `WdsFields` renames
them; check one shard with `python -m tarfile -l SHARD | head` and `tar -xOf SHARD KEY.json` before a long run.
When the json has no id, the key's base name is the id. Ranks and DataLoader workers split by shard (`split_shards`).
"""
from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .image import decode_bytes, read_rgb_bytes
from .osv5m import Record


@dataclass(frozen=True)
class WdsFields:
    """Names of the metadata fields in each sample's json member, and which extensions hold the image/metadata."""

    id: str = "id"
    lat: str = "latitude"
    lon: str = "longitude"
    country: str = "country"
    meta_ext: str = "json"
    image_exts: tuple[str, ...] = ("jpg", "jpeg", "png", "webp")


@dataclass
class WdsSample:
    """One sample of a tar shard: its metadata as a Record (path = the shard, member = the image member) and the
    encoded image bytes (a stream has no random access, so the bytes travel with the sample)."""

    key: str
    record: Record
    data: bytes = field(repr=False)

    def image(self, size: int | None = None) -> np.ndarray:
        """Decode as uint8 RGB; with `size`, the central square at size×size (draft-mode JPEG decode)."""
        name = f"{self.record.path}::{self.record.member}"
        return read_rgb_bytes(self.data, name) if size is None else decode_bytes(self.data, size, name)


def split_key(name: str) -> tuple[str, str]:
    """(key, extension) of a member path by WebDataset's rule: the extension starts at the base name's first dot."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), (ext.lower() if dot else "")


def _members(tf: tarfile.TarFile) -> Iterator[tuple[str, str, bytes]]:
    """(key, extension, bytes) of every regular file member, in stream order."""
    for m in tf:
        if not m.isfile():
            continue
        key, ext = split_key(m.name)
        fh = tf.extractfile(m)
        yield key, ext, fh.read() if fh is not None else b""


def _sample(path: str, key: str, parts: dict[str, bytes], fields: WdsFields) -> WdsSample | None:
    """The sample made of one key's members, or None when it has no image (e.g. a stray metadata file)."""
    ext = next((e for e in fields.image_exts if e in parts), None)
    if ext is None:
        return None
    where = f"{os.path.basename(path)}, sample {key[-120:]!r}"
    if fields.meta_ext not in parts:
        raise ValueError(f"{where}: no .{fields.meta_ext} metadata member beside its .{ext}")
    try:
        meta = json.loads(parts[fields.meta_ext])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{where}: .{fields.meta_ext} is not JSON ({err})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: .{fields.meta_ext} is not a JSON object")
    missing = [f for f in (fields.lat, fields.lon, fields.country) if f not in meta]
    if missing:
        raise ValueError(f"{where}: metadata lacks {missing} (fields: {sorted(meta)[:8]}); set WdsFields names")
    try:
        lat, lon = float(meta[fields.lat]), float(meta[fields.lon])
    except (TypeError, ValueError):
        raise ValueError(f"{where}: latitude/longitude {str(meta[fields.lat])[:40]!r}, "
                         f"{str(meta[fields.lon])[:40]!r} are not numbers") from None
    ident = str(meta.get(fields.id, key.rpartition("/")[2]))
    taken = {fields.id, fields.lat, fields.lon, fields.country}
    extra = {k: str(v) for k, v in meta.items() if k not in taken}
    rec = Record(ident, lat, lon, str(meta[fields.country]), str(path), f"{key}.{ext}", extra)
    return WdsSample(key, rec, parts[ext])


def iter_tar(path: str | os.PathLike, fields: WdsFields = WdsFields()) -> Iterator[WdsSample]:
    """The samples of one tar shard in stream order (mode "r|*": plain or compressed, read once front to back, so a
    pipe works too; nothing is extracted)."""
    path = str(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tar shard not found: {path}")
    try:
        with tarfile.open(path, mode="r|*") as tf:
            key, parts = None, {}
            for k, ext, data in _members(tf):
                if k != key:
                    if key is not None and (s := _sample(path, key, parts, fields)) is not None:
                        yield s
                    key, parts = k, {}
                parts[ext] = data
            if key is not None and (s := _sample(path, key, parts, fields)) is not None:
                yield s
    except tarfile.TarError as err:
        raise ValueError(f"corrupt tar shard {path}: {err}") from err


def list_shards(root: str | os.PathLike, split: str | None = None) -> list[str]:
    """The .tar shards of a WebDataset folder (or of its `split` sub-folder), sorted by name."""
    folder = Path(root) / split if split else Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(f"WebDataset folder not found: {folder}")
    shards = sorted(str(p) for p in folder.iterdir() if p.name.endswith((".tar", ".tar.gz", ".tgz")))
    if not shards:
        raise FileNotFoundError(f"no .tar shards in {folder}")
    return shards


def split_shards(shards: Sequence[str], rank: int = 0, world_size: int = 1, worker: int = 0,
                 num_workers: int = 1) -> list[str]:
    """This (rank, worker)'s shards: every (world_size × num_workers)-th one, so no two readers share a shard.
    Needs at least as many shards as readers, else some would get none (an error here, not a silent stall)."""
    readers = world_size * num_workers
    if not (0 <= rank < world_size and 0 <= worker < num_workers):
        raise ValueError(f"rank {rank} / worker {worker} out of range for {world_size} ranks × {num_workers} workers")
    if len(shards) < readers:
        raise ValueError(f"{len(shards)} shards cannot feed {world_size} ranks × {num_workers} workers; "
                         "use fewer workers or more shards")
    return list(shards[rank * num_workers + worker::readers])


def iter_shards(shards: Iterable[str], fields: WdsFields = WdsFields()) -> Iterator[WdsSample]:
    """The samples of several shards, one after the other."""
    for shard in shards:
        yield from iter_tar(shard, fields)
