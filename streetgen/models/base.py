"""One checkpoint format for every streetgen model.

A checkpoint is a folder (locally and on the Hub) with exactly:
    config.json        the model's __init__ kwargs plus "architecture" (the registry key)
    model.safetensors  the weights (float32, or float16 when exported with dtype=torch.float16)
    README.md          the model card (see streetgen/models/card.py)

    class PlaceJudge(StreetgenModel, architecture="place_judge"):
        def __init__(self, num_countries: int = 10, width: int = 32): ...

    m.save_pretrained("checkpoints/judges/place", card=ModelCardInfo(...))
    PlaceJudge.from_pretrained("checkpoints/judges/place")   # strict, safetensors only, eval mode
    streetgen.load("judges/place")                           # picks the class from config.json
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import safetensors.torch
import torch
import torch.nn as nn
from huggingface_hub import ModelCard, PyTorchModelHubMixin

from streetgen.hub import WEIGHTS_NAME, read_config, resolve

CARD_NAME = "README.md"
PICKLE_NAMES = ("pytorch_model.bin", "model.bin", "model.pt", "model.ckpt")
REPO_URL = "https://github.com/streetgen/streetgen"

REGISTRY: dict[str, type["StreetgenModel"]] = {}  # architecture name -> class


class StreetgenModel(nn.Module, PyTorchModelHubMixin, library_name="streetgen", repo_url=REPO_URL,
                     tags=["streetgen"]):
    """Base class: `class X(StreetgenModel, architecture="x")` registers X under "x".

    __init__ kwargs must be JSON-friendly: the mixin records them as the config.
    """

    architecture: str = ""

    def __init_subclass__(cls, architecture: str | None = None, **mixin_kwargs: Any) -> None:
        super().__init_subclass__(**mixin_kwargs)
        if architecture is None:
            return  # an abstract intermediate class; not loadable by name
        old = REGISTRY.get(architecture)
        # the same class imported twice under two module names (pytest, -m) is fine; two classes are not
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ValueError(f"architecture {architecture!r} is already registered by "
                             f"{old.__module__}.{old.__qualname__}")
        cls.architecture = architecture
        REGISTRY[architecture] = cls

    # ---- saving ---------------------------------------------------------------------------------------------
    def save_pretrained(self, save_directory: str | Path, *, card: Any = None, dtype: torch.dtype | None = None,
                        config: dict | None = None, **kwargs: Any) -> str | None:
        """Write config.json + model.safetensors + README.md; dtype=torch.float16 halves the file."""
        if not self.architecture:
            raise TypeError(f"{type(self).__name__} has no architecture; "
                            "declare it as `class X(StreetgenModel, architecture=...)`")
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CARD_NAME).unlink(missing_ok=True)  # the mixin never overwrites a card; a stale one would lie
        cfg = dict(config if config is not None else (self._hub_mixin_config or {}))
        cfg["architecture"] = self.architecture
        self._export_dtype = dtype  # read by _save_pretrained, which the mixin calls without extra arguments
        mck = dict(kwargs.pop("model_card_kwargs", None) or {})
        if card is not None:
            mck["card"] = card
        try:
            return super().save_pretrained(folder, config=cfg, model_card_kwargs=mck, **kwargs)
        finally:
            self._export_dtype = None

    def _save_pretrained(self, save_directory: Path) -> None:
        save_weights(self, Path(save_directory) / WEIGHTS_NAME, getattr(self, "_export_dtype", None))

    def generate_model_card(self, *args: Any, card: Any = None, **kwargs: Any) -> ModelCard:
        from streetgen.models.card import render_card
        return render_card(self, card)

    # ---- loading --------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *, strict: bool = True,
                        dtype: torch.dtype | None = torch.float32, map_location: str = "cpu",
                        checkpoints_root: str | Path | None = None, **kwargs: Any) -> "StreetgenModel":
        """Load a folder, `checkpoints/<name>`, or a Hub repo id. Strict, safetensors only, eval mode.

        On the base class, the class is picked from config.json's "architecture".
        Extra kwargs override config.json values (as with the mixin).
        """
        folder = resolve(str(pretrained_model_name_or_path), checkpoints_root=checkpoints_root,
                         revision=kwargs.pop("revision", None), token=kwargs.pop("token", None),
                         cache_dir=kwargs.pop("cache_dir", None), endpoint=kwargs.pop("endpoint", None))
        config = read_config(folder)
        target = architecture_class(config["architecture"], folder)
        if cls is not StreetgenModel and not issubclass(target, cls):
            raise ValueError(f"{folder}: config.json names architecture {config['architecture']!r} "
                             f"({target.__name__}), not a {cls.__name__}")
        # the mixin reads config.json itself and maps its keys to __init__ kwargs; we pass a local folder only
        return super(StreetgenModel, target).from_pretrained(  # type: ignore[misc]
            str(folder), strict=strict, dtype=dtype, map_location=map_location, **kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir: Any, force_download: bool,
                         local_files_only: bool, token: Any, map_location: str = "cpu", strict: bool = True,
                         dtype: torch.dtype | None = torch.float32, **model_kwargs: Any) -> "StreetgenModel":
        # replaces the mixin's loader, whose fallback unpickles pytorch_model.bin with torch.load
        model_kwargs.pop("architecture", None)  # a model with **kwargs in __init__ gets every config key
        folder = Path(model_id)
        try:
            model = cls(**model_kwargs)
        except TypeError as e:
            raise ValueError(f"{folder}: config.json does not fit {cls.__name__}.__init__: {e}") from e
        load_weights(model, folder, strict=strict, map_location=map_location)
        if dtype is not None:
            model.to(dtype)  # fp16 exports come back as float32 by default
        return model.eval()


def architecture_class(name: str, folder: str | Path | None = None) -> type[StreetgenModel]:
    """The registered class for `name` (every streetgen architecture is imported by `streetgen.models`)."""
    if name not in REGISTRY:
        where = f"{folder}: " if folder is not None else ""
        raise ValueError(f"{where}unknown architecture {name!r}; known: {', '.join(sorted(REGISTRY))}; a model class "
                         "outside the streetgen package must be imported before loading")
    return REGISTRY[name]


# ---- weights ------------------------------------------------------------------------------------------------
def _storage_key(t: torch.Tensor) -> tuple | None:
    """Identity of the memory behind a tensor; tied weights (one Parameter, two names) share it."""
    if t.numel() == 0:
        return None  # empty tensors all sit at address 0; never treat them as tied
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)


def save_weights(model: nn.Module, path: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write the state dict as safetensors; tied tensors once; floating tensors cast to `dtype` if given."""
    tensors: dict[str, torch.Tensor] = {}
    seen: set[tuple] = set()
    for name, t in model.state_dict().items():
        key = _storage_key(t)
        if key is not None and key in seen:
            continue  # safetensors refuses shared memory; the tie is rebuilt by the module on load
        if key is not None:
            seen.add(key)
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.detach().contiguous()
    meta = {"format": "pt", "dtype": str(dtype or "as-trained").replace("torch.", "")}
    safetensors.torch.save_file(tensors, str(path), metadata=meta)


