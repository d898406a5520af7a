"""One seed rule for every seeded entry point: whole numbers from 0 to MAX_SEED, refused with the same message
otherwise (a too-large seed used to surface as torch's "Overflow when unpacking long long")."""
import numpy as np
import pytest
import torch

from streetgen import world
from streetgen.pipelines import CountryPipeline, LayoutPipeline, MapPipeline, SpadePipeline
from streetgen.pipelines.city import AnyCityPipeline, LayoutRoutePipeline
from streetgen.validate import MAX_SEED, check_seed

RULE = "seed must be a whole number from 0 to"


@pytest.mark.parametrize("bad", [-1, 1.5, True, MAX_SEED + 1, 2**70, "3", None, float("nan")])
def test_check_seed_refuses(bad):
    with pytest.raises(ValueError, match=RULE):
        check_seed(bad)


def test_check_seed_takes_the_whole_range():
    assert check_seed(0) == 0 and check_seed(np.int64(7)) == 7 and check_seed(MAX_SEED) == MAX_SEED
    torch.Generator().manual_seed(MAX_SEED)  # the bound is one torch and numpy accept
    np.random.default_rng([MAX_SEED, 1, 2])


@pytest.fixture(scope="module")
def pipelines():
    return {"country": CountryPipeline.from_pretrained("cvae"), "map": MapPipeline.from_pretrained("map_gan"),
            "layout": LayoutPipeline.from_pretrained("layout_world"),
            "spade": SpadePipeline.from_pretrained("spade_world"),
            "route": LayoutRoutePipeline.from_pretrained("street_segmenter", "spade_cities"),
            "any_city": AnyCityPipeline.from_pretrained("country_diffusion")}


@pytest.mark.parametrize("entry", ["world", "country", "morph", "map", "journey", "layout", "spade", "route",
                                   "any_city"])
@pytest.mark.slow
@pytest.mark.parametrize("seed", [2**64, -1])
def test_every_seeded_entry_point_follows_the_rule(pipelines, entry, seed):
    photo = np.zeros((64, 64, 3), np.uint8)
    calls = {"world": lambda: world.render(10.0, 20.0, seed=seed, size=64),
             "country": lambda: pipelines["country"]("JP", n=1, seed=seed),
             "morph": lambda: pipelines["country"].morph("JP", "NO", frames=2, seed=seed),
             "map": lambda: pipelines["map"](10.0, 20.0, n=1, seed=seed),
             "journey": lambda: pipelines["map"].journey((0.0, 0.0), (10.0, 10.0), frames=2, seed=seed),
             "layout": lambda: pipelines["layout"](n=1, seed=seed),
             "spade": lambda: pipelines["spade"](np.zeros((32, 64), np.uint8), seed=seed),
             "route": lambda: pipelines["route"](photo, "Venice", seed=seed),
             "any_city": lambda: pipelines["any_city"](photo, "Venice", seed=seed)}
    with pytest.raises(ValueError, match=RULE):
        calls[entry]()
