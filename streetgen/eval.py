"""`python -m streetgen.eval`: judge generated street images against what was asked for.

    python -m streetgen.eval --task country --model world --n 8 --out runs/eval/country_world
    python -m streetgen.eval --task country --model world-shuffled       # sanity: conditions shuffled → chance
    python -m streetgen.eval --task country --model country_diffusion --n 12 --device cuda --batch 256
    python -m streetgen.eval --task map --model world
    python -m streetgen.eval --task layout --model world
    python -m streetgen.eval --task city --model cyclegan_paris_venice     # see streetgen/eval_city.py

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
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from streetgen import classes, geo, world
from streetgen.metrics import diversity, frechet_distance, kernel_distance, mean_iou, topk_accuracy

JUDGE_EVAL_SEED = 9003  # reference renders and requests; disjoint from judge training (9001/9002)
# task -> model name -> factory(seed) returning a callable that answers one request
GENERATORS: dict[str, dict[str, Callable]] = {"country": {}, "map": {}, "layout": {}, "city": {}}


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

    GENERATORS["country"].update({"world": country_world, "world-shuffled": country_shuffled})
    GENERATORS["map"].update({"world": map_world})
    GENERATORS["layout"].update({"world": None})  # the layouts' own photos (eval_layout handles it)
    GENERATORS["city"].update({"world": None})  # the source renders untranslated (eval_city handles it)


_register_world_generators()


def default_country_batch(device: str) -> int:
    """Requests per model call when --batch is not given: 8 on a CPU, 256 on a GPU.

    Why 8: on a 2-core CPU (diffusion, guidance doubling the batch) 8 gave 2.9 images/s, 32 gave 2.1 and 64 gave
    1.9 (`python bench/country_eval_throughput.py`): past a few images the activations leave the caches. A GPU is
    the other way round and wants the largest batch that fits."""
    return 8 if str(device).startswith("cpu") else 256


def _checkpoint_country_generator(name: str, options: dict | None = None, device: str = "cpu",
                                  batch: int | None = None):
    """A country model checkpoint (e.g. "cvae") as an eval generator: one image per request, seeded by request.

    `options` go to the model's sampler (e.g. {"steps": 10, "guidance": 2.0} for the diffusion model). The
    factory's generator answers a list of (country, k) requests at once, `batch` images per model call on
    `device` (default: `default_country_batch`): the images one `pipe(country, n=1, seed=seed * 1000 + k)` call
    each would give. A progress bar on stderr counts the images, since a large eval runs for many minutes."""
    from tqdm.auto import tqdm

    from streetgen.pipelines import CountryPipeline

    pipe = CountryPipeline.from_pretrained(name).to(device)
    per_call = batch or default_country_batch(device)

    def generate(requests, seed: int) -> list[np.ndarray]:
        images: list[np.ndarray] = []
        with tqdm(total=len(requests), desc=f"{name} images", unit="img", leave=False) as bar:
            for i in range(0, len(requests), per_call):
                chunk = [(c, seed * 1000 + k) for c, k in requests[i:i + per_call]]
                images += pipe.batched(chunk, batch=per_call, **(options or {}))
                bar.update(len(chunk))
        return images

    def factory(seed: int):
        return lambda requests: generate(requests, seed)

    return factory, pipe.countries


def eval_country(model: str, per: int, size: int, limit: int | None, place_judge,
                 inception_weights: str | None = None, options: dict | None = None,
                 seed: int = JUDGE_EVAL_SEED, device: str = "cpu", batch: int | None = None) -> dict:
    """Judge `per` generated images of each judge country against as many world renders of it.

    The k-th image of every country is generated from seed · 1000 + k (the reference renders keep their own
    seeds), so one seed's look is shared by 111 images: `country_top1_per_seed` shows how much rides on it, and
    another `seed` measures the same model on starting noise nothing was tuned on. Checkpoints generate on
    `device`, `batch` requests per call (None: `default_country_batch`)."""
    if model in GENERATORS["country"]:
        one, known = GENERATORS["country"][model](seed), None

        def gen(reqs):
            return [one(c, k, size) for c, k in reqs]
    else:
        factory, known = _checkpoint_country_generator(model, options, device, batch)
        gen = factory(seed)
    requests = _country_requests(place_judge, per, limit)
    if known is not None:  # judge only the countries both the model and the judge know
        requests = [(c, k) for c, k in requests if c in known]
        if not requests:
            raise ValueError(f"model {model!r} shares no country with the place judge")
    images = np.stack(gen(requests))
    out = judge_outputs(place_judge, images)
    target = np.array([place_judge.countries.index(c) for c, _ in requests])
    ref_images = _reference(requests, size)
    ref = judge_outputs(place_judge, ref_images)["features"]
    feats = out["features"]
    per_cond = [diversity(feats[target == t]) for t in np.unique(target)]
    right = out["country"].argmax(1) == target
    ks = np.array([k for _, k in requests])
    per_seed = [round(float(right[ks == k].mean()), 4) for k in range(per) if (ks == k).any()]
    extra = {}
    if inception_weights:
        fa, fb = inception_features(inception_weights, images), inception_features(inception_weights, ref_images)
        extra = {"inception_fid": frechet_distance(fa, fb), "inception_kid": kernel_distance(fa, fb)}
    return {**extra, "country_top1": topk_accuracy(out["country"], target, 1),
            "country_top5": topk_accuracy(out["country"], target, 5), "country_top1_per_seed": per_seed,
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
    # a 95% bootstrap interval of the median: model comparisons (e.g. ablations) need to know what is noise
    boot = np.median(km[np.random.default_rng(0).integers(len(km), size=(1000, len(km)))], axis=1)
    return {"median_location_error_km": float(np.median(km)), "median_km_ci95_low": float(np.percentile(boot, 2.5)),
            "median_km_ci95_high": float(np.percentile(boot, 97.5)), "mean_location_error_km": float(np.mean(km)),
            "country_top1": topk_accuracy(out["country"][known], truth[known], 1), "n_images": int(len(images))}


LAYOUT_SIZE = (128, 256)  # (height, width) of world layouts: the shipped layout GAN and SPADE work at this size
CAMVID_SIZE = (128, 160)  # CamVid val at 128 rows, centre-cropped to a multiple of 32 wide


def _layout_data(n: int, data: str, size: tuple[int, int] = LAYOUT_SIZE
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(label maps (N, H, W) uint8, their photos (N, H, W, 3) uint8, depth (N, H, W) or None): world renders of
    random places at `size`, or the first n pairs of CamVid val ('camvid:ROOT') at CAMVID_SIZE."""
    if data.startswith("camvid:"):
        from PIL import Image

        from streetgen.data.paired import LabelPairs
        from streetgen.io.labels import fit_layout

        root = Path(data.split(":", 1)[1]) / "val"
        pairs = LabelPairs(root / "images", root / "labels")
        photos, labels = [], []
        for i in range(min(n, len(pairs))):
            photo, label = pairs[i]
            h, w = CAMVID_SIZE[0], round(photo.shape[1] * CAMVID_SIZE[0] / photo.shape[0])
            left = (w - CAMVID_SIZE[1]) // 2
            im = Image.fromarray(photo).resize((w, h), Image.BILINEAR, reducing_gap=2.0)
            photos.append(np.asarray(im)[:, left:left + CAMVID_SIZE[1]])
            labels.append(fit_layout(np.minimum(label, classes.VOID), CAMVID_SIZE, mode="crop"))
        return np.stack(labels), np.stack(photos), None
    if data != "world":
        raise ValueError(f"layout data must be 'world' or 'camvid:ROOT', got {data!r}")
    rng = np.random.default_rng(JUDGE_EVAL_SEED + 1)
    samples = [world.render(*geo.sample_world(rng), seed=JUDGE_EVAL_SEED * 1000 + k, size=size)
               for k in range(n)]
    return (np.stack([s.labels for s in samples]), np.stack([s.image for s in samples]),
            np.stack([s.depth for s in samples]))


