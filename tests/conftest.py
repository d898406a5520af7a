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


@pytest.fixture(scope="session")
def tiny_country_cache(tmp_path_factory):
    """A 24-image world dataset (FR, JP, KE at 32²) built into a streetgen.data cache, shared by trainer tests."""
    from streetgen.data.cache import build_cache
    from streetgen.world.dataset import DatasetSpec, write_dataset

    root = tmp_path_factory.mktemp("tiny_country")
    write_dataset(DatasetSpec(out=str(root / "w"), n=24, size=(32, 32), seed=5, countries=["FR", "JP", "KE"],
                              splits={"train": 1.0}), workers=1, progress=False)
    return build_cache(root / "w", root / "c", split="train", size=32, workers=1, progress=False)
