"""streetgen.data.licences: one table from data source to licence and Hub dataset id, read from cache meta.json."""
from __future__ import annotations

import pytest

from streetgen.data.licences import SOURCES, WORLD, from_meta, licence_id, source
from streetgen.data.provenance import LICENSES, license_of


def test_sources_by_key_or_hub_id():
    osv = source("osv5m/osv5m")
    assert source("OSV5M") is osv and source("osv5m/osv5m-wds") is osv
    assert osv.licence == "cc-by-sa-4.0" and osv.datasets == ["osv5m/osv5m"] and "CC BY-SA 4.0" in osv.text
    camvid = source("camvid")
    assert camvid.licence == "cc-by-nc-4.0" and camvid.datasets == [] and "non-commercial" in camvid.text
    assert WORLD.card_fields() == {"data_license": WORLD.text, "license": "mit", "datasets": []}
    with pytest.raises(ValueError, match="unknown data source 'x+'; known: camvid, folder, osv5m, world") as err:
        source("x" * 500)
    assert len(str(err.value)) < 200  # the value is cut to 120 characters
    assert all(s.key == k for k, s in SOURCES.items())


def test_cache_meta_names_the_source():
    assert from_meta({"countries": ["FR"]}) is WORLD  # caches from before the key: world renders
    assert from_meta({"dataset": "osv5m/osv5m", "licence": "cc-by-sa-4.0"}) is source("osv5m")
    for dataset in ("osv5m/osv5m", "camvid", "streetgen.world"):  # what streetgen.data.provenance writes
        assert from_meta({"dataset": dataset, "license": license_of(dataset)}) is source(dataset)
    assert LICENSES["osv5m/osv5m"] == "CC BY-SA 4.0" and LICENSES["streetgen.world"].startswith("MIT")
    assert licence_id("CC BY-NC 4.0") == "cc-by-nc-4.0" and licence_id("MIT (renders, procedural)") == ""
    relicensed = from_meta({"dataset": "osv5m", "licence": "cc-by-4.0"})
    assert relicensed.licence == "cc-by-4.0" and relicensed.datasets == ["osv5m/osv5m"]
    other = from_meta({"dataset": "someone/streets", "licence": "cc0-1.0"})
    assert other.datasets == ["someone/streets"] and other.card_fields()["license"] == "cc0-1.0"
    assert from_meta({"dataset": "my-photos"}).card_fields() == {
        "data_license": "my-photos: licence not stated", "license": "other", "datasets": []}
