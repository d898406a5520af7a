"""Which checkpoint a run resumes from (--resume-from), and whether the config it was saved with still fits.

A resumed run may change bookkeeping freely (--steps, --name, logging, pushing). A change of a field that sets a
weight's shape (declared with `field(metadata={"shape": True})` in a trainer's config) is refused with the old and
new values before any weight is loaded; any other change (learning rate, batch size, loss weights) is allowed but
warned about, because the resumed run no longer replays the original one.
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

from train.common.run import LATEST_NAME, META_NAME, TENSORS_NAME, CheckpointManager

# TrainConfig fields that change how a run is run, logged or published, not what it learns
BOOKKEEPING = frozenset({
    "name", "runs_dir", "steps", "stop_after", "time_limit", "device", "log_every", "sample_every", "ckpt_every",
    "keep_ckpts", "resume", "resume_from", "progress", "push_to_hub", "hub_private", "report_to", "num_workers",
    "device_cache_gb",
})


class ConfigMismatchError(ValueError):
    """The checkpoint was saved by a run whose weights have other shapes than this run's."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checkpoint_folder(resume_from: str, state_dir: Path) -> Path | None:
    """The step_* folder to resume from: "" = this run's latest if any, "latest" = it (error when none),
    PATH = a step_* folder or a state folder (its latest); FileNotFoundError with a short message otherwise."""
    if not resume_from:
        return CheckpointManager(state_dir).latest() if state_dir.is_dir() else None
    if resume_from == "latest":
        found = CheckpointManager(state_dir).latest() if state_dir.is_dir() else None
        if found is None:
            raise FileNotFoundError(f"--resume-from latest: run {state_dir.parent.name!r} has no checkpoint yet")
        return found
    path = Path(resume_from).expanduser()
    if (path / META_NAME).is_file() and (path / TENSORS_NAME).is_file():
        return path
    if (path / LATEST_NAME).is_file() or path.name == "state":
        found = CheckpointManager(path).latest()
        if found is not None:
            return found
    raise FileNotFoundError(f"--resume-from {resume_from[:120]!r}: not a checkpoint (a state/step_* folder with "
                            f"{META_NAME} and {TENSORS_NAME}, or a state folder)")


def saved_config(folder: Path, meta: dict[str, Any]) -> dict[str, Any] | None:
    """The config a checkpoint was saved with: its meta (newer checkpoints), else its run's config.json."""
    if isinstance(meta.get("config"), dict):
        return meta["config"]
    run_config = folder.parent.parent / "config.json"
    if run_config.is_file():
        return json.loads(run_config.read_text(encoding="utf-8")).get("config")
    return None


def config_changes(old: dict[str, Any], cfg: Any) -> tuple[list[str], list[str]]:
    """(shape changes, other hyper-parameter changes) from `old` to the dataclass `cfg`, as "field old → new"."""
    shape, other = [], []
    for f in dataclasses.fields(cfg):
        if f.name in BOOKKEEPING or f.metadata.get("run") or f.name not in old:
            continue
        new = getattr(cfg, f.name)
        if old[f.name] != new:
            line = f"--{f.name.replace('_', '-')} {_shown(old[f.name])} → {_shown(new)}"
            (shape if f.metadata.get("shape") else other).append(line)
    return shape, other


def check_config(old: dict[str, Any] | None, cfg: Any) -> list[str]:
    """Refuse shape changes (ConfigMismatchError), warn about the others; returns every change found."""
    if old is None:
        return []
    shape, other = config_changes(old, cfg)
    if shape:
        raise ConfigMismatchError("cannot resume: the checkpoint's weights have other shapes (" + "; ".join(shape)
                                  + "); go back to the saved values or start a new --name")
    if other:
        warnings.warn("resuming with changed hyper-parameters (the run will not replay the original): "
                      + "; ".join(other), stacklevel=3)
    return shape + other


def shape_error(err: RuntimeError, old: dict[str, Any] | None, cfg: Any) -> ConfigMismatchError:
    """A short error for load_state_dict's size mismatch, naming the config changes that may have caused it."""
    changes = sum(config_changes(old, cfg), []) if old is not None else []
    first = next((line.strip() for line in str(err).splitlines() if "size mismatch" in line), "")[:160]
    why = "; ".join(changes) if changes else "no config change recorded"
    return ConfigMismatchError(f"cannot resume: a weight's shape differs from the checkpoint's ({first}); "
                               f"changed: {why}")
