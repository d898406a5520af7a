"""The Layout tab's API (gradio_client): random layout → canvas, canvas → photo, upload, odd and bad inputs.

Uses the shipped layout_world / layout_camvid and spade_world / spade_camvid checkpoints. The canvas is a
gr.ImageEditor; gradio_client sends it as {"background", "layers", "composite", "id"} with file handles.
"""
from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from streetgen import world
from streetgen.classes import CLASS_NAMES, PALETTE

pytestmark = pytest.mark.slow  # launches the app and runs the shipped models through its API

WORLD, CAMVID = "World (any country style)", "CamVid (real Cambridge photos, non-commercial)"
SKY, BUILDING, ROAD = (CLASS_NAMES.index(c) for c in ("Sky", "Building", "Road"))


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _canvas(path) -> dict:
    return {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path)), "id": None}


def _street_png(tmp_path, name="street.png", mode="RGB") -> str:
    """Sky over building over road, in palette colours (mode RGB) or as class ids (mode L)."""
    ids = np.full((96, 192), SKY, np.uint8)
    ids[30:60], ids[60:] = BUILDING, ROAD
    img = Image.fromarray(PALETTE[ids].astype(np.uint8)) if mode == "RGB" else Image.fromarray(ids, "L")
    path = tmp_path / name
    img.save(path)
    return str(path)


def test_endpoints(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/new_layout", "/layout_to_photo", "/load_layout"} <= set(api)
    assert [p["parameter_name"] for p in api["/layout_to_photo"]["parameters"]] == [
        "editor", "model", "style", "seed", "fill"]


@pytest.mark.parametrize("model", [WORLD, CAMVID])
def test_new_layout_is_seeded_and_in_palette(client, model):
    a = _rgb(client.predict(3, model, api_name="/new_layout")["background"])
    b = _rgb(client.predict(3, model, api_name="/new_layout")["background"])
    c = _rgb(client.predict(4, model, api_name="/new_layout")["background"])
    assert a.shape == (256, 512, 3) and (a == b).all() and (a != c).any()
    colours = {tuple(int(v) for v in px) for px in a.reshape(-1, 3)}
    assert colours <= {tuple(int(v) for v in rgb) for rgb in PALETTE} and len(colours) >= 3


@pytest.mark.parametrize("model", [WORLD, CAMVID])
def test_layout_to_photo_keeps_the_regions_and_follows_the_seed(client, model, tmp_path):
    import torch

    import streetgen

    canvas = _canvas(_street_png(tmp_path))
    used, photo = client.predict(canvas, model, "any", 1, True, api_name="/layout_to_photo")
    _, again = client.predict(canvas, model, "any", 1, True, api_name="/layout_to_photo")
    _, other = client.predict(canvas, model, "any", 2, True, api_name="/layout_to_photo")
    p, q, r = _rgb(photo), _rgb(again), _rgb(other)
    assert p.shape == (256, 512, 3) and (p == q).all() and np.abs(p.astype(int) - r).mean() > 0.5
    u = _rgb(used)
    assert (u[:60] == PALETTE[SKY]).all(axis=-1).mean() > 0.95 and (u[-60:] == PALETTE[ROAD]).all(-1).mean() > 0.95
    small = np.asarray(Image.fromarray(p).resize((256, 128), Image.BICUBIC))
    with torch.no_grad():
        pred = streetgen.load("judges/seg").predict(torch.from_numpy(np.array(small)).permute(2, 0, 1)[None] / 255.0)[0]
    assert (pred[:30] == SKY).float().mean() > 0.7 and (pred[-30:] == ROAD).float().mean() > 0.7


def test_region_style_changes_the_world_photo(client, tmp_path):
    canvas = _canvas(_street_png(tmp_path))
    _, nordic = client.predict(canvas, WORLD, "nordic", 1, True, api_name="/layout_to_photo")
    _, arabic = client.predict(canvas, WORLD, "middle_east_north_africa", 1, True, api_name="/layout_to_photo")
    assert np.abs(_rgb(nordic).astype(int) - _rgb(arabic)).mean() > 1


def test_upload_class_id_png_and_colour_map(client, tmp_path):
    ids = _rgb(client.predict(handle_file(_street_png(tmp_path, "ids.png", "L")), api_name="/load_layout")
               ["background"])
    colours = _rgb(client.predict(handle_file(_street_png(tmp_path)), api_name="/load_layout")["background"])
    assert ids.shape == (256, 512, 3) and (ids == colours).all()
    assert (ids[5, 256] == PALETTE[SKY]).all() and (ids[250, 256] == PALETTE[ROAD]).all()


def test_upload_rgba_and_16_bit(client, tmp_path):
    rgba = np.zeros((64, 128, 4), np.uint8)
    rgba[:32, :, :3], rgba[32:, :, :3] = PALETTE[SKY], PALETTE[ROAD]
    rgba[:, :100, 3] = 255  # the right edge is transparent: void (black on the canvas), not a class
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    out = _rgb(client.predict(handle_file(str(tmp_path / "rgba.png")), api_name="/load_layout")["background"])
    assert (out[60, 40] == PALETTE[SKY]).all() and (out[-60, -10] == PALETTE[-1]).all()
    ids16 = np.full((64, 128), SKY, np.uint16)
    ids16[32:] = ROAD
    Image.fromarray(ids16).save(tmp_path / "ids16.png")
    out16 = _rgb(client.predict(handle_file(str(tmp_path / "ids16.png")), api_name="/load_layout")["background"])
    assert (out16[250, 256] == PALETTE[ROAD]).all()


def test_bad_inputs_give_clear_errors(client, tmp_path):
    white = tmp_path / "white.png"
    Image.new("RGB", (512, 256), "white").save(white)
    with pytest.raises(Exception, match="empty layout"):  # a blank canvas: nothing painted
        client.predict(_canvas(white), WORLD, "any", 0, True, api_name="/layout_to_photo")
    road = tmp_path / "road.png"
    Image.new("RGB", (512, 256), tuple(int(v) for v in PALETTE[ROAD])).save(road)
    with pytest.raises(Exception, match="single-class"):
        client.predict(_canvas(road), WORLD, "any", 0, True, api_name="/layout_to_photo")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(Exception, match="Not a usable layout"):
        client.predict(handle_file(str(bad)), api_name="/load_layout")
    grey = tmp_path / "grey.png"
    Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (64, 1)), "L").save(grey)
    with pytest.raises(Exception, match="Not a usable layout"):  # a grayscale photo names no classes
        client.predict(handle_file(str(grey)), api_name="/load_layout")
    photo = tmp_path / "photo.jpg"  # a colour photo neither: it once snapped into a random layout
    Image.fromarray(world.render(48.86, 2.35, seed=0, size=128).image).save(photo)
    with pytest.raises(Exception, match="looks like a photo"):
        client.predict(handle_file(str(photo)), api_name="/load_layout")
    with pytest.raises(Exception, match="(Unknown model|choices)"):
        client.predict(_canvas(_street_png(tmp_path)), "Picasso", "any", 0, True, api_name="/layout_to_photo")
    with pytest.raises(Exception, match="(Seed|minimum value 0)"):
        client.predict(_canvas(_street_png(tmp_path)), WORLD, "any", -1, True, api_name="/layout_to_photo")
