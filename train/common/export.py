"""Export a trained StreetgenModel for inference: exactly config.json + model.safetensors + README.md.

Only inference weights leave the run: no optimizer, no discriminator, no training state. When an EMA is
given, its weights are the ones exported ("export only the EMA generator").

    export_model(generator, run_dir / "export", card=ModelCardInfo(...), ema=ema)
    push_export(run_dir / "export", "user/streetgen-tiny")       # --push-to-hub user/streetgen-tiny
"""
from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import torch.nn as nn

from train.common.ema import EMA, unwrap

EXPORT_FILES = frozenset({"config.json", "model.safetensors", "README.md"})


def inference_copy(model: nn.Module, ema: EMA | None = None) -> nn.Module:
    """A fresh CPU float32 copy of `model` in eval mode, holding the EMA weights when `ema` is given.

    Rebuilt from the mixin's recorded __init__ kwargs rather than deep-copied, so the copy carries none of the
    training wrappers (DDP, accelerate's autocast forward) and is exactly what from_pretrained will rebuild.
    """
    model = unwrap(model)
    init_kwargs = getattr(model, "_hub_mixin_config", None)
    if isinstance(init_kwargs, dict):
        clone = type(model)(**{k: v for k, v in init_kwargs.items() if k != "architecture"})
    else:
        clone = copy.deepcopy(model)
    clone.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    clone = clone.float().eval()
    if ema is not None:
        ema.copy_to(clone)
    return clone


def export_model(model: nn.Module, out_dir: str | Path, card: Any = None, ema: EMA | None = None,
                 dtype: Any = None) -> Path:
    """Write the inference checkpoint to `out_dir` (replacing an older export atomically); returns `out_dir`.

    `model` must be a StreetgenModel (its save_pretrained writes the card from a ModelCardInfo `card`).
    """
    out_dir = Path(out_dir)
    clone = inference_copy(model, ema)
    if not hasattr(clone, "save_pretrained") or not getattr(clone, "architecture", ""):
        raise TypeError(f"{type(clone).__name__} is not a registered StreetgenModel; cannot export it")
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    clone.save_pretrained(tmp, card=card, dtype=dtype)
    found = {p.name for p in tmp.iterdir()}
    if found != EXPORT_FILES:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"export wrote {sorted(found)}, expected exactly {sorted(EXPORT_FILES)}")
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out_dir)
    return out_dir


def push_export(folder: str | Path, repo_id: str, token: str | None = None) -> Any:
    """Upload an export folder to the Hub (streetgen.hub.push when present, else HfApi.upload_folder)."""
    folder = Path(folder)
    found = {p.name for p in folder.iterdir()}
    if found != EXPORT_FILES:
        raise ValueError(f"{folder} holds {sorted(found)}; only an export ({sorted(EXPORT_FILES)}) may be pushed")
    try:
        from streetgen.hub import push
    except ModuleNotFoundError as e:
        if e.name not in ("streetgen.hub", "streetgen"):
            raise
        from huggingface_hub import HfApi
        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="model", exist_ok=True)
        return api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                                 commit_message="streetgen export")
    return push(folder, repo_id, token=token)


def base_models(spec: str) -> list[str]:
    """The card's base_model for --init-from `spec` ("A+B" names two): the named checkpoints (checkpoints/<name>)
    and Hub repo ids in it; a folder elsewhere on this machine is no reference a reader could follow."""
    from streetgen.hub import default_checkpoints_root, is_repo_id

    parts = [p.strip() for p in spec.split("+") if p.strip()]
    return [p for p in parts if is_repo_id(p) and ((default_checkpoints_root() / p).is_dir() or not Path(p).exists())]


def init_from(model: nn.Module, spec: str, same: tuple[str, ...] = ()) -> None:
    """Start training from an exported checkpoint (local folder or Hub repo id; safetensors only): its weights are
    copied into `model`, which must be built with the same architecture. For fine-tuning the shipped models on
    real data; a resumed run ignores this (its own state is loaded afterwards). `same` names attributes that must
    match too, e.g. ("countries",): an embedding row means a country only in the order it was trained with."""
    import streetgen

    source = streetgen.load(spec)
    # compared by registry name, as streetgen.load does: a re-imported module makes a second class object
    if getattr(source, "architecture", None) != getattr(model, "architecture", None):
        raise ValueError(f"--init-from {spec} is a {type(source).__name__}, this trainer builds a "
                         f"{type(model).__name__}")
    for name in same:
        theirs_value, ours_value = list(getattr(source, name)), list(getattr(model, name))
        if theirs_value != ours_value:
            raise ValueError(f"--init-from {spec}: its {name} ({len(theirs_value)}) are not this run's "
                             f"({len(ours_value)}) in the same order; the data must label the same {name}")
    theirs, ours = source.state_dict(), model.state_dict()
    wrong = [k for k in ours if k not in theirs or theirs[k].shape != ours[k].shape]
    if wrong or set(theirs) - set(ours):
        config = getattr(source, "config", None) or {}
        raise ValueError(f"--init-from {spec}: its architecture differs from this run's ({len(wrong)} tensors "
                         f"differ, e.g. {(wrong or sorted(set(theirs) - set(ours)))[0]}); build the run with the "
                         f"checkpoint's settings: {dict(config)}")
    model.load_state_dict(theirs)
