"""The one place eval loads a judge, from any source: `load_judge("seg", "org/segformer@main")`.

    KIND=SOURCE   (`parse_judge_spec`; `--judge` on the command line)
    place   country probabilities (+ lat/lon when the judge predicts it)   streetgen place_judge | CLIP-family
    city    famous-city probabilities                                      streetgen city_judge  | CLIP-family
    seg     streetgen's 11 classes per pixel (void where unmapped)         streetgen segmenter   | transformers
                                                                           AutoModelForSemanticSegmentation
    depth   depth per pixel, `output` says metric or relative              streetgen depth_estimator |
                                                                           AutoModelForDepthEstimation

A SOURCE is a folder, a name under checkpoints/ (e.g. judges/seg), a training run's folder, or a Hub repo id
"org/name[@revision]" (from the local cache when offline). Its config.json tells the family apart: streetgen
checkpoints name an "architecture", transformers ones a "model_type".

predict(images) takes uint8 (N, H, W, 3) of any size and answers, by kind:
    place  {"countries": [ISO alpha-2], "probs": (N, C) float32, "latlon": (N, 2) float64 degrees or None}
    city   {"cities": [names], "probs": (N, C) float32}
    seg    (N, H, W) uint8 ids of streetgen.classes (IGNORE = void); the judge's `unmapped` lists source labels
    depth  (N, H, W) float32; the judge's `output` is "metric", "relative_disparity" or "relative_depth"
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from streetgen import geo, sources
from streetgen.eval.judge_base import KINDS, Judge, card_metrics, pick_device, run_batched, softmax

__all__ = ["KINDS", "Judge", "JudgeNotFoundError", "parse_judge_spec", "load_judge", "resolve_judge_source"]

STREETGEN_ARCHITECTURES = {"place": "place_judge", "city": "city_judge", "seg": "segmenter",
                           "depth": "depth_estimator"}
TRANSFORMERS_FAMILIES = {"place": "a CLIP-family model (CLIP, SigLIP)", "city": "a CLIP-family model (CLIP, SigLIP)",
                         "seg": "a transformers semantic segmenter (SegFormer, ...)",
                         "depth": "a transformers depth model (DPT, Depth Anything, GLPN, ZoeDepth, ...)"}
SNAPSHOT_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "README.md"]  # never pickled weights
SPEC_HELP = "KIND=SOURCE with KIND one of place, city, seg, depth (e.g. seg=org/segformer@main)"


class JudgeNotFoundError(FileNotFoundError, ValueError):
    """No judge at that source (not a folder, not under checkpoints/, not on the Hub or in its cache)."""


def parse_judge_spec(text: str) -> tuple[str, str]:
    """"seg=org/name@rev" -> ("seg", "org/name@rev"); ValueError with the accepted form otherwise."""
    kind, eq, source = str(text).partition("=")
    kind, source = kind.strip(), source.strip()
    if not eq or not source or kind not in KINDS:
        raise ValueError(f"bad judge {str(text)[:120]!r}: expected {SPEC_HELP}")
    return kind, source


def resolve_judge_source(source: str) -> Path:
    """The local folder of a judge source: a folder, checkpoints/<name>, a run folder's export/, or a Hub repo id
    "org/name[@rev]" fetched (only config, safetensors and processor files) or found in the local cache."""
    folder = sources.local_folder(source)
    if folder is not None:
        return folder
    if not sources.is_hub_id(source):
        raise JudgeNotFoundError(f"no judge {source[:120]!r}: not a folder, checkpoints/<name>, a run folder or a "
                                 "Hub id org/name[@revision]")
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError

    from streetgen.hub import hub_unreachable

    repo_id, revision = sources.split_revision(source)
    endpoint = constants.ENDPOINT  # HF_ENDPOINT (probed first: an unreachable Hub means the cache alone)
    offline = hub_unreachable(endpoint)
    try:
        path = huggingface_hub.snapshot_download(repo_id, revision=revision, allow_patterns=SNAPSHOT_FILES,
                                                 local_files_only=offline is not None, endpoint=endpoint)
    except (HfHubHTTPError, OSError, ValueError) as err:  # LocalEntryNotFoundError, RepositoryNotFoundError, ...
        where = f" (local cache only: {offline})" if offline else ""
        raise JudgeNotFoundError(f"no judge {source[:120]!r} on the Hub{where} ({type(err).__name__})") from None
    return Path(path)


def _read_config(folder: Path, source: str) -> dict:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{source[:120]}: no readable config.json ({type(err).__name__})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{source[:120]}: config.json is not an object")
    return config


def _accepted(kind: str) -> str:
    return f"kind {kind} takes a streetgen {STREETGEN_ARCHITECTURES[kind]} or {TRANSFORMERS_FAMILIES[kind]}"


def _transformers_family(config: dict) -> str | None:
    """The kind a transformers config.json serves ("place" for CLIP-family, "seg", "depth"), or None."""
    if isinstance(config.get("text_config"), dict) and isinstance(config.get("vision_config"), dict):
        return "place"
    heads = [str(a) for a in config.get("architectures") or []]
    if any(a.endswith("ForSemanticSegmentation") for a in heads):
        return "seg"
    if any(a.endswith("ForDepthEstimation") for a in heads):
        return "depth"
    if not heads:  # no head recorded: go by the model type's registered auto classes
        from streetgen.eval.hf_judges import model_type_kind

        return model_type_kind(str(config.get("model_type")))
    return None


def load_judge(kind: str, source: str, device: str = "cpu", **options) -> Judge:
    """A judge of `kind` loaded from `source` onto `device` ("cpu", "cuda", "auto").

    options: batch (images per model call); place: countries (ISO alpha-2 list, default the shipped place judge's),
    prompt ("... {} ..."); city: cities (default streetgen.geo.FAMOUS_CITIES), prompt; depth: output (when the
    config does not tell). ValueError for an unknown kind, a source of another family, or an unknown option."""
    if kind not in KINDS:
        raise ValueError(f"unknown judge kind {str(kind)[:40]!r}; one of {', '.join(KINDS)}")
    device = pick_device(device)
    folder = resolve_judge_source(source)
    config = _read_config(folder, source)
    allowed = {"place": {"countries", "prompt"}, "city": {"cities", "prompt"}, "seg": set(),
               "depth": {"output"}}[kind] | {"batch"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"unknown option {unknown[0][:40]!r} for a {kind} judge; "
                         f"accepted: {', '.join(sorted(allowed))}")
    if isinstance(config.get("architecture"), str):
        return _streetgen_judge(kind, source, folder, config["architecture"], device, options)
    if isinstance(config.get("model_type"), str):
        family = _transformers_family(config)
        if family != ("place" if kind == "city" else kind):
            raise ValueError(f"{source[:80]} is a transformers {str(config['model_type'])[:40]} model, not a {kind} "
                             f"judge; {_accepted(kind)}")
        return _transformers_judge(kind, source, folder, device, options)
    raise ValueError(f"{source[:80]}: config.json names neither a streetgen architecture nor a transformers "
                     f"model_type; {_accepted(kind)}")


def _transformers_judge(kind: str, source: str, folder: Path, device: str, options: dict) -> Judge:
    from streetgen.eval import hf_judges

    batch = options.get("batch")
    if kind == "place":
        countries = list(options.get("countries") or default_countries())
        return hf_judges.ClipPlace(folder, source, countries, options.get("prompt") or hf_judges.PROMPT, device,
                                   batch)
    if kind == "city":
        cities = list(options.get("cities") or geo.FAMOUS_CITIES)
        return hf_judges.ClipCity(folder, source, cities, options.get("prompt") or hf_judges.PROMPT, device, batch)
    if kind == "seg":
        return hf_judges.HFSegmenter(folder, source, device, batch)
    return hf_judges.HFDepth(folder, source, device, batch, options.get("output"))


def default_countries() -> list[str]:
    """The shipped place judge's countries (what streetgen's country numbers are over)."""
    config = json.loads((sources.checkpoints_root() / "judges" / "place" / "config.json").read_text())
    return list(config["countries"])


# ---- streetgen checkpoints --------------------------------------------------------------------------------------
def _streetgen_judge(kind: str, source: str, folder: Path, arch: str, device: str, options: dict) -> Judge:
    if arch != STREETGEN_ARCHITECTURES[kind]:
        raise ValueError(f"{source[:80]} is a streetgen {arch[:40]}, not a {kind} judge; {_accepted(kind)}")
    if kind == "depth" and options.get("output") not in (None, "metric"):
        raise ValueError("a streetgen depth judge outputs metres; output must be 'metric'")
    if (kind == "place" and options.get("countries")) or (kind == "city" and options.get("cities")):
        raise ValueError(f"a streetgen {kind} judge has its own label set; countries= / cities= are for CLIP")
    import streetgen

    model = streetgen.load(str(folder), map_location=device).to(device).eval()
    cls = {"place": StreetgenPlace, "city": StreetgenCity, "seg": StreetgenSeg, "depth": StreetgenDepth}[kind]
    return cls(model, source, card_metrics(folder), device, options.get("batch"))


class StreetgenJudge(Judge):
    """A streetgen judge network (streetgen.models.judges) behind the common interface."""

    def __init__(self, model, source: str, metrics: dict[str, float], device: str, batch: int | None):
        self.model = model
        super().__init__(source, self._describe(source), metrics, device, batch)

    def _describe(self, source: str) -> str:
        return f"streetgen {self.model.architecture} ({source[:80]})"

    def _tensor(self, chunk: np.ndarray):
        from streetgen.eval.common import to_tensor

        return to_tensor(chunk).to(self.device)


class StreetgenPlace(StreetgenJudge):
    """place: country probabilities and the judge's lat/lon."""

    kind = "place"
    batch = 128

    def _describe(self, source: str) -> str:
        return f"streetgen place judge ({source[:80]}), {len(self.model.countries)} countries"

    def predict(self, images: np.ndarray) -> dict:
        def chunk(c: np.ndarray) -> np.ndarray:
            out = self.model(self._tensor(c))
            return np.concatenate([out["country"].float().cpu().numpy(), out["xyz"].float().cpu().numpy()], 1)

        both = run_batched(images, self.batch, chunk)
        x, y, z = both[:, -3:].astype(np.float64).T
        latlon = np.stack([np.degrees(np.arcsin(np.clip(z, -1, 1))), np.degrees(np.arctan2(y, x))], 1)
        return {"countries": list(self.model.countries), "probs": softmax(both[:, :-3]), "latlon": latlon}


