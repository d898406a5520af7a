"""ui.common's defences: the one managed folder for tab outputs (swept by age), and the components that hand
unreadable input to our own checks instead of Gradio's generic "Could not preprocess input"."""
from __future__ import annotations

import os
import time
from types import SimpleNamespace

import gradio as gr
import pytest

from ui import common


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "TEMP_ROOT", str(tmp_path / "outputs"))
    monkeypatch.setitem(common._SWEEP, "last", 0.0)
    return tmp_path / "outputs"


def test_outputs_go_to_one_folder_swept_by_age(temp_root):
    paths = [common.temp_path("streetgen-test-", f"out{i}.png") for i in range(3)]
    assert all(os.path.dirname(os.path.dirname(p)) == str(temp_root) for p in paths)
    assert len({os.path.dirname(p) for p in paths}) == 3  # each call its own folder
    old = time.time() - common.TEMP_MAX_AGE_S - 5
    for p in paths[:2]:
        os.utime(os.path.dirname(p), (old, old))
    assert common.sweep_temp(common.TEMP_MAX_AGE_S) == 2
    assert sorted(os.listdir(temp_root)) == [os.path.basename(os.path.dirname(paths[2]))]


def test_temp_path_sweeps_on_the_way(temp_root):
    first = common.temp_path("streetgen-test-", "a.png")
    old = time.time() - common.TEMP_MAX_AGE_S - 5
    os.utime(os.path.dirname(first), (old, old))
    common._SWEEP["last"] = 0.0
    common.temp_path("streetgen-test-", "b.png")
    assert not os.path.exists(os.path.dirname(first)) and len(os.listdir(temp_root)) == 1


def test_user_number_passes_text_on_to_our_check():
    box = common.user_number(0, precision=0, minimum=0, maximum=common.MAX_SEED)
    assert isinstance(box, gr.Number) and box.preprocess(7) == 7
    assert box.preprocess("abc") == "abc"
    with pytest.raises(gr.Error, match="minimum value 0"):  # Gradio's own range check stays
        box.preprocess(-1)
    with pytest.raises(gr.Error, match="got 'abc'"):
        common.checked_seed(box.preprocess("abc"))


def test_long_values_are_shortened_in_messages():
    with pytest.raises(gr.Error) as err:
        common.checked_seed("9" * 1_000_000)
    assert len(str(err.value)) < 250 and "1,000,002 characters" in str(err.value)


def test_image_path_does_not_open_the_upload(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    box = common.image_path(image_mode=None)
    assert isinstance(box, gr.Image) and box.type == "filepath"
    assert box.preprocess(SimpleNamespace(path=str(broken), url=None, orig_name="broken.png")) == str(broken)
    assert box.preprocess(None) is None


def test_no_stub_files_are_written_next_to_the_code():
    """A gr.Number / gr.Image subclass would make Gradio write ui/common.pyi at import (and fail on a read-only
    install); the factories replace preprocess on the instance instead."""
    assert not os.path.exists(os.path.join(os.path.dirname(common.__file__), "common.pyi"))
