"""`--task country`: judge images generated for each country against world renders of it."""
from __future__ import annotations

import numpy as np

from streetgen import geo, world
from streetgen.eval.common import GENERATORS, JUDGE_EVAL_SEED, judge_outputs, keep_examples
from streetgen.metrics import diversity, frechet_distance, kernel_distance, topk_accuracy


def _world_country(seed: int):
    """Real renders of the requested country: the reference every generator is compared with."""
    return lambda country, k, size: world.render_country(country, seed * 1000 + k, size).image


def _world_shuffled(seed: int):
    """Real renders of a random country: the sanity floor (conditions shuffled → chance)."""
    rng = np.random.default_rng(seed)
    pool = [c.iso2 for c in geo.renderable_countries()]
    return lambda country, k, size: world.render_country(pool[rng.integers(len(pool))], seed * 1000 + k, size).image


GENERATORS["country"].update({"world": _world_country, "world-shuffled": _world_shuffled})


def _country_requests(judge, per: int, limit: int | None) -> list[tuple[str, int]]:
    countries = judge.countries[:limit] if limit else judge.countries
    return [(c, k) for c in countries for k in range(per)]


def _reference(requests, size: int) -> np.ndarray:
    """Real renders for the requests (different seeds from the candidates) — the Fréchet reference set."""
    return np.stack([world.render_country(c, JUDGE_EVAL_SEED * 1000 + 500 + k, size).image for c, k in requests])


def default_country_batch(device: str) -> int:
    """Requests per model call when --batch is not given: 8 on a CPU (larger batches leave its caches), 256 on a GPU
    (the largest that fits). Measured with `python bench/country_eval_throughput.py`; see docs/results.md."""
    return 8 if str(device).startswith("cpu") else 256


def checkpoint_country_generator(name: str, options: dict | None = None, device: str = "cpu",
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
    `device`, `batch` requests per call (None: `default_country_batch`); standard FID features are computed there
    too."""
    if model in GENERATORS["country"]:
        one, known = GENERATORS["country"][model](seed), None

        def gen(reqs):
            return [one(c, k, size) for c, k in reqs]
    else:
        factory, known = checkpoint_country_generator(model, options, device, batch)
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
        from streetgen.eval.fid import fid_kid

        extra = fid_kid(inception_weights, images, ref_images, device)
    shown = [i for i, (_, k) in enumerate(requests) if k == 0]  # the first image of a few countries
    keep_examples({"generated": images[shown], "reference (world render)": ref_images[shown]},
                  [requests[i][0] for i in shown])
    return {**extra, "country_top1": topk_accuracy(out["country"], target, 1),
            "country_top5": topk_accuracy(out["country"], target, 5), "country_top1_per_seed": per_seed,
            "judge_frechet_distance": frechet_distance(feats, ref), "judge_kernel_distance": kernel_distance(feats, ref),
            "diversity_within_country": float(np.mean(per_cond)), "n_images": int(len(images)),
            "n_countries": int(len(np.unique(target))), "chance_top1": 1.0 / len(place_judge.countries)}
