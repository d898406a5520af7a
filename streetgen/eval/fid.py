"""Standard FID and KID: torch-fidelity's TF-Inception features, statistics and KID estimator.

    fid_kid("weights/inception.safetensors", generated, reference)   # {"fid": ..., "kid": ...}

The features are torch-fidelity's `FeatureExtractorInceptionV3` ("2048" pool features of the 2015-12-05 TF
Inception, its TF1-exact bilinear resize to 299², uint8 input): the feature path published FIDs were computed with.
Its weights come from the user as a safetensors file of that extractor's state dict, or a Hub repo holding one
(`tools/convert_inception_weights.py` converts the official .pth once); nothing is downloaded by default and
nothing is unpickled. These numbers are named `fid` / `kid`; Fréchet and kernel distances on our own judges'
features keep the names `judge_frechet_distance` / `judge_kernel_distance` (streetgen.metrics).
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from streetgen import sources

FEATURE = "2048"  # torch-fidelity's name for the 2048-d pool features FID and KID use
MISSING = "standard FID/KID need torch-fidelity: pip install torch-fidelity==0.4.0"


def _fidelity():
    """The torch_fidelity package, imported only when a standard FID is asked for."""
    try:
        import torch_fidelity
    except ImportError:
        raise ImportError(MISSING) from None
    return torch_fidelity


def _short(text: str, most: int = 120) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def resolve_inception_weights(source: str | Path) -> Path:
    """The local safetensors file named by `source`: a .safetensors file, a folder holding exactly one, or a Hub
    repo id ("org/repo[@rev]") holding one (fetched once, or read from the cache when offline)."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix != ".safetensors":
            raise ValueError(f"Inception weights must be a .safetensors file, got {_short(path.name, 60)!r} "
                             "(convert a .pth once with tools/convert_inception_weights.py)")
        return path
    if not path.is_dir() and path.suffix != ".safetensors" and sources.is_hub_id(text):
        path = _hub_snapshot(text)
    if not path.is_dir():
        raise FileNotFoundError(f"no Inception weights at {_short(path.name)!r} (a .safetensors file, folder or "
                                "Hub id)")
    found = sorted(path.glob("*.safetensors"))
    if len(found) != 1:
        raise ValueError(f"{_short(path.name)!r} holds {len(found)} .safetensors files; name the one to use")
    return found[0]


def _hub_snapshot(repo: str) -> Path:
    """Local folder with the *.safetensors files of a Hub repo at its revision (cache only when offline)."""
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError

    from streetgen.hub import hub_unreachable

    name, revision = sources.split_revision(repo)
    try:
        return Path(huggingface_hub.snapshot_download(name, revision=revision, allow_patterns=["*.safetensors"],
                                                      local_files_only=hub_unreachable() is not None))
    except (HfHubHTTPError, HFValidationError, OSError) as err:
        raise FileNotFoundError(f"no Inception weights in Hub repo {_short(repo)!r} ({type(err).__name__})") from None


@functools.lru_cache(maxsize=2)
def _extractor(weights: Path, stamp: tuple[int, int] = (0, 0)):
    """torch-fidelity's Inception feature extractor with the weights of `weights` (a checked safetensors file);
    `stamp` (size, mtime) keys the cache, so a file replaced in place is read again."""
    _fidelity()
    _check_safetensors_dispatch()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    try:
        # Its __init__ only takes a path, which it hands to torch.load; torch.load reads a path ending in
        # ".safetensors" with safetensors.torch.load_file (checked by _check_safetensors_dispatch), so no pickle runs.
        return FeatureExtractorInceptionV3("inception-v3-compat", [FEATURE],
                                           feature_extractor_weights_path=str(weights))
    except RuntimeError as err:  # load_state_dict: missing / unexpected keys or wrong shapes
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{_short(weights.name, 60)} is not torch-fidelity's Inception state dict "
                         f"({_short(first, 60)})") from None


@functools.cache
def _check_safetensors_dispatch() -> None:
    """RuntimeError unless this torch's torch.load reads .safetensors paths with safetensors (no unpickling).

    Probed with weights_only=True, so an older torch fails in its restricted loader instead of running pickle."""
    import safetensors.torch
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.safetensors"
        safetensors.torch.save_file({"x": torch.zeros(1)}, str(probe))
        try:
            ok = isinstance(torch.load(str(probe), weights_only=True), dict)
        except Exception:  # an older torch's restricted unpickler refuses the safetensors bytes
            ok = False
    if not ok:
        raise RuntimeError(f"torch {torch.__version__} cannot read safetensors through torch.load; "
                           "standard FID needs the torch pinned in requirements.txt")


def inception_features(weights: str | Path, images: np.ndarray, batch: int = 32, device: str = "cpu") -> np.ndarray:
    """(N, 2048) float32 TF-Inception pool features of uint8 images (N, H, W, 3), any H and W, computed on `device`.

    `weights`: a .safetensors file, a folder holding one, or a Hub id (see resolve_inception_weights)."""
    import torch

    path = resolve_inception_weights(weights)
    sources.check_weights(path)
    stat = path.stat()
    model = _extractor(path.resolve(), (stat.st_size, stat.st_mtime_ns)).to(device)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    feats = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).permute(0, 3, 1, 2).to(device)
            feats.append(model(x)[0].cpu().numpy())
    return np.concatenate(feats).astype(np.float32)


def fid_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets (N, D) by torch-fidelity's own statistics and Fréchet formula."""
    import torch

    _fidelity()
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

    if len(a) < 2 or len(b) < 2:
        raise ValueError("FID needs at least 2 images per set")
    sa = fid_features_to_statistics(torch.from_numpy(np.asarray(a)))
    sb = fid_features_to_statistics(torch.from_numpy(np.asarray(b)))
    return float(fid_statistics_to_metric(sa, sb, verbose=False)[KEY_METRIC_FID])


def kid_from_features(a: np.ndarray, b: np.ndarray, subsets: int | None = None,
                      subset_size: int | None = None) -> float:
    """KID (mean over subsets) by torch-fidelity's estimator: its defaults (100 subsets of 1000, its seed), the
    subset size clipped to the smaller set."""
    import torch

    _fidelity()
    from torch_fidelity.defaults import DEFAULTS
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, kid_features_to_metric

    size = min(subset_size or DEFAULTS["kid_subset_size"], len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 images per set")
    out = kid_features_to_metric(torch.from_numpy(np.asarray(a)), torch.from_numpy(np.asarray(b)),
                                 kid_subsets=subsets or DEFAULTS["kid_subsets"], kid_subset_size=size, verbose=False)
    return float(out[KEY_METRIC_KID_MEAN])


def fid_kid(weights: str | Path, generated: np.ndarray, reference: np.ndarray, device: str = "cpu") -> dict[str, float]:
    """{"fid", "kid"} of uint8 generated images against uint8 reference images, on TF-Inception features."""
    fa = inception_features(weights, generated, device=device)
    fb = inception_features(weights, reference, device=device)
    return {"fid": fid_from_features(fa, fb), "kid": kid_from_features(fa, fb)}
