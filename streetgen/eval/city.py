"""`--task city`: City → city measures.

    python -m streetgen.eval --task city --model cyclegan_paris_venice --n 200
    python -m streetgen.eval --task city --model pix2pix_depth_paris+pix2pix_photo_venice   # the depth route
    python -m streetgen.eval --task city --model pix2pix_depth_paris                        # depth only, 1× and 2×
    python -m streetgen.eval --task city --model segmenter+spade_cities --source Paris --target Venice  # layout route
    python -m streetgen.eval --task city --model country_diffusion --source Paris --target Venice --strength 0.2
    python -m streetgen.eval --task city --model world --source Paris --target Venice       # the real references
    python -m streetgen.eval --task city --model cyclegan_paris_venice --n 96 --frames 8     # + temporal stability

Inputs are world renders of the source city (eval seeds, disjoint from every training set). Two numbers have to
hold at once, since each alone is easy to game (copy the input: perfect structure; paint the target city from
scratch: perfect style):
- style moved: the city judge's top-1 says "target" on the translations, also as a ratio to its accuracy on real
  renders of the target city (goal ≥ 0.9);
- scene kept: mIoU between the segmenter's classes on the input and on the output (goal ≥ 0.7), plus the mIoU of
  the output against the input's true labels as a ratio to the input's own.
With --frames K: temporal stability on world videos of a turning camera (`world.render_pan`): the warp error
(each frame against the previous one warped by the exact turn) of the translations, as a ratio to the input
video's own, with one seed for every frame (what the City tab's frames tool does) and with a fresh seed per frame.
Image → depth models: depth RMSE (metres, sky excluded) against the renderer's depth at the training size and at
twice it — the study's claim that a model trained small works larger, measured.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from streetgen import geo, metrics, world
from streetgen.eval.common import GENERATORS, SHEET_EXAMPLES, keep_examples, segment, to_tensor
from streetgen.models.judges import MAX_DEPTH
from streetgen.metrics import mean_iou, warp_error

CITY_EVAL_SEED = 9004  # renders here: disjoint from judge (9001/9002) and generator (small) seeds
Translator = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray | None]]
GENERATORS["city"].update({"world": None})  # the source renders untranslated (eval_city handles it)


def city_renders(city: str, n: int, size: int, seed: int = CITY_EVAL_SEED):
    """(images (n, size, size, 3) uint8, labels (n, size, size), depth (n, size, size) metres) of a famous city."""
    samples = [world.render_city(city, seed=seed * 1_000_003 + k, size=size) for k in range(n)]
    return (np.stack([s.image for s in samples]), np.stack([s.labels for s in samples]),
            np.stack([s.depth for s in samples]))


def judge_cities(city_judge, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Predicted famous-city index for each uint8 image."""
    import torch

    with torch.no_grad():
        return np.concatenate([city_judge(to_tensor(images[i:i + batch])).argmax(1).numpy()
                               for i in range(0, len(images), batch)])


def depth_errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """RMSE (m) and mean absolute relative error over pixels that are not sky (truth below MAX_DEPTH)."""
    errors = metrics.depth_errors(pred, truth, "metric", MAX_DEPTH, clip=False)
    return {k: errors[k] for k in ("rmse_m", "abs_rel")}


def translator(model: str, source: str | None, target: str | None, strength: float
               ) -> tuple[Translator | None, str, str, dict]:
    """(translate(image, seed) → (output, depth or None), source city, target city, extra info) for a model spec:
    'world' (no translation: the real references), a CycleGAN checkpoint, 'to_depth+to_photo' (the depth route),
    'segmenter+spade' (the layout route, any of its cities), or a country diffusion checkpoint (any city, SDEdit at `strength`), each called as the app calls it (the seed
    drives the depth route's dropout and the any-city noise). Pix2pix image→depth alone: translate None and the
    loaded model under info["depth_model"]."""
    import streetgen
    from streetgen.models.pix2pix import UNetTranslator
    from streetgen.pipelines.city import (AnyCityPipeline, CycleGANPipeline, LayoutRoutePipeline, load_city_pipeline,
                                          run_city)

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
    net = None if "+" in model else streetgen.load(model)
    if isinstance(net, UNetTranslator) and net.kind == "image_to_depth":
        return None, agree(source, net.city, "from"), net.city, {"depth_model": net}
    try:
        pipe = load_city_pipeline(model if net is None else net)
    except ValueError as err:
        raise ValueError(f"{model!r} is not a city model: use a CycleGAN checkpoint, 'to_depth+to_photo' pix2pix "
                         "checkpoints, 'segmenter+spade', a pix2pix image→depth checkpoint, a country diffusion "
                         "checkpoint or 'world'") from err
    if isinstance(pipe, AnyCityPipeline):
        source, target, info = need(source, "source"), need(target, "target"), {"strength": strength}
    elif isinstance(pipe, LayoutRoutePipeline):
        source, target, info = need(source, "source"), need(target, "target"), {}
        pipe.city_index(target)  # a city the painter was not trained on fails here, not after the renders
    else:
        source, target = agree(source, pipe.source, "from"), agree(target, pipe.target, "to")
        info = {"train_size": pipe.model.train_size} if isinstance(pipe, CycleGANPipeline) else {}
    return (lambda image, seed: run_city(pipe, image, target, strength, seed)), source, target, info


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
                ref = np.concatenate([depth_judge.predict(to_tensor(images[i:i + 32])).numpy()
                                      for i in range(0, n, 32)])
            out[f"depth_judge_rmse_m_{scale}x"] = depth_errors(ref, depth)["rmse_m"]
        out[f"size_{scale}x"] = size
        if scale == 1:
            k = SHEET_EXAMPLES
            keep_examples({"input": images[:k], "generated depth": [world.colorize_depth(d) for d in pred[:k]],
                           "true depth": [world.colorize_depth(d) for d in depth[:k]]}, [f"#{i}" for i in range(k)])
    out["rmse_ratio_2x_to_1x"] = out["depth_rmse_m_2x"] / out["depth_rmse_m_1x"]
    return out