class StreetgenCity(StreetgenJudge):
    """city: famous-city probabilities."""

    kind = "city"
    batch = 128

    def _describe(self, source: str) -> str:
        return f"streetgen city judge ({source[:80]}), {len(self.model.cities)} cities"

    def predict(self, images: np.ndarray) -> dict:
        logits = run_batched(images, self.batch, lambda c: self.model(self._tensor(c)).float().cpu().numpy())
        return {"cities": list(self.model.cities), "probs": softmax(logits)}


class StreetgenSeg(StreetgenJudge):
    """seg: streetgen's own 11 classes, nothing unmapped."""

    kind = "seg"
    batch = 32

    @property
    def unmapped(self) -> list[str]:
        """Source labels left void: none, the network predicts streetgen's classes."""
        return []

    def predict(self, images: np.ndarray) -> np.ndarray:
        return run_batched(images, self.batch,
                           lambda c: self.model.predict(self._tensor(c)).cpu().numpy().astype(np.uint8))


class StreetgenDepth(StreetgenJudge):
    """depth: metres."""

    kind = "depth"
    batch = 32
    output = "metric"

    def predict(self, images: np.ndarray) -> np.ndarray:
        return run_batched(images, self.batch,
                           lambda c: self.model.predict(self._tensor(c)).float().cpu().numpy())

