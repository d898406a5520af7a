"""Each tab's model choices, from one place: ui/models.toml (the shipped defaults) plus start-up overrides
(`python app.py --model country=SOURCE`, or STREETGEN_MODELS="country=SOURCE;map=SOURCE" for a Space).

A choice whose checkpoint is missing, corrupt or of the wrong kind is left out of its tab with a short notice;
the rest of the app is unaffected. Nothing here imports gradio, torch or huggingface_hub: app.py reads the
configuration before those are imported (it decides whether the Hub is needed at all).
"""
from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from streetgen import sources
from streetgen.specs import parse_spec

CONFIG_PATH = Path(__file__).with_name("models.toml")
KINDS = ("country", "map", "layout", "city")  # the tables of models.toml; "spade" overrides pair with "layout"
OVERRIDE_KEYS = KINDS + ("spade",)
ENV_VAR = "STREETGEN_MODELS"
ARCHITECTURES = {  # what each tab can load (config.json "architecture" of every part of a spec)
    "country": {"country_cvae", "country_diffusion", "country_guide"},
    "map": {"map_gan"},
    "layout": {"layout_gan", "spade"},
    "city": {"cyclegan", "pix2pix", "segmenter", "spade", "country_diffusion"},
}
ROUTES = {("cyclegan",): "cyclegan", ("pix2pix", "pix2pix"): "depth", ("segmenter", "spade"): "layout",
          ("country_diffusion",): "any"}  # the City tab's route, by the architectures of a spec's parts

_overrides: list[tuple[str, str]] = []  # (key, source) in the order given
_hub_routes: dict[str, str] = {}  # City spec with a Hub part -> its route, once its config.json was read


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """models.toml as read (once): {"defaults": {kind: label}, kind: {label: spec}, ...}."""
    with open(CONFIG_PATH, "rb") as f:
        return tomllib.load(f)


def parse_overrides(items: list[str]) -> list[tuple[str, str]]:
    """"kind=source" strings (from --model or STREETGEN_MODELS, split on ';') as pairs; ValueError on a bad one."""
    pairs = []
    for item in (i.strip() for entry in items for i in entry.split(";")):
        if not item:
            continue
        key, eq, source = item.partition("=")
        key, source = key.strip(), source.strip()
        if not eq or key not in OVERRIDE_KEYS or not source:
            raise ValueError(f"--model {item!r}: expected KEY=SOURCE with KEY one of {', '.join(OVERRIDE_KEYS)}")
        pairs.append((key, source))
    return pairs


def configure(overrides: list[str]) -> None:
    """Set the start-up overrides (replacing earlier ones); tabs built afterwards offer them."""
    global _overrides
    _overrides = parse_overrides(overrides)
    problem.cache_clear()
    _hub_routes.clear()


def override_label(source: str) -> str:
    """How an added source is named in its tab: "Run <name>", "Hub org/repo@rev" or "Folder <name>"."""
    run = sources.run_folder(source)
    if run is not None:
        return f"Run {run.name}"
    if sources.is_hub_id(source):
        return f"Hub {source}"
    return f"Folder {Path(source).name or source}"


def configured(kind: str) -> dict[str, str]:
    """label -> spec of every choice of a tab, shipped first, then the overrides (missing ones included)."""
    table = dict(shipped().get(kind, {}))
    if kind == "layout":
        return table | _layout_overrides(next(iter(table.values()), ""))
    return table | {override_label(src): src for key, src in _overrides if key == kind}


def _layout_overrides(first: str) -> dict[str, str]:
    """The one added Layout choice: the given layout generator and/or painter, the first shipped pair's otherwise."""
    given = {key: src for key, src in _overrides if key in ("layout", "spade")}
    if not given:
        return {}
    layout, spade = (parse_spec(first) + ["", ""])[:2]
    layout, spade = given.get("layout", layout), given.get("spade", spade)
    return {f"Custom: {override_label(layout)} + {override_label(spade)}": f"{layout}+{spade}"}


def all_specs() -> list[str]:
    """Every configured spec of every tab (the app asks whether any of them needs the Hub)."""
    return [spec for kind in KINDS for spec in configured(kind).values()]


@functools.lru_cache(maxsize=256)
def problem(kind: str, spec: str) -> str | None:
    """Why a spec cannot be offered in a tab (missing, corrupt, wrong kind), or None. Reads config.json and the
    safetensors header of local parts only; a Hub part is checked when it is loaded."""
    try:
        for part in parse_spec(spec):
            if sources.is_hub_id(part):
                continue
            arch = sources.check_local(part)
            if arch not in ARCHITECTURES[kind]:
                return f"{part} is a {arch} checkpoint, not one this tab can use"
    except (OSError, ValueError) as err:
        return str(err)
    return None


def available(kind: str) -> dict[str, str]:
    """label -> spec of the choices a tab offers (those without a problem)."""
    return {label: spec for label, spec in configured(kind).items() if problem(kind, spec) is None}


def default(kind: str) -> str | None:
    """The label a tab opens on: the first override, else models.toml's default, else its first usable choice."""
    offered = available(kind)
    added = [override_label(src) for key, src in _overrides if key == kind]
    wanted = added + [shipped().get("defaults", {}).get(kind, "")]
    if kind == "layout":
        wanted = [label for label in offered if label.startswith("Custom: ")] + wanted
    return next((label for label in wanted if label in offered), next(iter(offered), None))


def notice(kind: str) -> str:
    """Markdown naming the choices left out of a tab and why ("" when all are there)."""
    lines = [f"- *{label}* is unavailable: {problem(kind, spec)}" for label, spec in configured(kind).items()
             if problem(kind, spec) is not None]
    return ("**Some models could not be offered:**\n" + "\n".join(lines)) if lines else ""


def spec_of(kind: str, label: str) -> str:
    """The spec behind a label (a label that is not a choice is taken as a spec itself, for API callers);
    ValueError naming the problem when the choice is configured but unusable."""
    offered = configured(kind)
    spec = offered.get(label, label)
    why = problem(kind, spec) if label in offered else None
    if why is not None:
        raise ValueError(f"{label!r} is unavailable: {why}")
    return spec


def describe(kind: str, label: str) -> str:
    """One short line for a choice: each local part's card name and metrics (Hub parts by their id)."""
    spec = configured(kind).get(label)
    if spec is None or problem(kind, spec) is not None:
        return ""
    parts = [sources.card_summary(p) or p for p in parse_spec(spec)]
    return " + ".join(parts)


def run_view(kind: str, label: str) -> sources.RunView | None:
    """The run folder's sample grid and curves for a choice made from a training run (its first run part)."""
    spec = configured(kind).get(label)
    views = [sources.run_view(p) for p in parse_spec(spec)] if spec else []
    return next((v for v in views if v is not None), None)


def route(label: str) -> str:
    """The City tab's route of a choice (cyclegan, depth, layout or any) from its parts' architectures (a Hub
    part's config.json is fetched alone); "" when a part cannot be read or the combination is not a route."""
    spec = configured("city").get(label)
    if spec is None:
        return ""
    if spec in _hub_routes:
        return _hub_routes[spec]
    try:
        archs = tuple(sources.architecture(p) for p in parse_spec(spec))
    except (OSError, ValueError):
        return ""  # not kept: the Hub may answer next time
    found = ROUTES.get(archs, "")
    if sources.uses_hub([spec]):
        _hub_routes[spec] = found  # local parts are read again each time (cheap; a file may change)
    return found
