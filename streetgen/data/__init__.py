"""streetgen.data: readers for real street-image datasets and a fast preprocessing cache (numpy + Pillow only).

    OSV5M(root, split)                 OpenStreetView-5M layout (also our world datasets): records + images
    build_cache / Cache                one-off resize into a uint8 memmap that training reads fast
    shards: build_sharded_cache / ShardedCache   the same at full scale: many shard files, per-rank reading
    wds: iter_tar / split_shards       WebDataset tar shards, streamed; fake_osv5m writes both real formats
    LabelPairs / DepthPairs            photos + label maps (class ids or palette colours) / depth maps
    ImageFolder / Unpaired             folders of photos, and two unpaired domains

Every reader returns numpy: images (H, W, 3) uint8 RGB, labels (H, W) uint8, depth (H, W) float32 metres.
Problems are a ValueError / FileNotFoundError naming the file, or a warning on logger "streetgen.data" when
skipping was asked for. torch is only imported by the torch views, when used.
"""
from __future__ import annotations

from .image import decode, read_rgb, to_rgb8
from .osv5m import OSV5M, OSV5M_COLUMNS, Record, load_image, val_indices, val_mask
from .paired import DepthPairs, LabelPairs, camvid_pairs, read_depth
from .unpaired import ImageFolder, Unpaired

__all__ = ["OSV5M", "OSV5M_COLUMNS", "Record", "load_image", "val_indices", "val_mask", "LabelPairs", "DepthPairs",
           "read_depth", "camvid_pairs", "ImageFolder", "Unpaired", "decode", "read_rgb", "to_rgb8", "build_cache", "Cache",
           "select_countries", "build_sharded_cache", "ShardedCache"]


def __getattr__(name: str):
    # The cache module is loaded on first use: importing it here would make `python -m streetgen.data.cache`
    # warn that the module was already imported by its package.
    if name in ("build_cache", "Cache", "select_countries"):
        from . import cache

        return getattr(cache, name)
    if name in ("build_sharded_cache", "ShardedCache"):
        from . import shards

        return getattr(shards, name)
    raise AttributeError(f"module 'streetgen.data' has no attribute {name!r}")
