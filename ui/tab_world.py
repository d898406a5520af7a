"""The World tab: the procedural renderer's photo, label map and depth of a country or a famous city."""
from __future__ import annotations

import random

import gradio as gr

from streetgen import classes, world
from streetgen.validate import shown
from ui.common import CITY_NAMES, COUNTRIES, LEGEND, MAX_SEED, checked, country_choices, user_number

MAX_RENDERS = 4
SIZES = {"128": 128, "256": 256, "128x256": (128, 256)}  # API value -> world.render size
SIZE_CHOICES = [("128 × 128", "128"), ("256 × 256", "256"), ("128 × 256 wide", "128x256")]
CONTINENTS = [("All", "all"), ("Africa", "AF"), ("Asia", "AS"), ("Europe", "EU"), ("N. America", "NA"),
              ("S. America", "SA"), ("Oceania", "OC")]
MODES = ["Country", "Famous city"]


def _parse_size(size: str):
    if size not in SIZES:  # Gradio already rejects values outside the Radio's choices; this guards direct calls
        raise gr.Error(f"Unknown size {shown(size)}: use one of {', '.join(SIZES)}.")
    return SIZES[size]


def _place_name(m: dict) -> str:
    names = [str(m[k]) for k in ("famous_city", "city", "country_name") if m.get(k)] or [str(m.get("country", "–"))]
    return ", ".join(dict.fromkeys(names))  # "Venice, Italy", not "Venice, Venice, Italy"


def _summary(metas: list[dict]) -> str:
    """A Markdown table with one column per render (narrow enough for a portrait kiosk screen)."""
    fields = [("place", _place_name), ("drive side", "drive_side"), ("climate", "climate"),
              ("region style", "region_style"), ("weather", "weather"), ("time of day", "time_of_day"),
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
    n, seed = checked(n, seed, MAX_RENDERS, "renders")
    hw = _parse_size(size)
    gallery, metas = [], []
    for i in range(n):
        s = int(seed) + i
        try:
            sample = world.render_place(place, seed=s, size=hw)
        except ValueError as err:  # unknown country, place without streets, ...
            raise gr.Error(str(err)) from None
        tag = f"#{i + 1} · seed {s}"
        gallery += [(sample.image, f"{tag} · photo"), (classes.colorize_labels(sample.labels), f"{tag} · labels"),
                    (world.colorize_depth(sample.depth), f"{tag} · depth")]
        metas.append(sample.meta)
    return gallery, _summary(metas), {"renders": metas}


def _pick_place(mode: str, country: str, city: str) -> str:
    return city if mode == "Famous city" else country


def _surprise():
    c = random.choice(COUNTRIES)
    return ("Country", "all", gr.update(choices=country_choices(), value=c.iso2), random.randrange(10_000))


def _on_mode(mode: str):
    return gr.update(visible=mode == "Country"), gr.update(visible=mode == "Famous city")


def _on_continent(continent: str, current: str):
    choices = country_choices(continent)
    codes = [v for _, v in choices]
    return gr.update(choices=choices, value=current if current in codes else codes[0])


def build(demo: gr.Blocks) -> None:
    """The World tab's widgets and events (public endpoint /render_world) inside the current Blocks."""
    with gr.Tab("World", id="world", elem_id="tab-world"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                mode = gr.Radio(MODES, value="Country", label="Where", elem_id="mode")
                with gr.Group(visible=True) as country_box:
                    continent = gr.Radio(CONTINENTS, value="all", label="Continent", elem_id="continent")
                    country = gr.Dropdown(country_choices(), value="JP", label="Country (tap, or type to search)",
                                          filterable=True, elem_id="country")
                city = gr.Radio(CITY_NAMES, value=CITY_NAMES[0], label="Famous city", visible=False,
                                elem_id="city")
                with gr.Row():
                    seed = user_number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="seed",
                                       min_width=120)
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
