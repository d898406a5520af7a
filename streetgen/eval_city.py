"""City → city measures for `python -m streetgen.eval --task city`.

    python -m streetgen.eval --task city --model cyclegan_paris_venice --n 200
    python -m streetgen.eval --task city --model pix2pix_depth_paris+pix2pix_photo_venice   # the depth route
    python -m streetgen.eval --task city --model pix2pix_depth_paris                        # depth only, 1× and 2×
    python -m streetgen.eval --task city --model country_diffusion --source Paris --target Venice --strength 0.2
    python -m streetgen.eval --task city --model world --source Paris --target Venice       # the real references

Inputs are world renders of the source city (eval seeds, disjoint from every training set). Two numbers have to
hold at once, since each alone is easy to game (copy the input: perfect structure; paint the target city from
scratch: perfect style):
- style moved: the city judge's top-1 says "target" on the translations, also as a ratio to its accuracy on real
  renders of the target city (goal ≥ 0.9);
- scene kept: mIoU between the segmenter's classes on the input and on the output (goal ≥ 0.7), plus the mIoU of
  the output against the input's true labels as a ratio to the input's own.
Image → depth models: depth RMSE (metres, sky excluded) against the renderer's depth at the training size and at
twice it — the study's claim that a model trained small works larger, measured.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from streetgen import geo, world
from streetgen.eval import _segment as segment
from streetgen.eval import _to_tensor as _tensor
from streetgen.judges import MAX_DEPTH
from streetgen.metrics import mean_iou

CITY_EVAL_SEED = 9004  # renders here: disjoint from judge (9001/9002) and generator (small) seeds
Translator = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray | None]]


def city_renders(city: str, n: int, size: int, seed: int = CITY_EVAL_SEED):
    """(images (n, size, size, 3) uint8, labels (n, size, size), depth (n, size, size) metres) of a famous city."""
    samples = [world.render_city(city, seed=seed * 1_000_003 + k, size=size) for k in range(n)]
    return (np.stack([s.image for s in samples]), np.stack([s.labels for s in samples]),
            np.stack([s.depth for s in samples]))


def judge_cities(city_judge, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Predicted famous-city index for each uint8 image."""
    import torch

    with torch.no_grad():
        return np.concatenate([city_judge(_tensor(images[i:i + batch])).argmax(1).numpy()
                               for i in range(0, len(images), batch)])


def depth_errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """RMSE (m) and mean absolute relative error over pixels that are not sky (truth below MAX_DEPTH)."""
    valid = truth < MAX_DEPTH
    diff = (pred - truth)[valid]
    return {"rmse_m": float(np.sqrt((diff ** 2).mean())), "abs_rel": float((np.abs(diff) / truth[valid]).mean())}


def translator(model: str, source: str | None, target: str | None, strength: float
               ) -> tuple[Translator | None, str, str, dict]:
    """(translate(image, seed) → (output, depth or None), source city, target city, extra info) for a model spec:
    'world' (no translation: the real references), a CycleGAN checkpoint, 'to_depth+to_photo' (the depth route),
    or a country diffusion checkpoint (any city, SDEdit at `strength`). Pix2pix image→depth alone: translate None
    and the loaded model under info["depth_model"]."""
    import streetgen
    from streetgen.models.country_diffusion import CountryDiffusion
    from streetgen.models.cyclegan import CycleGenerator
    from streetgen.models.pix2pix import UNetTranslator
    from streetgen.pipelines.city import AnyCityPipeline, CycleGANPipeline, DepthRoutePipeline

    def need(city: str | None, what: str) -> str:
        if city is None:
            raise ValueError(f"--{what} is needed for model {model!r} (one of {', '.join(geo.FAMOUS_CITIES)})")
        if city not in geo.FAMOUS_CITIES:
            raise ValueError(f"unknown city {city!r}; choose one of {', '.join(geo.FAMOUS_CITIES)}")
        return city

    def agree(given: str | None, trained: str, what: str) -> str:
        if given is not None and given != trained:
            raise ValueError(f"{model} translates {what} {trained}, not {given}")
        return trained

    if model == "world":
        return (lambda image, seed: (image, None)), need(source, "source"), need(target, "target"), {}
    if "+" in model:
        pipe = DepthRoutePipeline.from_pretrained(*model.split("+", 1))
        return ((lambda image, seed: pipe(image)), agree(source, pipe.source, "from"),
                agree(target, pipe.target, "to"), {})
    net = streetgen.load(model)
    if isinstance(net, CycleGenerator):
        pipe = CycleGANPipeline(net)
        return ((lambda image, seed: (pipe(image), None)), agree(source, net.source, "from"),
                agree(target, net.target, "to"), {"train_size": net.train_size})
    if isinstance(net, UNetTranslator) and net.kind == "image_to_depth":
        return None, agree(source, net.city, "from"), net.city, {"depth_model": net}
    if isinstance(net, CountryDiffusion):
        pipe = AnyCityPipeline(net)
        return ((lambda image, seed: (pipe(image, target, strength=strength, seed=seed), None)),
                need(source, "source"), need(target, "target"), {"strength": strength})
    raise ValueError(f"{model!r} is not a city model: use a CycleGAN checkpoint, 'to_depth+to_photo' pix2pix "
                     "checkpoints, a pix2pix image→depth checkpoint, a country diffusion checkpoint or 'world'")