def _segment(segmenter, photos: np.ndarray, batch: int = 64) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.concatenate([segmenter.predict(_to_tensor(photos[i:i + batch])).numpy()
                               for i in range(0, len(photos), batch)])


def spatial_class_features(labels: np.ndarray, grid: tuple[int, int] = (4, 8), num_classes: int = 11) -> np.ndarray:
    """(N, grid_h * grid_w * classes) share of each class in each cell of a coarse grid: where things are, the
    feature behind `layout_frechet_distance` (void pixels count for no class)."""
    n, h, w = labels.shape
    gh, gw = grid
    onehot = (labels[..., None] == np.arange(num_classes)).astype(np.float32)
    cells = onehot[:, : h // gh * gh, : w // gw * gw].reshape(n, gh, h // gh, gw, w // gw, num_classes)
    return cells.mean(axis=(2, 4)).reshape(n, -1)


def unconditional_photos(model, n: int, seed: int = JUDGE_EVAL_SEED, batch: int = 16) -> np.ndarray:
    """n uint8 photos from a class-conditional diffusion model asked for no class (its classifier-free-guidance
    branch, trained on every country): the study's "unconditional generator on photos" row."""
    import torch

    from streetgen.sampling import sample_diffusion

    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch):
        labels = torch.full((min(batch, n - i),), model.null_label, dtype=torch.long)
        x = sample_diffusion(model, labels, generator=g, guidance=1.0)
        out.append((x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8))
    return np.concatenate(out)


