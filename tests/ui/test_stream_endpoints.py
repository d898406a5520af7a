"""The long actions stream through the app's API (gradio_client `submit`): morph, journey and frame translation
send each frame as a PNG while the rest are made, the first well before the last, then the GIF as before."""
from __future__ import annotations

import time

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

pytestmark = pytest.mark.slow  # launches the app and runs shipped models through its API

CVAE = "CVAE (fast, the study's baseline)"
CYCLE = "CycleGAN: Paris → Venice"
FIRST_FRAME_BOUND_S = 60.0  # generous: the machine running the tests may be shared and busy


def _timed_outputs(job) -> list[tuple[float, object]]:
    """(seconds since submit, output) for every output the job streams, in order."""
    start, seen = time.perf_counter(), []
    for output in job:
        seen.append((time.perf_counter() - start, output))
    return seen


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        assert im.format == "GIF"
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB"), np.float32))
    return frames


def _check_stream(seen: list, frames: int, size: tuple[int, int], final) -> list[np.ndarray]:
    """The previews: `frames` PNGs of `size`, the first one sent well before the end and within the bound;
    the final output is the GIF (as before streaming) whose frames the previews are. Returns the GIF's frames."""
    previews = [path for _, path in seen if str(path).endswith(".png")]
    assert len(previews) == frames
    assert str(seen[-1][1]).endswith(".gif") and seen[-1][1] == final
    first_at, last_at = seen[0][0], seen[-1][0]
    assert str(seen[0][1]).endswith(".png") and first_at < last_at and first_at < FIRST_FRAME_BOUND_S
    shown = [np.asarray(Image.open(p).convert("RGB"), np.float32) for p in previews]
    assert all(im.shape[:2] == size for im in shown)
    gif = _gif_frames(final)
    for k in (0, frames - 1):  # the same pictures, up to the GIF's palette
        assert np.abs(shown[k] - gif[k]).mean() < 8, k
    assert not np.array_equal(shown[0], shown[-1])  # and they do change along the way
    return gif


def test_morph_streams_its_frames_then_the_gif(client):
    job = client.submit("JP", "IN", 3, CVAE, api_name="/morph_countries")
    seen = _timed_outputs(job)
    gif = _check_stream(seen, 16, (256, 256), job.result())
    assert len(gif) >= 16
    with pytest.raises(Exception, match="unknown country"):  # checks still come first, as a message
        client.submit("Narnia", "IN", 3, CVAE, api_name="/morph_countries").result()


def test_journey_streams_its_frames_then_the_gif(client):
    job = client.submit(48.8566, 2.3522, 35.6812, 139.7671, 1, api_name="/map_journey")
    seen = _timed_outputs(job)
    assert all(isinstance(out, tuple) and len(out) == 2 and str(out[1]).endswith(".png") for _, out in seen)
    marked = {out[1] for _, out in seen}
    gif, marked_map = job.result()
    _check_stream([(t, out[0]) for t, out in seen], 16, (256, 256), gif)
    assert marked_map in marked  # the marked map comes with the first frame already


def test_frames_stream_each_translated_frame_then_the_gif(client):
    pan = client.predict("Paris", 2, api_name="/city_pan_example")
    job = client.submit(handle_file(pan), CYCLE, "Venice", 0.2, 0, True, api_name="/translate_city_frames")
    seen = _timed_outputs(job)
    gif = _check_stream(seen, 16, (256, 256), job.result())
    assert len(gif) == 16
    with pytest.raises(Exception, match="Seed must be a whole number"):
        client.submit(handle_file(pan), CYCLE, "Venice", 0.2, "abc", True, api_name="/translate_city_frames").result()
