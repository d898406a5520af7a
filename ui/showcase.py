"""The kiosk's pictures on open: each tab's main result for the page's own default choices, and the attract loop's
places, computed once at start-up (the warm-up thread) and kept on disk.

Decision: an on-disk cache, one folder per entry under `CACHE_ROOT`, named by a digest of the entry's inputs (the
page's default values), each model's checkpoint identity (the bytes of its weights and configs), the seed and the
app's source code. A restart with the same checkpoints and code reuses the folder instead of running the models
again; a retrained checkpoint or changed code gets a new folder. The page load (`stored`) only hands over the
stored files: it runs no model.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from streetgen import mapview, sources, world
from streetgen.specs import parse_spec
from ui import choices, model_panel, tab_city, tab_country, tab_layout, tab_map, tab_world

CACHE_ROOT = Path(tempfile.gettempdir()) / "streetgen-kiosk"
STALE_S = 7 * 24 * 3600  # entries no start has used for a week are removed (each code or model change adds ~3 MB)
CODE_ROOTS = (Path(__file__).resolve().parent, Path(world.__file__).resolve().parents[1])  # ui/ and streetgen/
ATTRACT_ID = "kiosk-attract-slides"  # the attract loop's (picture, caption) list in `stored()`
WAIT_S = 900  # a page opened while the start-up computation still runs waits for it this long at most

Values = dict[str, Any]  # component elem_id -> its value (galleries, pictures, text, JSON, editor)


@dataclass(frozen=True)
class Entry:
    """One stored result: its name, the page defaults it reads, the components it fills, the (kind, elem_id of the
    model choice) of each model it runs, and how to make it from those defaults."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    models: tuple[tuple[str, str], ...]
    make: Callable[[Values], Values]


def _digest(h: Any, paths: Iterable[Path], root: Path) -> None:
    for path in sorted(paths):
        h.update(path.relative_to(root).as_posix().encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)


def checkpoint_identity(spec: str) -> str:
    """A digest of the weights and configs (*.safetensors, *.json) of every part of a checkpoint spec."""
    h = hashlib.sha256(spec.encode())
    for part in parse_spec(spec):
        folder = sources.resolve_part(part)
        _digest(h, [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".json")], folder)
    return h.hexdigest()[:20]


@functools.lru_cache(maxsize=1)
def code_identity() -> str:
    """A digest of the app's Python sources (ui/ and streetgen/) as they were when first asked: stored results
    follow code changes too."""
    h = hashlib.sha256()
    for root in CODE_ROOTS:
        _digest(h, root.rglob("*.py"), root)
    return h.hexdigest()[:20]


def entry_key(entry: Entry, defaults: Values) -> str:
    """The folder name of an entry's stored result for these page defaults and the current checkpoints and code."""
    models = [(kind, checkpoint_identity(model_panel.spec(kind, defaults[elem]))) for kind, elem in entry.models]
    blob = json.dumps([entry.name, {k: defaults[k] for k in entry.inputs}, models, code_identity()], default=str)
    return f"{entry.name}-{hashlib.sha256(blob.encode()).hexdigest()[:20]}"


def _is_file(value: Any) -> bool:
    """Whether a value is a path to a file (a handler's picture), not text such as Markdown."""
    return isinstance(value, (str, Path)) and "\n" not in str(value) and os.path.isfile(value)


def _save_picture(value: Any, folder: Path, name: str) -> str:
    if isinstance(value, (str, Path)):
        shutil.copyfile(value, folder / name)
    else:
        (value if isinstance(value, Image.Image) else Image.fromarray(np.asarray(value))).save(folder / name)
    return name


def save_values(values: Values, folder: Path) -> None:
    """Write an entry's values into `folder` (pictures as PNG, the rest in manifest.json, written last)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for elem, value in values.items():
        if value is None or isinstance(value, (int, float)) or (isinstance(value, str) and not _is_file(value)):
            manifest[elem] = {"kind": "value", "value": value}
        elif isinstance(value, list):
            items = [[_save_picture(pic, folder, f"{elem}-{i}.png"), caption] for i, (pic, caption) in enumerate(value)]
            manifest[elem] = {"kind": "gallery", "items": items}
        elif isinstance(value, dict) and "background" in value:
            manifest[elem] = {"kind": "editor", "file": _save_picture(value["background"], folder, f"{elem}.png")}
        elif isinstance(value, dict):
            manifest[elem] = {"kind": "value", "value": value}
        else:
            manifest[elem] = {"kind": "picture", "file": _save_picture(value, folder, f"{elem}.png")}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def load_values(folder: Path) -> Values | None:
    """The values saved in `folder` as the components take them (pictures as file paths); None if not stored."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    out = {}
    for elem, item in manifest.items():
        if item["kind"] == "gallery":
            out[elem] = [(str(folder / name), caption) for name, caption in item["items"]]
        elif item["kind"] == "editor":
            path = str(folder / item["file"])
            out[elem] = {"background": path, "layers": [], "composite": path}
        elif item["kind"] == "picture":
            out[elem] = str(folder / item["file"])
        else:
            out[elem] = item["value"]
    return out


