"""Where the app's resident memory goes: RSS after each import, each model the load bench uses and the warm-up.

    python bench/app_memory.py

Imports `app` (which limits malloc arenas as `python app.py` does) in this process and prints one line per step,
so the models' share can be told from the libraries' (torch, gradio, diffusers, numba).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ui import memory  # noqa: E402  (no torch or gradio)

# (kind, spec) of the models bench/app_load.py's requests load (the Layout tab loads a generator and a painter)
MODELS = [("country", "cvae"), ("country", "country_diffusion+country_diffusion_early"), ("map", "map_gan"),
          ("layout", "layout_world"), ("spade", "spade_world"), ("city", "cyclegan_paris_venice")]


def step(label: str, last: list[float]) -> None:
    """Print `label` with the RSS now and its growth since the previous step."""
    now = memory.rss_mb()
    print(f"{label:<62} {now:7.0f} MB  (+{now - last[0]:.0f})", flush=True)
    last[0] = now


def main() -> None:
    last = [0.0]
    step("python", last)
    import torch  # noqa: F401

    step("+ torch", last)
    import gradio  # noqa: F401

    step("+ gradio", last)
    import diffusers.models  # noqa: F401

    step("+ diffusers.models (imports torch._dynamo and triton)", last)
    import app

    step("+ app (five tabs built; streetgen, numba)", last)
    from ui import models

    for kind, spec in MODELS:
        models.load(kind, spec, spec)
        step(f"+ {kind} model {spec}", last)
    app.warm_up()
    step("+ warm-up (pixel kernels, coast index)", last)


if __name__ == "__main__":
    main()
