"""streetgen: a Gradio app that makes street-level images of places on Earth.

Run `python app.py` (offline; http://127.0.0.1:7860). Importing this module builds `demo` without launching it.
UI wiring only: rendering lives in `streetgen.world`, places in `streetgen.geo`.
"""
from __future__ import annotations

import html
import os
import random

# Before gradio / huggingface_hub are imported: no telemetry or version checks, no Hub downloads.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from streetgen import geo, world  # noqa: E402

MAX_RENDERS = 4
SIZES = {"128": 128, "256": 256, "128x256": (128, 256)}  # API value -> world.render size
SIZE_CHOICES = [("128 × 128", "128"), ("256 × 256", "256"), ("128 × 256 wide", "128x256")]
CONTINENTS = [("All", "all"), ("Africa", "AF"), ("Asia", "AS"), ("Europe", "EU"), ("N. America", "NA"),
              ("S. America", "SA"), ("Oceania", "OC")]
CITY_NAMES = list(geo.FAMOUS_CITIES)
MODES = ["Country", "Famous city"]

COUNTRIES = geo.renderable_countries()


def _country_choices(continent: str = "all") -> list[tuple[str, str]]:
    return [(c.name, c.iso2) for c in COUNTRIES if continent == "all" or c.continent == continent]


def _parse_size(size: str):
    if size not in SIZES:  # Gradio already rejects values outside the Radio's choices; this guards direct calls
        raise gr.Error(f"Unknown size {size!r}: use one of {', '.join(SIZES)}.")
    return SIZES[size]


