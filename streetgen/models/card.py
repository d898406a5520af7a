"""Model cards: what a checkpoint was trained on, how, and how well; README.md next to the weights.

The machine-readable part lives in the YAML front matter (license, library_name, tags, datasets, metrics,
plus a `streetgen:` block with the exact command and metric values), so `read_card` gets back what was saved.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

LIBRARY = "streetgen"
# the Hub task of each architecture (https://huggingface.co/tasks); class- or coordinate-conditioned generators
# count as unconditional-image-generation, as the Hub has no conditional-generation task for images
PIPELINE_TAGS = {
    "country_cvae": "unconditional-image-generation", "country_diffusion": "unconditional-image-generation",
    "map_gan": "unconditional-image-generation", "layout_gan": "unconditional-image-generation",
    "spade": "image-to-image", "pix2pix": "image-to-image", "cyclegan": "image-to-image",
    "example_tiny_ae": "image-to-image", "place_judge": "image-classification", "city_judge": "image-classification",
    "country_guide": "image-classification", "segmenter": "image-segmentation", "depth_estimator": "depth-estimation",
}


@dataclass
class ModelCardInfo:
    """Everything a reader needs to trust or reproduce a checkpoint."""

    description: str = ""  # one paragraph: what the model does
    data: str = ""  # what it was trained on (source, size, resolution, splits)
    training_command: str = ""  # the exact command line, copy-pasteable from the repo root
    steps: int | None = None
    wall_time_s: float | None = None
    hardware: str = ""  # e.g. "1x H100" or "2 CPU cores"
    metrics: dict[str, float] = field(default_factory=dict)  # name -> value, e.g. {"fid": 41.2}
    data_license: str = ""  # licence of the training data
    license: str | None = None  # licence of the weights (Hub licence id, e.g. "mit", "cc-by-4.0")
    datasets: list[str] = field(default_factory=list)  # Hub dataset ids, if any
    pipeline_tag: str = ""  # Hub task; empty = PIPELINE_TAGS[architecture]
    base_model: list[str] = field(default_factory=list)  # checkpoints the weights started from (--init-from)
    tags: list[str] = field(default_factory=list)
    notes: str = ""  # limitations, known failure modes
    evaluation: list[dict] = field(default_factory=list)  # [{"command": eval command line, "metrics": {...}}]


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    h, rem = divmod(int(round(seconds)), 3600)
    return f"{h} h {rem // 60:02d} min" if h else f"{rem // 60} min {rem % 60:02d} s"


def _card_data(arch: str, info: ModelCardInfo, base_tags: list[str]) -> ModelCardData:
    extra = {"architecture": arch, "training_command": info.training_command, "steps": info.steps,
             "wall_time_s": info.wall_time_s, "hardware": info.hardware, "metric_values": dict(info.metrics),
             "data": info.data, "data_license": info.data_license, "description": info.description,
             "notes": info.notes, "evaluation": list(info.evaluation)}
    base = list(info.base_model)
    return ModelCardData(
        license=info.license, library_name=LIBRARY, tags=sorted(set(base_tags) | set(info.tags)) or None,
        datasets=list(info.datasets) or None, metrics=sorted(info.metrics) or None,
        pipeline_tag=info.pipeline_tag or PIPELINE_TAGS.get(arch),
        base_model=(base[0] if len(base) == 1 else base) or None,
        streetgen={k: v for k, v in extra.items() if v not in (None, "", {}, [])},
    )


def card_text(arch: str, info: ModelCardInfo, base_tags: list[str] | None = None) -> str:
    """README.md content for a checkpoint of architecture `arch`."""
    data = _card_data(arch, info, base_tags or [LIBRARY])
    rows = "\n".join(f"| {k} | {v:.6g} |" if isinstance(v, (int, float)) else f"| {k} | {v} |"
                     for k, v in sorted(info.metrics.items()))
    metrics = f"| metric | value |\n|---|---|\n{rows}" if rows else "No metrics recorded."
    command = f"```bash\n{info.training_command}\n```" if info.training_command else "Not recorded."
    datasets = "".join(f"\n- dataset: [`{d}`](https://huggingface.co/datasets/{d})" for d in info.datasets)
    body = f"""
