"""Judges from transformers models, run through the library their authors publish them for.

- place / city: a CLIP-family model (CLIP, SigLIP, ...: `AutoModel` with text and image towers) scoring prompts
  such as "a street view photo taken in Japan" over a country (or city) set, zero-shot.
- seg: `AutoModelForSemanticSegmentation` (SegFormer, BEiT, UperNet, ...), its source labels mapped by name onto
  streetgen's 11 classes through `SOURCE_TO_CLASS` (unmapped labels become void).
- depth: `AutoModelForDepthEstimation` (DPT, Depth Anything, GLPN, ZoeDepth, ...); `output` says what its numbers
  are (metres, or affine-invariant disparity / depth).

transformers is imported only here and only when a judge loads (`pip install streetgen[eval]`); weights load from
safetensors only.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from streetgen.classes import (BICYCLIST, BUILDING, CAR, FENCE, IGNORE, PAVEMENT, PEDESTRIAN, POLE, ROAD, SIGN, SKY,
                               TREE)
from streetgen.eval.judge_base import DEPTH_OUTPUTS, Judge, run_batched, softmax

PROMPT = "a street view photo taken in {}"
# Source label names (normalised by `label_key`) -> streetgen class. Cityscapes' 19, then the street-relevant names
# of Mapillary Vistas and ADE20K. The groups follow CamVid's own 32 -> 11 grouping (SegNet's), which our classes
# are: wall, bridge and tunnel are Building (CamVid groups its Wall with Building, and our Fence is thin barriers);
# truck, bus, train and other vehicles are Car (CamVid's Car holds SUVPickupTruck, Truck_Bus and Train); rider,
# motorcycle and bicycle are Bicyclist (CamVid's Bicyclist is the rider with the bike, MotorcycleScooter joins
# it); traffic lights are SignSymbol (CamVid's TrafficLight is in SignSymbol); terrain and grass are Tree (CamVid's
# VegetationMisc is); a column is Pole (CamVid's Column_Pole); curbs, kerbs and pedestrian areas are Pavement;
# lane markings, crosswalks, parking and manholes on the carriageway are Road; animals are Pedestrian (CamVid's
# Animal). Water, snow, sand, mountains, rock, street furniture and the ego vehicle have no CamVid class: void.
SOURCE_TO_CLASS = {
    # Cityscapes (19 evaluated classes)
    "road": ROAD, "sidewalk": PAVEMENT, "building": BUILDING, "wall": BUILDING, "fence": FENCE, "pole": POLE,
    "traffic light": SIGN, "traffic sign": SIGN, "vegetation": TREE, "terrain": TREE, "sky": SKY,
    "person": PEDESTRIAN, "rider": BICYCLIST, "car": CAR, "truck": CAR, "bus": CAR, "train": CAR,
    "motorcycle": BICYCLIST, "bicycle": BICYCLIST,
    # Mapillary Vistas
    "curb": PAVEMENT, "curb cut": PAVEMENT, "pedestrian area": PAVEMENT, "guard rail": FENCE, "barrier": FENCE,
    "bike lane": ROAD, "crosswalk plain": ROAD, "parking": ROAD, "service lane": ROAD, "rail track": ROAD,
    "lane marking crosswalk": ROAD, "lane marking general": ROAD, "manhole": ROAD, "pothole": ROAD,
    "catch basin": ROAD, "bridge": BUILDING, "tunnel": BUILDING, "bicyclist": BICYCLIST, "motorcyclist": BICYCLIST,
    "other rider": BICYCLIST, "street light": POLE, "utility pole": POLE, "traffic sign frame": POLE,
    "traffic sign front": SIGN, "traffic sign back": SIGN, "banner": SIGN, "billboard": SIGN, "caravan": CAR,
    "on rails": CAR, "other vehicle": CAR, "trailer": CAR, "wheeled slow": BICYCLIST, "bird": PEDESTRIAN,
    "ground animal": PEDESTRIAN,
    # ADE20K (street-relevant names of its 150)
    "house": BUILDING, "skyscraper": BUILDING, "tower": BUILDING, "awning": BUILDING, "hovel": BUILDING,
    "tree": TREE, "grass": TREE, "plant": TREE, "palm": TREE, "flower": TREE, "path": PAVEMENT, "runway": ROAD,
    "dirt track": ROAD, "railing": FENCE, "bannister": FENCE, "streetlight": POLE, "column": POLE,
    "signboard": SIGN, "van": CAR, "minibike": BICYCLIST, "animal": PEDESTRIAN,
}
SEG_SUFFIX, DEPTH_SUFFIX = "ForSemanticSegmentation", "ForDepthEstimation"
METRIC_DEPTH_TYPES = ("zoedepth", "glpn", "depth_pro", "prompt_depth_anything")  # trained to output metres
DISPARITY_DEPTH_TYPES = ("dpt", "depth_anything")  # MiDaS-style affine-invariant inverse depth (unless metric)


def label_key(name: str) -> str:
    """A source label name as `SOURCE_TO_CLASS` spells it: lower case, first of comma-separated synonyms,
    punctuation as spaces ("Traffic Sign (Front)" -> "traffic sign front", "building, edifice" -> "building")."""
    first = re.split(r"[,;]", str(name))[0]
    return " ".join(re.sub(r"[-_()/]", " ", first.lower()).split())


def model_type_kind(model_type: str) -> str | None:
    """"seg" or "depth" when transformers registers `model_type` for exactly one of those heads, else None."""
    _transformers()
    from transformers.models.auto import modeling_auto as auto

    seg = model_type in auto.MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES
    depth = model_type in auto.MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES
    return "seg" if seg and not depth else "depth" if depth and not seg else None


def _transformers():
    try:
        import transformers
    except ImportError:
        raise ImportError("transformers judges need the transformers package: pip install 'streetgen[eval]' "
                          "(or transformers==5.25.0)") from None
    return transformers


def _load(auto_name: str, folder: Path, source: str, device: str):
    """`transformers.<auto_name>.from_pretrained(folder)` from safetensors, refusing randomly initialised weights
    (a checkpoint of another head, e.g. a depth DPT loaded as a segmenter)."""
    import torch

    auto = getattr(_transformers(), auto_name)
    try:  # float32 whatever the checkpoint stores: half-precision weights would not take float32 pixels on a CPU
        model, info = auto.from_pretrained(str(folder), use_safetensors=True, output_loading_info=True,
                                           dtype=torch.float32)
    except (OSError, RuntimeError) as err:  # no safetensors, or weights of other shapes (transformers raises)
        raise ValueError(f"{source[:80]}: its weights do not fill {auto_name} (no model.safetensors, or "
                         f"tensors of other shapes: {type(err).__name__})") from None
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise ValueError(f"{source[:80]}: its weights do not fill {type(model).__name__} "
                         f"({len(missing)} missing, e.g. {min(missing)[:40]})")
    return model.to(device).eval()


def _pil(chunk: np.ndarray) -> list:
    from PIL import Image

    return [Image.fromarray(im) for im in chunk]


def _features(out):
    """get_text_features / get_image_features answer a tensor or (transformers 5) an output with pooler_output."""
    import torch

    feats = out if isinstance(out, torch.Tensor) else out.pooler_output
    return torch.nn.functional.normalize(feats.float(), dim=-1)


class ClipZeroShot(Judge):
    """Zero-shot classification of street photos over named places with a CLIP-family model."""

    batch = 32

    def __init__(self, folder: Path, source: str, names: list[str], prompts: list[str], device: str = "cpu",
                 batch: int | None = None):
        import torch

        self.model = _load("AutoModel", folder, source, device)
        model_type = str(self.model.config.model_type)
        self.processor = _transformers().AutoProcessor.from_pretrained(str(folder))
        what = "countries" if self.kind == "place" else "cities"
        super().__init__(source, f"{model_type} zero-shot ({source[:80]}), {len(names)} {what}", None, device,
                         batch)
        siglip = model_type.startswith("siglip")  # trained on text padded to its full length
        text = self.processor(text=prompts, return_tensors="pt", padding="max_length" if siglip else True,
                              truncation=True)
        with torch.inference_mode():
            self.text = _features(self.model.get_text_features(**{k: v.to(device) for k, v in text.items()}))
        self.scale = float(self.model.logit_scale.detach().exp()) if hasattr(self.model, "logit_scale") else 100.0
        self.names = list(names)

    def _probs(self, images: np.ndarray) -> np.ndarray:
        def chunk_logits(chunk: np.ndarray) -> np.ndarray:
            pixels = self.processor(images=_pil(chunk), return_tensors="pt")["pixel_values"].to(self.device)
            image = _features(self.model.get_image_features(pixel_values=pixels))
            return (self.scale * image @ self.text.T).float().cpu().numpy()

        return softmax(run_batched(images, self.batch, chunk_logits))


class ClipPlace(ClipZeroShot):
    """place: {"countries", "probs" (N, C) float32, "latlon": None}; one prompt per country name."""

    kind = "place"

    def __init__(self, folder: Path, source: str, countries: list[str], prompt: str = PROMPT, device: str = "cpu",
                 batch: int | None = None):
        check_prompt(prompt)
        names = [country_name(c) for c in countries]
        super().__init__(folder, source, list(countries), [prompt.format(n) for n in names], device, batch)
        self.countries = list(countries)

    def predict(self, images: np.ndarray) -> dict:
        return {"countries": list(self.countries), "probs": self._probs(images), "latlon": None}


class ClipCity(ClipZeroShot):
    """city: {"cities", "probs" (N, C) float32}; one prompt per city name."""

    kind = "city"

    def __init__(self, folder: Path, source: str, cities: list[str], prompt: str = PROMPT, device: str = "cpu",
                 batch: int | None = None):
        check_prompt(prompt)
        super().__init__(folder, source, list(cities), [prompt.format(c) for c in cities], device, batch)
        self.cities = list(cities)

    def predict(self, images: np.ndarray) -> dict:
        return {"cities": list(self.cities), "probs": self._probs(images)}


def check_prompt(prompt: str) -> None:
    """ValueError unless the prompt template has exactly one "{}" for the place name."""
    if not isinstance(prompt, str) or prompt.count("{}") != 1 or prompt.count("{") != 1:
        raise ValueError(f"prompt must hold one {{}} for the place name, e.g. {PROMPT!r}; got {str(prompt)[:80]!r}")


def country_name(code: str) -> str:
    """The everyday English name of an ISO alpha-2 code for prompts ("KR" -> "South Korea"): pycountry's common
    name where it has one, else its name; streetgen.geo's name for codes pycountry lacks. ValueError if unknown."""
    import pycountry

    from streetgen import geo

    entry = pycountry.countries.get(alpha_2=str(code).upper())
    if entry is not None:
        name = getattr(entry, "common_name", None) or entry.name
        return COMMON_NAMES.get(entry.alpha_2, name)
    known = geo.countries().get(str(code).upper())
    if known is None:
        raise ValueError(f"unknown country code {str(code)[:20]!r} (ISO 3166 alpha-2, e.g. JP)")
    return known.name


