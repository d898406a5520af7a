"""`python -m streetgen.eval`: judge generated street images against what was asked for.

    python -m streetgen.eval --task country --model world --n 8 --out runs/eval/country_world
    python -m streetgen.eval --task country --model world-shuffled       # sanity: conditions shuffled → chance
    python -m streetgen.eval --task map --model world
    python -m streetgen.eval --task layout --model world

A *model* is something that answers the task's request: `world` answers with real renders (the reference every
generator is compared with), `world-shuffled` with real renders of the wrong condition (a sanity floor), and
generator checkpoints register themselves in `GENERATORS` as later issues add them. Writes `metrics.json` and
`metrics.md` (a markdown table) to --out. Distances are computed on the place judge's features and named as
such (`judge_frechet_distance`, `judge_kernel_distance`): they are not comparable with published Inception FIDs.
Standard `inception_fid` / `inception_kid` are added when --inception-weights points at a safetensors file of
torchvision's Inception-v3 state dict (nothing is ever downloaded).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from streetgen import geo, world
from streetgen.metrics import diversity, frechet_distance, kernel_distance, mean_iou, topk_accuracy

JUDGE_EVAL_SEED = 9003  # reference renders and requests; disjoint from judge training (9001/9002)
# task -> model name -> factory(seed) returning a callable that answers one request
GENERATORS: dict[str, dict[str, Callable]] = {"country": {}, "map": {}, "layout": {}}


def _to_tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)


def judge_outputs(judge, images: np.ndarray, batch: int = 128) -> dict[str, np.ndarray]:
    """Run the place judge over uint8 images (N, H, W, 3): features, logits, predicted lat/lon."""
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            outs.append({k: v.numpy() for k, v in judge(_to_tensor(images[i:i + batch])).items()})
    cat = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    x, y, z = cat["xyz"].T.astype(np.float64)
    cat["latlon"] = np.stack([np.degrees(np.arcsin(np.clip(z, -1, 1))), np.degrees(np.arctan2(y, x))], 1)
    return cat


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
            x = F.interpolate(_to_tensor(images[i:i + batch]), size=(299, 299), mode="bilinear", align_corners=False)
            feats.append(model((x - mean) / std).numpy())
    return np.concatenate(feats)


def _country_requests(judge, per: int, limit: int | None) -> list[tuple[str, int]]:
    countries = judge.countries[:limit] if limit else judge.countries
    return [(c, k) for c in countries for k in range(per)]


def _reference(requests, size: int) -> np.ndarray:
    """Real renders for the requests (different seeds from the candidates) — the Fréchet reference set."""
    return np.stack([world.render_country(c, JUDGE_EVAL_SEED * 1000 + 500 + k, size).image for c, k in requests])


def _register_world_generators() -> None:
    def country_world(seed: int):
        return lambda country, k, size: world.render_country(country, seed * 1000 + k, size).image

    def country_shuffled(seed: int):
        rng = np.random.default_rng(seed)
        pool = [c.iso2 for c in geo.renderable_countries()]
        return lambda country, k, size: world.render_country(pool[rng.integers(len(pool))], seed * 1000 + k, size).image

    def map_world(seed: int):
        return lambda lat, lon, k, size: world.render(lat, lon, seed * 1000 + k, size).image

    def layout_world(seed: int):
        return lambda sample, k: sample.image  # the photo that the layout came from

    GENERATORS["country"].update({"world": country_world, "world-shuffled": country_shuffled})
    GENERATORS["map"].update({"world": map_world})
    GENERATORS["layout"].update({"world": layout_world})


_register_world_generators()


def _checkpoint_country_generator(name: str, options: dict | None = None):
    """A country model checkpoint (e.g. "cvae") as an eval generator: one image per request, seeded by request.

    `options` go to the model's sampler (e.g. {"steps": 10, "guidance": 2.0} for the diffusion model)."""
    from streetgen.pipelines import CountryPipeline

    pipe = CountryPipeline.from_pretrained(name)

    def factory(seed: int):
        return lambda country, k, size: pipe(country, n=1, seed=seed * 1000 + k, **(options or {}))[0]

    return factory, pipe.countries


