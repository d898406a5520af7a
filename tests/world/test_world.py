"""streetgen.world: determinism, exact labels and depth, rendered conventions, families and cities, bad input."""
import numpy as np
import pytest

from streetgen import classes, geo, world
from streetgen.classes import BUILDING, CAR, ROAD, SKY, VOID
from streetgen.world.style import CITY_SPECS



def test_determinism_identical_bytes():
    a = world.render(35.68, 139.77, seed=3, size=(96, 160))
    b = world.render(35.68, 139.77, seed=3, size=(96, 160))
    assert a.image.tobytes() == b.image.tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.meta == b.meta
    c = world.render(35.68, 139.77, seed=4, size=(96, 160))
    assert c.image.tobytes() != a.image.tobytes()


@pytest.mark.parametrize("size", [128, (128, 256), (256, 128), 64])
def test_shapes_and_types(size):
    s = world.render(48.85, 2.35, seed=1, size=size)
    h, w = (size, size) if isinstance(size, int) else size
    assert s.image.shape == (h, w, 3) and s.image.dtype == np.uint8
    assert s.labels.shape == (h, w) and s.labels.dtype == np.uint8
    assert s.depth.shape == (h, w) and s.depth.dtype == np.float32
    assert s.meta["height"] == h and s.meta["width"] == w


@pytest.mark.parametrize("cc,seed", [("FR", 0), ("US", 1), ("JP", 2), ("KE", 3), ("NO", 4), ("IN", 5)])
def test_every_pixel_has_a_class_and_a_depth(cc, seed):
    s = world.render_country(cc, seed, 128)
    assert s.labels.max() <= 11
    assert np.isfinite(s.depth).all() and (s.depth > 0).all()
    # Sky has the far depth, and only sky does.
    assert ((s.labels == SKY) == (s.depth == world.FAR)).all()
    assert (s.labels == SKY).any() and (s.labels == ROAD).any()


@pytest.mark.parametrize("cc,seed", [("FR", 0), ("US", 1), ("JP", 2), ("BR", 7)])
def test_road_depth_is_ground_plane_geometry(cc, seed):
    """Labels and depth come from the same geometry: road depth = camera height × focal / rows below horizon."""
    s = world.render_country(cc, seed, 128)
    m = s.meta
    rows, cols = np.nonzero(s.labels == ROAD)
    expected = m["camera_height_m"] * m["focal_px"] / (rows + 0.5 - m["horizon_row"])
    got = s.depth[rows, cols]
    assert np.allclose(got, expected, rtol=2e-3)
    # ... so road depth grows toward the horizon.
    med = [np.median(s.depth[r][s.labels[r] == ROAD]) for r in range(s.depth.shape[0]) if (s.labels[r] == ROAD).sum() > 3]
    assert all(a >= b for a, b in zip(med, med[1:]))