PAN_DEGREES = 1.0  # per frame: a slow pan, ~1.8 px per frame at 128²


def _sharpness(video: list[np.ndarray]) -> float:
    """Mean absolute horizontal + vertical pixel difference: a blur check for the steadied frames."""
    v = np.stack(video).astype(np.float32)
    return float(np.abs(np.diff(v, axis=1)).mean() + np.abs(np.diff(v, axis=2)).mean())


def eval_frames(translate: Translator, source: str, pans: int, frames: int, size: int, city_judge=None,
                segmenter=None, target: str | None = None, degrees: float = PAN_DEGREES,
                seed: int = CITY_EVAL_SEED + 2) -> dict:
    """Warp errors (0–255) of `pans` turning-camera videos of the source city and of their translations — a fresh
    seed per frame, one seed for all frames, and one seed made steady along the motion (`steady_frames`, what the
    City tab's frames tool does) — with ratios to the input's (1 = as stable as the input video). Guards that the
    steadied video is not just blurrier or less translated: its sharpness relative to the raw frames and, given
    the judges, target-city accuracy and structure mIoU of the raw and the steadied frames."""
    from streetgen.pipelines.city import steady_frames

    def err(video: list[np.ndarray], meta: dict) -> float:
        h, w = video[0].shape[:2]  # a model may answer at its own size: scale the camera with it
        focal = meta["focal_px"] * w / meta["width"]
        horizon = meta["horizon_row"] * h / meta["height"]
        return warp_error(video, degrees, focal, horizon)

    sums = {"input": 0.0, "fresh_seed": 0.0, "shared_seed": 0.0, "steady": 0.0, "sharp_raw": 0.0, "sharp_steady": 0.0}
    all_in, all_raw, all_steady = [], [], []
    for p in range(pans):
        video = world.render_pan(source, seed=seed * 1_000_003 + p, size=size, frames=frames, degrees_per_frame=degrees)
        inputs, meta = [s.image for s in video], video[0].meta
        shared = [translate(im, p)[0] for im in inputs]
        steady = steady_frames(inputs, shared)
        sums["input"] += err(inputs, meta)
        sums["fresh_seed"] += err([translate(im, p * frames + k)[0] for k, im in enumerate(inputs)], meta)
        sums["shared_seed"] += err(shared, meta)
        sums["steady"] += err(steady, meta)
        sums["sharp_raw"] += _sharpness(shared)
        sums["sharp_steady"] += _sharpness(steady)
        all_in += inputs
        all_raw += shared
        all_steady += steady
    mean = {k: v / pans for k, v in sums.items()}
    out = {"pans": pans, "frames_per_pan": frames, "pan_degrees_per_frame": degrees,
           "warp_error_input": mean["input"]}
    for k in ("fresh_seed", "shared_seed", "steady"):
        out[f"warp_error_{k}"] = mean[k]
        out[f"warp_error_ratio_{k}"] = mean[k] / mean["input"]
    out["steady_sharpness_ratio"] = mean["sharp_steady"] / mean["sharp_raw"]
    if city_judge is not None and segmenter is not None and target is not None:
        t = list(city_judge.cities).index(target)
        seg_in = segment(segmenter, np.stack(all_in))
        for name, video in (("raw", all_raw), ("steady", all_steady)):
            stack = np.stack(video)
            out[f"pan_{name}_target_accuracy"] = float((judge_cities(city_judge, stack) == t).mean())
            out[f"pan_{name}_structure_miou"] = mean_iou(segment(segmenter, stack), seg_in)
    return out


def eval_city(model: str, n: int, size: int, city_judge, segmenter, depth_judge=None, source: str | None = None,
              target: str | None = None, strength: float = 0.2, frames: int = 0) -> dict:
    """Style moved (city judge) and scene kept (segmenter) for n translations of source-city renders at `size`;
    with frames ≥ 2 also temporal stability on max(1, n // frames) turning-camera videos of that many frames."""
    translate, source, target, info = translator(model, source, target, strength)
    if translate is None:
        return eval_depth(info["depth_model"], n, depth_judge)
    if frames and not 2 <= frames <= world.MAX_PAN_FRAMES:
        raise ValueError(f"--frames must be 0 (off) or in [2, {world.MAX_PAN_FRAMES}], got {frames}")
    cities = list(city_judge.cities)
    if target not in cities or source not in cities:
        raise ValueError(f"the city judge knows {', '.join(cities)}; {source} → {target} cannot be scored")
    images, labels, depth = city_renders(source, n, size)
    results = [translate(im, k) for k, im in enumerate(images)]
    outputs = np.stack([r[0] for r in results])
    real_target = city_renders(target, n, size, seed=CITY_EVAL_SEED + 1)[0]
    t, s = cities.index(target), cities.index(source)
    keep_examples({f"input ({source})": images, "generated": outputs, f"real {target}": real_target},
                  [f"#{k}" for k in range(n)])
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
    middle = results[0][1]
    if middle is not None and np.issubdtype(middle.dtype, np.floating):  # the depth route's, against the truth
        for k, v in depth_errors(np.stack([r[1] for r in results]), depth).items():
            out[f"intermediate_depth_{k}"] = v
    elif middle is not None:  # the layout route's label maps, against the renderer's labels
        out["intermediate_label_miou"] = mean_iou(np.stack([r[1] for r in results]), labels)
    if frames:
        out.update(eval_frames(translate, source, max(1, n // frames), frames, size, city_judge, segmenter, target))
    return out
