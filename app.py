"""streetgen: a Gradio app that makes street-level images of places on Earth.

Run `python app.py` (offline; http://127.0.0.1:7860). Importing this module builds `demo` without launching it.
This file only assembles the tabs of `ui/`; rendering lives in `streetgen.world`, places in `streetgen.geo`.
"""
from __future__ import annotations

import os

# Before gradio / huggingface_hub are imported: no telemetry or version checks, no Hub downloads.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Jobs that run at once, and torch threads each: two concurrent jobs on 2 cores get one thread each instead of
# both asking for every core (torch reads OMP_NUM_THREADS when it starts; it is imported only by the first job).
JOB_SLOTS = max(1, min(2, os.cpu_count() or 1))
os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // JOB_SLOTS)))
QUEUE_SIZE = 512  # waiting events; 64 concurrent users fill an eighth of it (16 refused 45% of 32 users)
CACHE_CLEANUP = (600, 3600)  # every 10 minutes Gradio deletes its cached files (uploads, outputs) over an hour old

import gradio as gr  # noqa: E402

from streetgen import mapview, world  # noqa: E402
from ui import tab_city, tab_country, tab_layout, tab_map, tab_world  # noqa: E402
from ui.common import CSS  # noqa: E402

TABS = (tab_country, tab_map, tab_layout, tab_city, tab_world)  # in the order the page shows them

# Gradio 6 takes theme/css in launch(); tests and `python app.py` both pass these.
LAUNCH_KWARGS = {"css": CSS}

with gr.Blocks(title="streetgen", delete_cache=CACHE_CLEANUP) as demo:
    gr.Markdown("# streetgen\nStreet-level images of places on Earth: pick a place, get a photo-like street view "
                "with its exact label map and depth.")
    for tab in TABS:
        tab.build(demo)
    tab_map.build_api()

demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=JOB_SLOTS)  # render events share one limit (concurrency_id)


def warm_up() -> None:
    """Load what the first visitor needs, in the background after the page is up (the page answers in about 5 s
    instead of 13): the default tab's model (its first page load fills the country lists), the pixel kernels and
    the coast index. Every other model loads on first use."""
    tab_country.pipeline(tab_country.DEFAULT_COUNTRY_MODEL)
    world.render(0.0, 0.0, 0, 64)  # first render compiles the pixel kernels (cached on disk afterwards)
    mapview.nearest_land(0.0, 0.0)  # builds the coast index (~1 s) before the first sea tap


if __name__ == "__main__":
    import threading

    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True,
                prevent_thread_lock=True, **LAUNCH_KWARGS)
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.block_thread()
