"""The Map tab's API (gradio_client): click → place, generate at a point, sea handling, journey, bad input.

Uses the shipped checkpoints/map_gan. The map's `.select` event cannot be called from gradio_client, so the same
logic is exposed as `/map_click` (pixel → place) and `/describe_place`.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import gallery_images as _images
from streetgen import mapview

pytestmark = pytest.mark.slow  # launches the app and runs the shipped models through its API


def test_endpoints(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/generate_map", "/map_journey", "/map_click", "/describe_place"} <= set(api)
    assert [p["parameter_name"] for p in api["/generate_map"]["parameters"]] == ["lat", "lon", "n", "seed"]


def test_click_on_japan_names_japan(client):
    x, y = mapview.latlon_to_pixel(35.68, 139.77)
    info = client.predict(x, y, api_name="/map_click")
    assert info["is_land"] and info["country"] == "JP" and abs(info["lat"] - 35.68) < 0.2


def test_generate_at_a_point_is_deterministic_and_place_dependent(client):
    gen, ref, text, marked = client.predict(-1.2864, 36.8172, 2, 5, api_name="/generate_map")
    again, _, _, _ = client.predict(-1.2864, 36.8172, 2, 5, api_name="/generate_map")
    oslo, _, oslo_text, _ = client.predict(59.9139, 10.7522, 2, 5, api_name="/generate_map")
    a, b, c = _images(gen), _images(again), _images(oslo)
    assert len(a) == 2 and a[0].ndim == 3 and all((u == v).all() for u, v in zip(a, b))
    assert np.abs(a[0].astype(int) - c[0]).mean() > 2  # same seed, another place: another image
    assert "Kenya" in text and "Norway" in oslo_text and len(ref) == 1
    assert Image.open(marked).size == mapview.MAP_SIZE


def test_sea_says_so_and_offers_the_coast(client):
    gen, ref, text, _ = client.predict(30.0, -40.0, 2, 0, api_name="/generate_map")
    assert gen == [] and ref == [] and "sea" in text and "Nearest coast" in text
    info = client.predict(30.0, -40.0, api_name="/describe_place")
    assert not info["is_land"] and info["nearest_land"] is not None and 0 < info["nearest_land_km"] < 2000


def test_journey_gif(client):
    gif, marked = client.predict(48.8566, 2.3522, 35.6812, 139.7671, 1, api_name="/map_journey")
    im = Image.open(gif)
    assert im.format == "GIF" and im.n_frames >= 16


@pytest.mark.parametrize("args,message", [  # the widgets' own range checks answer first, with clear messages
    ((95.0, 0.0, 1, 0), "(latitude|maximum value 90)"), ((0.0, 200.0, 1, 0), "(longitude|maximum value 180)"),
    ((35.0, 139.0, 0, 0), "(Number of images|choices)"), ((35.0, 139.0, 1, -1), "(Seed|minimum value 0)"),
])
def test_bad_input(client, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/generate_map")


def test_bad_coordinates_through_the_typed_api(client):
    with pytest.raises(Exception, match="latitude"):
        client.predict(95.0, 0.0, api_name="/describe_place")


def test_click_outside_the_map(client):
    with pytest.raises(Exception, match="outside"):
        client.predict(5000.0, 10.0, api_name="/map_click")