def _summary(metas: list[dict]) -> str:
    """A Markdown table with one column per render (narrow enough for a portrait kiosk screen)."""
    def place(m):
        names = [str(m[k]) for k in ("famous_city", "city", "country_name") if m.get(k)] or [str(m.get("country", "–"))]
        return ", ".join(dict.fromkeys(names))  # "Venice, Italy", not "Venice, Venice, Italy"

    fields = [("place", place), ("drive side", "drive_side"), ("climate", "climate"), ("region style", "region_style"),
              ("weather", "weather"), ("time of day", "time_of_day"),
              ("lat, lon", lambda m: f"{m['lat']:.4f}, {m['lon']:.4f}" if "lat" in m and "lon" in m else "–")]
    rows = ["| | " + " | ".join(f"#{i} · seed {m.get('seed', '?')}" for i, m in enumerate(metas, 1)) + " |",
            "|---" * (len(metas) + 1) + "|"]
    for name, get in fields:
        cells = [get(m) if callable(get) else str(m.get(get, "–")).replace("_", " ") for m in metas]
        rows.append(f"| **{name}** | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(rows)


def render_world(place: str, seed: int, size: str, n: int) -> tuple[list, str, dict]:
    """Render `n` street views of a place: a country (ISO2 code or English name) or a famous city name.

    Returns a gallery of (photo, label map, depth map) per render, a Markdown summary and the raw metadata.
    Render i uses seed `seed + i`.
    """
    place = (place or "").strip()
    if not place:
        raise gr.Error("Choose a country or a famous city first.")
    if seed is None or float(seed) != int(seed) or int(seed) < 0:
        raise gr.Error(f"Seed must be a whole number ≥ 0, got {seed!r}.")
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise gr.Error(f"Number of renders must be 1–{MAX_RENDERS}, got {n!r}.") from None
    if not 1 <= n <= MAX_RENDERS:
        raise gr.Error(f"Number of renders must be 1–{MAX_RENDERS}, got {n}.")
    hw = _parse_size(size)
    gallery, metas = [], []
    for i in range(n):
        s = int(seed) + i
        try:
            sample = world.render_place(place, seed=s, size=hw)
        except ValueError as err:  # unknown country, place without streets, ...
            raise gr.Error(str(err)) from None
        tag = f"#{i + 1} · seed {s}"
        gallery += [(sample.image, f"{tag} · photo"), (world.colorize_labels(sample.labels), f"{tag} · labels"),
                    (world.colorize_depth(sample.depth), f"{tag} · depth")]
        metas.append(sample.meta)
    return gallery, _summary(metas), {"renders": metas}


def _pick_place(mode: str, country: str, city: str) -> str:
    return city if mode == "Famous city" else country


def _surprise():
    c = random.choice(COUNTRIES)
    return ("Country", "all", gr.update(choices=_country_choices(), value=c.iso2), random.randrange(10_000))


def _on_mode(mode: str):
    return gr.update(visible=mode == "Country"), gr.update(visible=mode == "Famous city")


def _on_continent(continent: str, current: str):
    choices = _country_choices(continent)
    codes = [v for _, v in choices]
    return gr.update(choices=choices, value=current if current in codes else codes[0])


LEGEND = "<div id='legend-swatches'>" + "".join(
    f"<span class='swatch'><i style='background: rgb{tuple(int(v) for v in rgb)}'></i>{html.escape(name)}</span>"
    for name, rgb in zip(world.CLASS_NAMES, world.PALETTE)) + "</div>"

CSS = """
#render button, button#render, button#surprise { min-height: 64px; font-size: 1.25rem; }
#mode label, #size label, #n label, #continent label, #city label { min-height: 44px; }
#legend-swatches { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 0.9rem; }
#legend-swatches .swatch { display: inline-flex; align-items: center; gap: 6px; }
#legend-swatches i { display: inline-block; width: 18px; height: 18px; border: 1px solid #8888; border-radius: 3px; }
"""
# Gradio 6 takes theme/css in launch(); tests and `python app.py` both pass these.
LAUNCH_KWARGS = {"css": CSS}

with gr.Blocks(title="streetgen") as demo:
    gr.Markdown("# streetgen\nStreet-level images of places on Earth: pick a place, get a photo-like street view "
                "with its exact label map and depth.")
    with gr.Tab("World", id="world", elem_id="tab-world"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                mode = gr.Radio(MODES, value="Country", label="Where", elem_id="mode")
                with gr.Group(visible=True) as country_box:
                    continent = gr.Radio(CONTINENTS, value="all", label="Continent", elem_id="continent")
                    country = gr.Dropdown(_country_choices(), value="JP", label="Country (tap, or type to search)",
                                          filterable=True, elem_id="country")
                city = gr.Radio(CITY_NAMES, value=CITY_NAMES[0], label="Famous city", visible=False,
                                elem_id="city")
                with gr.Row():
                    seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="seed", min_width=120)
                    n = gr.Radio([1, 2, 3, 4], value=1, label="Renders", elem_id="n", min_width=160)
                size = gr.Radio(SIZE_CHOICES, value="256", label="Size", elem_id="size")
                with gr.Row():
                    surprise = gr.Button("Surprise me", size="lg", elem_id="surprise")
                    render = gr.Button("Render", variant="primary", size="lg", elem_id="render")
                place = gr.Textbox(visible=False, elem_id="place")
            with gr.Column(scale=2, min_width=360):
                gallery = gr.Gallery(label="Photo · labels · depth", columns=3, format="png", object_fit="contain",
                                     height="auto", allow_preview=True, elem_id="world-gallery")
                gr.HTML(LEGEND, label="Label colours", elem_id="legend")
                summary = gr.Markdown(elem_id="world-summary")
                with gr.Accordion("Metadata (JSON)", open=False):
                    meta = gr.JSON(elem_id="world-meta")

    outputs = [gallery, summary, meta]
    mode.change(_on_mode, mode, [country_box, city], api_visibility="private")
    continent.input(_on_continent, [continent, country], country, api_visibility="private")

    render.click(_pick_place, [mode, country, city], place, api_visibility="private").then(
        render_world, [place, seed, size, n], outputs, api_name="render_world", concurrency_id="render")
    surprise.click(_surprise, None, [mode, continent, country, seed], api_visibility="private").then(
        _pick_place, [mode, country, city], place, api_visibility="private").then(
        render_world, [place, seed, size, n], outputs, api_visibility="private", concurrency_id="render")

demo.queue(max_size=16, default_concurrency_limit=2)  # both render events share one limit via concurrency_id

if __name__ == "__main__":
    world.render(0.0, 0.0, 0, 64)  # first render compiles the pixel kernels (cached on disk afterwards)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True, **LAUNCH_KWARGS)
