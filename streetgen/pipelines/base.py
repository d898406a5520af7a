"""The pipeline base (diffusers-style): load the parts from a model spec, move them to a device, one `__call__`."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from streetgen.specs import load_spec
from streetgen.validate import check_int


DEVICES = ("auto", "cpu", "cuda")
MAX_CHUNK = 1024  # frames per model call a streaming generator accepts (more than any pipeline makes)


def resolve_device(name: str) -> str:
    """"cpu" or "cuda" for a device choice in DEVICES ("auto": CUDA when torch sees a CUDA device, else the CPU);
    a ValueError says why "cuda" cannot be used here (the app's --device option)."""
    import torch

    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA device (use 'auto' or 'cpu')")
    return name


class Pipeline:
    """A capability made of one or more models (`parts`, the attribute names they are kept under).

    `from_pretrained(spec)` loads them ("a+b" or several arguments, in the order of `parts`), `to(device)` moves
    every part, and each pipeline defines one `__call__` with one return type."""

    parts: ClassVar[tuple[str, ...]] = ("model",)
    default_spec: ClassVar[str | None] = None

    def __init__(self, model: Any) -> None:
        self.model = model.eval()

    @classmethod
    def from_pretrained(cls, *specs: str) -> "Pipeline":
        """The pipeline for checkpoint names or specs (local folders or Hub repo ids); `default_spec` if none."""
        if not specs:
            if cls.default_spec is None:
                raise TypeError(f"{cls.__name__}.from_pretrained needs a model spec")
            specs = (cls.default_spec,)
        return cls(*load_spec(*specs, count=len(cls.parts)))

    def to(self, device: Any) -> "Pipeline":
        """Move every part to `device`, e.g. "cuda"; seeds still draw their noise on the CPU."""
        for name in self.parts:
            part = getattr(self, name, None)
            if part is not None:
                part.to(device)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def to_uint8(images: Any) -> list[np.ndarray]:
    """(B, 3, H, W) float tensor in [0, 1] → list of uint8 (H, W, 3) arrays."""
    arr = (images.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).cpu().numpy().astype(np.uint8)
    return list(arr)


def chunk_spans(total: int, chunk: int | tuple[int, ...] | None) -> list[tuple[int, int]]:
    """(start, stop) of consecutive spans covering `total` items: `chunk` items each, or for a tuple of sizes one
    span of each size in turn, the last size repeated (None: one span of all); sizes are checked first.

    Why: streaming generators (`iter_morph`, `iter_journey`) run their model on one span at a time, so the first
    frames exist before the last ones are started; (1, 5) gives the first frame alone, then the rest in fewer
    calls."""
    if chunk is None:
        return [(0, total)]
    sizes = [check_int("chunk", c, 1, MAX_CHUNK) for c in (chunk if isinstance(chunk, tuple) else (chunk,))]
    if not sizes:
        raise ValueError("chunk must name at least one size")
    spans, start = [], 0
    while start < total:
        size = sizes[min(len(spans), len(sizes) - 1)]
        spans.append((start, min(start + size, total)))
        start += size
    return spans
