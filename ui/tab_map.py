"""The Map tab: street images generated for a tapped (or typed) point on the world map, and journeys between two."""
from __future__ import annotations

from collections.abc import Generator

import gradio as gr
from PIL import Image

from streetgen import geo, mapview, world
from streetgen.pipelines import MapPipeline
from ui import choices, model_panel, models
from ui.common import (N_CHOICES, checked, checked_seed, enlarged_256, gpu, picture_gallery, save_gif_256,
                       seed_and_count, stream_frames, temp_path, user_number)

MAP_PRESETS = {"Tokyo": (35.6812, 139.7671), "Nairobi": (-1.2864, 36.8172), "Oslo": (59.9139, 10.7522),
               "Paris": (48.8566, 2.3522), "New York": (40.7128, -74.0060), "Rio de Janeiro": (-22.9068, -43.1729),
               "Cairo": (30.0444, 31.2357), "Mumbai": (19.0760, 72.8777), "Sydney": (-33.8688, 151.2093),
               "Reykjavík": (64.1466, -21.9426)}


def _map_pipeline() -> MapPipeline:
    """The map model the app is configured with (ui/models.toml, or `--model map=SOURCE`), loaded once."""
    return models.load("map", model_panel.spec("map", choices.default("map")), "The map model")


def checked_latlon(lat, lon) -> tuple[float, float]:
    """(lat, lon) as floats, or a gr.Error naming both values."""
    try:
        return geo.check_latlon(lat, lon)  # its messages name both values ("must be numbers, got lat=None")
    except (TypeError, ValueError) as err:
        raise gr.Error(f"Not a place on Earth: {err}") from None


def describe_place(lat: float, lon: float) -> dict:
    """Country, nearest city and land/sea of a coordinate; at sea also the nearest coast (for the 'go' button)."""
    return mapview.describe_place(*checked_latlon(lat, lon))


def map_click(x: float, y: float) -> dict:
    """What a click at pixel (x, y) of the map image means: the same logic the map's select event runs."""
    try:
        lat, lon = mapview.pixel_to_latlon(x, y)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    return describe_place(lat, lon)


def place_text(info: dict) -> str:
    """A `describe_place` result as one Markdown line; at sea it points to the Nearest coast button."""
    where = f"**{info['lat']:.3f}°, {info['lon']:.3f}°**"
    if info["is_land"]:
        return f"{where} — {info['country_name']}, near {info['city']} ({info['city_km']:.0f} km)"
    coast = info.get("nearest_land")
    if coast is None:
        return f"{where} — open sea, no land within 2000 km. Pick a point on land."
    return (f"{where} — that's the sea (nearest city {info['city']}, {info['country_name']}). The nearest coast "
            f"is {info['nearest_land_km']:.0f} km away at {coast[0]:.2f}°, {coast[1]:.2f}°: tap **Nearest coast**.")


@gpu
def generate_map(lat: float, lon: float, n: int, seed: int) -> tuple[list, list, str, Image.Image]:
    """n generated street images of (lat, lon), the world's render there, a description, and the marked map."""
    n, seed = checked(n, seed, max(N_CHOICES), "images")
    lat, lon = checked_latlon(lat, lon)
    info = describe_place(lat, lon)
    marked = mapview.draw_markers([(lat, lon)])
    if not info["is_land"]:
        return [], [], place_text(info), marked
    images = _map_pipeline()(lat, lon, n=n, seed=seed)
    caption = f"{info['city']}, {info['country_name']} · seed {seed}"
    ref = world.render(lat, lon, seed=seed, size=128).image
    return ([(im, f"{caption} · #{i + 1}") for i, im in enumerate(images)],
            [(ref, f"streetgen.world at {lat:.2f}°, {lon:.2f}°")], place_text(info), marked)


@gpu
def map_journey(lat: float, lon: float, lat2: float, lon2: float,
                seed: int) -> Generator[tuple[str, Image.Image], None, None]:
    """An animated GIF of one latent carried along the great circle from the first point to the second, with the
    map marked: yields each frame's picture (a PNG path) as soon as it is made, then the GIF's path."""
    seed = checked_seed(seed)
    a, b = checked_latlon(lat, lon), checked_latlon(lat2, lon2)
    stream = _map_pipeline().iter_journey(a, b, frames=16, seed=seed)
    marked = mapview.draw_markers([a, b], path_between=True)
    frames = yield from stream_frames(stream, "streetgen-journey-", enlarged_256, also=(marked,))
    yield save_gif_256(frames, temp_path("streetgen-journey-", f"journey-{seed}.gif")), marked


