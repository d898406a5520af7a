"""Shared fixtures: the Gradio app launched on loopback, once per test module."""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def app_url():
    """Launch `app.demo` on 127.0.0.1 (first free port from 7860) and yield its URL; close it afterwards."""
    import app

    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, show_error=True,
                                **app.LAUNCH_KWARGS)
    try:
        yield url
    finally:
        app.demo.close()


@pytest.fixture(scope="module")
def client(app_url):
    """A gradio_client Client on the launched app, as a script would use it."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


def gallery_images(gallery) -> list:
    """RGB arrays of a Gallery output as gradio_client returns it ([{"image": path, "caption": ...}, ...])."""
    import numpy as np
    from PIL import Image

    return [np.array(Image.open(item["image"]).convert("RGB")) for item in gallery]
