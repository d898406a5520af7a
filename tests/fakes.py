"""Checkpoint and run folders in the real layouts, written without torch (for tests that must not import it)."""
from __future__ import annotations

import json
import struct
from pathlib import Path


def fake_checkpoint(folder: Path, architecture: str = "country_cvae", cut: int = 0) -> Path:
    """A checkpoint folder with a config naming `architecture` and a one-tensor safetensors file (minus `cut`
    bytes at the end, to make it corrupt); no torch needed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"architecture": architecture}))
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    data = struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)
    (folder / "model.safetensors").write_bytes(data[:len(data) - cut])
    return folder


def fake_run(root: Path, architecture: str = "country_cvae") -> Path:
    """A run folder in train/common/run.py's layout: export/, two sample grids, curves.png, metrics.jsonl."""
    fake_checkpoint(root / "export", architecture)
    (root / "samples").mkdir()
    for step in (50, 100):
        (root / "samples" / f"step_{step:06d}.png").write_bytes(b"png")
    (root / "curves.png").write_bytes(b"png")
    (root / "metrics.jsonl").write_text('{"step": 50, "loss": 0.5}\n{"step": 100, "loss": 0.25}\n{"step": 1')
    return root