def _car_share_left(cc: str, n: int = 12) -> float:
    """Fraction of car pixels left of the middle of the road, over n renders (from the label maps only)."""
    left = right = 0
    for seed in range(n):
        lab = world.render_country(cc, seed, 128).labels
        for r in range(lab.shape[0] // 2, lab.shape[0]):
            row = lab[r]
            on_road = np.flatnonzero((row == ROAD) | (row == CAR))
            if len(on_road) < 4:
                continue
            mid = (on_road[0] + on_road[-1]) / 2
            cars = np.flatnonzero(row == CAR)
            left += int((cars < mid).sum())
            right += int((cars > mid).sum())
    assert left + right > 200, "too few cars to judge"
    return left / (left + right)


@pytest.mark.parametrize("cc", ["JP", "GB"])
def test_cars_keep_left_in_left_driving_countries(cc):
    assert _car_share_left(cc) > 0.62


@pytest.mark.parametrize("cc", ["FR", "US"])
def test_cars_keep_right_in_right_driving_countries(cc):
    assert _car_share_left(cc) < 0.38


def _yellow_road_pixels(s) -> int:
    im = s.image.astype(int)
    road = s.labels == ROAD
    return int((road & (im[..., 0] > 150) & (im[..., 1] > 110) & (im[..., 2] < 100) & (im[..., 0] - im[..., 2] > 90)).sum())


def test_yellow_centre_lines_in_the_us_not_in_germany():
    us = [_yellow_road_pixels(world.render_country("US", k, 128)) for k in range(10)]
    de = [_yellow_road_pixels(world.render_country("DE", k, 128)) for k in range(10)]
    assert sum(v > 20 for v in us) >= 5
    assert max(de) == 0


FAMILY_PLACES = {  # a place in each architecture family
    "north_american_suburban": "US", "western_european_urban": "DE", "mediterranean": "GR", "nordic": "SE",
    "east_asian_dense": "JP", "south_southeast_asian": "IN", "middle_east_north_africa": "MA",
    "sub_saharan": "KE", "latin_american": "MX", "eastern_european_panel": "UA", "oceanian": "AU",
}


def test_family_table_covers_all_families():
    assert set(FAMILY_PLACES) == set(world.FAMILIES)
    assert len(world.FAMILIES) >= 10


@pytest.mark.parametrize("family,cc", FAMILY_PLACES.items())
def test_every_architecture_family_renders(family, cc):
    found = False
    for seed in range(4):
        s = world.render_country(cc, seed, 96)
        assert s.meta["region_style"] == family and s.meta["country"] == cc
        found |= bool((s.labels == BUILDING).mean() > 0.02)
    assert found, f"{family}: no buildings in 4 renders"


def test_families_look_different():
    """Mean building colour differs between families (they are not one palette renamed)."""
    means = {}
    for family, cc in FAMILY_PLACES.items():
        px = []
        for seed in range(3):
            s = world.render_country(cc, seed, 96)
            px.append(s.image[s.labels == BUILDING].reshape(-1, 3))
        means[family] = np.concatenate(px).mean(0)
    vals = np.stack(list(means.values()))
    dists = np.linalg.norm(vals[:, None] - vals[None], axis=-1)[np.triu_indices(len(vals), 1)]
    assert np.median(dists) > 12


@pytest.mark.parametrize("city", list(geo.FAMOUS_CITIES))
def test_every_famous_city_renders_its_look(city):
    assert city in CITY_SPECS
    s = world.render_city(city, 0, 96)
    assert s.meta["famous_city"] == city
    assert (s.labels == BUILDING).mean() > 0.05


def test_venice_has_canals_not_cars():
    for seed in range(3):
        s = world.render_city("Venice", seed, 128)
        assert (s.labels == CAR).sum() == 0
        bottom = s.labels[-20:, 40:88]
        assert (bottom == VOID).mean() > 0.5  # water fills the middle of the view


def test_manhattan_has_yellow_cabs():
    yellow_cars = 0
    for seed in range(6):
        s = world.render_city("Manhattan", seed, 128)
        im = s.image.astype(int)
        yellow_cars += int(((s.labels == CAR) & (im[..., 0] > 150) & (im[..., 2] < 90)).sum())
    assert yellow_cars > 30


def test_snow_at_high_latitude_never_in_the_tropics():
    north = [world.render(69.65, 18.96, seed=k, size=64).meta["snow"] for k in range(12)]  # Tromsø
    tropics = [world.render(1.35, 103.82, seed=k, size=64).meta["snow"] for k in range(12)]  # Singapore
    assert sum(north) >= 3 and not any(tropics)


def test_city_centre_is_denser_than_countryside():
    def built(lat, lon):
        return np.mean([(world.render(lat, lon, seed=k, size=96).labels == BUILDING).mean() for k in range(4)])

    assert built(48.8566, 2.3522) > built(46.3, 2.0) + 0.1


def test_climate_changes_vegetation_and_ground():
    desert = world.render(24.0, 45.0, seed=1, size=96)  # Saudi interior
    assert desert.meta["climate"] == "arid"
    green = world.render(52.0, 5.5, seed=1, size=96)  # Netherlands
    assert green.meta["climate"] == "temperate"
    assert desert.meta["land_cover"] != green.meta["land_cover"] or desert.meta["region_style"] != green.meta["region_style"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(lat=float("nan"), lon=0.0), "finite"), (dict(lat=91.0, lon=0.0), "latitude"),
    (dict(lat=0.0, lon=200.0), "longitude"), (dict(lat=0.0, lon=0.0, size=(0, 10)), "size"),
    (dict(lat=0.0, lon=0.0, size="big"), "size"), (dict(lat=0.0, lon=0.0, size=100000), "size"),
    (dict(lat=0.0, lon=0.0, seed=-1), "seed"), (dict(lat=0.0, lon=0.0, seed=1.5), "seed"),
    (dict(lat=0.0, lon=0.0, famous_city="Atlantis"), "famous city"),
])
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        world.render(**kwargs)


def test_bad_country_and_city():
    with pytest.raises(ValueError, match="unknown country"):
        world.render_country("Narnia")
    with pytest.raises(ValueError, match="famous city"):
        world.render_city("Gotham")


def test_colorize():
    s = world.render(41.9, 12.5, seed=0, size=64)
    lab = classes.colorize_labels(s.labels)
    assert lab.shape == (64, 64, 3)
    palette = {tuple(c) for c in classes.PALETTE}
    assert {tuple(c) for c in lab.reshape(-1, 3)} <= palette
    dep = world.colorize_depth(s.depth)
    assert dep.shape == (64, 64, 3) and dep.dtype == np.uint8
    near = s.depth.argmin()
    far = s.depth.argmax()
    assert dep.reshape(-1, 3)[near].sum() > dep.reshape(-1, 3)[far].sum()  # near is bright, far is dark


def test_meta_is_plain_json():
    import json

    for s in (world.render_country("NA", 0, 48), world.render_city("Venice", 1, 48)):
        assert json.loads(json.dumps(s.meta)) == s.meta  # plain Python types only


def test_render_place_accepts_cities_and_countries():
    assert world.render_place("venice", 0, 48).meta["famous_city"] == "Venice"
    assert world.render_place("Kenya", 0, 48).meta["country"] == "KE"
    with pytest.raises(ValueError, match="unknown country"):
        world.render_place("Gotham", 0, 48)


def test_every_renderable_country_samples_and_renders():
    """All 244 countries with a populated place (some list population 0) can be sampled and rendered."""
    same = [world.render_country(c.iso2, 0, 32).meta["country"] == c.iso2 for c in geo.renderable_countries()]
    assert all(same)