def load_weights(model: nn.Module, folder: str | Path, strict: bool = True, map_location: str = "cpu") -> None:
    """Load folder/model.safetensors into `model`; never unpickles; ValueError naming the folder on any problem."""
    folder = Path(folder)
    path = folder / WEIGHTS_NAME
    if not path.is_file():
        pickles = [n for n in PICKLE_NAMES if (folder / n).exists()]
        if pickles:
            raise ValueError(f"{folder}: found {pickles[0]} but no {WEIGHTS_NAME}; streetgen loads safetensors only "
                             "(pickled weights can run code when loaded); convert it once in a trusted session")
        raise ValueError(f"{folder}: no {WEIGHTS_NAME}")
    try:
        state = safetensors.torch.load_file(str(path), device=map_location)
    except Exception as e:  # SafetensorError, OSError: truncated download, wrong file, disk error
        raise ValueError(f"{folder}: {WEIGHTS_NAME} is corrupt or truncated ({type(e).__name__}: {e})") from e
    own = model.state_dict()
    groups: dict[tuple, list[str]] = {}
    for name, t in own.items():
        key = _storage_key(t)
        if key is not None:
            groups.setdefault(key, []).append(name)
    tied_ok = {n for names in groups.values() if any(m in state for m in names) for n in names}
    missing = [n for n in own if n not in state and n not in tied_ok]
    unexpected = [n for n in state if n not in own]
    wrong = [f"{n}: file {tuple(state[n].shape)} vs model {tuple(own[n].shape)}"
             for n in state if n in own and state[n].shape != own[n].shape]
    problems = []
    if wrong:  # never loadable, strict or not
        problems.append("shape mismatch: " + "; ".join(wrong[:5]) + (" ..." if len(wrong) > 5 else ""))
    if strict and missing:
        problems.append(f"missing keys: {missing[:8]}" + (" ..." if len(missing) > 8 else ""))
    if strict and unexpected:
        problems.append(f"unexpected keys: {unexpected[:8]}" + (" ..." if len(unexpected) > 8 else ""))
    if problems:
        raise ValueError(f"{folder}: weights do not match {type(model).__name__} built from config.json: "
                         + " | ".join(problems))
    model.load_state_dict({n: t for n, t in state.items() if n in own}, strict=False)


def load(name_or_path: str | Path, **kwargs: Any) -> StreetgenModel:
    """The model saved under `name_or_path`, of the class its config.json names, in eval mode.

    kwargs: strict (True), dtype (torch.float32), map_location ("cpu"), checkpoints_root, revision, token,
    cache_dir, endpoint, and config overrides passed to __init__.
    """
    return StreetgenModel.from_pretrained(name_or_path, **kwargs)


def export(model: StreetgenModel, folder: str | Path, card: Any = None, half: bool = True) -> Path:
    """Save a shippable checkpoint; half=True stores float16 weights (loads back as float32)."""
    model.save_pretrained(folder, card=card, dtype=torch.float16 if half else None)
    return Path(folder)
