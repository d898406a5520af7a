"""ui.models: one cache and one lock for every tab's models, keyed by (kind, checkpoint spec)."""
from __future__ import annotations

import threading
import uuid

import gradio as gr
import pytest

from ui import models


@pytest.fixture
def fake_kind(monkeypatch) -> tuple[str, list]:
    """A new model kind and the specs its loader was called with; it refuses "missing" as a missing checkpoint."""
    calls = []

    def loader(spec: str) -> object:
        calls.append(spec)
        if spec == "missing":
            raise FileNotFoundError(f"no checkpoint {spec!r}")
        return object()

    kind = f"fake-{uuid.uuid4().hex}"  # a kind of its own: nothing cached by another test answers for it
    monkeypatch.setitem(models.LOADERS, kind, loader)
    return kind, calls


def test_each_model_loads_once_even_when_asked_at_once(fake_kind):
    kind, calls = fake_kind
    got = []
    threads = [threading.Thread(target=lambda: got.append(models.load(kind, "a", "Model 'a'"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"] and len(got) == 4 and all(m is got[0] for m in got)
    assert models.load(kind, "b", "Model 'b'") is not got[0] and calls == ["a", "b"]


def test_a_missing_checkpoint_is_a_gr_error_naming_it(fake_kind):
    kind, calls = fake_kind
    with pytest.raises(gr.Error, match="The map model could not be loaded: no checkpoint 'missing'"):
        models.load(kind, "missing", "The map model")
    with pytest.raises(gr.Error):  # failures are not cached: the next request tries again
        models.load(kind, "missing", "The map model")
    assert calls == ["missing", "missing"]
