"""Exponential moving average of a model's weights (the generator that gets evaluated and exported).

    ema = EMA(model, decay=0.999, warmup=1000)
    ...optimizer.step(); ema.update(model)
    with ema.apply_to(model):          # evaluate / sample with the averaged weights
        images = sample_diffusion(model, labels)
    ema.copy_to(export_copy)           # export only the EMA generator

The shadow is float32 whatever the training precision, since with decay 0.999 each update moves a weight by
~0.1 % of the difference, which bf16 (8 bits of mantissa) would round away.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DDP / accelerate wrappers (which prefix every name with "module."); the EMA, the
    checkpoints and the export are keyed by the bare model's names."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


class EMA:
    """Shadow copy of `model`'s floating parameters, averaged; buffers (e.g. norm statistics) are copied."""

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: int = 0):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        if warmup < 0:
            raise ValueError(f"EMA warmup must be >= 0, got {warmup}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        model = unwrap(model)
        self.shadow: dict[str, torch.Tensor] = {
            name: t.detach().to(torch.float32 if t.is_floating_point() else t.dtype, copy=True)
            for name, t in model.state_dict().items()
        }
        self._float = {name for name, p in model.named_parameters() if p.is_floating_point()}

    def current_decay(self) -> float:
        """Decay for the next update: ramps linearly from 0 to `decay` over `warmup` updates.

        Early weights are far from anything worth keeping; a full-strength average from step 0 would drag the
        random init along for ~1/(1-decay) steps.
        """
        if self.warmup == 0:
            return self.decay
        return self.decay * min(1.0, self.num_updates / self.warmup)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """shadow <- d * shadow + (1 - d) * weights for parameters; buffers copied as they are."""
        d = self.current_decay()
        for name, t in unwrap(model).state_dict().items():
            s = self.shadow[name]
            if name in self._float:
                s.lerp_(t.detach().to(s.device, torch.float32), 1.0 - d)
            else:
                s.copy_(t.detach())
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite `model`'s weights with the shadow (cast to the model's dtypes)."""
        own = unwrap(model).state_dict()
        for name, t in own.items():
            t.copy_(self.shadow[name].to(t.device, t.dtype))

    @contextmanager
    def apply_to(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily swap the EMA weights into `model`; the training weights come back on exit."""
        own = unwrap(model).state_dict()
        backup = {name: t.detach().clone() for name, t in own.items()}
        self.copy_to(model)
        try:
            yield model
        finally:
            with torch.no_grad():
                for name, t in own.items():
                    t.copy_(backup[name])

    def to(self, device: torch.device | str) -> EMA:
        """Move the shadow (e.g. onto the accelerator's device after `prepare`)."""
        self.shadow = {k: v.to(device) for k, v in self.shadow.items()}
        return self

    def state_dict(self) -> dict[str, Any]:
        """Tensors + numbers only (checkpointed by run.py without pickling)."""
        return {"shadow": dict(self.shadow), "num_updates": self.num_updates, "decay": self.decay,
                "warmup": self.warmup}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the shadow and the update count; decay/warmup keep the current config's values."""
        missing = set(self.shadow) - set(state["shadow"])
        unexpected = set(state["shadow"]) - set(self.shadow)
        if missing or unexpected:
            raise ValueError(f"EMA state does not match the model: missing {sorted(missing)[:5]}, "
                             f"unexpected {sorted(unexpected)[:5]}")
        for name, t in state["shadow"].items():
            self.shadow[name].copy_(t)
        self.num_updates = int(state["num_updates"])