# pycountry's names that read badly in a prompt ("Korea, Democratic People's Republic of")
COMMON_NAMES = {"KP": "North Korea", "KR": "South Korea", "CD": "the Democratic Republic of the Congo",
                "CG": "the Republic of the Congo", "VE": "Venezuela", "BO": "Bolivia", "IR": "Iran",
                "SY": "Syria", "TZ": "Tanzania", "RU": "Russia", "VN": "Vietnam", "LA": "Laos", "MD": "Moldova",
                "US": "the United States", "GB": "the United Kingdom", "NL": "the Netherlands",
                "PH": "the Philippines", "AE": "the United Arab Emirates", "CZ": "Czechia", "TW": "Taiwan"}


class HFSegmenter(Judge):
    """seg: (N, H, W) uint8 streetgen class ids at the input size; `unmapped` names the source labels left void."""

    kind = "seg"
    batch = 4

    def __init__(self, folder: Path, source: str, device: str = "cpu", batch: int | None = None):
        import torch

        self.model = _load("AutoModelForSemanticSegmentation", folder, source, device)
        self.processor = _transformers().AutoImageProcessor.from_pretrained(str(folder))
        labels = {int(k): v for k, v in self.model.config.id2label.items()}
        lut = np.full(max(labels) + 1, IGNORE, np.uint8)
        for i, name in labels.items():
            lut[i] = SOURCE_TO_CLASS.get(label_key(name), IGNORE)
        self.lut = torch.from_numpy(lut)
        self.source_labels = [labels[i] for i in sorted(labels)]
        self.unmapped = [labels[i] for i in sorted(labels) if lut[i] == IGNORE]
        super().__init__(source, f"{self.model.config.model_type} segmenter ({source[:80]}), {len(labels)} source "
                         f"classes -> 11, {len(self.unmapped)} unmapped", None, device, batch)

    def predict(self, images: np.ndarray) -> np.ndarray:
        import torch.nn.functional as F

        def chunk_labels(chunk: np.ndarray) -> np.ndarray:
            pixels = self.processor(images=_pil(chunk), return_tensors="pt")["pixel_values"].to(self.device)
            logits = self.model(pixel_values=pixels).logits
            ids = [F.interpolate(one[None].float(), size=chunk.shape[1:3], mode="bilinear",
                                 align_corners=False)[0].argmax(0).cpu() for one in logits]  # one image at a time
            return np.stack([self.lut[i].numpy() for i in ids])

        return run_batched(images, self.batch, chunk_labels).astype(np.uint8)


