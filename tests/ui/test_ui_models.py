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


def test_models_load_onto_the_chosen_device(monkeypatch):
    moved = []

    class FakePipeline:
        def to(self, device: str) -> "FakePipeline":
            moved.append(device)
            return self

    kind = f"fake-{uuid.uuid4().hex}"
    monkeypatch.setitem(models.LOADERS, kind, lambda spec: FakePipeline())
    monkeypatch.setattr(models, "_device", "auto")
    assert models.set_device("cpu") == "cpu" and models.device() == "cpu"
    pipe = models.load(kind, "a", "Model 'a'")
    assert moved == ["cpu"] and models.load(kind, "a", "Model 'a'") is pipe  # moved once, then cached


def test_auto_resolves_to_the_cpu_without_cuda_and_cuda_is_refused_there(monkeypatch):
    import torch

    monkeypatch.setattr(models, "_device", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert models.device() == "cpu" and models.set_device("auto") == "cpu"
    with pytest.raises(ValueError, match="torch sees no CUDA device"):
        models.set_device("cuda")
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda, got 'gpu'"):
        models.set_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert models.set_device("auto") == "cuda"


def test_auto_is_the_cpu_on_this_machine():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from streetgen.pipelines import resolve_device

    assert resolve_device("auto") == "cpu"
