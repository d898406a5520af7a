"""Shared fixtures: the Gradio app launched on loopback, once per test module."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402


CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
RENDER_TIMEOUT_MS = 180_000  # a cold first render on a busy 2-core CI box can take a while


def chromium_path() -> str:
    """The system Chromium (the browser tests never run `playwright install`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium not found on PATH: install it with `apt-get install -y chromium chromium-driver` "
                "(the browser tests use the system browser and never run `playwright install`).")


@pytest.fixture(scope="module")
def browser():
    """Headless system Chromium through Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


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


CAMVID_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "camvid"


@pytest.fixture(scope="session")
def camvid_root(tmp_path_factory) -> Path:
    """The real CamVid pairs when ../shared has them, else a tiny folder in CamVid's layout made from world renders
    (train/ and val/, images/*.jpg + labels/*.png class ids), so the CamVid code paths always run."""
    if (CAMVID_SHARED / "train" / "labels").is_dir():
        return CAMVID_SHARED
    import numpy as np
    from PIL import Image

    from streetgen import world

    root = tmp_path_factory.mktemp("camvid")
    for split, seeds in (("train", range(8)), ("val", range(8, 10))):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for s in seeds:
            sample = world.render(51.2 + 0.01 * s, 0.1, seed=s, size=(96, 128))
            Image.fromarray(sample.image).save(root / split / "images" / f"frame_{s:03d}.jpg", quality=95)
            Image.fromarray(sample.labels.astype(np.uint8)).save(root / split / "labels" / f"frame_{s:03d}.png")
    return root
