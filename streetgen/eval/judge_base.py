"""What every pluggable eval judge shares: the `Judge` base, input checks, batching, devices and card numbers.

`streetgen.eval.judges` loads a judge of a kind ("place", "city", "seg", "depth") from any source; the classes
for streetgen checkpoints live there, those for transformers models in `streetgen.eval.hf_judges`.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

KINDS = ("place", "city", "seg", "depth")
DEPTH_OUTPUTS = ("metric", "relative_disparity", "relative_depth")


class Judge:
    """A loaded judge: `kind`, `source`, a one-line `description`, its card's `real_*` numbers and `predict`."""

    kind: str = ""
    batch: int = 16  # images per model call; classes set their own default

    def __init__(self, source: str, description: str, card_metrics: dict[str, float] | None = None,
                 device: str = "cpu", batch: int | None = None):
        self.source = source
        self.description = description
        self.card_metrics = dict(card_metrics or {})
        self.device = device
        self.batch = int(batch or type(self).batch)
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")

    def predict(self, images: np.ndarray) -> Any:
        """The judge's answer for uint8 images (N, H, W, 3); see `streetgen.eval.judges` for each kind's shape."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}: {self.description}>"


def check_images(images: np.ndarray) -> np.ndarray:
    """`images` as a uint8 array (N, H, W, 3); ValueError saying what was given otherwise."""
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3 or 0 in arr.shape:
        raise ValueError(f"a judge takes uint8 images (N, H, W, 3), got {arr.dtype} {tuple(arr.shape)}"[:120])
    return arr


def batches(images: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Consecutive chunks of at most `size` images."""
    for i in range(0, len(images), size):
        yield images[i:i + size]


def run_batched(images: np.ndarray, size: int, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`fn` over chunks of checked images, concatenated (under torch.inference_mode)."""
    import torch

    images = check_images(images)
    with torch.inference_mode():
        return np.concatenate([fn(chunk) for chunk in batches(images, size)])


def pick_device(device: str) -> str:
    """"cpu", "cuda" (or "cuda:N") as given; "auto": CUDA when torch sees it, else the CPU."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" or device.startswith("cuda"):
        return device
    raise ValueError(f"device must be cpu, cuda or auto, got {device[:40]!r}")


def card_metrics(folder: Path) -> dict[str, float]:
    """The `real_*` metric values of a streetgen checkpoint's card ({} when it has no card or none of them)."""
    if not (folder / "README.md").is_file():
        return {}
    from streetgen.models.card import read_card

    try:
        values = read_card(folder).metrics
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in values.items() if k.startswith("real_") and isinstance(v, (int, float))}


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax as float32 (rows sum to 1)."""
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
