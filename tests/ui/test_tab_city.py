"""The City tab's API (gradio_client): example renders, the three routes (shipped checkpoints), the depth map of the
depth route, frames, odd uploads and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

pytestmark = pytest.mark.slow  # launches the app and runs the shipped models through its API

CYCLE, DEPTH, ANY = "CycleGAN: Paris → Venice", "Depth route: Paris depth → Venice photo", \
    "Any city or country (diffusion)"
LAYOUT = "Layout route: any photo → a famous city (segment, then paint)"


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def paris(client) -> str:
    return client.predict("Paris", 3, api_name="/city_example")


def test_endpoints(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/translate_city", "/city_example", "/translate_city_frames", "/city_pan_example"} <= set(api)
    assert [p["parameter_name"] for p in api["/translate_city"]["parameters"]] == [
        "photo", "method", "target", "strength", "seed"]


def test_example_is_a_world_render(client, paris):
    img = _rgb(paris)
    assert img.shape == (256, 256, 3) and img.std() > 10
    assert (_rgb(client.predict("Paris", 3, api_name="/city_example")) == img).all()


@pytest.mark.parametrize("method", [CYCLE, "CycleGAN: Venice → Paris", "CycleGAN: Manhattan → Paris",
                                    "CycleGAN: Paris → Manhattan"])
def test_cyclegan_keeps_size_and_scene(client, paris, method):
    out, depth, depth_file, note = client.predict(handle_file(paris), method, "Venice", 0.2, 0,
                                                  api_name="/translate_city")
    a, b = _rgb(out), _rgb(paris)
    assert a.shape == b.shape and depth is None and depth_file is None and "256×256" in note
    assert 0 < np.abs(a.astype(int) - b).mean() < 60  # changed, but the same scene


def test_depth_route_shows_the_depth(client, paris):
    out, depth, depth_file, note = client.predict(handle_file(paris), DEPTH, "Venice", 0.2, 0,
                                                  api_name="/translate_city")
    assert _rgb(out).shape == (256, 256, 3) and _rgb(depth).shape == (256, 256, 3)
    metres = np.load(depth_file)
    assert metres.shape == (256, 256) and metres.dtype == np.float32
    assert metres[-10:].mean() < metres[:10].mean()  # the road at the bottom is nearer than the sky at the top


def test_layout_route_shows_the_layout(client, paris):
    """The layout route paints the map it shows: the class-id PNG and its colours agree, the road stays where the
    photo's road is, and a target the painter does not know (a country) is refused by name."""
    from streetgen import classes

    out, shown, ids_file, note = client.predict(handle_file(paris), LAYOUT, "Tokyo", 0.2, 0,
                                                api_name="/translate_city")
    ids = np.asarray(Image.open(ids_file))
    assert _rgb(out).shape == (256, 256, 3) and ids.shape == (256, 256) and ids.max() <= 10
    assert (_rgb(shown) == classes.colorize_labels(ids)).all() and "toward Tokyo" in note
    road = classes.CLASS_NAMES.index("Road")
    assert (ids[-32:] == road).mean() > 0.5  # the street in front of the camera is read as road
    other, _, _, _ = client.predict(handle_file(paris), LAYOUT, "Cairo", 0.2, 0, api_name="/translate_city")
    assert np.abs(_rgb(other).astype(int) - _rgb(out)).mean() > 5  # another city, another painting
    with pytest.raises(Exception, match="paints"):
        client.predict(handle_file(paris), LAYOUT, "Japan", 0.2, 0, api_name="/translate_city")


def test_any_city_strength(client, paris):
    low, _, _, note = client.predict(handle_file(paris), ANY, "Venice", 0.1, 0, api_name="/translate_city")
    high, _, _, _ = client.predict(handle_file(paris), ANY, "Venice", 0.5, 0, api_name="/translate_city")
    src = _rgb(paris).astype(int)
    assert _rgb(low).shape == (256, 256, 3) and "Venice" in note
    assert np.abs(_rgb(low) - src).mean() < np.abs(_rgb(high) - src).mean()


def test_odd_uploads_are_converted_with_a_note(client, paris, tmp_path):
    big = tmp_path / "big.png"
    Image.open(paris).convert("RGBA").resize((1600, 900)).save(big)
    out, _, _, note = client.predict(handle_file(str(big)), CYCLE, "Venice", 0.2, 0, api_name="/translate_city")
    assert _rgb(out).shape == (288, 512, 3) and "resized from 1600×900" in note
    gray = tmp_path / "gray16.png"
    Image.fromarray((np.asarray(Image.open(paris).convert("L")).astype(np.uint16) * 257)).save(gray)
    out, _, _, note = client.predict(handle_file(str(gray)), CYCLE, "Venice", 0.2, 0, api_name="/translate_city")
    assert _rgb(out).shape == (256, 256, 3) and "converted" in note


