"""Run folders, the resolved config, and atomic pickle-free checkpoints.

    runs/<name>/
        config.json          resolved config + provenance (git commit/dirty, versions, world size, start time)
        metrics.jsonl        one JSON object per logged step          (logging.py)
        curves.png           loss curves                              (logging.py)
        samples/step_XXXXXX.png                                       (logging.py)
        state/latest         name of the newest complete checkpoint, e.g. "step_000200"
        state/step_000200/   tensors.safetensors + meta.json
        export/              inference weights + card                 (export.py)

A checkpoint is written into `state/.tmp-*`, flushed, then renamed into place; only then is `latest`
(re)written, itself through a temp file + os.replace. A crash at any point leaves the previous checkpoint
and pointer untouched. Nothing is pickled: tensors go to safetensors, everything else to JSON.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

TENSORS_NAME = "tensors.safetensors"
META_NAME = "meta.json"
LATEST_NAME = "latest"
FORMAT_VERSION = 1


# ---- provenance -----------------------------------------------------------------------------------------------
def git_state(cwd: str | Path | None = None) -> dict[str, Any]:
    """{"commit": sha or None, "dirty": bool or None}; None when git or the repository is unavailable."""
    cwd = Path(cwd) if cwd is not None else Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, timeout=10, check=True).stdout
        return {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def resolved_config(cfg: Any, *, argv: list[str], entry: str, world_size: int,
                    mixed_precision: str) -> dict[str, Any]:
    """The config dataclass (after CLI overrides) plus everything needed to reproduce the run."""
    import accelerate
    return {
        "config": dataclasses.asdict(cfg),
        "command": command_line(argv, entry, world_size),
        "git": git_state(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "accelerate": accelerate.__version__},
        "world_size": world_size,
        "mixed_precision": mixed_precision,
        "start_time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
    }


def command_line(argv: list[str], entry: str, world_size: int = 1) -> str:
    """The command, copy-pasteable from the repo root: `python -m <entry> ...`, or the accelerate launch form.

    Multi-node flags are not visible from inside a process; world_size in config.json records the scale.
    """
    import shlex
    args = " ".join(map(shlex.quote, argv))
    launcher = (f"accelerate launch --multi_gpu --num_processes {world_size} -m" if world_size > 1
                else "python -m")
    return f"{launcher} {entry} {args}".rstrip()


# ---- atomic small files ---------------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    # a rename is only durable once the directory entry is on disk; best effort on filesystems without dir fds
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` via a sibling temp file + os.replace; readers see the old or the new file, whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_json(path: str | Path, obj: Any) -> None:
    """Pretty JSON, atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


# ---- state dicts -> (tensors, JSON) ------------------------------------------------------------------------------
def flatten_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able skeleton of `obj`; tensors move to `tensors[prefix.path]` (e.g. "opt.state.3.exp_avg").

    0-dim tensors (Adam's step counter) stay in the JSON as numbers with their dtype, so the step count is
    readable in meta.json. Dicts with non-string keys (optimizer state is keyed by int) and tuples are tagged.
    """
    if isinstance(obj, torch.Tensor):
        if obj.dim() == 0:
            return {"__scalar__": obj.item(), "dtype": str(obj.dtype).replace("torch.", "")}
        # clone: safetensors refuses tensors that share memory (tied weights, views)
        tensors[prefix] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: flatten_state(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[k, flatten_state(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"{prefix}: cannot checkpoint a {type(obj).__name__} without pickling; "
                    "keep state_dicts to tensors, numbers, strings, lists and dicts")


def unflatten_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of `flatten_state`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__scalar__" in obj:
            return torch.tensor(obj["__scalar__"], dtype=getattr(torch, obj["dtype"]))
        if "__items__" in obj:
            return {k: unflatten_state(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(unflatten_state(v, tensors) for v in obj["__tuple__"])
        return {k: unflatten_state(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj


# ---- checkpoints ------------------------------------------------------------------------------------------------
class CheckpointManager:
    """Atomic checkpoints under `state_dir`, the newest `keep` kept."""

    def __init__(self, state_dir: str | Path, keep: int = 2):
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.state_dir = Path(state_dir)
        self.keep = keep

    def _complete(self) -> list[Path]:
        # a step_* folder only ever appears by rename of a finished temp folder, so existence + meta == complete
        dirs = [p for p in self.state_dir.glob("step_*") if (p / META_NAME).is_file() and (p / TENSORS_NAME).is_file()]
        return sorted(dirs, key=lambda p: p.name)

    def latest(self) -> Path | None:
        """The checkpoint named by `latest`, else the newest complete one, else None."""
        pointer = self.state_dir / LATEST_NAME
        if pointer.is_file():
            target = self.state_dir / pointer.read_text(encoding="utf-8").strip()
            if (target / META_NAME).is_file() and (target / TENSORS_NAME).is_file():
                return target
        complete = self._complete()
        return complete[-1] if complete else None

    def save(self, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
        """Write step_<step>/ atomically, repoint `latest`, prune old checkpoints. Returns the folder."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.state_dir.glob(".tmp-*"):  # left by a crash mid-save; never referenced
            shutil.rmtree(stale, ignore_errors=True)
        name = f"step_{step:06d}"
        final = self.state_dir / name
        tmp = self.state_dir / f".tmp-{name}-{os.getpid()}"
        tmp.mkdir()
        safetensors.torch.save_file(tensors, str(tmp / TENSORS_NAME), metadata={"format": "pt"})
        _fsync_file(tmp / TENSORS_NAME)
        write_json(tmp / META_NAME, {"format_version": FORMAT_VERSION, "step": step, **meta})
        if final.exists():  # re-saving a step (e.g. resumed and stopped at once): move the old one aside first
            old = self.state_dir / f".tmp-old-{name}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(self.state_dir)
        write_text_atomic(self.state_dir / LATEST_NAME, name + "\n")
        for old in self._complete()[:-self.keep]:
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
        return final

    def load(self, path: str | Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """(tensors, meta) of `path` or of the latest checkpoint; None when there is none."""
        folder = Path(path) if path is not None else self.latest()
        if folder is None:
            return None
        try:
            meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
            tensors = safetensors.torch.load_file(str(folder / TENSORS_NAME), device="cpu")
        except Exception as e:
            raise RuntimeError(f"checkpoint {folder} is unreadable ({type(e).__name__}: {e})") from e
        if meta.get("format_version") != FORMAT_VERSION:
            raise RuntimeError(f"checkpoint {folder}: format_version {meta.get('format_version')!r}, "
                               f"expected {FORMAT_VERSION}")
        return tensors, meta


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


# ---- RNG ------------------------------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """This process's python / numpy / torch (+ CUDA) RNG states, JSON-able except torch's byte tensors."""
    import random

    import numpy as np
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Inverse of `rng_state` (after `unflatten_state`)."""
    import random

    import numpy as np
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([t.to(torch.uint8) for t in state["cuda"]])
