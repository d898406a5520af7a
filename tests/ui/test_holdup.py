"""The app under bad input and load, through its API: our own short messages for unreadable uploads and
non-numeric seeds, no server paths, long values shortened, oversize images refused from their header, and a queue
sized so many users at once are served instead of refused."""
from __future__ import annotations

import pytest
from gradio_client import handle_file

from bench.app_load import huge_png

pytestmark = pytest.mark.slow  # launches the app

CYCLE = "CycleGAN: Paris → Venice"


def _message(call) -> str:
    with pytest.raises(Exception) as err:
        call()
    return str(err.value)


def test_queue_sized_for_many_users():
    import app

    assert app.demo._queue.max_size is None or app.demo._queue.max_size >= 256
    assert app.demo.delete_cache is not None


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n broken", b"plain text"])
def test_unreadable_uploads_get_our_message(client, tmp_path, content):
    bad = tmp_path / "upload.png"
    bad.write_bytes(content)
    for api, args in (("/translate_city", (CYCLE, "Venice", 0.2, 0)),
                      ("/translate_city_panorama", (CYCLE, "Venice", 0.2, 0)), ("/load_layout", ())):
        text = _message(lambda api=api, args=args: client.predict(handle_file(str(bad)), *args, api_name=api))
        assert "Could not preprocess" not in text and "upload.png" in text, (api, text)
        assert "/tmp" not in text and "gradio" not in text.lower(), (api, text)


def test_huge_panorama_refused_from_its_header(client, tmp_path):
    pano = handle_file(str(huge_png(tmp_path / "pano.png", rows=4)))
    text = _message(lambda: client.predict(pano, CYCLE, "Venice", 0.2, 0, api_name="/translate_city_panorama"))
    assert "too large: 16000×8000" in text and "/tmp" not in text


def test_non_numeric_seed_and_long_values(client):
    text = _message(lambda: client.predict("JP", "abc", "256", 1, api_name="/render_world"))
    assert "Seed must be a whole number" in text and "'abc'" in text
    text = _message(lambda: client.predict("x" * 1_000_000, 0, "256", 1, api_name="/render_world"))
    assert "unknown country" in text and len(text) < 300
    text = _message(lambda: client.predict("y" * 100_000, 2.0, api_name="/describe_place"))
    assert len(text) < 300


def test_unreadable_animation_gets_our_message(client, tmp_path):
    bad = tmp_path / "clip.gif"
    bad.write_bytes(b"GIF89a broken")
    text = _message(lambda: client.predict(handle_file(str(bad)), CYCLE, "Venice", 0.2, 0, True,
                                           api_name="/translate_city_frames"))
    assert "Cannot translate these frames" in text and "clip.gif" in text and "/tmp" not in text
