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
