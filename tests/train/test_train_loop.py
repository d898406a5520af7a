"""train/common: checkpoints (atomic, pickle-free, exact resume), EMA, logs, grids, export, and a killed run."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
import torch.nn as nn
from PIL import Image

from train.common import run as run_mod
from train.common.ema import EMA
from train.common.logging import MetricsLog, make_grid, plot_curves, read_metrics
from train.common.loop import ResumableSampler, parse_config, resolve_precision
from train.common.run import (CheckpointManager, flatten_state, rng_state, set_rng_state, unflatten_state)
from train.example_tiny import TinyAutoencoder, TinyConfig, main

REPO = Path(__file__).resolve().parents[2]
TINY = ["--device", "cpu", "--no-progress", "--n-images", "64", "--batch-size", "8", "--log-every", "2"]


def _adam_with_state() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    for _ in range(2):
        net(torch.randn(5, 4)).pow(2).mean().backward()
        opt.step()
    return net, opt


# ---- run.py -------------------------------------------------------------------------------------------------------
def test_optimizer_state_round_trips_through_safetensors_and_json(tmp_path):
    net, opt = _adam_with_state()
    tensors: dict[str, torch.Tensor] = {}
    meta = {"objects": {"opt": flatten_state(opt.state_dict(), "opt", tensors)}}
    assert "opt.state.3.exp_avg" in tensors and "opt.state.0.exp_avg_sq" in tensors
    CheckpointManager(tmp_path).save(7, tensors, meta)
    folder = tmp_path / "step_000007"
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "tensors.safetensors"]
    raw = json.loads((folder / "meta.json").read_text())  # plain JSON: step counters are numbers
    assert raw["objects"]["opt"]["state"]["__items__"][0][1]["step"]["__scalar__"] == 2.0
    loaded_t, loaded_meta = CheckpointManager(tmp_path).load()
    opt2 = torch.optim.AdamW(net.parameters(), lr=1e-2)
    opt2.load_state_dict(unflatten_state(loaded_meta["objects"]["opt"], loaded_t))
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for k in a["state"]:
        for name, v in a["state"][k].items():
            assert torch.equal(v, b["state"][k][name]), (k, name)


def test_rng_states_round_trip_without_pickle():
    state = rng_state()
    tensors: dict[str, torch.Tensor] = {}
    skeleton = json.loads(json.dumps(flatten_state(state, "rng.0", tensors)))
    expected = (random.random(), np.random.rand(), torch.rand(3))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    set_rng_state(unflatten_state(skeleton, tensors))
    got = (random.random(), np.random.rand(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1] and torch.equal(got[2], expected[2])


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    mgr = CheckpointManager(tmp_path, keep=2)
    mgr.save(1, {"w": torch.ones(3)}, {"note": "first"})

    def exploding_write_json(path, obj):  # tensors already written, metadata not: a crash mid-save
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(run_mod, "write_json", exploding_write_json)
    with pytest.raises(OSError, match="simulated"):
        mgr.save(2, {"w": torch.full((3,), 2.0)}, {"note": "second"})
    monkeypatch.undo()
    assert (tmp_path / "latest").read_text().strip() == "step_000001"
    assert not (tmp_path / "step_000002").exists()
    assert any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())  # debris, never referenced
    tensors, meta = mgr.load()
    assert meta["note"] == "first" and torch.equal(tensors["w"], torch.ones(3))

    real_save = safetensors.torch.save_file

    def half_written(t, path, metadata=None):  # a torn tensor file, then the crash
        real_save(t, path, metadata=metadata)
        with open(path, "r+b") as f:
            f.truncate(20)
        raise KeyboardInterrupt
    monkeypatch.setattr(safetensors.torch, "save_file", half_written)
    with pytest.raises(KeyboardInterrupt):
        mgr.save(3, {"w": torch.zeros(3)}, {"note": "third"})
    monkeypatch.undo()
    assert mgr.load()[1]["note"] == "first"

    mgr.save(4, {"w": torch.zeros(3)}, {"note": "fourth"})  # a later good save clears the debris
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step_000001", "step_000004"]
    (tmp_path / "latest").write_text("step_000099\n")  # dangling pointer: fall back to newest complete
    assert mgr.load()[1]["note"] == "fourth"


def test_keep_prunes_old_checkpoints(tmp_path):
    mgr = CheckpointManager(tmp_path, keep=2)
    for step in (10, 20, 30):
        mgr.save(step, {"w": torch.tensor([float(step)])}, {})
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_000020", "step_000030"]
    assert mgr.latest().name == "step_000030"


# ---- ema.py / loop.py helpers -----------------------------------------------------------------------------------------
def test_ema_warmup_apply_and_state():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.5, warmup=2)
    assert ema.current_decay() == 0.0  # first update copies the weights
    with torch.no_grad():
        model.weight.fill_(4.0)
    ema.update(model)
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 4.0))
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema.update(model)  # decay 0.25 now: 0.25 * 4 + 0.75 * 0
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 1.0))
    with ema.apply_to(model):
        assert torch.allclose(model.weight, torch.full((1, 2), 1.0))
    assert torch.allclose(model.weight, torch.zeros(1, 2))  # training weights restored
    other = EMA(model, decay=0.5, warmup=2)
    other.load_state_dict(ema.state_dict())
    assert other.num_updates == 2 and torch.equal(other.shadow["weight"], ema.shadow["weight"])


def test_sampler_shards_the_global_batch_and_resumes():
    one = ResumableSampler(20, 4, seed=3)
    r0, r1 = ResumableSampler(20, 2, 3, rank=0, world_size=2), ResumableSampler(20, 2, 3, rank=1, world_size=2)
    for _ in range(12):  # crosses epoch boundaries (5 batches per epoch)
        assert torch.equal(one.next(), torch.cat([r0.next(), r1.next()]))
    resumed = ResumableSampler(20, 4, seed=3)
    resumed.load_state_dict(json.loads(json.dumps(one.state_dict())))
    assert all(torch.equal(one.next(), resumed.next()) for _ in range(7))


def test_parse_config_and_precision():
    cfg = parse_config(TinyConfig, ["--steps", "7", "--no-resume", "--lr", "0.5", "--precision", "bf16"])
    assert (cfg.steps, cfg.resume, cfg.lr, cfg.precision, cfg.width) == (7, False, 0.5, "bf16", 8)
    assert resolve_precision("auto", cuda=False) == "no" and resolve_precision("fp16", cuda=False) == "fp16"


def test_bf16_on_a_cpu_without_native_bf16_warns_and_keeps_the_choice(monkeypatch):
    """Asking for bf16 on a CPU that emulates it (AVX2 only) warns that fp32 is faster but still gives bf16; a CPU
    with native bf16, or a GPU, gets no warning."""
    import warnings

    import train.common.loop as loop

    monkeypatch.setattr(loop, "cpu_has_fast_bf16", lambda: False)
    with pytest.warns(UserWarning, match="--precision no is faster"):
        assert loop.resolve_precision("bf16", cuda=False) == "bf16"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loop.resolve_precision("bf16", cuda=True) == "bf16"
        monkeypatch.setattr(loop, "cpu_has_fast_bf16", lambda: True)
        assert loop.resolve_precision("bf16", cuda=False) == "bf16"


# ---- logging.py -------------------------------------------------------------------------------------------------------
def test_metrics_log_curves_and_grid(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for s in range(1, 31):
        log.append({"step": s, "time": s * 0.1, "lr": 1e-3, "loss": 10.0 / s, "loss_d": 1.0 + 0.01 * s})
    with open(log.path, "a") as f:
        f.write('{"step": 31, "lo')  # torn by a kill
    assert len(read_metrics(log.path)) == 30
    log.truncate_after(20)
    assert [r["step"] for r in read_metrics(log.path)][-1] == 20
    out = plot_curves(read_metrics(log.path), tmp_path / "curves.png", size=(400, 300))
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (300, 400, 3)
    for colour in [(31, 119, 180), (255, 127, 14)]:  # one polyline per metric (loss, loss_d); not lr/time
        assert (np.abs(img.astype(int) - colour).sum(-1) < 30).sum() > 50
    plot_curves([], tmp_path / "empty.png")  # before the first log: a placeholder, not an error

    nchw = torch.randint(0, 255, (5, 3, 16, 16), dtype=torch.uint8)
    grid = make_grid(nchw, ncols=3, captions=[f"#{i}" for i in range(5)], pad=2, min_tile=32)
    assert grid.size == (3 * 34 + 2, 2 * (32 + 14 + 2) + 2)
    assert np.array_equal(np.asarray(grid)[2:4, 2:4], nchw[0, :, 0, 0].numpy()[None, None].repeat(2, 0).repeat(2, 1))
    with pytest.raises(ValueError, match="uint8"):
        make_grid(np.zeros((2, 8, 8, 3), np.float32))


# ---- example trainer end to end ----------------------------------------------------------------------------------------
def _state_tensors(run: Path) -> dict[str, torch.Tensor]:
    latest = (run / "state" / "latest").read_text().strip()
    return safetensors.torch.load_file(str(run / "state" / latest / "tensors.safetensors"))


@pytest.mark.slow
def test_example_run_folder_and_export(tmp_path, monkeypatch):
    import streetgen.hub
    pushed = []
    monkeypatch.setattr(streetgen.hub, "push", lambda folder, repo_id, token=None: pushed.append(
        (sorted(p.name for p in Path(folder).iterdir()), repo_id)))  # the real push is tested against a fake Hub
    created = []  # the repo is created before training (tests/train/test_cli_parity.py uses a fake Hub)
    monkeypatch.setattr(streetgen.hub, "ensure_repo", lambda repo_id, private=False: created.append(
        (repo_id, private, (tmp_path / "e2e" / "state").exists())) or "url")
    out = main([*TINY, "--runs-dir", str(tmp_path), "--name", "e2e", "--steps", "6", "--ckpt-every", "3",
                "--sample-every", "3", "--push-to-hub", "someone/tiny"])
    run = tmp_path / "e2e"
    assert out == run / "export"
    assert pushed == [(["README.md", "config.json", "model.safetensors"], "someone/tiny")]
    assert created == [("someone/tiny", False, False)]  # created once, before the first checkpoint
    assert {p.name for p in run.iterdir()} == {"config.json", "metrics.jsonl", "curves.png", "samples", "state",
                                               "export", "final.json"}
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["config"]["steps"] == 6 and cfg["world_size"] == 1 and cfg["mixed_precision"] == "no"
    assert set(cfg["git"]) == {"commit", "dirty"} and set(cfg["versions"]) >= {"torch", "accelerate"}
    assert cfg["command"].startswith("python -m train.example_tiny ")
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [2, 4, 6]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000003.png", "step_000006.png"]
    assert sorted(p.name for p in (run / "export").iterdir()) == ["README.md", "config.json", "model.safetensors"]

    loaded = TinyAutoencoder.from_pretrained(run / "export")
    ema_shadow = {k[len("ema.shadow."):]: v for k, v in _state_tensors(run).items() if k.startswith("ema.shadow.")}
    assert ema_shadow and all(torch.equal(loaded.state_dict()[k], v) for k, v in ema_shadow.items())  # EMA exported
    from streetgen.models.card import read_card
    card = read_card(run / "export")
    assert card.steps == 6 and "--name e2e" in card.training_command and "loss" in card.metrics
    assert card.data_license

    with pytest.raises(FileExistsError):  # a clear error, not a silent exit
        main([*TINY, "--runs-dir", str(tmp_path), "--name", "e2e", "--steps", "6", "--no-resume"])


@pytest.mark.slow
def test_resumed_training_equals_uninterrupted(tmp_path):
    common = [*TINY, "--runs-dir", str(tmp_path), "--steps", "10", "--ckpt-every", "100", "--sample-every", "0"]
    main([*common, "--name", "straight"])
    assert main([*common, "--name", "split", "--stop-after", "4"]) is None  # stops, checkpoints, no export
    assert (tmp_path / "split" / "state" / "latest").read_text().strip() == "step_000004"
    main([*common, "--name", "split"])
    a, b = _state_tensors(tmp_path / "straight"), _state_tensors(tmp_path / "split")
    keys = [k for k in a if not k.startswith("rng.")]
    assert any(k.startswith("optimizer.state.") for k in keys) and any(k.startswith("ema.") for k in keys)
    for k in keys:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    split = tmp_path / "split"
    assert [r["step"] for r in read_metrics(split / "metrics.jsonl")] == [2, 4, 6, 8, 10]
    cfg = json.loads((split / "config.json").read_text())
    assert cfg["resumed_from_step"] == 4 and len(cfg["history"]) == 1


@pytest.mark.slow
def test_sigkilled_run_resumes_from_last_checkpoint(tmp_path):
    cmd = [sys.executable, "-m", "train.example_tiny", *TINY, "--runs-dir", str(tmp_path), "--name", "killed",
           "--steps", "100000", "--ckpt-every", "10", "--sample-every", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = tmp_path / "killed" / "state"
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            latest = state / "latest"
            if latest.is_file() and int(latest.read_text().strip()[5:]) >= 20:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up: mid-step or mid-save
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    saved = CheckpointManager(state).load()[1]["step"]
    assert saved >= 20
    logged = [r["step"] for r in read_metrics(tmp_path / "killed" / "metrics.jsonl")]
    main([*TINY, "--runs-dir", str(tmp_path), "--name", "killed", "--steps", str(saved + 6), "--ckpt-every", "10",
          "--sample-every", "0"])
    run = tmp_path / "killed"
    assert json.loads((run / "config.json").read_text())["resumed_from_step"] == saved
    steps = [r["step"] for r in read_metrics(run / "metrics.jsonl")]
    assert steps == list(range(2, saved + 7, 2)) and max(logged) >= saved  # no gap, no duplicate
    assert json.loads((run / "final.json").read_text())["step"] == saved + 6


def test_shard_sampler_resumes_from_the_batches_drawn_across_epochs():
    """A rank's own-rows sampler checkpoints the number drawn; loading it anywhere, epoch ends included, continues
    with the same batches."""
    from train.common.loop import ShardSampler

    whole = ShardSampler(10, 3, seed=4)  # 3 batches an epoch, the 10th row dropped
    straight = [whole.next().tolist() for _ in range(8)]
    assert len({tuple(sorted(b)) for b in straight[:3]}) == 3 and straight[:3] != straight[3:6]
    for stop in range(8):
        first = ShardSampler(10, 3, seed=4)
        for _ in range(stop):
            first.next()
        assert first.state_dict() == {"drawn": stop}
        again = ShardSampler(10, 3, seed=4)
        again.load_state_dict(first.state_dict())
        assert [again.next().tolist() for _ in range(8 - stop)] == straight[stop:]
