"""streetgen.mapview: the committed world map, click pixel <-> (lat, lon), snapping to land, markers and paths."""
import math

import numpy as np
import pytest
from PIL import Image

from streetgen import geo, mapview

W, H = mapview.MAP_SIZE
PARIS, TOKYO = (48.8566, 2.3522), (35.6812, 139.7671)


def _rgb_at(img: Image.Image, lat: float, lon: float) -> np.ndarray:
    x, y = mapview.latlon_to_pixel(lat, lon, img.size)
    return np.asarray(img)[round(y), round(x)].astype(int)


def _looks_like_sea(rgb: np.ndarray) -> bool:
    # The shaded relief paints oceans clearly blue; land is green, beige, brown or white.
    return bool(rgb[2] > rgb[0] + 30 and rgb[2] > rgb[1])


def test_asset_size_and_mode():
    img = mapview.world_map()
    assert img.size == (1440, 720) and img.mode == "RGB"
    img.putpixel((0, 0), (1, 2, 3))  # a copy: drawing on it must not touch the cached map
    assert mapview.world_map().getpixel((0, 0)) != (1, 2, 3)


@pytest.mark.parametrize("x,y,lat,lon", [
    (-0.5, -0.5, 90.0, -180.0), (W - 0.5, H - 0.5, -90.0, 180.0),
    (0, 0, 90 - 0.125, -180 + 0.125), (W - 1, H - 1, -90 + 0.125, 180 - 0.125),
    (W / 2 - 0.5, H / 2 - 0.5, 0.0, 0.0),
])
def test_pixel_latlon_known_points(x, y, lat, lon):
    assert mapview.pixel_to_latlon(x, y) == pytest.approx((lat, lon), abs=1e-9)
    assert mapview.latlon_to_pixel(lat, lon) == pytest.approx((x, y), abs=1e-9)


@pytest.mark.parametrize("x,y", [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1), (719, 359), (720, 360),
                                 (W - 1, 300), (0, 300), (123.25, 456.75)])
def test_pixel_round_trip(x, y):
    assert mapview.latlon_to_pixel(*mapview.pixel_to_latlon(x, y)) == pytest.approx((x, y), abs=1e-9)


def test_antimeridian_pixels_are_on_opposite_edges():
    assert mapview.latlon_to_pixel(10.0, 179.99)[0] > W - 1
    assert mapview.latlon_to_pixel(10.0, -179.99)[0] < 0
    assert mapview.pixel_to_latlon(W - 1, 100)[1] == pytest.approx(179.875)


def test_other_map_sizes():
    assert mapview.pixel_to_latlon(0, 0, size=(360, 180)) == pytest.approx((89.5, -179.5))
    assert mapview.latlon_to_pixel(0.0, 0.0, size=(360, 180)) == pytest.approx((179.5, 89.5))


@pytest.mark.parametrize("x,y", [(-1, 0), (0, -1), (W, 0), (0, H), (float("nan"), 0), (0, float("inf")),
                                 ("a", 0), (None, 3)])
def test_pixel_outside_map_is_a_clear_error(x, y):
    with pytest.raises(ValueError, match="pixel"):
        mapview.pixel_to_latlon(x, y)


@pytest.mark.parametrize("lat,lon", [(91, 0), (-90.5, 0), (0, 181), (0, -180.1), (float("nan"), 0), ("x", 1)])
def test_bad_coordinates_are_clear_errors(lat, lon):
    with pytest.raises(ValueError, match="latitude|longitude|coordinates"):
        mapview.latlon_to_pixel(lat, lon)
    with pytest.raises(ValueError, match="latitude|longitude|coordinates"):
        mapview.nearest_land(lat, lon)
    with pytest.raises(ValueError, match="latitude|longitude|coordinates"):
        mapview.draw_markers([(lat, lon)])


def test_bad_map_size_and_distance():
    with pytest.raises(ValueError, match="size"):
        mapview.pixel_to_latlon(0, 0, size=(0, 10))
    with pytest.raises(ValueError, match="max_km"):
        mapview.nearest_land(30.0, -40.0, max_km=-1)


