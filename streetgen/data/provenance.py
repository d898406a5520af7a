"""Which dataset a cache was built from, and its licence, so model cards can name both.

    dataset_of("osv5m")  → "osv5m/osv5m"       (an OSV-5M-layout folder: CSV + zips, or the -wds tars)
    dataset_of("world")  → "streetgen.world"   (folders written by streetgen.world.dataset / fake_osv5m)
    LICENSES["osv5m/osv5m"] → "CC BY-SA 4.0"
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .licences import source

# dataset id -> licence as meta.json says it, from the one table in streetgen.data.licences
LICENSES = {dataset: source(dataset).short for dataset in ("osv5m/osv5m", "camvid", "streetgen.world")}
WORLD_GENERATORS = ("streetgen.world", "streetgen.data.fake_osv5m")


def dataset_of(root: str | os.PathLike) -> str:
    """The dataset id of a folder: streetgen.world when its dataset.json (or its parent's) says our renderer made
    it, else OSV-5M, the only real dataset in this layout."""
    for folder in (Path(root), Path(root).parent):
        info = folder / "dataset.json"
        if info.is_file():
            try:
                generator = json.loads(info.read_text()).get("generator", "")
            except (ValueError, AttributeError):
                continue
            if generator in WORLD_GENERATORS:
                return "streetgen.world"
    return "osv5m/osv5m"


def license_of(dataset: str) -> str:
    """The licence of a dataset id; unknown ids say so rather than guess."""
    return LICENSES.get(dataset, "unknown: state the data's licence")
