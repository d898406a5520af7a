"""Untrusted image files: too many pixels refused from the header (fast, no memory spent), corrupt / empty files
refused with a short message naming only the file, and long user values shortened in messages."""
from __future__ import annotations

import resource
import time

import numpy as np
import pytest
from PIL import Image

from bench.app_load import huge_png
from streetgen.io.labels import read_layout
from streetgen.io.photos import read_frames, read_photo
from streetgen.pipelines.city import translate_panorama
from streetgen.data.image import open_capped
from streetgen.validate import MAX_ECHO, MAX_INPUT_PIXELS, check_seed, shown


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("reader", [read_photo, read_layout, read_frames,
                                    lambda p: translate_panorama(lambda f, seed: f, p)])
def test_huge_header_refused_fast_without_memory(tmp_path, reader):
    path = huge_png(tmp_path / "huge.png", rows=4)
    assert path.stat().st_size < 10_000 and 16000 * 8000 > MAX_INPUT_PIXELS
    peak, start = _peak_rss_mb(), time.perf_counter()
    with pytest.raises(ValueError, match="too large: 16000×8000") as err:
        reader(str(path))
    assert time.perf_counter() - start < 0.5
    assert _peak_rss_mb() - peak < 50  # decoding it would take 384 MB
    assert str(tmp_path) not in str(err.value) and "huge.png" in str(err.value)


@pytest.mark.parametrize("content,words", [(b"", "empty"), (b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "not a readable"),
                                           (b"hello, not an image", "not a readable")])
def test_corrupt_files_get_a_short_message_without_server_paths(tmp_path, content, words):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    for reader in (read_photo, read_layout, read_frames):
        with pytest.raises(ValueError, match=words) as err:
            reader(str(path))
        assert str(tmp_path) not in str(err.value) and "upload.png" in str(err.value)
        assert len(str(err.value)) < 200


def test_truncated_image_data(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.png") as err:
        read_photo(str(path))
    assert str(tmp_path) not in str(err.value)


def test_open_capped_takes_images_within_the_cap(tmp_path):
    Image.new("RGB", (40, 20)).save(tmp_path / "ok.png")
    with open_capped(tmp_path / "ok.png") as img:
        assert img.size == (40, 20)
    with pytest.raises(ValueError, match="too large"):
        open_capped(tmp_path / "ok.png", max_pixels=799)
    with pytest.raises(FileNotFoundError, match="missing.png not found"):
        open_capped(tmp_path / "missing.png")


def test_shown_shortens_long_values():
    assert shown("JP") == "'JP'" and shown(12) == "12"
    long = shown("x" * 1_000_000)
    assert len(long) <= MAX_ECHO + 30 and "1,000,002 characters" in long
    with pytest.raises(ValueError) as err:
        check_seed("9" * 100_000)
    assert len(str(err.value)) < 250
