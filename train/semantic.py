"""Semantic consistency for unpaired translation (CyCADA, Hoffman et al. 2018): a translated street must still
segment as the street it came from.

CycleGAN's cycle loss only asks that the input can be *recovered* from the output; a generator may hide the scene
in faint texture and paint something else on top (our 64² city models turn façades into noise the segmenter
cannot parse). CyCADA adds a frozen segmenter S trained on the source data and asks
CE(S(G(a)), labels(a)) to be small. World renders come with exact labels, so S learns from them and the targets
are the true classes; for a photo folder without labels the target is S's own reading of the input (CyCADA's
pseudo-labels), so S must have been trained on a labelled domain or loaded from a segmenter checkpoint.

S is the judges' `Segmenter` design, but a *separate* network trained here on the training crops only: the
evaluation's segmenter (`checkpoints/judges/seg`, other renders + CamVid) is never seen by the generator, so the
structure numbers it reports are not optimised directly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from streetgen.classes import IGNORE
from streetgen.models.judges import Segmenter


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] generator images → the [0, 1] the segmenter reads."""
    return (x.float() + 1) * 0.5


def pretrain_segmenter(seg: Segmenter, draw, steps: int, lr: float = 2e-3, log=print) -> float:
    """Train `seg` for `steps` on labelled crops from `draw(step) -> (images in [-1, 1], labels)` and freeze it.

    Returns the pixel accuracy (void excluded) over the last 10% of the steps, a check that S reads the cities."""
    opt = torch.optim.Adam(seg.parameters(), lr=lr)
    seg.train()
    hits = total = 0
    for step in range(steps):
        x, y = draw(step)
        logits = seg(to_unit(x))
        loss = F.cross_entropy(logits, y, ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= steps - max(1, steps // 10):
            keep = y != IGNORE
            hits += int((logits.argmax(1)[keep] == y[keep]).sum())
            total += int(keep.sum())
        if log and (step + 1) % max(1, steps // 5) == 0:
            log(f"semantic segmenter: step {step + 1}/{steps}, loss {loss.item():.3f}")
    freeze(seg)
    return hits / max(total, 1)


def freeze(seg: Segmenter) -> Segmenter:
    """Eval mode (BatchNorm statistics fixed) and no gradients for S's own weights; gradients still flow through
    it to the generator."""
    seg.eval()
    seg.requires_grad_(False)
    for p in seg.parameters():
        p.grad = None  # pretraining's last gradients would otherwise ride along in every checkpoint
    return seg


def targets(seg: Segmenter, real: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The classes the translation of `real` must keep: its exact labels when known, else S's reading of it."""
    if labels is not None:
        return labels
    with torch.no_grad():
        return seg(to_unit(real)).argmax(1)


def semantic_loss(seg: Segmenter, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the frozen S on the translated image against the source's classes (void ignored)."""
    return F.cross_entropy(seg(to_unit(fake)), target, ignore_index=IGNORE)
