"""streetgen: a Gradio app that makes street-level images of places on Earth.

Run `python app.py [--device auto|cpu|cuda]` (offline; http://127.0.0.1:7860). Importing this module builds `demo`
without launching it.
This file only assembles the tabs of `ui/`; rendering lives in `streetgen.world`, places in `streetgen.geo`.
"""
from __future__ import annotations

import argparse
import os

# Before gradio / huggingface_hub are imported: no telemetry or version checks, no Hub downloads.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from streetgen import mapview, world  # noqa: E402
from streetgen.pipelines import DEVICES  # noqa: E402
from ui import models, tab_city, tab_country, tab_layout, tab_map, tab_world  # noqa: E402
from ui.common import CSS  # noqa: E402

TABS = (tab_country, tab_map, tab_layout, tab_city, tab_world)  # in the order the page shows them

# Gradio 6 takes theme/css in launch(); tests and `python app.py` both pass these.
LAUNCH_KWARGS = {"css": CSS}

with gr.Blocks(title="streetgen") as demo:
    gr.Markdown("# streetgen\nStreet-level images of places on Earth: pick a place, get a photo-like street view "
                "with its exact label map and depth.")
    for tab in TABS:
        tab.build(demo)
    tab_map.build_api()

demo.queue(max_size=16, default_concurrency_limit=2)  # both render events share one limit via concurrency_id


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The launcher's options: --device puts every model on CUDA when available (auto), or on the CPU or CUDA."""
    parser = argparse.ArgumentParser(description="The streetgen Gradio app (http://127.0.0.1:7860).")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the models run (default auto: CUDA when torch sees it, else the CPU)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        print(f"models run on: {models.set_device(parse_args().device)}")
    except ValueError as err:
        raise SystemExit(f"app.py: {err}") from None
    world.render(0.0, 0.0, 0, 64)  # first render compiles the pixel kernels (cached on disk afterwards)
    mapview.nearest_land(0.0, 0.0)  # builds the coast index (~1 s) before the first sea tap
    tab_country.pipeline(tab_country.DEFAULT_COUNTRY_MODEL)  # the first page load fills its country lists (~4 s)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True, **LAUNCH_KWARGS)
