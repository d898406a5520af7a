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
from streetgen.pipelines import CountryPipeline, LayoutPipeline, MapPipeline, SpadePipeline, load_city_pipeline

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


@functools.lru_cache(maxsize=MAX_MODELS)
def _cached(kind: str, spec: str) -> Any:
    if kind in SOURCE_KINDS:  # run folders and Hub revisions become local folders first
        spec = sources.local_spec(spec)
    return LOADERS[kind](spec)


def load(kind: str, spec: str, what: str) -> Any:
    """The `kind` pipeline for checkpoint `spec`, loaded once and shared by all tabs; a checkpoint that is missing
    or unusable (corrupt, or of another architecture) becomes a gr.Error "<what> could not be loaded: <reason>"."""
    with _LOCK:
        try:
            return _cached(kind, spec)
        except (OSError, ValueError, RuntimeError) as err:
            raise gr.Error(f"{what} could not be loaded: {err}") from None