def _on_map_select(evt: gr.SelectData):
    """A click or tap on the map: fill the coordinate boxes (generation follows in a .then)."""
    lat, lon = mapview.pixel_to_latlon(*evt.index)
    return round(lat, 4), round(lon, 4)


def _to_coast(lat, lon):
    coast = describe_place(lat, lon).get("nearest_land")
    if coast is None:
        raise gr.Error("No land within 2000 km of this point.")
    return coast[0], coast[1]


def _preset(name: str):
    lat, lon = MAP_PRESETS[name]
    return lat, lon


def build(demo: gr.Blocks) -> None:
    """The Map tab's widgets and events (endpoints /generate_map, /map_journey; see also `build_api`)."""
    with gr.Tab("Map", id="map", elem_id="tab-map"):
        gr.Markdown("Tap anywhere on the map (or type coordinates, or pick a place) and get street views generated "
                    "for that point; the world's own render of the point is shown beside them. *The shipped map "
                    "model is still an early, under-trained checkpoint: its images are blurry 64 × 64 street scenes "
                    "whose place differences are still faint — the world render shows what it is learning toward.*")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                world_map = gr.Image(mapview.world_map(), type="pil", interactive=False, format="png", buttons=[],
                                     show_label=False, elem_id="worldmap")
                info = gr.Markdown(elem_id="m-info")
                model_panel.build("map", "m")
            with gr.Column(scale=2, min_width=320):
                preset = gr.Radio(list(MAP_PRESETS), label="Places", elem_id="m-preset")
                with gr.Row():
                    lat = user_number(35.6812, label="Latitude", minimum=-90, maximum=90, elem_id="m-lat",
                                      min_width=110)
                    lon = user_number(139.7671, label="Longitude", minimum=-180, maximum=180, elem_id="m-lon",
                                      min_width=110)
                seed, n = seed_and_count("m")
                with gr.Row():
                    coast = gr.Button("Nearest coast", size="lg", elem_id="m-coast")
                    go = gr.Button("Generate", variant="primary", size="lg", elem_id="m-generate")
                with gr.Accordion("Journey to a second place", open=False):
                    preset2 = gr.Radio(list(MAP_PRESETS), value="Oslo", label="To", elem_id="m-preset2")
                    with gr.Row():
                        lat2 = user_number(59.9139, label="Latitude", elem_id="m-lat2", min_width=110)
                        lon2 = user_number(10.7522, label="Longitude", elem_id="m-lon2", min_width=110)
                    journey = gr.Button("Journey", elem_id="m-journey")
        with gr.Row(equal_height=False):
            gallery = picture_gallery("Generated", 4, "m-gallery", buttons=["download", "fullscreen"])
            reference = picture_gallery("Reference: streetgen.world", 1, "m-reference")
            gif = gr.Image(label="Journey", type="filepath", format="gif", elem_id="m-journey-out",
                           buttons=["download"])

    inputs, outputs = [lat, lon, n, seed], [gallery, reference, info, world_map]
    # the public endpoint first: the chained private events below would otherwise take the name "generate_map"
    go.click(generate_map, inputs, outputs, api_name="generate_map", concurrency_id="render")
    for trigger, handler, source in ((world_map.select, _on_map_select, None), (preset.input, _preset, preset),
                                     (coast.click, _to_coast, [lat, lon])):
        trigger(handler, source, [lat, lon], api_visibility="private").then(
            generate_map, inputs, outputs, api_visibility="private", concurrency_id="render")
    preset2.input(_preset, preset2, [lat2, lon2], api_visibility="private")
    journey.click(map_journey, [lat, lon, lat2, lon2, seed], [gif, world_map], api_name="map_journey",
                  concurrency_id="render", show_progress="minimal")  # streamed: the frames show the progress


def build_api() -> None:
    """The map's function-only endpoints /map_click and /describe_place. Call it after the last tab: its hidden
    components placed between two tabs would start a second row of tabs."""
    gr.api(map_click, api_name="map_click")
    gr.api(describe_place, api_name="describe_place")