def eval_layout(model: str, n: int, segmenter, place_judge, depth_judge=None, data: str = "world",
                painter: str = "", inception_weights: str | None = None,
                size: tuple[int, int] = LAYOUT_SIZE) -> dict:
    """Layout → street measures. `model` is 'world' (the real photos: the reference), a SPADE checkpoint (paints
    the real layouts), a layout-GAN checkpoint (its maps against the real maps, then painted by `painter`), or a
    country diffusion checkpoint sampled without a country (an unconditional photo generator; it makes square
    images, so the world photos are rendered square to match)."""
    import streetgen
    from streetgen.layout_stats import layout_distance
    from streetgen.models.country_diffusion import CountryDiffusion
    from streetgen.models.layout_gan import LayoutGenerator
    from streetgen.models.spade import SpadeGenerator
    from streetgen.pipelines import LayoutPipeline, SpadePipeline

    net = None if model in GENERATORS["layout"] else streetgen.load(model)
    if isinstance(net, CountryDiffusion):
        if data != "world":
            raise ValueError("the unconditional photo row is measured on world photos (the model's training data)")
        size = (net.image_size, net.image_size)
    layouts, real, depth = _layout_data(n, data, size)
    real_feats = judge_outputs(place_judge, real)["features"]
    real_miou = mean_iou(_segment(segmenter, real), layouts)
    out: dict = {"n_images": int(len(layouts)), "data": data, "real_layout_miou": real_miou}
    if data == "world":
        out["size"] = f"{size[0]}x{size[1]}"
    if isinstance(net, CountryDiffusion):
        photos = unconditional_photos(net, len(layouts))
        prefix = "unconditional_"
    elif isinstance(net, LayoutGenerator):
        fake_layouts = np.concatenate([np.stack(LayoutPipeline(net)(n=min(16, n - i), seed=JUDGE_EVAL_SEED + i))
                                       for i in range(0, n, 16)])
        if fake_layouts.shape[1:] != layouts.shape[1:]:  # e.g. CamVid val crops: compare the same field of view
            from streetgen.io.labels import fit_layout

            fake_layouts = np.stack([fit_layout(m, layouts.shape[1:], mode="crop") for m in fake_layouts])
        dist = layout_distance(fake_layouts, layouts)
        out.update({"layout_class_l1": dist["class_l1"], "layout_row_profile_l1": dist["row_profile_l1"],
                    "layout_frechet_distance": frechet_distance(spatial_class_features(fake_layouts),
                                                                spatial_class_features(layouts))})
        painter = painter or ("spade_camvid" if data.startswith("camvid:") else "spade_world")
        spade = SpadePipeline.from_pretrained(painter)
        photos = np.stack([spade(m, seed=k, size=m.shape) for k, m in enumerate(fake_layouts)])
        out["painter"] = painter
        prefix = "two_stage_"
    elif isinstance(net, SpadeGenerator) or model in GENERATORS["layout"]:
        if net is not None:
            spade = SpadePipeline(net)
            photos = np.stack([spade(m, seed=k, size=m.shape) for k, m in enumerate(layouts)])
        else:
            photos = real
        miou = mean_iou(_segment(segmenter, photos), layouts)
        out.update({"layout_miou": miou, "miou_ratio_to_real": miou / real_miou if real_miou > 0 else float("nan")})
        prefix = ""
    else:
        raise ValueError(f"{model!r} is neither 'world', a SPADE, a layout-GAN nor a country diffusion checkpoint")
    feats = judge_outputs(place_judge, photos)["features"]
    out[prefix + "judge_frechet_distance"] = frechet_distance(feats, real_feats)
    out[prefix + "judge_kernel_distance"] = kernel_distance(feats, real_feats)
    if inception_weights:
        fa, fb = inception_features(inception_weights, photos), inception_features(inception_weights, real)
        out[prefix + "inception_fid"] = frechet_distance(fa, fb)
    if depth_judge is not None and depth is not None and not prefix:
        import torch

        from streetgen.models.judges import MAX_DEPTH

        with torch.no_grad():
            d = np.concatenate([depth_judge.predict(_to_tensor(photos[i:i + 64])).numpy()
                                for i in range(0, len(photos), 64)])
        valid = depth < MAX_DEPTH
        out["depth_rmse_m"] = float(np.sqrt(((d - depth)[valid] ** 2).mean()))
        out["depth_abs_rel"] = float((np.abs(d - depth)[valid] / depth[valid]).mean())
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