def test_frames_gif(client, paris, tmp_path):
    base = np.asarray(Image.open(paris).convert("RGB"))
    frames = [Image.fromarray(np.roll(base, k, axis=1)) for k in (0, 4, 8)]
    gif = tmp_path / "walk.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    out = client.predict(handle_file(str(gif)), CYCLE, "Venice", 0.2, 0, True, api_name="/translate_city_frames")
    im = Image.open(out)
    assert im.format == "GIF" and im.n_frames == 3 and im.size == (256, 256)


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB"), np.float32))
    return frames


def test_world_pan_example_translated_steady_and_raw(client):
    """The example GIF is a 16-frame turning-camera video; the steady option changes successive frames less than
    the raw translation does (the texture follows the pan instead of being re-invented every frame)."""
    pan = client.predict("Paris", 2, api_name="/city_pan_example")
    frames = _gif_frames(pan)
    assert len(frames) == 16 and frames[0].shape == (256, 256, 3)
    assert np.abs(frames[1] - frames[0]).mean() > 1  # the camera moved
    steady = _gif_frames(client.predict(handle_file(pan), CYCLE, "Venice", 0.2, 0, True,
                                        api_name="/translate_city_frames"))
    raw = _gif_frames(client.predict(handle_file(pan), CYCLE, "Venice", 0.2, 0, False,
                                     api_name="/translate_city_frames"))
    change = [np.mean([np.abs(v[k + 1] - v[k]).mean() for k in range(15)]) for v in (steady, raw)]
    assert len(steady) == 16 and change[0] < 0.9 * change[1]
    with pytest.raises(Exception, match="(Unknown city|not in the list of choices)"):  # gradio or ours: clear
        client.predict("Atlantis", 0, api_name="/city_pan_example")


def test_bad_input(client, paris, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(Exception):  # Gradio's own upload check or ours: either way a clear failure, no crash
        client.predict(handle_file(str(broken)), CYCLE, "Venice", 0.2, 0, api_name="/translate_city")
    with pytest.raises(Exception, match="(Cannot translate|Atlantis)"):
        client.predict(handle_file(paris), ANY, "Atlantis", 0.2, 0, api_name="/translate_city")
    with pytest.raises(Exception, match="(Unknown method|choices)"):
        client.predict(handle_file(paris), "Teleport", "Venice", 0.2, 0, api_name="/translate_city")
    with pytest.raises(Exception, match="(Seed|minimum value 0)"):
        client.predict(handle_file(paris), CYCLE, "Venice", 0.2, -1, api_name="/translate_city")
    with pytest.raises(Exception, match="(unknown famous city|choices)"):
        client.predict("Atlantis", 0, api_name="/city_example")


def test_panorama_through_its_cube_faces(client):
    """A world panorama through the depth route: a 2:1 panorama back, with a depth panorama whose ground ring (bottom)
    is nearer than the sky (top); a photo that is not 2:1 gets a clear error."""
    from gradio_client.exceptions import AppError

    pano = client.predict("Venice", 1, api_name="/city_panorama_example")
    assert _rgb(pano).shape == (256, 512, 3)
    out, depth, note = client.predict(handle_file(pano), DEPTH, "Venice", 0.2, 0, api_name="/translate_city_panorama")
    a, d = _rgb(out), np.asarray(Image.open(depth).convert("L"), dtype=float)
    assert a.shape == (256, 512, 3) and "panorama" in note
    assert 0 < np.abs(a.astype(int) - _rgb(pano)).mean() < 90
    assert d[-20:].mean() > d[:20].mean()  # near = bright: the ground under the camera, not the sky
    cyc, no_depth, _ = client.predict(handle_file(pano), CYCLE, "Venice", 0.2, 0, api_name="/translate_city_panorama")
    assert _rgb(cyc).shape == (256, 512, 3) and no_depth is None
    square = client.predict("Paris", 3, api_name="/city_example")
    with pytest.raises(AppError, match="2:1|equirect|panorama"):
        client.predict(handle_file(square), CYCLE, "Venice", 0.2, 0, api_name="/translate_city_panorama")
