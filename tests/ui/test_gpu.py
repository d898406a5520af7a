"""ui.common.gpu: handlers run under spaces.GPU on a ZeroGPU Space and unchanged everywhere else."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from ui import common


def handler(seed: int) -> int:
    return seed + 1


def test_gpu_only_shares_the_cores_without_the_spaces_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` raises ImportError
    run = common.gpu(handler)
    assert run.__wrapped__ is handler and run(1) == 2


def test_gpu_wraps_with_spaces_gpu_when_spaces_is_importable(monkeypatch):
    wrapped = []
    fake = types.ModuleType("spaces")
    fake.GPU = lambda fn: wrapped.append(fn) or (lambda *a, **k: ("on gpu", fn(*a, **k)))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    run = common.gpu(handler)
    assert [fn.__wrapped__ for fn in wrapped] == [handler] and run(1) == ("on gpu", 2)


def test_a_lone_job_gets_every_core_and_two_jobs_share_them():
    """torch's thread count is set per job thread: all cores alone, half each when two model jobs overlap, and a
    streaming handler takes its share again before each frame."""
    import threading

    import torch

    seen: dict[str, list[int]] = {}
    both_in = threading.Barrier(2)

    @common.share_cores
    def job(name: str, wait: bool) -> None:
        if wait:
            both_in.wait(timeout=30)
        seen[name] = [torch.get_num_threads()]

    @common.share_cores
    def frames(name: str):
        for _ in range(2):
            seen.setdefault(name, []).append(torch.get_num_threads())
            yield len(seen[name])

    job("alone", False)
    pair = [threading.Thread(target=job, args=(n, True)) for n in ("a", "b")]
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    assert list(frames("stream")) == [1, 2]
    job("again", False)  # the finished jobs no longer count
    cores, half = common.CORES, max(1, common.CORES // 2)
    assert seen == {"alone": [cores], "a": [half], "b": [half], "stream": [cores, cores], "again": [cores]}


# In a fresh Python (the tabs decorate at import): which handlers a fake `spaces.GPU` wrapped (keeping their
# signatures, as the real one does), and the parameters the app's API then shows for one of them.
_WRAPPED = """
import functools, sys, types
names = []
def GPU(fn):
    names.append(fn.__module__ + "." + fn.__name__)
    return functools.wraps(fn)(lambda *args, **kwargs: fn(*args, **kwargs))
sys.modules["spaces"] = types.SimpleNamespace(GPU=GPU)
import app
print(" ".join(sorted(names)))
api = app.demo.get_api_info()["named_endpoints"]["/generate_country"]
print(" ".join(p["parameter_name"] for p in api["parameters"]))
"""


@pytest.mark.slow
def test_the_handlers_that_run_models_are_the_ones_wrapped():
    run = subprocess.run([sys.executable, "-c", _WRAPPED], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=120, check=True)
    wrapped, api = run.stdout.splitlines()[-2:]
    assert wrapped.split() == [
        "ui.tab_city.translate_city", "ui.tab_city.translate_city_frames", "ui.tab_city.translate_city_panorama",
        "ui.tab_country.generate_country", "ui.tab_country.morph_countries",  # compare calls generate twice
        "ui.tab_layout.layout_to_photo", "ui.tab_layout.new_layout",
        "ui.tab_map.generate_map", "ui.tab_map.map_journey"]
    assert api.split() == ["country", "n", "seed", "model", "guidance"]  # the progress bar stays hidden