def test_known_places_fall_on_the_right_pixels():
    img = mapview.world_map()
    for lat, lon in [PARIS, (23.5, 12.0), (-15.0, -55.0), (62.0, 95.0), (-25.0, 134.0)]:
        assert not _looks_like_sea(_rgb_at(img, lat, lon)), (lat, lon)
        x, y = mapview.latlon_to_pixel(lat, lon)
        assert geo.is_land(*mapview.pixel_to_latlon(round(x), round(y)))
    for lat, lon in [(30.0, -40.0), (0.0, -140.0), (-40.0, 80.0), (20.0, 65.0)]:
        assert _looks_like_sea(_rgb_at(img, lat, lon)), (lat, lon)


def test_map_agrees_with_the_land_mask():
    """Pixels well inside land (resp. sea) of streetgen.geo's mask are drawn as land (resp. sea)."""
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-60, 70, 4000), rng.uniform(-180, 180, 4000)
    arr = np.asarray(mapview.world_map()).astype(int)
    x, y = (lon + 180) / 360 * W - 0.5, (90 - lat) / 180 * H - 0.5  # latlon_to_pixel, vectorised
    rgb = arr[np.clip(np.round(y).astype(int), 0, H - 1), np.clip(np.round(x).astype(int), 0, W - 1)]
    sea_colour = (rgb[:, 2] > rgb[:, 0] + 30) & (rgb[:, 2] > rgb[:, 1])
    # "Well inside": the mask agrees on a ring ~60 km around the point, so coastlines and borders don't count.
    ring = [(dlat, dlon) for dlat in (-0.6, 0, 0.6) for dlon in (-0.6, 0, 0.6)]
    probes = np.stack([geo.is_land(lat + a, np.clip(lon + b, -180, 180)) for a, b in ring])
    inland, offshore = probes.all(axis=0), (~probes).all(axis=0)
    assert inland.sum() > 500 and offshore.sum() > 1500
    assert sea_colour[inland].mean() < 0.02
    assert sea_colour[offshore].mean() > 0.98


def test_nearest_land_moves_a_sea_point_onto_land():
    lat, lon = mapview.nearest_land(30.0, -40.0)
    assert geo.is_land(lat, lon)
    d = float(geo.haversine_km(30.0, -40.0, lat, lon))
    assert 1000 < d < 1600  # the Azores, ~1,300 km away, are the closest land
    assert 34 < lat < 41 and -32 < lon < -24


def test_nearest_land_keeps_land_points_and_respects_max_km():
    assert mapview.nearest_land(23.5, 12.0) == (23.5, 12.0)  # Sahara
    assert mapview.nearest_land(*PARIS) == PARIS
    assert mapview.nearest_land(30.0, -40.0, max_km=500) is None
    # English Channel: a short hop to France or England.
    lat, lon = mapview.nearest_land(50.3, -0.5)
    assert geo.is_land(lat, lon) and float(geo.haversine_km(50.3, -0.5, lat, lon)) < 80


def test_nearest_land_is_the_true_nearest_cell():
    """Against brute force over every land cell of the mask in the latitude band that could hold a closer one."""
    mask = geo.land_mask()
    h, w = mask.shape
    for q in [(-40.0, 175.0), (10.0, 179.9), (70.0, -170.0), (-60.0, -30.0), (5.0, -25.0)]:
        got = mapview.nearest_land(*q, max_km=20000)
        d_got = float(geo.haversine_km(*q, *got))
        reach = d_got / 111.0 + 0.2  # degrees of latitude: no closer land can lie outside this band
        r0, r1 = (max(0, int((90 - q[0] - reach) * h / 180)), min(h, int((90 - q[0] + reach) * h / 180) + 1))
        rows, cols = np.nonzero(mask[r0:r1])
        lat = 90 - (rows + r0 + 0.5) * 180 / h
        lon = (cols + 0.5) * 360 / w - 180
        d_brute = float(np.min(geo.haversine_km(*q, lat, lon)))
        assert d_got == pytest.approx(d_brute, abs=1e-6), (q, d_got, d_brute)


def test_draw_markers_changes_only_pixels_near_the_marker():
    base = mapview.world_map()
    out = mapview.draw_markers([PARIS])
    assert out.size == base.size and out.mode == "RGB"
    a, b = np.asarray(base).astype(int), np.asarray(out).astype(int)
    x, y = (round(v) for v in mapview.latlon_to_pixel(*PARIS))
    changed = np.abs(a - b).sum(axis=2) > 0
    assert changed[y - 8:y + 9, x - 8:x + 9].mean() > 0.5
    ys, xs = np.nonzero(changed)
    assert np.hypot(xs - x, ys - y).max() < 30  # nothing drawn away from the marker
    assert tuple(b[y, x + 10]) != tuple(a[y, x + 10]) and b[y, x + 10][0] > 150  # the red fill or white ring


