"""What every eval task shares: the judges' input, their outputs, result tables (standard FID/KID: eval/fid.py).

Generators answer a task's requests; `GENERATORS` holds the built-in ones by name (each task module adds its own),
and checkpoints are loaded by name when the name is not one of them.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

JUDGE_EVAL_SEED = 9003  # reference renders and requests; disjoint from judge training (9001/9002)
# task -> model name -> factory(seed) returning a callable that answers one request
GENERATORS: dict[str, dict[str, Callable]] = {"country": {}, "map": {}, "layout": {}, "city": {}}


SHEET_EXAMPLES = 4  # examples (columns) a run's picture sheet shows


@dataclass
class Examples:
    """A few example images of one eval run for its picture sheet: rows of images under one caption per column."""

    rows: dict[str, list[np.ndarray]]  # row label -> uint8 images (H, W, 3), one per caption
    captions: list[str]


_EXAMPLES: ContextVar[list[Examples] | None] = ContextVar("streetgen_eval_examples", default=None)


@contextmanager
def collect_examples() -> Iterator[list[Examples]]:
    """Within this block, eval tasks hand their example images (`keep_examples`) to the list it yields. A context
    rather than a return value, so every task keeps its signature and its metrics dict unchanged."""
    sink: list[Examples] = []
    token = _EXAMPLES.set(sink)
    try:
        yield sink
    finally:
        _EXAMPLES.reset(token)


def examples_wanted() -> bool:
    """Whether a caller is collecting example images (tasks skip extra renders otherwise)."""
    return _EXAMPLES.get() is not None


def keep_examples(rows: dict[str, Sequence[np.ndarray]], captions: Sequence[str]) -> None:
    """Hand the first SHEET_EXAMPLES images of each row to the collector, if any (a no-op otherwise)."""
    sink = _EXAMPLES.get()
    if sink is None:
        return
    k = min([SHEET_EXAMPLES, len(captions)] + [len(v) for v in rows.values()])
    sink.append(Examples({name: [np.asarray(im) for im in list(v)[:k]] for name, v in rows.items()},
                         [str(c) for c in list(captions)[:k]]))


def to_tensor(images: np.ndarray):
    """uint8 images (N, H, W, 3) → float tensor (N, 3, H, W) in [0, 1], the judges' input."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)


def judge_outputs(judge, images: np.ndarray, batch: int = 128) -> dict[str, np.ndarray]:
    """Run the place judge over uint8 images (N, H, W, 3): features, logits, predicted lat/lon."""
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            outs.append({k: v.numpy() for k, v in judge(to_tensor(images[i:i + batch])).items()})
    cat = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    x, y, z = cat["xyz"].T.astype(np.float64)
    cat["latlon"] = np.stack([np.degrees(np.arcsin(np.clip(z, -1, 1))), np.degrees(np.arctan2(y, x))], 1)
    return cat


def segment(segmenter, photos: np.ndarray, batch: int = 64) -> np.ndarray:
    """Predicted class ids (N, H, W) of uint8 photos: a streetgen Segmenter, or a seg judge of
    `streetgen.eval.judges` (`--judge seg=SOURCE`, e.g. a transformers segmenter mapped onto our classes)."""
    import torch

    if getattr(segmenter, "kind", None) == "seg":
        return np.asarray(segmenter.predict(np.ascontiguousarray(photos, np.uint8)))

    with torch.no_grad():
        return np.concatenate([segmenter.predict(to_tensor(photos[i:i + batch])).numpy()
                               for i in range(0, len(photos), batch)])


def is_checkpoint(name: str) -> bool:
    """Whether `name` resolves to a checkpoint folder (local, shipped or on the Hub)."""
    from streetgen.hub import resolve

    try:
        resolve(name)
        return True
    except Exception:  # not a folder, not under checkpoints/, not on the Hub (or offline)
        return False


def to_markdown(task: str, model: str, metrics: dict) -> str:
    """The metrics as a markdown table under a title naming the task and model (the judge, for `--task judge`)."""
    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items())
    what = "judge" if task == "judge" else "model"
    return f"# streetgen eval: task `{task}`, {what} `{model}`\n\n| metric | value |\n|---|---|\n{rows}\n"
