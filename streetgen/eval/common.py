"""What every eval task shares: the judges' input, their outputs, standard Inception features, result tables.

Generators answer a task's requests; `GENERATORS` holds the built-in ones by name (each task module adds its own),
and checkpoints are loaded by name when the name is not one of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

JUDGE_EVAL_SEED = 9003  # reference renders and requests; disjoint from judge training (9001/9002)
# task -> model name -> factory(seed) returning a callable that answers one request
GENERATORS: dict[str, dict[str, Callable]] = {"country": {}, "map": {}, "layout": {}, "city": {}}


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


def inception_features(weights: str | Path, images: np.ndarray, batch: int = 32) -> np.ndarray:
    """2048-d pool features of torchvision's Inception-v3 loaded (strictly) from a safetensors state dict."""
    import safetensors.torch
    import torch
    import torch.nn.functional as F
    from torchvision.models import inception_v3

    model = inception_v3(weights=None, aux_logits=True, init_weights=False)
    model.load_state_dict(safetensors.torch.load_file(str(weights)), strict=True)
    model.fc = torch.nn.Identity()
    model.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    feats = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = F.interpolate(to_tensor(images[i:i + batch]), size=(299, 299), mode="bilinear", align_corners=False)
            feats.append(model((x - mean) / std).numpy())
    return np.concatenate(feats)


def is_checkpoint(name: str) -> bool:
    """Whether `name` resolves to a checkpoint folder (local, shipped or on the Hub)."""
    from streetgen.hub import resolve

    try:
        resolve(name)
        return True
    except Exception:  # not a folder, not under checkpoints/, not on the Hub (or offline)
        return False


def to_markdown(task: str, model: str, metrics: dict) -> str:
    """The metrics as a markdown table under a title naming the task and model."""
    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items())
    return f"# streetgen eval: task `{task}`, model `{model}`\n\n| metric | value |\n|---|---|\n{rows}\n"
