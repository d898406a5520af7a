"""ui/showcase.py: the kiosk's stored pictures (computed once, kept on disk by inputs, checkpoint identity and code;
read back as files), and that the kiosk page's load runs no model."""
from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from ui import showcase


def _entry(calls: list, name: str = "demo") -> showcase.Entry:
    def make(defaults):
        calls.append(defaults["seed"])
        pic = np.full((8, 8, 3), defaults["seed"] % 256, np.uint8)
        return {"gal": [(pic, f"seed {defaults['seed']} #1"), (Image.fromarray(pic), "#2")], "pic": pic,
                "text": f"**seed {defaults['seed']}**", "meta": {"seed": defaults["seed"]}, "none": None,
                "editor": {"background": Image.fromarray(pic), "layers": [], "composite": Image.fromarray(pic)}}
    return showcase.Entry(name, ("seed",), ("gal", "pic", "text", "meta", "none", "editor"), (), make)


def test_an_entry_is_made_once_then_read_back_from_disk(tmp_path):
    calls = []
    first = showcase.cached(_entry(calls), {"seed": 3, "other": "ignored"}, tmp_path)
    again = showcase.cached(_entry(calls), {"seed": 3, "other": "changed"}, tmp_path)
    assert calls == [3] and first == again
    (path, caption), _ = again["gal"]
    assert caption == "seed 3 #1" and np.array(Image.open(path)).max() == 3
    assert again["text"] == "**seed 3**" and again["meta"] == {"seed": 3} and again["none"] is None
    assert np.array(Image.open(again["pic"])).shape == (8, 8, 3)
    assert again["editor"]["background"] == again["editor"]["composite"] and again["editor"]["layers"] == []


def test_another_seed_is_another_entry(tmp_path):
    calls = []
    a = showcase.cached(_entry(calls), {"seed": 1}, tmp_path)
    b = showcase.cached(_entry(calls), {"seed": 2}, tmp_path)
    assert calls == [1, 2] and a["gal"][0][0] != b["gal"][0][0]
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2


def test_a_failed_entry_leaves_nothing_stored(tmp_path):
    def boom(defaults):
        raise RuntimeError("no model")
    with pytest.raises(RuntimeError):
        showcase.cached(showcase.Entry("bad", ("seed",), ("x",), (), boom), {"seed": 0}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_identity_follows_the_weights(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text('{"architecture": "x"}')
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    (folder / "notes.txt").write_text("not part of the identity")
    before = showcase.checkpoint_identity(str(folder))
    (folder / "notes.txt").write_text("changed")
    assert showcase.checkpoint_identity(str(folder)) == before
    (folder / "model.safetensors").write_bytes(b"\x01" * 64)
    assert showcase.checkpoint_identity(str(folder)) != before


def test_prepare_keeps_what_it_could_make_and_says_what_it_could_not(tmp_path):
    def boom(defaults):
        raise gr.Error("Model 'x' could not be loaded")
    with gr.Blocks() as blocks:
        gr.Number(5, elem_id="seed")
    calls = []
    showcase.reset()
    try:
        values = showcase.prepare(blocks, tmp_path, [_entry(calls), showcase.Entry("bad", (), ("x",), (), boom)])
        assert calls == [5] and set(values) == set(_entry([]).outputs)
        assert showcase.stored(timeout_s=0) == values
        assert showcase.errors() == ["bad: Model 'x' could not be loaded"]
    finally:
        showcase.reset()
    assert showcase.stored(timeout_s=0) == {}


def test_every_entry_reads_page_defaults_the_kiosk_page_has():
    ids = {elem for entry in showcase.ENTRIES for elem in entry.inputs + entry.outputs}
    assert showcase.ATTRACT_ID in ids and len(showcase.SHOWN) == len(set(showcase.SHOWN))
    assert {"c-gallery", "m-gallery", "l-photo", "y-out", "world-gallery"} <= set(showcase.SHOWN)


def _subclasses(cls: type) -> list[type]:
    return [cls] + [c for sub in cls.__subclasses__() for c in _subclasses(sub)]


def _paths(value) -> list[str]:
    if isinstance(value, list):
        return [item[0] for item in value]
    if isinstance(value, dict) and "background" in value:
        return [value["background"]]
    return [value] if isinstance(value, str) and value.endswith(".png") else []


@pytest.mark.slow
def test_the_kiosk_page_load_runs_no_model_and_hands_over_stored_files(monkeypatch):
    import app
    from streetgen import world
    from streetgen.pipelines.base import Pipeline
    from ui import kiosk

    kiosk.enable(90)
    showcase.reset()
    try:
        blocks = app.build_demo()
        showcase.prepare(blocks)  # the real models, once (a folder stored by an earlier run is read back)
        assert showcase.errors() == []

        def refuse(*args, **kwargs):
            raise AssertionError("a model or the renderer ran during the page load")
        for cls in _subclasses(Pipeline):
            monkeypatch.setattr(cls, "__call__", refuse)
        for name in ("render", "render_place", "render_country", "render_city"):
            monkeypatch.setattr(world, name, refuse)
        loads = [f for f in blocks.fns.values() if any(event == "load" for _, event in f.targets)]
        # every page-load event, as a visitor's page runs them (with its inputs' values as the page opens)
        outputs = {f.fn.__name__: f.fn(*[block.value for block in f.inputs]) for f in loads}
        assert "on_load" in outputs and "new_layout" not in outputs
        handed = outputs["on_load"]
        assert len(handed) == len(showcase.SHOWN) + 1 and "class='slide'" in handed[-1]
        files = [p for value in handed[:-1] for p in _paths(value)]
        assert len(files) >= 10 and all(p.startswith(str(showcase.CACHE_ROOT)) for p in files)
    finally:
        kiosk.disable()
        showcase.reset()


def test_prepare_removes_week_old_entries_it_does_not_use(tmp_path):
    import os
    import time

    with gr.Blocks() as blocks:
        gr.Number(5, elem_id="seed")
    old, recent = tmp_path / "old-code-entry", tmp_path / "other-app-entry"
    old.mkdir()
    recent.mkdir()
    week = time.time() - showcase.STALE_S - 60
    os.utime(old, (week, week))
    showcase.reset()
    try:
        showcase.prepare(blocks, tmp_path, [_entry([])])
        used = showcase.entry_key(_entry([]), {"seed": 5})
        os.utime(tmp_path / used, (week, week))  # stored long ago but used by this start: kept
        showcase.prepare(blocks, tmp_path, [_entry([])])
    finally:
        showcase.reset()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([used, recent.name])
