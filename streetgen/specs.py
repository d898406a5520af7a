"""Model specs: one or more checkpoint names joined by "+" ("segmenter+spade_cities"), parsed in one place.

Every pipeline that takes a spec (`Pipeline.from_pretrained`, `load_city_pipeline`, `CountryPipeline`) reads it
here, so "a+b" means the same everywhere: the named models, in order.
"""
from __future__ import annotations

from typing import Any


def parse_spec(spec: str, count: int | None = None) -> list[str]:
    """The checkpoint names in `spec` ("a+b" → ["a", "b"]); with `count`, a ValueError unless it names that many."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"a model spec is a checkpoint name or names joined by '+', got {spec!r}")
    names = spec.split("+")
    if count is not None and len(names) != count:
        raise ValueError(f"{spec!r} names {len(names)} model(s); this pipeline takes {count}")
    return names


def load_spec(*specs: str, count: int | None = None) -> list[Any]:
    """The models the specs name, loaded in order (`streetgen.load`: local folders or Hub repo ids); with `count`,
    a ValueError unless they name that many together."""
    from streetgen.models import load  # imports torch: only when a pipeline is loaded

    names = [name for spec in specs for name in parse_spec(spec)]
    if count is not None and len(names) != count:
        raise ValueError(f"{'+'.join(names)!r} names {len(names)} model(s); this pipeline takes {count}")
    return [load(name) for name in names]