def _parse_size(text: str, parser: argparse.ArgumentParser) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        if h < 32 or w < 32 or h % 32 or w % 32:
            raise ValueError
    except ValueError:
        parser.error(f"--layout-size must be HxW with multiples of 32 (e.g. 128x256), got {text!r}")
    return h, w


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m streetgen.eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=["country", "map", "layout", "city"])
    p.add_argument("--model", default="world", help="world | world-shuffled | a registered generator")
    p.add_argument("--n", type=int, default=4,
                   help="images per condition (country) / per point (map) / total (layout, city)")
    p.add_argument("--points", type=int, default=100, help="map task: number of requested points")
    p.add_argument("--countries", type=int, default=0, help="country task: only the first N judge countries")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=JUDGE_EVAL_SEED,
                   help="country task: the k-th image of each country comes from seed*1000+k (references unchanged)")
    p.add_argument("--place-judge", default="judges/place")
    p.add_argument("--segmenter", default="judges/seg")
    p.add_argument("--depth-judge", default="judges/depth",
                   help="layout and city tasks: '' to skip the depth errors")
    p.add_argument("--data", default="world", help="layout task: 'world' or 'camvid:ROOT' (CamVid val pairs)")
    p.add_argument("--layout-size", default="128x256", help="layout task, world data: HxW of the layouts "
                                                            "(a country diffusion model sets its own square size)")
    p.add_argument("--painter", default="", help="layout task, layout-GAN models: the SPADE checkpoint that paints "
                                                 "the generated maps (default spade_world, or spade_camvid on CamVid)")
    p.add_argument("--source", default=None, help="city task: source city (models trained on a pair know theirs)")
    p.add_argument("--target", default=None, help="city task: target city (any-city and 'world' need it)")
    p.add_argument("--strength", type=float, default=0.2, help="city task, any-city (diffusion): SDEdit strength")
    p.add_argument("--city-judge", default="judges/city")
    p.add_argument("--frames", type=int, default=0,
                   help="city task: also measure temporal stability on n // FRAMES turning-camera videos")
    p.add_argument("--inception-weights", default="", help="safetensors of torchvision Inception-v3 (optional)")
    p.add_argument("--sample", default="{}", help='country checkpoints: sampler options as JSON, e.g. '
                                                    '\'{"steps": 10, "guidance": 2.0}\'')
    p.add_argument("--device", default="cpu", help="country task: where checkpoints generate (cpu, cuda)")
    p.add_argument("--batch", type=int, default=0, help="country task: requests per model call "
                                                     "(0: 8 on a CPU, 256 on a GPU)")
    p.add_argument("--out", default="")
    p.add_argument("--card", action="store_true", help="also record the command and numbers in the model's card "
                                                       "(local checkpoint folders; every model of an 'A+B' route)")
    args = p.parse_args(argv)
    try:
        options = json.loads(args.sample)
        if not isinstance(options, dict):
            raise ValueError("not an object")
    except ValueError as err:
        p.error(f"--sample must be a JSON object, got {args.sample!r} ({err})")
    if args.batch < 0:
        p.error(f"--batch must be at least 1 (or 0 for the device's default), got {args.batch}")
    import streetgen

    if args.model not in GENERATORS[args.task] and not all(_is_checkpoint(m) for m in args.model.split("+")):
        p.error(f"unknown model {args.model!r} for task {args.task}; available: {', '.join(GENERATORS[args.task])}"
                + {"country": " or a country checkpoint such as 'cvae'",
                   "map": " or a map checkpoint such as 'map_gan'",
                   "layout": " or a SPADE / layout-GAN / country diffusion checkpoint such as 'spade_world'",
                   "city": " or a CycleGAN / pix2pix / country diffusion checkpoint, or 'to_depth+to_photo'"}.get(args.task, ""))
    t0 = time.time()
    if args.task == "city":
        from streetgen.eval_city import eval_city

        try:
            metrics = eval_city(args.model, args.n, args.size, streetgen.load(args.city_judge),
                                streetgen.load(args.segmenter),
                                streetgen.load(args.depth_judge) if args.depth_judge else None,
                                args.source, args.target, args.strength, args.frames)
        except ValueError as err:
            p.error(str(err))
    elif args.task == "layout":
        metrics = eval_layout(args.model, args.n, streetgen.load(args.segmenter), streetgen.load(args.place_judge),
                              streetgen.load(args.depth_judge) if args.depth_judge else None, args.data,
                              args.painter, args.inception_weights or None, _parse_size(args.layout_size, p))
    else:
        judge = streetgen.load(args.place_judge)
        metrics = (eval_country(args.model, args.n, args.size, args.countries or None, judge,
                                args.inception_weights or None, options, args.seed, args.device, args.batch or None)
                   if args.task == "country"
                   else eval_map(args.model, args.points, args.n, args.size, judge))
    metrics["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out or f"runs/eval/{args.task}_{args.model.replace('+', '_')}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps({"task": args.task, "model": args.model, "sample": options,
                                                  **metrics}, indent=2))
    (out / "metrics.md").write_text(to_markdown(args.task, args.model, metrics))
    print(to_markdown(args.task, args.model, metrics))
    if args.card and args.model not in GENERATORS[args.task]:
        from streetgen.hub import default_checkpoints_root
        from streetgen.models.card import add_evaluation

        command = "python -m streetgen.eval " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None
                                                                                   else argv))
        for name in args.model.split("+"):
            # local folders only: a Hub download lives in the shared cache, which is not ours to edit
            folder = next((f for f in (Path(name).expanduser(), default_checkpoints_root() / name)
                           if (f / "config.json").is_file()), None)
            if folder is None:
                print(f"--card: {name} is not a local checkpoint folder; its card is left alone", file=sys.stderr)
            else:
                print(f"recorded in {add_evaluation(folder, command, metrics)}")
    return metrics


if __name__ == "__main__":
    main()