def eval_country(model: str, per: int, size: int, limit: int | None, place_judge,
                 inception_weights: str | None = None, options: dict | None = None) -> dict:
    if model in GENERATORS["country"]:
        gen, known = GENERATORS["country"][model](JUDGE_EVAL_SEED), None
    else:
        factory, known = _checkpoint_country_generator(model, options)
        gen = factory(JUDGE_EVAL_SEED)
    requests = _country_requests(place_judge, per, limit)
    if known is not None:  # judge only the countries both the model and the judge know
        requests = [(c, k) for c, k in requests if c in known]
        if not requests:
            raise ValueError(f"model {model!r} shares no country with the place judge")
    images = np.stack([gen(c, k, size) for c, k in requests])
    out = judge_outputs(place_judge, images)
    target = np.array([place_judge.countries.index(c) for c, _ in requests])
    ref_images = _reference(requests, size)
    ref = judge_outputs(place_judge, ref_images)["features"]
    feats = out["features"]
    per_cond = [diversity(feats[target == t]) for t in np.unique(target)]
    extra = {}
    if inception_weights:
        fa, fb = inception_features(inception_weights, images), inception_features(inception_weights, ref_images)
        extra = {"inception_fid": frechet_distance(fa, fb), "inception_kid": kernel_distance(fa, fb)}
    return {**extra, "country_top1": topk_accuracy(out["country"], target, 1),
            "country_top5": topk_accuracy(out["country"], target, 5),
            "judge_frechet_distance": frechet_distance(feats, ref), "judge_kernel_distance": kernel_distance(feats, ref),
            "diversity_within_country": float(np.mean(per_cond)), "n_images": int(len(images)),
            "n_countries": int(len(np.unique(target))), "chance_top1": 1.0 / len(place_judge.countries)}


def _checkpoint_map_generator(name: str):
    """A map model checkpoint (e.g. "map_gan") as an eval generator: one image per request, seeded by request."""
    from streetgen.pipelines import MapPipeline

    pipe = MapPipeline.from_pretrained(name)
    return lambda seed: (lambda lat, lon, k, size: pipe(lat, lon, n=1, seed=seed * 1000 + k)[0])


def eval_map(model: str, n_points: int, per: int, size: int, place_judge) -> dict:
    """Judged location error (km) of images generated for requested points, and judged country accuracy."""
    factory = GENERATORS["map"][model] if model in GENERATORS["map"] else _checkpoint_map_generator(model)
    gen = factory(JUDGE_EVAL_SEED)
    rng = np.random.default_rng(JUDGE_EVAL_SEED)
    points = [geo.sample_place(place_judge.countries[rng.integers(len(place_judge.countries))], rng)
              for _ in range(n_points)]
    requests = [(lat, lon, k) for lat, lon in points for k in range(per)]
    images = np.stack([gen(lat, lon, k, size) for lat, lon, k in requests])
    out = judge_outputs(place_judge, images)
    req = np.array([(lat, lon) for lat, lon, _ in requests])
    km = geo.haversine_km(req[:, 0], req[:, 1], out["latlon"][:, 0], out["latlon"][:, 1])
    truth = np.array([place_judge.countries.index(geo.reverse(lat, lon).country)
                      if geo.reverse(lat, lon).country in place_judge.countries else -1 for lat, lon, _ in requests])
    known = truth >= 0
    return {"median_location_error_km": float(np.median(km)), "mean_location_error_km": float(np.mean(km)),
            "country_top1": topk_accuracy(out["country"][known], truth[known], 1), "n_images": int(len(images))}