def depth_output(config, source: str) -> str:
    """What a transformers depth model's numbers are, from its config: "metric" (metres), "relative_disparity"
    (MiDaS-style affine-invariant inverse depth) or "relative_depth"; ValueError when the config does not say."""
    kind = getattr(config, "depth_estimation_type", None)  # Depth Anything: "relative" or "metric"
    if kind == "metric" or config.model_type in METRIC_DEPTH_TYPES:
        return "metric"
    if config.model_type in DISPARITY_DEPTH_TYPES:
        return "relative_disparity"
    raise ValueError(f"{source[:80]}: cannot tell what a {config.model_type[:30]} depth model outputs; pass "
                     f"output= one of {', '.join(DEPTH_OUTPUTS)}")


class HFDepth(Judge):
    """depth: (N, H, W) float32 at the input size; `output` is "metric", "relative_disparity" or "relative_depth"."""

    kind = "depth"
    batch = 4

    def __init__(self, folder: Path, source: str, device: str = "cpu", batch: int | None = None,
                 output: str | None = None):
        self.model = _load("AutoModelForDepthEstimation", folder, source, device)
        self.processor = _transformers().AutoImageProcessor.from_pretrained(str(folder))
        if output is not None and output not in DEPTH_OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(DEPTH_OUTPUTS)}, got {str(output)[:30]!r}")
        self.output = output or depth_output(self.model.config, source)
        super().__init__(source, f"{self.model.config.model_type} depth ({source[:80]}), {self.output}", None,
                         device, batch)

    def predict(self, images: np.ndarray) -> np.ndarray:
        import torch.nn.functional as F

        def chunk_depth(chunk: np.ndarray) -> np.ndarray:
            pixels = self.processor(images=_pil(chunk), return_tensors="pt")["pixel_values"].to(self.device)
            out = self.model(pixel_values=pixels)
            size = chunk.shape[1:3]
            if hasattr(self.processor, "post_process_depth_estimation"):  # undoes padding (ZoeDepth) and resizes
                maps = [r["predicted_depth"].reshape(size) for r in
                        self.processor.post_process_depth_estimation(out, target_sizes=[size] * len(chunk))]
            else:
                maps = [F.interpolate(d[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]
                        for d in out.predicted_depth]
            return np.stack([m.float().cpu().numpy() for m in maps])

        return run_batched(images, self.batch, chunk_depth).astype(np.float32)