def cached(entry: Entry, defaults: Values, root: Path = CACHE_ROOT) -> Values:
    """An entry's values: read from its folder under `root` when stored, else made now and stored."""
    folder = root / entry_key(entry, defaults)
    values = load_values(folder)
    if values is None:
        root.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=root))
        try:
            save_values(entry.make(defaults), partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # whole folders only: a stop half-way leaves no half-stored entry behind
        values = load_values(folder)
    return values


def _country(d: Values) -> Values:
    gallery, reference = tab_country.generate_country(d["c-country"], d["c-n"], d["c-seed"], d["c-model"],
                                                      d["c-guidance"])
    return {"c-gallery": gallery, "c-reference": reference}


def _map(d: Values) -> Values:
    gallery, reference, info, marked = tab_map.generate_map(d["m-lat"], d["m-lon"], d["m-n"], d["m-seed"])
    return {"m-gallery": gallery, "m-reference": reference, "m-info": info, "worldmap": marked}


def _layout(d: Values) -> Values:
    editor = tab_layout.new_layout(d["l-layout-seed"], d["l-model"])
    used, photo = tab_layout.layout_to_photo(editor, d["l-model"], d["l-style"], d["l-seed"], d["l-fill"])
    return {"l-editor": editor, "l-used": used, "l-photo": photo}


def _city(d: Values) -> Values:
    photo = tab_city.city_example(d["y-example-city"], d["y-seed"])
    out, middle, _, note = tab_city.translate_city(photo, d["y-method"], d["y-target"], d["y-strength"], d["y-seed"])
    return {"y-photo": photo, "y-out": out, "y-depth": middle, "y-note": note}


def _world(d: Values) -> Values:
    gallery, summary, meta = tab_world.render_world(d["country"], d["seed"], d["size"], d["n"])
    return {"world-gallery": gallery, "world-summary": summary, "world-meta": meta}


def _attract(d: Values) -> Values:
    """The attract loop's slides: for each of the Map tab's places, the world's render there and a street image the
    Country tab's default model generates for its country (places whose country the model lacks are left out)."""
    slides = []
    for name, (lat, lon) in tab_map.MAP_PRESETS.items():
        info = mapview.describe_place(lat, lon)
        try:
            generated = tab_country.generate_country(info["country"], 1, d["c-seed"], d["c-model"], d["c-guidance"])
        except gr.Error:
            continue
        place = f"{name}, {info['country_name']}"
        slides += [(world.render(lat, lon, seed=int(d["c-seed"]), size=256).image, f"{place} · streetgen.world"),
                   (generated[0][0][0], f"{place} · generated")]
    return {ATTRACT_ID: slides}


ENTRIES = (
    Entry("country", ("c-country", "c-n", "c-seed", "c-model", "c-guidance"), ("c-gallery", "c-reference"),
          (("country", "c-model"),), _country),
    Entry("map", ("m-lat", "m-lon", "m-n", "m-seed"), ("m-gallery", "m-reference", "m-info", "worldmap"),
          (("map", "m-model"),), _map),
    Entry("layout", ("l-layout-seed", "l-model", "l-style", "l-seed", "l-fill"), ("l-editor", "l-used", "l-photo"),
          (("layout", "l-model"),), _layout),
    Entry("city", ("y-example-city", "y-method", "y-target", "y-strength", "y-seed"),
          ("y-photo", "y-out", "y-depth", "y-note"), (("city", "y-method"),), _city),
    Entry("world", ("country", "seed", "size", "n"), ("world-gallery", "world-summary", "world-meta"), (), _world),
    Entry("attract", ("c-seed", "c-model", "c-guidance"), (ATTRACT_ID,), (("country", "c-model"),), _attract),
)
SHOWN = [elem for entry in ENTRIES for elem in entry.outputs if elem != ATTRACT_ID]  # the components a load fills


def page_defaults(blocks: gr.Blocks) -> Values:
    """Every component's starting value by elem_id (what a visitor sees before touching anything), plus the map
    model's label as "m-model" (the Map tab has no model choice)."""
    values = {b.elem_id: b.value for b in blocks.blocks.values() if getattr(b, "elem_id", None) and hasattr(b, "value")}
    return values | {"m-model": choices.default("map")}


_state: dict[str, Any] = {"values": None, "ready": threading.Event(), "errors": []}


def prepare(blocks: gr.Blocks, root: Path = CACHE_ROOT, entries: Iterable[Entry] = ENTRIES) -> Values:
    """Compute (or read back) every entry for the page's defaults and keep them for `stored`; an entry that fails
    (e.g. its model cannot load) is left out with its message in `errors()`, the rest are still shown."""
    defaults, values, errors = page_defaults(blocks), {}, []
    entries = list(entries)
    for entry in entries:
        try:
            values |= cached(entry, defaults, root)
        except (gr.Error, OSError, ValueError, RuntimeError) as err:
            errors.append(f"{entry.name}: {getattr(err, 'message', err)}")
    prune(root, {entry_key(entry, defaults) for entry in entries})
    _state.update(values=values, errors=errors)
    _state["ready"].set()
    return values


def prune(root: Path, keep: set[str], max_age_s: float = STALE_S) -> int:
    """Remove stored entries under `root` that this start does not use and that nobody has written for `max_age_s`
    (other code, models or seeds; another app sharing the folder keeps its recent ones); returns how many went."""
    removed, cutoff = 0, time.time() - max_age_s
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            if folder.is_dir() and folder.name not in keep and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except FileNotFoundError:  # another app's prune got it first
            pass
    return removed


def errors() -> list[str]:
    """What `prepare` could not compute, one line per entry."""
    return list(_state["errors"])


def stored(timeout_s: float = WAIT_S) -> Values:
    """The prepared values (waiting for `prepare` if it is still running); {} if it has not finished in time."""
    _state["ready"].wait(timeout_s)
    return dict(_state["values"] or {})


def reset() -> None:
    """Forget the prepared values (tests prepare several times)."""
    _state.update(values=None, errors=[])
    _state["ready"].clear()
