"""Trainer CLI parity with diffusers' examples: gradient accumulation, --report-to trackers, --resume-from, a changed
config on resume, the Hub repo created before training (fails fast on a bad token), and the card's data fields."""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import safetensors.torch
import torch
import torch.nn as nn
import torch.nn.functional as F
from huggingface_hub import constants

import train.example_tiny as example_tiny
from fakehub import FakeHub
from streetgen.models.card import ModelCardInfo, read_card
from train.common.loop import TrainConfig, Trainer
from train.common.resume import ConfigMismatchError, shape_error

REPO = Path(__file__).resolve().parents[2]
TINY = ["--device", "cpu", "--no-progress", "--n-images", "64", "--batch-size", "8", "--log-every", "2",
        "--sample-every", "0"]


def _trainer(tmp_path: Path, **overrides) -> Trainer:
    cfg = TrainConfig(device="cpu", runs_dir=str(tmp_path), progress=False, **overrides)
    return Trainer(cfg, [], entry="tests.train.test_cli_parity")


def _latest_tensors(run: Path) -> dict[str, torch.Tensor]:
    latest = (run / "state" / "latest").read_text().strip()
    return safetensors.torch.load_file(str(run / "state" / latest / "tensors.safetensors"))


# ---- gradient accumulation ---------------------------------------------------------------------------------------
def test_two_accumulated_micro_batches_give_the_gradient_of_one_double_batch(tmp_path):
    torch.manual_seed(0)
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    net = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    F.mse_loss(net(x), y).backward()
    full = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    trainer = _trainer(tmp_path, grad_accum=2)
    batches = iter([(x[:8], y[:8]), (x[8:], y[8:])])

    def micro_step() -> dict[str, torch.Tensor]:
        xb, yb = next(batches)
        return {"loss": F.mse_loss(net(xb), yb), "seen": torch.tensor(float(len(xb)))}

    out = trainer.accumulate(net, micro_step)
    for got, want in zip((p.grad for p in net.parameters()), full):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert out["seen"].item() == 8.0  # logged values are micro-batch means
    torch.testing.assert_close(out["loss"], F.mse_loss(net(x), y).detach(), rtol=1e-5, atol=1e-6)

    net.zero_grad()  # an objective apart from the logged "loss" (the diffusion trainer's ε-loss + rival term)
    batches = iter([(x[:8], y[:8]), (x[8:], y[8:])])

    def with_objective() -> dict[str, torch.Tensor]:
        xb, yb = next(batches)
        loss = F.mse_loss(net(xb), yb)
        return {"loss": loss, "objective": 2 * loss}

    out = trainer.accumulate(net, with_objective, objective="objective")
    assert sorted(out) == ["loss"]
    for got, want in zip((p.grad for p in net.parameters()), full):
        torch.testing.assert_close(got, 2 * want, rtol=1e-5, atol=1e-6)


def test_a_loop_without_accumulate_refuses_grad_accum(tmp_path):
    trainer = _trainer(tmp_path, grad_accum=2)
    with pytest.raises(ValueError, match="does not accumulate gradients"):
        trainer.step_done(1, {"loss": torch.tensor(1.0)})
    with pytest.raises(ValueError, match="--grad-accum must be >= 1"):
        _trainer(tmp_path, grad_accum=0)


@pytest.mark.slow
def test_example_trainer_accumulating_two_batches_of_b_equals_batch_2b(tmp_path):
    plain = [*TINY, "--runs-dir", str(tmp_path), "--steps", "3", "--flip-p", "0", "--noise-std", "0"]
    example_tiny.main([*plain, "--name", "accum", "--batch-size", "8", "--grad-accum", "2"])
    example_tiny.main([*plain, "--name", "big", "--batch-size", "16"])
    example_tiny.main([*plain, "--name", "small", "--batch-size", "8"])
    a, b = _latest_tensors(tmp_path / "accum"), _latest_tensors(tmp_path / "big")
    weights = [k for k in a if k.startswith(("model.", "ema.shadow."))]
    assert len(weights) >= 8
    for k in weights:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    small = _latest_tensors(tmp_path / "small")  # without accumulation batch 8 trains differently
    assert max((a[k] - small[k]).abs().max().item() for k in weights) > 1e-3


