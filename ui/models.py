"""One cache and one lock for every model the tabs load, keyed by (kind, checkpoint spec).

A spec's parts are model sources (streetgen.sources): checkpoints/<name>, folders, run folders, Hub ids@rev.

The lock matters because two events may ask for the same model at once (e.g. a model switch and Generate): without
it both would load it. Loading imports torch through the pipelines, so nothing here touches torch at import time.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import gradio as gr

from streetgen import sources
from streetgen.pipelines import (CountryPipeline, LayoutPipeline, MapPipeline, SpadePipeline, load_city_pipeline,
                                 resolve_device)

LOADERS: dict[str, Callable[[str], object]] = {  # kind -> how a checkpoint spec of that kind is loaded
    "country": CountryPipeline.from_pretrained,
    "map": MapPipeline.from_pretrained,
    "layout": LayoutPipeline.from_pretrained,
    "spade": SpadePipeline.from_pretrained,
    "city": load_city_pipeline,
}
SOURCE_KINDS = frozenset(LOADERS)  # the kinds whose specs name model sources
MAX_MODELS = 16  # every model the tabs offer fits; older ones are dropped first beyond that

_LOCK = threading.Lock()
_device = "auto"  # the app's --device choice ("auto" until set_device; resolved at each load)


def set_device(name: str) -> str:
    """Load models from now on onto `name` ("auto", "cpu" or "cuda"); returns the device it resolves to. A device
    that cannot be used is a ValueError saying why. Models already loaded for another device are loaded again."""
    global _device
    resolved = resolve_device(name)
    with _LOCK:
        _device = resolved
    return resolved


def device() -> str:
    """The device ("cpu" or "cuda") the next model loads onto."""
    return resolve_device(_device)


@functools.lru_cache(maxsize=MAX_MODELS)
def _cached(kind: str, spec: str, choice: str) -> Any:
    if kind in SOURCE_KINDS:  # run folders and Hub revisions become local folders first
        spec = sources.local_spec(spec)
    pipe = LOADERS[kind](spec)  # pipelines load on the CPU; `to` moves every part
    return pipe.to(resolve_device(choice)) if hasattr(pipe, "to") else pipe


def load(kind: str, spec: str, what: str) -> Any:
    """The `kind` pipeline for checkpoint `spec`, loaded once and shared by all tabs; a checkpoint that is missing
    or unusable (corrupt, or of another architecture) becomes a gr.Error "<what> could not be loaded: <reason>"."""
    with _LOCK:
        try:
            return _cached(kind, spec, _device)
        except (OSError, ValueError, RuntimeError) as err:
            raise gr.Error(f"{what} could not be loaded: {err}") from None
