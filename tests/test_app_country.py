"""The Country tab's API (gradio_client): generate, compare, morph, bad input; uses the shipped checkpoints/cvae."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

MODEL = "CVAE (fast, the study's baseline)"


from conftest import gallery_images as _images  # noqa: E402


def test_endpoints(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/generate_country", "/compare_countries", "/morph_countries"} <= set(api)
    assert [p["parameter_name"] for p in api["/generate_country"]["parameters"]] == ["country", "n", "seed", "model"]


def test_generate_is_deterministic_by_seed(client):
    gen, ref = client.predict("JP", 2, 7, MODEL, api_name="/generate_country")
    again, _ = client.predict("Japan", 2, 7, MODEL, api_name="/generate_country")
    other, _ = client.predict("JP", 2, 8, MODEL, api_name="/generate_country")
    a, b, c = _images(gen), _images(again), _images(other)
    assert len(a) == 2 and a[0].shape == (128, 128, 3)
    assert all((x == y).all() for x, y in zip(a, b))
    assert not (a[0] == c[0]).all()
    assert len(ref) == 2 and "streetgen.world" in ref[0]["caption"]


def test_compare_and_morph(client):
    a, b = client.predict("JP", "IN", 1, 3, MODEL, api_name="/compare_countries")
    assert len(a) == len(b) == 1
    assert np.abs(_images(a)[0].astype(int) - _images(b)[0]).mean() > 0.5  # only the country changed
    gif = client.predict("JP", "IN", 3, MODEL, api_name="/morph_countries")
    im = Image.open(gif)
    assert im.format == "GIF" and im.n_frames >= 16


@pytest.mark.parametrize("args,message", [
    (("Narnia", 1, 0), "unknown country"), (("JP", 0, 0), "(Number of images|choices)"),
    (("JP", 99, 0), "(Number of images|choices)"),
    (("JP", 1, -3), "(Seed|minimum)"),
])
def test_bad_input(client, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, MODEL, api_name="/generate_country")
