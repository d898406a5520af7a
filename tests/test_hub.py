"""streetgen.load resolution order, offline behaviour, and push/pull through a fake Hub on loopback."""
from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
from huggingface_hub import constants
from huggingface_hub.errors import LocalEntryNotFoundError

import streetgen
import streetgen.hub as hub
from fakehub import CARD, IDX, FakeHub, TinyNet, run_py, saved

TOKEN = "hf_fake"


@pytest.fixture
def fake_hub(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest sets HF_HUB_OFFLINE=1 for the suite
    with FakeHub() as h:
        yield h


def test_push_uploads_exactly_the_checkpoint(tmp_path, fake_hub):
    _, folder = saved(tmp_path)
    for junk in ("pytorch_model.bin", "optimizer.pt", "notes.txt"):  # training leftovers must not ship
        (folder / junk).write_bytes(b"junk")
    url = hub.push(folder, "org/tiny", token=TOKEN, endpoint=fake_hub.endpoint)
    files = fake_hub.repos["org/tiny"]["files"]
    assert sorted(files) == sorted(hub.SHIPPED)
    for name in hub.SHIPPED:
        assert files[name] == (folder / name).read_bytes()
    assert fake_hub.repos["org/tiny"]["sha"] in url


def test_push_model_object_with_card(tmp_path, fake_hub):
    m = TinyNet(width=4)
    hub.push(m, "org/obj", token=TOKEN, card=CARD, endpoint=fake_hub.endpoint)
    files = fake_hub.repos["org/obj"]["files"]
    assert sorted(files) == sorted(hub.SHIPPED) and CARD.training_command.encode() in files["README.md"]


def test_push_refuses_incomplete_or_corrupt_folders(tmp_path, fake_hub):
    _, folder = saved(tmp_path)
    (folder / "README.md").unlink()
    with pytest.raises(ValueError, match="missing"):
        hub.push(folder, "org/bad", token=TOKEN, endpoint=fake_hub.endpoint)
    _, folder = saved(tmp_path, "m2")
    (folder / "model.safetensors").write_bytes(b"nope")
    with pytest.raises(ValueError, match="corrupt"):
        hub.push(folder, "org/bad", token=TOKEN, endpoint=fake_hub.endpoint)
    assert "org/bad" not in fake_hub.repos


@pytest.mark.slow
def test_pushed_model_loads_in_another_process_then_offline_from_cache(tmp_path, fake_hub, monkeypatch):
    m, folder = saved(tmp_path, countries=["JP"])
    hub.push(folder, "org/tiny", token=TOKEN, endpoint=fake_hub.endpoint)
    hf_home = tmp_path / "hf_home"
    code = f"""
import numpy as np, torch, fakehub, streetgen
m = streetgen.load("org/tiny")
assert isinstance(m, fakehub.TinyNet) and not m.training and m.countries == ["JP"]
np.save({str(tmp_path / "out.npy")!r}, m(torch.arange(5)).detach().numpy())
"""
    run_py(code, HF_ENDPOINT=fake_hub.endpoint, HF_HUB_OFFLINE="0", HF_HOME=str(hf_home))
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), m.eval()(IDX).detach().numpy())
    assert ("GET", "/org/tiny/resolve/main/config.json") in fake_hub.log

    # the cache that process filled serves offline loads without touching the Hub
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    n = len(fake_hub.log)
    m2 = streetgen.load("org/tiny", cache_dir=hf_home / "hub", endpoint=fake_hub.endpoint)
    assert torch.equal(m2(IDX), m.eval()(IDX)) and len(fake_hub.log) == n


def test_resolution_order(tmp_path, fake_hub, monkeypatch):
    root = tmp_path / "checkpoints"
    saved_kw = dict(endpoint=fake_hub.endpoint, cache_dir=tmp_path / "cache", checkpoints_root=root)
    hub_model, hub_folder = saved(tmp_path, "on_hub", width=2)
    hub.push(hub_folder, "judges/place", token=TOKEN, endpoint=fake_hub.endpoint)
    TinyNet(width=3).save_pretrained(root / "judges" / "place")
    monkeypatch.chdir(tmp_path)
    TinyNet(width=4).save_pretrained(tmp_path / "judges" / "place")  # an explicit (relative) path

    assert streetgen.load("judges/place", **saved_kw).emb.embedding_dim == 4  # 1. the folder path
    (tmp_path / "judges" / "place" / "config.json").unlink()
    (tmp_path / "judges" / "place" / "model.safetensors").unlink()
    (tmp_path / "judges" / "place" / "README.md").unlink()
    (tmp_path / "judges" / "place").rmdir()
    n = len(fake_hub.log)
    assert streetgen.load("judges/place", **saved_kw).emb.embedding_dim == 3  # 2. checkpoints/<name>
    assert len(fake_hub.log) == n  # the Hub was not asked
    for f in (root / "judges" / "place").iterdir():
        f.unlink()
    (root / "judges" / "place").rmdir()
    assert streetgen.load("judges/place", **saved_kw).emb.embedding_dim == 2  # 3. the Hub
    assert len(fake_hub.log) > n


def test_default_checkpoints_root_is_next_to_the_package(monkeypatch, tmp_path):
    assert hub.default_checkpoints_root() == hub.Path(streetgen.__file__).resolve().parents[1] / "checkpoints"
    TinyNet(width=6).save_pretrained(tmp_path / "place_judge")
    monkeypatch.setattr(hub, "default_checkpoints_root", lambda: tmp_path)
    assert streetgen.load("place_judge").emb.embedding_dim == 6


def test_offline_unknown_repo_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LocalEntryNotFoundError, match="offline mode") as e:
        streetgen.load("nobody/no-such-model", cache_dir=tmp_path, checkpoints_root=tmp_path)
    msg = str(e.value)
    assert isinstance(e.value, hub.CheckpointNotFoundError) and isinstance(e.value, FileNotFoundError)
    assert str(tmp_path / "nobody" / "no-such-model") in msg and "nobody/no-such-model" in msg  # where it looked


def test_unreachable_hub_is_treated_as_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as s:  # a port nobody listens on: connection refused, not a 23 s retry loop
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(hub.CheckpointNotFoundError, match="cannot reach"):
        streetgen.load("org/tiny", endpoint=dead, cache_dir=tmp_path, checkpoints_root=tmp_path)


def test_missing_path_does_not_query_the_hub(tmp_path):
    with pytest.raises(hub.CheckpointNotFoundError, match="looked in"):
        streetgen.load(tmp_path / "nothing-here")


def test_hub_repo_without_safetensors_is_refused(tmp_path, fake_hub, monkeypatch):
    m, folder = saved(tmp_path)
    fake_hub.commit("org/pickled", {"config.json": (folder / "config.json").read_bytes(),
                                    "pytorch_model.bin": b"\x80\x04pickle"})

    def no_unpickling(*a, **k):
        raise AssertionError("torch.load was called")
    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(ValueError, match="safetensors only"):
        streetgen.load("org/pickled", endpoint=fake_hub.endpoint, cache_dir=tmp_path / "cache",
                       checkpoints_root=tmp_path)
    assert not any(p.endswith("pytorch_model.bin") for _, p in fake_hub.log)