def eval_depth(net, n: int, depth_judge=None) -> dict:
    """Image → depth RMSE of a pix2pix image→depth model on unseen renders of its city at its training size and at
    2× (and the depth judge's on the same images, a reference trained on every place)."""
    import torch

    out: dict = {"city": net.city, "n_images": n}
    for scale in (1, 2):
        size = net.train_size * scale
        images, _, depth = city_renders(net.city, n, size)
        pred = np.stack([net.image_to_depth(im) for im in images])
        for k, v in depth_errors(pred, depth).items():
            out[f"depth_{k}_{scale}x"] = v
        if depth_judge is not None:
            with torch.no_grad():
                ref = np.concatenate([depth_judge.predict(_tensor(images[i:i + 32])).numpy()
                                      for i in range(0, n, 32)])
            out[f"depth_judge_rmse_m_{scale}x"] = depth_errors(ref, depth)["rmse_m"]
        out[f"size_{scale}x"] = size
    out["rmse_ratio_2x_to_1x"] = out["depth_rmse_m_2x"] / out["depth_rmse_m_1x"]
    return out


def eval_city(model: str, n: int, size: int, city_judge, segmenter, depth_judge=None, source: str | None = None,
              target: str | None = None, strength: float = 0.2) -> dict:
    """Style moved (city judge) and scene kept (segmenter) for n translations of source-city renders at `size`."""
    translate, source, target, info = translator(model, source, target, strength)
    if translate is None:
        return eval_depth(info["depth_model"], n, depth_judge)
    cities = list(city_judge.cities)
    if target not in cities or source not in cities:
        raise ValueError(f"the city judge knows {', '.join(cities)}; {source} → {target} cannot be scored")
    images, labels, depth = city_renders(source, n, size)
    results = [translate(im, k) for k, im in enumerate(images)]
    outputs = np.stack([r[0] for r in results])
    real_target = city_renders(target, n, size, seed=CITY_EVAL_SEED + 1)[0]
    t, s = cities.index(target), cities.index(source)
    pred_out, pred_in = judge_cities(city_judge, outputs), judge_cities(city_judge, images)
    real_acc = float((judge_cities(city_judge, real_target) == t).mean())
    seg_in, seg_out = segment(segmenter, images), segment(segmenter, outputs)
    input_label_miou = mean_iou(seg_in, labels)
    out: dict = {"source": source, "target": target, "size": size, "n_images": n, **info,
                 "target_city_accuracy": float((pred_out == t).mean()),
                 "real_target_accuracy": real_acc,
                 "target_accuracy_ratio": float((pred_out == t).mean()) / real_acc if real_acc else float("nan"),
                 "still_source_accuracy": float((pred_out == s).mean()),
                 "input_target_accuracy": float((pred_in == t).mean()),
                 "structure_miou": mean_iou(seg_out, seg_in),
                 "label_miou": mean_iou(seg_out, labels), "input_label_miou": input_label_miou}
    out["label_miou_ratio"] = out["label_miou"] / input_label_miou if input_label_miou else float("nan")
    out["goal_met"] = bool(out["target_accuracy_ratio"] >= 0.9 and out["structure_miou"] >= 0.7)
    if results[0][1] is not None:  # the depth route's intermediate, against the renderer's depth
        for k, v in depth_errors(np.stack([r[1] for r in results]), depth).items():
            out[f"intermediate_depth_{k}"] = v
    return out