def eval_layout(model: str, n: int, size: int, segmenter, depth_judge=None) -> dict:
    """Layout fidelity (segmenter mIoU against the requested layout) and, with a depth judge, depth error (m)."""
    import torch

    gen = GENERATORS["layout"][model](JUDGE_EVAL_SEED)
    rng = np.random.default_rng(JUDGE_EVAL_SEED + 1)
    samples = [world.render(*geo.sample_world(rng), seed=JUDGE_EVAL_SEED * 1000 + k, size=size) for k in range(n)]
    photos = np.stack([gen(s, k) for k, s in enumerate(samples)])
    with torch.no_grad():
        pred = segmenter.predict(_to_tensor(photos)).numpy()
    layouts = np.stack([s.labels for s in samples])
    out = {"layout_miou": mean_iou(pred, layouts), "n_images": int(n)}
    if depth_judge is not None:
        from streetgen.judges import MAX_DEPTH

        with torch.no_grad():
            d = depth_judge.predict(_to_tensor(photos)).numpy()
        gt = np.stack([s.depth for s in samples])
        valid = gt < MAX_DEPTH
        out["depth_rmse_m"] = float(np.sqrt(((d - gt)[valid] ** 2).mean()))
        out["depth_abs_rel"] = float((np.abs(d - gt)[valid] / gt[valid]).mean())
    return out


def _is_checkpoint(name: str) -> bool:
    from streetgen.hub import resolve

    try:
        resolve(name)
        return True
    except Exception:  # not a folder, not under checkpoints/, not on the Hub (or offline)
        return False


def to_markdown(task: str, model: str, metrics: dict) -> str:
    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items())
    return f"# streetgen eval: task `{task}`, model `{model}`\n\n| metric | value |\n|---|---|\n{rows}\n"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m streetgen.eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=["country", "map", "layout", "city"])
    p.add_argument("--model", default="world", help="world | world-shuffled | a registered generator")
    p.add_argument("--n", type=int, default=4, help="images per condition (country) / per point (map) / total (layout)")
    p.add_argument("--points", type=int, default=100, help="map task: number of requested points")
    p.add_argument("--countries", type=int, default=0, help="country task: only the first N judge countries")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--place-judge", default="judges/place")
    p.add_argument("--segmenter", default="judges/seg")
    p.add_argument("--depth-judge", default="judges/depth", help="layout task: '' to skip the depth error")
    p.add_argument("--inception-weights", default="", help="safetensors of torchvision Inception-v3 (optional)")
    p.add_argument("--sample", default="{}", help='country checkpoints: sampler options as JSON, e.g. '
                                                    '\'{"steps": 10, "guidance": 2.0}\'')
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    try:
        options = json.loads(args.sample)
        if not isinstance(options, dict):
            raise ValueError("not an object")
    except ValueError as err:
        p.error(f"--sample must be a JSON object, got {args.sample!r} ({err})")
    import streetgen

    if args.task == "city":
        p.error("the city task needs the City → city models (a later issue); available now: country, map, layout")
    if args.model not in GENERATORS[args.task] and not (args.task in ("country", "map") and _is_checkpoint(args.model)):
        p.error(f"unknown model {args.model!r} for task {args.task}; available: {', '.join(GENERATORS[args.task])}"
                + {"country": " or a country checkpoint such as 'cvae'",
                   "map": " or a map checkpoint such as 'map_gan'"}.get(args.task, ""))
    t0 = time.time()
    if args.task == "layout":
        metrics = eval_layout(args.model, args.n, args.size, streetgen.load(args.segmenter),
                              streetgen.load(args.depth_judge) if args.depth_judge else None)
    else:
        judge = streetgen.load(args.place_judge)
        metrics = (eval_country(args.model, args.n, args.size, args.countries or None, judge,
                                args.inception_weights or None, options) if args.task == "country"
                   else eval_map(args.model, args.points, args.n, args.size, judge))
    metrics["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out or f"runs/eval/{args.task}_{args.model}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps({"task": args.task, "model": args.model, "sample": options,
                                                  **metrics}, indent=2))
    (out / "metrics.md").write_text(to_markdown(args.task, args.model, metrics))
    print(to_markdown(args.task, args.model, metrics))
    return metrics


if __name__ == "__main__":
    main()
