"""The guided ε of one denoising step: classifier-free guidance over a mixture of countries, autoguidance by a
weaker model and classifier guidance by a noise-aware country classifier.

Why mix predictions, not embeddings: a weighted sum of two embedding rows is a point the network never saw and,
under strong guidance, sampling from it gave pure noise; a weighted sum of the countries' ε is a mixture of scores
the model does know (composable diffusion, Liu et al., 2022). One-hot rows cost one term per image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:
    from streetgen.models.country_diffusion import CountryDiffusion


Terms = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # rows, embeddings, weights (`label_terms`)


def sum_terms(like: torch.Tensor, rows: torch.Tensor, preds: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per image, the weighted sum of its terms' predictions (`label_terms` rows and weights): (B, 3, H, W)."""
    return torch.zeros_like(like).index_add_(0, rows, preds * weights.to(preds.dtype)[:, None, None, None])


def mixture_eps(model: CountryDiffusion, x: torch.Tensor, timesteps: torch.Tensor, terms: Terms, guidance: float,
                weaker: CountryDiffusion | None = None, weaker_terms: Terms | None = None,
                autoguidance: float = 0.0) -> torch.Tensor:
    """ε for each image as the weighted sum of its countries' predictions (`model.label_terms`), guided by
    `guidance`; with a `weaker` model (its own `label_terms` for the same labels) and `autoguidance` > 0, also
    pushed away from what the weaker model predicts for the same countries: + autoguidance · (ε_c − ε_weaker,c)."""
    rows, emb, weights = terms
    b = x.shape[0]
    if guidance == 1.0:
        out = model.predict(x[rows], timesteps[rows], emb)
    else:  # one batched call for every term and the unconditional branch
        uncond = model.label_embed.weight[model.null_label].expand(b, -1)
        both = model.predict(torch.cat([x[rows], x]), torch.cat([timesteps[rows], timesteps]),
                             torch.cat([emb, uncond]))
        out, e_u = both[:len(rows)], both[len(rows):]
    e_c = sum_terms(x, rows, out, weights)
    eps = e_c if guidance == 1.0 else e_u + guidance * (e_c - e_u)
    if weaker is not None and autoguidance:
        w_rows, w_emb, w_weights = weaker_terms
        e_w = sum_terms(x, w_rows, weaker.predict(x[w_rows], timesteps[w_rows], w_emb).to(out.dtype), w_weights)
        eps = eps + autoguidance * (e_c - e_w)
    return eps


def country_weights(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Country indices (B,) or weights (B, n) / (B, n + 1) → weights over the n countries (B, n)."""
    if labels.dim() == 1:
        return F.one_hot(labels.long().cpu(), n + 1)[:, :n].float()
    return labels[:, :n].float().cpu()


def check_scale(name: str, value: float) -> float:
    """`value` as a float in [0, 100], else a ValueError naming `name`."""
    value = float(value)
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"{name} must be in [0, 100], got {value!r}")
    return value


@dataclass
class GuidancePlan:
    """What every step's guided ε needs, checked once before the loop."""

    terms: Terms
    guidance: float
    interval: tuple[float, float]
    guide: nn.Module | None = None
    guide_scale: float = 0.0
    guide_weights: torch.Tensor | None = None
    autoguide: CountryDiffusion | None = None
    autoguide_scale: float = 0.0
    weaker_terms: Terms | None = None


def plan_guidance(model: CountryDiffusion, labels: torch.Tensor, guidance: float, interval: tuple[float, float],
                  guide: nn.Module | None, guide_scale: float, autoguide: nn.Module | None,
                  autoguide_scale: float) -> GuidancePlan:
    """The checked guidance for `labels`: the label terms (which validates them), the classifier guide's country
    weights when guide_scale > 0 and the autoguide's own label terms when autoguide_scale > 0."""
    plan = GuidancePlan(terms=model.label_terms(labels), guidance=guidance, interval=interval)
    plan.guide_scale = check_scale("guide_scale", guide_scale)
    if plan.guide_scale and guide is None:
        raise ValueError("guide_scale > 0 needs a guide (a CountryGuide trained for this model)")
    if plan.guide_scale:
        guide.check_matches(model)
        plan.guide, plan.guide_weights = guide, country_weights(labels, len(model.countries)).to(
            model.label_embed.weight.device)
    plan.autoguide_scale = check_scale("autoguide_scale", autoguide_scale)
    if plan.autoguide_scale and autoguide is None:
        raise ValueError("autoguide_scale > 0 needs an autoguide (a weaker country diffusion model)")
    plan.autoguide = autoguide
    if plan.autoguide_scale:
        model.check_autoguide(autoguide)
        plan.weaker_terms = autoguide.label_terms(labels)
    return plan


def guided_eps(model: CountryDiffusion, plan: GuidancePlan, x: torch.Tensor, t: int,
               alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """ε at integer timestep t: guidance applies only while t / T lies in the plan's interval (at the noisiest and
    the last steps it adds little, Kynkäänniemi et al., 2024, and each unguided step costs half).

    Classifier guidance (Dhariwal & Nichol, 2021) takes guide_scale · √(1 − α̅_t) · ∇ log p(country | x_t) off ε."""
    tt = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
    lo, hi = plan.interval
    guided = lo <= t / model.num_train_timesteps <= hi
    eps = mixture_eps(model, x, tt, plan.terms, float(plan.guidance) if guided else 1.0, plan.autoguide,
                      plan.weaker_terms, plan.autoguide_scale if guided else 0.0)
    if plan.guide_scale and guided:
        a_t = float(alphas_cumprod[t])
        eps = eps - plan.guide_scale * (1 - a_t) ** 0.5 * plan.guide.log_prob_grad(x, tt, plan.guide_weights).to(eps)
    return eps
