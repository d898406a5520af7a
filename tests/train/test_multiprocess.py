"""Two CPU processes through `accelerate launch` (gloo): both ranks train, gradients are synchronised, and only
rank 0 writes the run folder. The same command with more processes / machines drives real GPUs (train/common/loop.py)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

from train.common.logging import read_metrics
from train.example_tiny import main

REPO = Path(__file__).resolve().parents[2]
# no noise / flips: then 2 ranks x batch 8 must train exactly like 1 process x batch 16 (up to float summation order)
ARGS = ["--device", "cpu", "--no-progress", "--n-images", "64", "--steps", "8", "--log-every", "2", "--ckpt-every", "4",
        "--sample-every", "4", "--noise-std", "0", "--flip-p", "0"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    name = (run / "state" / "latest").read_text().strip()
    t = safetensors.torch.load_file(str(run / "state" / name / "tensors.safetensors"))
    return {k: v for k, v in t.items() if k.startswith(("model.", "ema.shadow."))}


@pytest.mark.slow
def test_two_cpu_processes_train_in_sync(tmp_path):
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
           "-m", "train.example_tiny", *ARGS, "--runs-dir", str(tmp_path), "--name", "ddp", "--batch-size", "8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "",
           "ACCELERATE_CONFIG_FILE": str(tmp_path / "no-accelerate-config.yaml")}  # ignore any user config
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.time() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert elapsed < 60, f"2-process run took {elapsed:.1f} s"

    run = tmp_path / "ddp"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["world_size"] == 2
    assert cfg["command"].startswith("accelerate launch --multi_gpu --num_processes 2 -m train.example_tiny")
    final = json.loads((run / "final.json").read_text())
    digests = final["rank_weight_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]  # both ranks ran and ended with identical weights

    # one writer: every logged step once, one checkpoint series, nothing but the expected files
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [2, 4, 6, 8]
    assert {p.name for p in run.iterdir()} == {"config.json", "metrics.jsonl", "curves.png", "samples", "state",
                                               "export", "final.json"}
    assert sorted(p.name for p in (run / "state").iterdir()) == ["latest", "step_000004", "step_000008"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000004.png", "step_000008.png"]
    assert len(json.loads((run / "state" / "step_000008" / "meta.json").read_text())["rng"]) == 2  # per-rank RNG

    # gradients were averaged across ranks: the same as one process seeing the combined batch
    main([*ARGS, "--runs-dir", str(tmp_path), "--name", "single", "--batch-size", "16"])
    ddp, single = _weights(run), _weights(tmp_path / "single")
    assert ddp.keys() == single.keys() and len(ddp) == 8
    for k in ddp:
        torch.testing.assert_close(ddp[k], single[k], rtol=1e-4, atol=1e-5, msg=k)


def _launch(tmp_path: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
           *([module] if module.endswith(".py") else ["-m", module]), *args]  # a script path or a module
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "",
           "ACCELERATE_CONFIG_FILE": str(tmp_path / "no-accelerate-config.yaml")}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_two_processes_read_their_own_shards_with_workers_and_resume_exactly(tmp_path):
    """A sharded cache split by shard over 2 processes (each maps only its own), read ahead by a DataLoader worker:
    a run stopped after 3 steps and resumed ends with the same weights as one that ran 6 steps straight."""
    from streetgen.data.fake_osv5m import write_fake
    from streetgen.data.shards import build_sharded_cache

    write_fake(tmp_path / "raw", n=24, size=(48, 64), seed=2, countries=["FR", "JP", "NA"], per_shard=6, workers=1,
               splits={"train": 1.0})
    cache = build_sharded_cache(tmp_path / "raw" / "osv5m", tmp_path / "cache", size=16, shard_rows=4, workers=1)
    common = ["--data", str(cache), "--runs-dir", str(tmp_path), "--steps", "6", "--batch-size", "4",
              "--latent-dim", "8", "--embed-dim", "4", "--log-every", "1", "--ckpt-every", "3", "--device", "cpu",
              "--no-progress", "--num-workers", "1"]
    straight = _launch(tmp_path, "train.train_cvae", *common, "--name", "straight")
    assert "6 shard(s); each of 2 processes reads only its own" in straight.stdout
    _launch(tmp_path, "train.train_cvae", *common, "--name", "resumed", "--stop-after", "3")
    assert not (tmp_path / "resumed" / "export").exists()
    _launch(tmp_path, "train.train_cvae", *common, "--name", "resumed")
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys() and len(a) > 4
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # (the ranks' final digests differ: BatchNorm running statistics follow each rank's own last batch)
    assert len(json.loads((tmp_path / "resumed" / "final.json").read_text())["rank_weight_digests"]) == 2


# run by each rank: the trainer, then the names of the threads its process still has, written to a file per rank
# (a file, not stdout: the launcher's relayed output lost these lines once on a loaded machine)
THREADS_AFTER = """import json, os, sys
from train.example_tiny import main
main(sys.argv[1:])
names = sorted(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
with open(os.path.join(FOLDER, "threads_" + os.environ["RANK"] + ".json"), "w") as fh:
    json.dump(names, fh)
"""


@pytest.mark.slow
def test_a_stopped_or_finished_run_ends_its_process_group_for_good(tmp_path):
    """Trainer.finish, on both its paths (--stop-after, and the export), leaves no gloo thread running into
    interpreter shutdown, although the trainer's DDP wrappers are still alive when it returns."""
    script = tmp_path / "threads_after.py"
    script.write_text(THREADS_AFTER.replace("FOLDER", repr(str(tmp_path))))
    common = [*ARGS, "--runs-dir", str(tmp_path), "--name", "ends", "--batch-size", "8"]
    for extra in (["--stop-after", "4"], []):
        for old in tmp_path.glob("threads_*.json"):
            old.unlink()
        out = _launch(tmp_path, str(script), *common, *extra).stdout
        threads = {f.stem[-1]: json.loads(f.read_text()) for f in tmp_path.glob("threads_*.json")}
        assert sorted(threads) == ["0", "1"], out[-5000:]
        for rank, names in threads.items():
            assert names and not [n for n in names if "gloo" in n], (extra, rank, names)
    assert (tmp_path / "ends" / "export" / "model.safetensors").is_file()