# ---- trackers ----------------------------------------------------------------------------------------------------
def test_report_to_an_uninstalled_or_unknown_tracker_fails_at_start(tmp_path):
    with pytest.raises(ValueError, match="unknown tracker"):
        _trainer(tmp_path, report_to="notebook")
    if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
        with pytest.raises(ValueError, match=r"'tensorboard' package is not installed \(pip install tensorboard\)"):
            _trainer(tmp_path, report_to="tensorboard")
        assert not (tmp_path / "run").exists()  # nothing was started
    else:  # where it is installed, the logs go to runs/<name>/trackers
        trainer = _trainer(tmp_path, report_to="tensorboard")
        assert trainer.accelerator.logging_dir == str(tmp_path / "run" / "trackers")


class RecordingTracker:
    """A GeneralTracker (accelerate's base class, made at test time) that keeps what it was given."""

    @staticmethod
    def make() -> object:
        from accelerate.tracking import GeneralTracker

        class Recording(GeneralTracker):
            name, requires_logging_directory = "recording", False

            def __init__(self) -> None:
                super().__init__()
                self.config: dict = {}
                self.logs: list[tuple[int, dict]] = []
                self.finished = 0

            @property
            def tracker(self) -> object:
                return self

            def store_init_configuration(self, values: dict) -> None:
                self.config = dict(values)

            def log(self, values: dict, step: int | None = None, **kwargs) -> None:
                self.logs.append((step, dict(values)))

            def finish(self) -> None:
                self.finished += 1

        return Recording()


@pytest.mark.slow
def test_metrics_and_config_reach_accelerate_trackers(tmp_path, monkeypatch):
    rec = RecordingTracker.make()
    monkeypatch.setattr(example_tiny, "Trainer", functools.partial(Trainer, trackers=[rec]))
    example_tiny.main([*TINY, "--runs-dir", str(tmp_path), "--name", "tracked", "--steps", "6", "--grad-accum", "2"])
    assert rec.config["lr"] == 3e-3 and rec.config["grad_accum"] == 2 and rec.config["name"] == "tracked"
    assert [s for s, _ in rec.logs] == [2, 4, 6] and all("loss" in v and "lr" in v for _, v in rec.logs)
    logged = [json.loads(line) for line in (tmp_path / "tracked" / "metrics.jsonl").read_text().splitlines()]
    assert [v["loss"] for _, v in rec.logs] == [r["loss"] for r in logged]  # the same numbers as metrics.jsonl
    assert rec.finished == 1


