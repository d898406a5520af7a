"""The licence and Hub dataset id of each training data source streetgen knows, in one place.

Model cards and cache metadata both read this table, so a model trained on OSV-5M says CC BY-SA 4.0 and
`osv5m/osv5m` whichever trainer made it. A cache's meta.json may carry "dataset" (a key or Hub id below) and
"licence" (a Hub licence id); `from_meta` turns those into a DataSource.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataSource:
    """One data source: a short key, its Hub dataset id ("" when it has none), licence id and card text."""

    key: str
    hub_id: str
    licence: str  # Hub licence id of the data, e.g. "cc-by-sa-4.0"
    text: str  # what the card's "training data" licence line says

    @property
    def datasets(self) -> list[str]:
        """The card's `datasets` list: the Hub id when there is one."""
        return [self.hub_id] if self.hub_id else []

    def card_fields(self) -> dict[str, Any]:
        """ModelCardInfo fields that follow from the data: its licence text, datasets, and the weights' licence
        (the data's: share-alike and non-commercial terms carry over to models trained on it)."""
        return {"data_license": self.text, "license": self.licence, "datasets": self.datasets}


WORLD = DataSource("world", "", "mit", "streetgen.world renders (procedural, MIT)")
SOURCES: dict[str, DataSource] = {s.key: s for s in (
    WORLD,
    DataSource("osv5m", "osv5m/osv5m", "cc-by-sa-4.0", "OSV-5M: CC BY-SA 4.0 (attribution, share-alike)"),
    DataSource("camvid", "", "cc-by-nc-4.0", "CamVid: CC BY-NC 4.0 (non-commercial)"),
    DataSource("folder", "", "other", "photos from local folders: their own licence applies"),
)}
ALIASES = {"osv5m/osv5m": "osv5m", "osv5m/osv5m-wds": "osv5m", "osv-5m": "osv5m", "streetgen.world": "world"}


def source(name: str) -> DataSource:
    """The DataSource for a key or Hub id (case-insensitive); ValueError naming the known ones otherwise."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SOURCES:
        raise ValueError(f"unknown data source {name[:120]!r}; known: {', '.join(sorted(SOURCES))}")
    return SOURCES[key]


def from_meta(meta: dict[str, Any], default: DataSource = WORLD) -> DataSource:
    """The source a cache's meta.json names ("dataset", optional "licence" overriding its licence id).

    An unknown dataset id is kept as given (its Hub id and licence as the meta says); no "dataset" key means
    `default` (caches written before the key existed were world renders)."""
    name = str(meta.get("dataset") or "").strip()
    licence = str(meta.get("licence") or "").strip()
    if not name:
        return default
    try:
        found = source(name)
    except ValueError:
        hub_id = name if "/" in name else ""
        return DataSource(name, hub_id, licence or "other", f"{name}: {licence or 'licence not stated'}")
    if licence and licence != found.licence:
        return DataSource(found.key, found.hub_id, licence, f"{found.text.split(':')[0]}: {licence}")
    return found
