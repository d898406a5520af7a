"""app.py's launcher options: --device auto|cpu|cuda, --kiosk and --idle-seconds."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_device_option_defaults_to_auto_and_takes_cpu():
    import app

    assert app.parse_args([]).device == "auto" and app.parse_args(["--device", "cpu"]).device == "cpu"
    with pytest.raises(SystemExit):
        app.parse_args(["--device", "tpu"])


@pytest.mark.slow
def test_asking_for_cuda_without_it_stops_with_a_clear_message():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = subprocess.run([sys.executable, "app.py", "--device", "cuda"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 1 and run.stderr.strip().splitlines()[-1] == (
        "app.py: device 'cuda' was asked for, but torch sees no CUDA device (use 'auto' or 'cpu')")


@pytest.mark.slow
def test_kiosk_options_reach_the_command_line():
    import app

    args = app.parse_args([])
    assert args.kiosk is False and args.idle_seconds == 90
    args = app.parse_args(["--kiosk", "--idle-seconds", "3"])
    assert args.kiosk is True and args.idle_seconds == 3.0