# ---- resume ------------------------------------------------------------------------------------------------------
def test_resume_from_latest_or_a_path_that_is_no_checkpoint_fails_at_start(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no checkpoint yet"):
        _trainer(tmp_path, resume_from="latest")
    with pytest.raises(FileNotFoundError, match="not a checkpoint"):
        _trainer(tmp_path, resume_from=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="contradict"):
        _trainer(tmp_path, resume_from="latest", resume=False)


@pytest.mark.slow
def test_resume_from_a_step_folder_replays_the_run_from_there(tmp_path):
    common = [*TINY, "--runs-dir", str(tmp_path), "--steps", "6", "--ckpt-every", "2", "--keep-ckpts", "3"]
    example_tiny.main([*common, "--name", "base"])
    step2 = tmp_path / "base" / "state" / "step_000002"
    example_tiny.main([*common, "--name", "fork", "--resume-from", str(step2)])  # a new run continuing base
    config = json.loads((tmp_path / "fork" / "config.json").read_text())
    assert config["resumed_from_step"] == 2 and config["resumed_from"] == str(step2)
    a, b = _latest_tensors(tmp_path / "base"), _latest_tensors(tmp_path / "fork")
    for k in (k for k in a if not k.startswith("rng.")):
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    example_tiny.main([*common, "--name", "base", "--steps", "8", "--resume-from", "latest"])
    assert json.loads((tmp_path / "base" / "final.json").read_text())["step"] == 8


@pytest.mark.slow
def test_resume_refuses_a_shape_change_and_warns_about_hyper_parameters(tmp_path):
    common = [*TINY, "--runs-dir", str(tmp_path), "--name", "r", "--steps", "6", "--ckpt-every", "2"]
    example_tiny.main([*common, "--stop-after", "2"])
    before = sorted(p.name for p in (tmp_path / "r" / "state").iterdir())
    with pytest.raises(ConfigMismatchError, match="--width 8 → 16") as err:
        example_tiny.main([*common, "--width", "16"])
    assert len(str(err.value)) < 200 and str(tmp_path) not in str(err.value)
    assert sorted(p.name for p in (tmp_path / "r" / "state").iterdir()) == before  # nothing trained or written
    with pytest.warns(UserWarning, match="changed hyper-parameters") as caught:
        example_tiny.main([*common, "--lr", "0.001", "--seed", "1", "--stop-after", "2"])
    changed = [str(w.message) for w in caught if "changed hyper-parameters" in str(w.message)]
    assert len(changed) == 1 and "--seed 0 → 1; --lr 0.003 → 0.001" in changed[0]
    assert "--stop-after" not in changed[0] and "--width" not in changed[0]
    with warnings.catch_warnings(record=True) as later:  # the checkpoint records the new values: no warning now
        warnings.simplefilter("always")
        example_tiny.main([*common, "--lr", "0.001", "--seed", "1"])
    assert not [w for w in later if "changed hyper-parameters" in str(w.message)]


def test_a_size_mismatch_becomes_a_short_message_naming_the_changes():
    @dataclasses.dataclass
    class C(TrainConfig):
        depth: int = 3

    err = RuntimeError("Error(s) in loading state_dict for Net:\n\tsize mismatch for fc.weight: copying a param "
                       "with shape torch.Size([4, 3]) from checkpoint, the shape in current model is [4, 5].")
    msg = str(shape_error(err, {"depth": 2, "lr": 1.0}, C()))
    assert "--depth 2 → 3" in msg and "size mismatch for fc.weight" in msg and "\n" not in msg


# ---- Hub ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def token_hub(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest sets HF_HUB_OFFLINE=1 for the suite
    with FakeHub(token="hf_good") as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
        yield hub


def test_a_bad_token_fails_before_training(tmp_path, token_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_bad")
    with pytest.raises(ValueError, match="rejected the token") as err:
        example_tiny.main([*TINY, "--runs-dir", str(tmp_path), "--name", "bad", "--push-to-hub", "me/tiny"])
    assert not (tmp_path / "bad").exists() and "me/tiny" not in token_hub.repos
    assert "hf_bad" not in str(err.value)
    with pytest.raises(ValueError, match="not a Hub repo id"):
        _trainer(tmp_path, push_to_hub="../../etc")


@pytest.mark.slow
def test_push_creates_the_private_repo_first_and_uploads_a_card_with_data_fields(tmp_path, token_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    seen_at_first_step = []
    real_step_done = Trainer.step_done

    def step_done(self, step, losses, lr=None):
        if step == 1:
            repo = token_hub.repos.get("me/tiny", {})
            seen_at_first_step.append((repo.get("sha"), sorted(repo.get("files", {})), repo.get("private")))
        return real_step_done(self, step, losses, lr)

    monkeypatch.setattr(Trainer, "step_done", step_done)
    example_tiny.main([*TINY, "--runs-dir", str(tmp_path), "--name", "pushed", "--steps", "4",
                       "--push-to-hub", "me/tiny", "--hub-private"])
    assert seen_at_first_step == [(None, [], True)]  # created (private, empty) before step 1
    repo = token_hub.repos["me/tiny"]
    assert sorted(repo["files"]) == ["README.md", "config.json", "model.safetensors"] and repo["private"]
    readme = tmp_path / "card.md"
    readme.write_bytes(repo["files"]["README.md"])
    card = read_card(readme)
    assert card.pipeline_tag == "image-to-image" and card.license == "mit" and card.steps == 4


# ---- cards -------------------------------------------------------------------------------------------------------
def test_base_model_comes_from_init_from(tmp_path):
    @dataclasses.dataclass
    class WithInit(TrainConfig):
        init_from: str = ""

    local = tmp_path / "weights"
    local.mkdir()
    cases = {"someone/base": ["someone/base"], str(local): [], f"someone/a+{local}": ["someone/a"]}
    for i, (spec, want) in enumerate(cases.items()):
        cfg = WithInit(device="cpu", runs_dir=str(tmp_path), name=f"b{i}", steps=0,
                       progress=False, init_from=spec)
        trainer = Trainer(cfg, [], entry="tests")
        trainer.start()
        out = trainer.finish(example_tiny.TinyAutoencoder(width=2), card=ModelCardInfo(description="t"))
        card = read_card(out)
        assert card.base_model == want, spec
        assert card.pipeline_tag == "image-to-image"


@pytest.mark.slow
def test_a_run_on_an_osv5m_cache_names_the_dataset_and_its_licence(tmp_path, tiny_country_cache):
    from streetgen.data.cache import build_cache
    from train.train_cvae import main

    world = json.loads((tiny_country_cache / "meta.json").read_text())
    assert world["dataset"] == "streetgen.world"  # the renders' folder says who made it
    folder = tmp_path / "osv5m"  # the same files in the OSV-5M layout, without our renderer's dataset.json
    shutil.copytree(tiny_country_cache.parent / "w", folder, ignore=shutil.ignore_patterns("dataset.json"))
    cache = build_cache(folder, tmp_path / "osv5m_cache", split="train", size=32, workers=1, progress=False)
    assert json.loads((cache / "meta.json").read_text())["dataset"] == "osv5m/osv5m"
    export = main(["--data", str(cache), "--runs-dir", str(tmp_path / "runs"), "--name", "osv", "--steps", "2",
                   "--batch-size", "4", "--latent-dim", "8", "--embed-dim", "4", "--ckpt-every", "2",
                   "--grad-accum", "2", "--device", "cpu", "--no-progress"])
    card = read_card(export)
    assert card.datasets == ["osv5m/osv5m"] and card.license == "cc-by-sa-4.0"
    assert "CC BY-SA 4.0" in card.data_license and card.pipeline_tag == "unconditional-image-generation"
    text = (export / "README.md").read_text()
    assert "datasets:\n- osv5m/osv5m" in text and "license: cc-by-sa-4.0" in text
    world_card = read_card(main(["--data", str(tiny_country_cache), "--runs-dir", str(tmp_path / "runs"), "--name",
                                 "world", "--steps", "1", "--batch-size", "4", "--latent-dim", "8", "--embed-dim", "4",
                                 "--device", "cpu", "--no-progress"]))
    assert world_card.datasets == [] and world_card.license == "mit" and "streetgen.world" in world_card.data_license


# ---- two processes (gloo) ----------------------------------------------------------------------------------------
def _accelerate_launch(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`accelerate launch` 2 CPU processes of train.example_tiny with `args`; returns the finished process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_ip",
              "127.0.0.1", "--main_process_port", str(port), "-m", "train.example_tiny", *args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "",
                "ACCELERATE_CONFIG_FILE": str(tmp_path / "none.yaml"), **env}
    return subprocess.run(launch, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=150)


@pytest.mark.slow
def test_two_processes_accumulating_train_like_one_process_at_the_whole_batch(tmp_path):
    plain = [*TINY, "--runs-dir", str(tmp_path), "--steps", "4", "--flip-p", "0", "--noise-std", "0"]
    proc = _accelerate_launch([*plain, "--name", "ddp", "--batch-size", "4", "--grad-accum", "2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    example_tiny.main([*plain, "--name", "one", "--batch-size", "16"])
    ddp, one = _latest_tensors(tmp_path / "ddp"), _latest_tensors(tmp_path / "one")
    weights = [k for k in ddp if k.startswith(("model.", "ema.shadow."))]
    assert len(weights) == 8
    for k in weights:
        torch.testing.assert_close(ddp[k], one[k], rtol=1e-4, atol=1e-5, msg=k)
    digests = json.loads((tmp_path / "ddp" / "final.json").read_text())["rank_weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]


@pytest.mark.slow
def test_two_processes_both_stop_when_the_hub_repo_cannot_be_created(tmp_path):
    t0 = time.time()
    proc = _accelerate_launch([*TINY, "--runs-dir", str(tmp_path), "--name", "offline", "--push-to-hub", "me/x"],
                              tmp_path, HF_HUB_OFFLINE="1")
    assert proc.returncode != 0 and time.time() - t0 < 90  # rank 1 does not wait for a rank 0 that gave up
    assert proc.stderr.count("cannot create the repo before training: offline mode") == 2  # both ranks say why
    assert not (tmp_path / "offline").exists()