# streetgen `{arch}`

{info.description or "A streetgen model."}

## Data

{info.data or "Not described."}

## Training command

{command}

- steps: {info.steps if info.steps is not None else "not recorded"}
- wall time: {_fmt_time(info.wall_time_s)}
- hardware: {info.hardware or "not recorded"}

## Metrics

{metrics}

## Licence

- weights: {info.license or "not stated"}
- training data: {info.data_license or "not stated"}{datasets}

## Usage

```python
import streetgen
model = streetgen.load("<folder or repo id>")  # config.json + model.safetensors, strict, eval mode
```
"""
    if info.evaluation:
        body += "\n## Evaluation\n"
        for entry in info.evaluation:
            values = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
                               for k, v in entry.get("metrics", {}).items())
            body += f"\n```bash\n{entry.get('command', '')}\n```\n\n| metric | value |\n|---|---|\n{values}\n"
    if info.notes:
        body += f"\n## Notes\n\n{info.notes}\n"
    return f"---\n{data.to_yaml()}\n---\n{body}"


def render_card(model: Any, info: ModelCardInfo | None) -> ModelCard:
    """The ModelCard for `model` (a StreetgenModel); an empty ModelCardInfo when none is given."""
    mixin_data = model._hub_mixin_info.model_card_data
    return ModelCard(card_text(model.architecture, info or ModelCardInfo(), list(mixin_data.tags or [])))


def read_card(path: str | Path) -> ModelCardInfo:
    """ModelCardInfo back from a README.md (or a checkpoint folder) written by `card_text`."""
    path = Path(path)
    card = ModelCard.load(path / "README.md" if path.is_dir() else path)
    d = card.data.to_dict()
    extra = dict(d.get("streetgen") or {})
    values = {"metrics": dict(extra.pop("metric_values", {}) or {}), "license": d.get("license"),
              "datasets": list(d.get("datasets") or []), "tags": list(d.get("tags") or []),
              "pipeline_tag": d.get("pipeline_tag") or "", "base_model": _as_list(d.get("base_model"))}
    names = {f.name for f in fields(ModelCardInfo)}
    values.update({k: v for k, v in extra.items() if k in names})
    return ModelCardInfo(**values)


def _as_list(value: Any) -> list[str]:
    """base_model is a string or a list in the YAML."""
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def add_evaluation(folder: str | Path, command: str, metrics: dict[str, Any],
                   headline: dict[str, float] | None = None) -> Path:
    """Record an eval run (its command line and numbers) in a local checkpoint's card; a rerun of the same command
    replaces its entry; `headline` numbers also go into the card's metric values (e.g. a judge's `real_*` scores).
    Returns the README path. Weights and config are untouched."""
    import json

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    info = read_card(folder)
    plain = {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in metrics.items()
             if isinstance(v, (int, float, str, bool))}
    info.evaluation = [e for e in info.evaluation if e.get("command") != command] + [
        {"command": command, "metrics": plain}]
    info.metrics = {**info.metrics, **(headline or {})}
    readme = folder / "README.md"
    new = card_text(config["architecture"], info, [LIBRARY])
    cut_new = new.index("\n---\n", 4) + 5
    old = readme.read_text()
    old_body = old[old.index("\n---\n", 4) + 5:] if old.startswith("---\n") and "\n---\n" in old[4:] else ""
    # the body may hold hand-written sections (training notes): keep it, and only swap in the Evaluation section
    section = _section(new[cut_new:], "Evaluation")
    if _section(old_body, "Evaluation"):
        body = old_body.replace(_section(old_body, "Evaluation"), section)
    elif "\n## Notes\n" in old_body:
        body = old_body.replace("\n## Notes\n", section + "\n## Notes\n", 1)
    else:
        body = old_body.rstrip("\n") + "\n" + section
    readme.write_text(new[:cut_new] + body)
    return readme


def _section(body: str, title: str) -> str:
    """'\\n## title\\n…' up to the next '## ' heading (or the end); '' when absent."""
    start = body.find(f"\n## {title}\n")
    if start < 0:
        return ""
    end = body.find("\n## ", start + 1)
    return body[start:] if end < 0 else body[start:end]
