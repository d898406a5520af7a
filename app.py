"""streetgen: a Gradio app that makes street-level images of places on Earth.

Run `python app.py` (offline on the shipped checkpoints; http://127.0.0.1:7860). Each tab's models come from
ui/models.toml; `--model KEY=SOURCE` (repeatable) or STREETGEN_MODELS="KEY=SOURCE;..." adds one (a checkpoint
folder, a training run's folder, or a Hub id[@revision]); `--device auto|cpu|cuda` says where they run; see
`python app.py --help`. Importing this module builds `demo` without launching it. This file only assembles the tabs
of `ui/`; rendering lives in `streetgen.world`.
"""
from __future__ import annotations

import argparse
import os
import sys

from streetgen.sources import uses_hub
from ui import choices, kiosk, memory  # no gradio, torch or huggingface_hub: read before they are


DEVICES = ("auto", "cpu", "cuda")  # as streetgen.pipelines.DEVICES (not imported here: it must come after the env)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: --model KEY=SOURCE (repeatable; after those of STREETGEN_MODELS), --offline, --device
    (every model on CUDA when torch sees it: auto, or on the CPU or CUDA) and --kiosk [--idle-seconds N]."""
    parser = argparse.ArgumentParser(description="streetgen's Gradio app (http://127.0.0.1:7860)")
    parser.add_argument("--model", action="append", default=[], metavar="KEY=SOURCE",
                        help=f"add a model to a tab and open it first; KEY is one of {', '.join(choices.OVERRIDE_KEYS)}"
                             ", SOURCE a checkpoint folder, a run folder (runs/<name>) or a Hub id[@revision]")
    parser.add_argument("--offline", action="store_true", help="never contact the Hub (as HF_HUB_OFFLINE=1)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the models run (default auto: CUDA when torch sees it, else the CPU)")
    kiosk.add_arguments(parser)
    args = parser.parse_args(argv)
    args.model = [os.environ.get(choices.ENV_VAR, "")] + args.model  # a Space's variable first, then the flags
    try:
        choices.parse_overrides(args.model)
    except ValueError as err:
        parser.error(f"{err} (from --model or {choices.ENV_VAR})")
    return args


ARGS = parse_args(sys.argv[1:] if __name__ == "__main__" else [])
choices.configure(ARGS.model)
# Before gradio / huggingface_hub are imported: no telemetry or version checks; no Hub unless a model needs it.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
if ARGS.offline or not uses_hub(choices.all_specs()):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Jobs that run at once. Model jobs take their share of the cores as they run (ui.common.share_cores); every other
# thread starts from OMP_NUM_THREADS (torch and numba read it when they start), one share of the cores.
JOB_SLOTS = max(1, min(2, os.cpu_count() or 1))
os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // JOB_SLOTS)))
# Threads share 2 malloc arenas instead of up to 8 per core each keeping what jobs freed (docs/results.md, issue 32).
memory.limit_arenas(2)
QUEUE_SIZE = 512  # waiting events; 64 concurrent users fill an eighth of it (16 refused 45% of 32 users)
CACHE_CLEANUP = (600, 3600)  # every 10 minutes Gradio deletes its cached files (uploads, outputs) over an hour old

import gradio as gr  # noqa: E402

from streetgen import mapview, world  # noqa: E402
from ui import busy, models, showcase, tab_city, tab_country, tab_layout, tab_map, tab_world  # noqa: E402
from ui.common import CSS  # noqa: E402

if ARGS.kiosk:
    kiosk.enable(ARGS.idle_seconds)

TABS = (tab_country, tab_map, tab_layout, tab_city, tab_world)  # in the order the page shows them

# Gradio 6 takes theme/css/js (and the kiosk's head script and footer) in launch(); tests and `python app.py` pass
# these (js: the full queue's wording).
LAUNCH_KWARGS = {**kiosk.launch_kwargs(CSS), "js": busy.JS}


def build_demo() -> gr.Blocks:
    """The app's page with the models `choices` is configured with (tests reconfigure and build again)."""
    with gr.Blocks(title="streetgen", delete_cache=CACHE_CLEANUP, **kiosk.blocks_kwargs()) as blocks:
        gr.Markdown("# streetgen\nStreet-level images of places on Earth: pick a place, get a photo-like street "
                    "view with its exact label map and depth.")
        with gr.Tabs(overflow_behavior="wrap"):  # a phone shows all five tabs on two rows, not in a "⋯" menu
            for tab in TABS:
                tab.build(blocks)
        tab_map.build_api()
        if kiosk.enabled():
            kiosk.adapt(blocks)
            kiosk.build(blocks, showcase.stored, showcase.SHOWN, showcase.ATTRACT_ID)
    # render events share one limit (concurrency_id)
    blocks.queue(max_size=QUEUE_SIZE, default_concurrency_limit=JOB_SLOTS)
    return blocks


demo = build_demo()


def warm_up() -> None:
    """Load what the first visitor needs, in the background after the page is up (the page answers in about 5 s
    instead of 13): the default tab's model (its first page load fills the country lists), the pixel kernels and
    the coast index. Every other model loads on first use; a model that cannot load only disables itself."""
    try:
        tab_country.pipeline(choices.default("country"))
    except gr.Error as err:
        print(f"Country tab: {err}", file=sys.stderr)
    world.render(0.0, 0.0, 0, 64)  # first render compiles the pixel kernels (cached on disk afterwards)
    mapview.nearest_land(0.0, 0.0)  # builds the coast index (~1 s) before the first sea tap
    if kiosk.enabled():  # every tab's pictures for its default choices, for the page load to hand over
        showcase.prepare(demo)
        for line in showcase.errors():
            print(f"Kiosk pictures: {line}", file=sys.stderr)


if __name__ == "__main__":
    import threading

    try:
        print(f"models run on: {models.set_device(ARGS.device)}")
    except ValueError as err:
        raise SystemExit(f"app.py: {err}") from None
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True,
                prevent_thread_lock=True, **LAUNCH_KWARGS)
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    memory.start_trimmer()  # freed memory goes back to the system whenever the resident size has grown
    demo.block_thread()
