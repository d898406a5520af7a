"""The licence and Hub dataset id of each training data source streetgen knows, in one place.

Model cards and cache metadata both read this table (streetgen.data.provenance writes a cache's meta.json
"dataset" and "license" from it), so a model trained on OSV-5M says CC BY-SA 4.0 and `osv5m/osv5m` whichever
trainer made it; `from_meta` turns a meta.json back into a DataSource.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataSource:
    """One data source: a short key, its Hub dataset id ("" when it has none), licence id and card text."""

    key: str
    hub_id: str
    licence: str  # Hub licence id of the data, e.g. "cc-by-sa-4.0"
    short: str  # the licence as a cache's meta.json says it, e.g. "CC BY-SA 4.0"
    text: str  # what the card's "training data" licence line says

    @property
    def datasets(self) -> list[str]:
        """The card's `datasets` list: the Hub id when there is one."""
        return [self.hub_id] if self.hub_id else []

    def card_fields(self) -> dict[str, Any]:
        """ModelCardInfo fields that follow from the data: its licence text, datasets, and the weights' licence
        (the data's: share-alike and non-commercial terms carry over to models trained on it)."""
        return {"data_license": self.text, "license": self.licence, "datasets": self.datasets}


WORLD = DataSource("world", "", "mit", "MIT (streetgen.world renders, procedural)",
                   "streetgen.world renders (procedural, MIT)")
SOURCES: dict[str, DataSource] = {s.key: s for s in (
    WORLD,
    DataSource("osv5m", "osv5m/osv5m", "cc-by-sa-4.0", "CC BY-SA 4.0",
               "OSV-5M: CC BY-SA 4.0 (attribution, share-alike)"),
    DataSource("camvid", "", "cc-by-nc-4.0", "CC BY-NC 4.0", "CamVid: CC BY-NC 4.0 (non-commercial)"),
    DataSource("folder", "", "other", "their own", "photos from local folders: their own licence applies"),
)}
ALIASES = {"osv5m/osv5m": "osv5m", "osv5m/osv5m-wds": "osv5m", "osv-5m": "osv5m", "streetgen.world": "world"}


def source(name: str) -> DataSource:
    """The DataSource for a key or Hub id (case-insensitive); ValueError naming the known ones otherwise."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SOURCES:
        raise ValueError(f"unknown data source {name[:120]!r}; known: {', '.join(sorted(SOURCES))}")
    return SOURCES[key]


def licence_id(text: str) -> str:
    """A licence as the Hub spells it ("CC BY-SA 4.0" → "cc-by-sa-4.0"); "" when `text` is prose, not a name."""
    lowered = re.sub(r"\s+", "-", text.strip().lower())
    return lowered if re.fullmatch(r"[a-z0-9][a-z0-9.\-]{0,40}", lowered) else ""


def from_meta(meta: dict[str, Any], default: DataSource = WORLD) -> DataSource:
    """The source a cache's meta.json names: "dataset", and "license" (or "licence") when it differs from the
    table's. An unknown dataset is kept as given; no "dataset" key means `default` (caches written before the
    key existed were world renders)."""
    name = str(meta.get("dataset") or "").strip()
    licence = str(meta.get("license") or meta.get("licence") or "").strip()
    if not name:
        return default
    try:
        found = source(name)
    except ValueError:
        hub_id = name if "/" in name else ""
        return DataSource(name, hub_id, licence_id(licence) or "other", licence or "not stated",
                          f"{name}: {licence or 'licence not stated'}")
    lid = licence_id(licence)
    if lid and lid != found.licence:
        return DataSource(found.key, found.hub_id, lid, licence, f"{found.text.split(':')[0]}: {licence}")
    return found
