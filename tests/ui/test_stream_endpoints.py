"""The long actions stream through the app's API (gradio_client `submit`): morph, journey and frame translation
send each frame as a PNG while the rest are made, the first well before the last, then the GIF as before."""
from __future__ import annotations

import re
import time
from pathlib import Path

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
    """The previews: frame-NN.png pictures of `size`, starting with frame 0, sent well before the end and within
    the bound; the final output is the GIF (as before streaming), whose frame NN each preview shows. Returns the
    GIF's frames."""
    previews = [path for _, path in seen[:-1]]
    assert previews and all(re.fullmatch(r"frame-\d\d\.png", Path(p).name) for p in previews)
    assert Path(previews[0]).name == "frame-00.png"
    assert str(seen[-1][1]).endswith(".gif") and seen[-1][1] == final
    first_at, last_at = seen[0][0], seen[-1][0]
    assert first_at < last_at and first_at < FIRST_FRAME_BOUND_S
    gif = _gif_frames(final)
    assert len(gif) >= frames
    for path in previews:  # the same pictures, up to the GIF's palette
        shown = np.asarray(Image.open(path).convert("RGB"), np.float32)
        assert shown.shape[:2] == size
        assert np.abs(shown - gif[int(Path(path).stem[-2:])]).mean() < 8, path
    return gif


def test_morph_streams_its_frames_then_the_gif(client):
    job = client.submit("JP", "IN", 3, CVAE, api_name="/morph_countries")
    seen = _timed_outputs(job)
    _check_stream(seen, 16, (256, 256), job.result())
    with pytest.raises(Exception, match="unknown country"):  # checks still come first, as a message
        client.submit("Narnia", "IN", 3, CVAE, api_name="/morph_countries").result()


def test_journey_streams_its_frames_then_the_gif(client):
    job = client.submit(48.8566, 2.3522, 35.6812, 139.7671, 1, api_name="/map_journey")
    seen = _timed_outputs(job)
    assert all(isinstance(out, tuple) and len(out) == 2 for _, out in seen)
    gif, marked_map = job.result()
    assert str(seen[0][1][1]).endswith(".png") and str(marked_map).endswith(".png")  # the map comes first too
    _check_stream([(t, out[0]) for t, out in seen], 16, (256, 256), gif)


def test_frames_stream_each_translated_frame_then_the_gif(client):
    pan = client.predict("Paris", 2, api_name="/city_pan_example")
    job = client.submit(handle_file(pan), CYCLE, "Venice", 0.2, 0, True, api_name="/translate_city_frames")
    seen = _timed_outputs(job)
    gif = _check_stream(seen, 16, (256, 256), job.result())
    assert len(gif) == 16
    with pytest.raises(Exception, match="Seed must be a whole number"):
        client.submit(handle_file(pan), CYCLE, "Venice", 0.2, "abc", True, api_name="/translate_city_frames").result()
