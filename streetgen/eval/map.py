"""`--task map`: judged location error of images generated for requested points."""
from __future__ import annotations

import numpy as np

from streetgen import geo, world
from streetgen.eval.common import (GENERATORS, JUDGE_EVAL_SEED, SHEET_EXAMPLES, examples_wanted, judge_outputs,
                                   keep_examples)
from streetgen.metrics import topk_accuracy


def _world_map(seed: int):
    """Real renders of the requested point."""
    return lambda lat, lon, k, size: world.render(lat, lon, seed * 1000 + k, size).image


GENERATORS["map"].update({"world": _world_map})


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
    if examples_wanted():  # a world render of each shown point (another seed) as its reference
        shown = [i for i, (_, _, k) in enumerate(requests) if k == 0][:SHEET_EXAMPLES]
        keep_examples({"generated": images[shown],
                       "reference (world render)": [world.render(*requests[i][:2], JUDGE_EVAL_SEED * 1000 + 500,
                                                                 size).image for i in shown]},
                      [f"{requests[i][0]:.1f}, {requests[i][1]:.1f}" for i in shown])
    # a 95% bootstrap interval of the median: model comparisons (e.g. ablations) need to know what is noise
    boot = np.median(km[np.random.default_rng(0).integers(len(km), size=(1000, len(km)))], axis=1)
    return {"median_location_error_km": float(np.median(km)), "median_km_ci95_low": float(np.percentile(boot, 2.5)),
            "median_km_ci95_high": float(np.percentile(boot, 97.5)), "mean_location_error_km": float(np.mean(km)),
            "country_top1": topk_accuracy(out["country"][known], truth[known], 1), "n_images": int(len(images))}