def test_draw_markers_on_a_custom_base():
    base = Image.new("RGB", (360, 180), (0, 0, 255))
    out = mapview.draw_markers([(0.0, 0.0)], base=base)
    assert out.size == (360, 180) and base.getpixel((180, 90)) == (0, 0, 255)  # base left untouched
    assert out.getpixel((179, 89)) != (0, 0, 255) and out.getpixel((10, 10)) == (0, 0, 255)


def test_path_between_paris_and_tokyo_goes_over_the_arctic_side():
    base = np.asarray(mapview.world_map()).astype(int)
    plain = np.asarray(mapview.draw_markers([PARIS, TOKYO])).astype(int)
    path = np.asarray(mapview.draw_markers([PARIS, TOKYO], path_between=True)).astype(int)
    arc = mapview.great_circle(*PARIS, *TOKYO)
    assert arc[:, 0].max() > 60  # the great circle swings far north of both cities
    diff = np.abs(path - plain).sum(axis=2) > 0
    mid_lat, mid_lon = arc[50]
    x, y = (round(v) for v in mapview.latlon_to_pixel(mid_lat, mid_lon))
    assert diff[y - 2:y + 3, x - 2:x + 3].any()
    # ...and not along the straight pixel line between them (the rhumb-ish route through Central Asia).
    x, y = (round(v) for v in mapview.latlon_to_pixel((PARIS[0] + TOKYO[0]) / 2, (PARIS[1] + TOKYO[1]) / 2))
    assert not diff[y - 5:y + 6, x - 5:x + 6].any()
    assert (np.abs(plain - base).sum(axis=2) > 0).sum() < diff.sum()  # the path adds more than the markers


def test_path_across_the_antimeridian_is_split_not_drawn_across_the_map():
    out = np.asarray(mapview.draw_markers([(55.0, 170.0), (55.0, -160.0)], path_between=True)).astype(int)
    changed = np.abs(out - np.asarray(mapview.world_map()).astype(int)).sum(axis=2) > 0
    y = round(mapview.latlon_to_pixel(55.8, 0)[1])
    row = changed[y - 3:y + 4].any(axis=0)
    assert row[W - 3:].any() and row[:3].any()  # reaches both edges
    assert not row[200:1200].any()  # but never crosses the middle of the map


def test_great_circle_endpoints_and_antipodes():
    arc = mapview.great_circle(*PARIS, *TOKYO, n=100)
    assert arc.shape == (100, 2)
    assert arc[0] == pytest.approx(PARIS) and arc[-1] == pytest.approx(TOKYO)
    steps = geo.haversine_km(arc[:-1, 0], arc[:-1, 1], arc[1:, 0], arc[1:, 1])
    assert np.ptp(steps) < 1e-6 * steps.max() + 1e-6  # evenly spaced along the arc
    anti = mapview.great_circle(10.0, 20.0, -10.0, -160.0, n=11)
    assert np.all(np.isfinite(anti)) and anti[-1] == pytest.approx((-10.0, -160.0), abs=1e-6)
    assert float(geo.haversine_km(*anti[5], 10.0, 20.0)) == pytest.approx(math.pi / 2 * geo.EARTH_RADIUS_KM, rel=1e-6)


@pytest.mark.slow
def test_mapview_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, streetgen.mapview as m; m.draw_markers([(1.0, 2.0)], path_between=False); "
            "m.nearest_land(30.0, -40.0); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_describe_place_on_land_at_sea_and_off_the_earth():
    """What the Map tab shows about a point, as plain data: country and nearest city; at sea the nearest coast."""
    paris = mapview.describe_place(*PARIS)
    assert paris["is_land"] and paris["country"] == "FR" and paris["lat"] == 48.8566 and "nearest_land" not in paris
    sea = mapview.describe_place(30.0, -40.0)
    coast = sea["nearest_land"]
    assert not sea["is_land"] and geo.is_land(*coast)
    assert sea["nearest_land_km"] == pytest.approx(float(geo.haversine_km(30.0, -40.0, *coast)), abs=0.1)
    with pytest.raises(ValueError, match="latitude"):
        mapview.describe_place(95.0, 0.0)
