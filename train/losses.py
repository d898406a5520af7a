"""The training losses the trainers share: GAN objectives and penalties, perceptual and semantic terms.

    GAN         lsgan_loss (CycleGAN), bce_gan_loss (pix2pix), d_hinge_loss / g_hinge_loss / feature_matching_loss
                (SPADE's multi-scale discriminator), d_logistic_loss / g_logistic_loss + r1_penalty (StyleGAN2),
                gradient_penalty (WGAN-GP), mode_seeking_ratio (diversity)
    perceptual  JudgePerceptualLoss: the frozen place judge's conv stages instead of VGG (not reachable offline)
    semantic    CyCADA's consistency term: semantic_loss with a frozen segmenter (pretrain_segmenter, freeze,
                targets)
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from streetgen.classes import IGNORE
from streetgen.models.judges import Segmenter, normalise


# ---- GAN objectives -------------------------------------------------------------------------------------------------
def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (Mao et al.): mean (score − 1)² for real targets, score² for fake ones."""
    target = 1.0 if real else 0.0
    return ((scores.float() - target) ** 2).mean()


def bce_gan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """pix2pix's "vanilla" GAN loss: binary cross-entropy on the patch logits."""
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return F.binary_cross_entropy_with_logits(scores.float(), target.float())


def d_hinge_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Discriminator hinge loss, averaged over scales: mean relu(1 - D(real)) + mean relu(1 + D(fake))."""
    loss = sum(F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for r, f in zip(real, fake))
    return loss / len(real)


def g_hinge_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Generator side of the hinge loss: -mean D(fake), averaged over scales."""
    return -sum(f[-1].mean() for f in fake) / len(fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between the discriminator's intermediate activations on real and generated pairs (real detached),
    averaged over scales, summed over layers (pix2pixHD's form, weighted by the caller)."""
    loss = sum(F.l1_loss(f, r.detach()) for rs, fs in zip(real, fake) for r, f in zip(rs[:-1], fs[:-1]))
    return loss / len(real)


def d_logistic_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """StyleGAN2's discriminator loss: softplus(D(fake)) + softplus(-D(real)), each averaged."""
    return F.softplus(d_fake).mean() + F.softplus(-d_real).mean()


def g_logistic_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: softplus(-D(fake)), averaged."""
    return F.softplus(-d_fake).mean()


def r1_penalty(scores: torch.Tensor, reals: torch.Tensor) -> torch.Tensor:
    """E‖∇D(real)‖² (Mescheder et al.), for `scores` = D(reals) with `reals` requiring grad; unweighted."""
    grad, = torch.autograd.grad(scores.sum(), reals, create_graph=True)
    return grad.pow(2).sum(dim=(1, 2, 3)).mean()


def gradient_penalty(scores: torch.Tensor, mixed: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's E(‖∇D(x̂)‖ − 1)² for `scores` = D(mixed) on real/fake interpolates `mixed` (which requires
    grad)."""
    grad, = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def mode_seeking_ratio(images_a: torch.Tensor, images_b: torch.Tensor, z_a: torch.Tensor,
                       z_b: torch.Tensor) -> torch.Tensor:
    """Image distance per latent distance of two samples of one condition (Mao et al. 2019), to be maximised."""
    return (images_a - images_b).abs().mean() / (z_a - z_b).abs().mean()


# ---- perceptual ---------------------------------------------------------------------------------------------------
class JudgePerceptualLoss(nn.Module):
    """Mean squared distance between the place judge's four conv-stage activations of two image batches.

    Like a VGG perceptual loss, but with features that also know which country a street is in, so matching
    them pushes reconstructions toward country-specific detail (the study's "no difference between countries").
    """

    def __init__(self, judge: nn.Module):
        super().__init__()
        self.judge = judge.eval().requires_grad_(False)
        self.stages = list(judge.body.children())[:4]  # the four stride-2 conv blocks, before pooling

    def train(self, mode: bool = True) -> JudgePerceptualLoss:
        """A no-op: the judge stays in eval mode (frozen BatchNorm statistics)."""
        return self

    def forward(self, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Both batches are (B, 3, H, W) in [0, 1]; gradients flow to `recon` only."""
        size = (self.judge.input_size, self.judge.input_size)
        a, b = (normalise(F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True))
                for x in (recon, target))
        loss = recon.new_zeros(())
        for stage in self.stages:
            a, b = stage(a), stage(b)
            loss = loss + F.mse_loss(a, b.detach())
        return loss / len(self.stages)


# ---- semantic consistency -----------------------------------------------------------------------------------------
# For unpaired translation (CyCADA, Hoffman et al. 2018) a translated street must still segment as the street it
# came from. CycleGAN's cycle loss only asks that the input can be *recovered* from the output; a generator may hide
# the scene in faint texture and paint something else on top (our 64² city models turn façades into noise the
# segmenter cannot parse). CyCADA adds a frozen segmenter S trained on the source data and asks
# CE(S(G(a)), labels(a)) to be small. World renders come with exact labels, so S learns from them and the targets
# are the true classes; for a photo folder without labels the target is S's own reading of the input (CyCADA's
# pseudo-labels), so S must have been trained on a labelled domain or loaded from a segmenter checkpoint.
#
# S is the judges' `Segmenter` design, but a *separate* network trained on the training crops only: the
# evaluation's segmenter (`checkpoints/judges/seg`, other renders + CamVid) is never seen by the generator, so the
# structure numbers it reports are not optimised directly.
def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] generator images → the [0, 1] the segmenter reads."""
    return (x.float() + 1) * 0.5


def pretrain_segmenter(seg: Segmenter, draw: Callable[[int], tuple[torch.Tensor, torch.Tensor]], steps: int,
                       lr: float = 2e-3, log: Callable[[str], None] | None = print) -> float:
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
