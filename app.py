"""streetgen: a Gradio app that makes street-level images of places on Earth.

Run `python app.py` (offline; http://127.0.0.1:7860). Importing this module builds `demo` without launching it.
UI wiring only: rendering lives in `streetgen.world`, places in `streetgen.geo`.
"""
from __future__ import annotations

import functools
import html
import math
import os
import random
import tempfile
import threading

# Before gradio / huggingface_hub are imported: no telemetry or version checks, no Hub downloads.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from streetgen import classes, geo, mapview, world  # noqa: E402
from streetgen.io import labels as layout  # noqa: E402
from streetgen.io.photos import read_frames, read_photo, save_gif  # noqa: E402
from streetgen.pipelines import (STEADY, CountryPipeline, LayoutPipeline, MapPipeline, SpadePipeline,  # noqa: E402
                                 load_city_pipeline, run_city, translate_frames,
                                 translate_panorama)

MAX_RENDERS = 4
MAX_SEED = 2**32 - 1  # the UI's seeds: exact in a browser's float64 numbers (the pipelines take up to 2**63 - 1)
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
    n, seed = _checked(n, seed, MAX_RENDERS, "renders")
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
    return ("Country", "all", gr.update(choices=_country_choices(), value=c.iso2), random.randrange(10_000))


def _on_mode(mode: str):
    return gr.update(visible=mode == "Country"), gr.update(visible=mode == "Famous city")


def _on_continent(continent: str, current: str):
    choices = _country_choices(continent)
    codes = [v for _, v in choices]
    return gr.update(choices=choices, value=current if current in codes else codes[0])


# ---- Country → street ----------------------------------------------------------------------------------------------
COUNTRY_MODELS = {"CVAE (fast, the study's baseline)": "cvae",  # label -> checkpoint
                  "Diffusion (sharp, a few seconds)": "country_diffusion+country_diffusion_early"}
# the sharp model (autoguided by its earlier export: see checkpoints/country_diffusion_early) is what a visitor
# should see first (2.2 s for 4 images on 2 CPU threads); the CVAE stays a tap away
DEFAULT_COUNTRY_MODEL = "Diffusion (sharp, a few seconds)"
N_CHOICES = [1, 2, 4, 8]
DEFAULT_GUIDANCE = 12.0  # the diffusion model's default (picked by a place-judge sweep; see its card)
MAX_GUIDANCE = 20.0


_LOAD_LOCK = threading.Lock()  # two events may ask for the same model at once (e.g. model switch + Generate)


@functools.lru_cache(maxsize=4)
def _load_pipeline(model: str) -> CountryPipeline:
    name = COUNTRY_MODELS.get(model, model)
    try:
        return CountryPipeline.from_pretrained(name)
    except (FileNotFoundError, ValueError) as err:
        raise gr.Error(f"Model {model!r} could not be loaded: {err}") from None


def _pipeline(model: str) -> CountryPipeline:
    with _LOAD_LOCK:
        return _load_pipeline(model)


def _model_countries(model: str) -> list[tuple[str, str]]:
    codes = set(_pipeline(model).countries)
    return [(c.name, c.iso2) for c in COUNTRIES if c.iso2 in codes]


def _whole(value) -> int | None:
    """A UI number (int, float or numeric string) as an int when it is a finite whole number, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def _checked(n, seed, most: int, what: str) -> tuple[int, int]:
    """(n, seed) as ints, or a gr.Error saying what is wrong (shared by every tab's handlers)."""
    seed_value = _whole(seed)
    if seed_value is None or not 0 <= seed_value <= MAX_SEED:
        raise gr.Error(f"Seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}.")
    count = _whole(n)
    if count is None or not 1 <= count <= most:
        raise gr.Error(f"Number of {what} must be a whole number from 1 to {most}, got {n!r}.")
    return count, seed_value


def _steps(progress: gr.Progress, desc: str):
    """A pipeline progress callback that moves Gradio's progress bar (denoising steps of the diffusion model)."""
    return lambda done, total: progress((done, total), desc=desc, unit="steps")


def _guidance(pipe, guidance: float) -> dict:
    """The diffusion model's country signal as a sampler option (the CVAE has none), checked."""
    if not pipe.guided:
        return {}
    try:
        value = float(guidance)
    except (TypeError, ValueError):
        raise gr.Error(f"Country signal must be a number between 1 and {MAX_GUIDANCE:g}, got {guidance!r}.") from None
    if not 1.0 <= value <= MAX_GUIDANCE:
        raise gr.Error(f"Country signal must be between 1 and {MAX_GUIDANCE:g}, got {value:g}.")
    return {"guidance": value}


def generate_country(country: str, n: int, seed: int, model: str, guidance: float = DEFAULT_GUIDANCE,
                     progress: gr.Progress = gr.Progress()) -> tuple[list, list]:
    """n generated street images of a country (ISO code or name) plus the world's own render as reference;
    `guidance` turns the diffusion model's country signal up or down (1 = none)."""
    n, seed = _checked(n, seed, max(N_CHOICES), "images")
    pipe = _pipeline(model)
    options = _guidance(pipe, guidance)
    try:
        images = pipe(country, n=n, seed=seed, progress=_steps(progress, f"Generating {country}"), **options)
        name = geo.country(country).name
    except ValueError as err:
        raise gr.Error(str(err)) from None
    refs = [world.render_country(country, seed + i, 128).image for i in range(min(n, 2))]
    return ([(im, f"{name} · seed {seed} · #{i + 1}") for i, im in enumerate(images)],
            [(im, f"{name} in streetgen.world · seed {seed + i}") for i, im in enumerate(refs)])


def compare_countries(country_a: str, country_b: str, n: int, seed: int, model: str,
                      guidance: float = DEFAULT_GUIDANCE, progress: gr.Progress = gr.Progress()) -> tuple[list, list]:
    """The same seeds for two countries, side by side (what changes is only the country)."""
    a, _ = generate_country(country_a, n, seed, model, guidance, progress)
    b, _ = generate_country(country_b, n, seed, model, guidance, progress)
    return a, b


def morph_countries(country_a: str, country_b: str, seed: int, model: str, guidance: float = DEFAULT_GUIDANCE,
                    progress: gr.Progress = gr.Progress()) -> str:
    """An animated GIF walking one latent from country A to country B; returns the GIF's path."""
    _, seed = _checked(1, seed, 1, "images")
    pipe = _pipeline(model)
    options = _guidance(pipe, guidance)
    try:
        frames = pipe.morph(country_a, country_b, frames=16, seed=seed,
                            progress=_steps(progress, f"Morphing {country_a} → {country_b}"), **options)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    path = os.path.join(tempfile.mkdtemp(prefix="streetgen-morph-"), f"{country_a}-{country_b}-{seed}.gif")
    return save_gif([np.asarray(Image.fromarray(f).resize((256, 256), Image.BILINEAR)) for f in frames], path)


def _country_pickers(model: str = DEFAULT_COUNTRY_MODEL, preferred: tuple[str, str] = ("JP", "NO")):
    """Both pickers limited to the model's countries, keeping Japan / Norway when the model knows them."""
    choices = _model_countries(model)
    codes = [v for _, v in choices]
    a = preferred[0] if preferred[0] in codes else codes[0]
    b = preferred[1] if preferred[1] in codes else codes[min(1, len(codes) - 1)]
    return gr.update(choices=choices, value=a), gr.update(choices=choices, value=b)


def _surprise_country(model: str):
    choices = _model_countries(model)
    a, b = random.sample(choices, 2)
    return a[1], b[1], random.randrange(10_000)


# ---- Map → street --------------------------------------------------------------------------------------------------
MAP_PRESETS = {"Tokyo": (35.6812, 139.7671), "Nairobi": (-1.2864, 36.8172), "Oslo": (59.9139, 10.7522),
               "Paris": (48.8566, 2.3522), "New York": (40.7128, -74.0060), "Rio de Janeiro": (-22.9068, -43.1729),
               "Cairo": (30.0444, 31.2357), "Mumbai": (19.0760, 72.8777), "Sydney": (-33.8688, 151.2093),
               "Reykjavík": (64.1466, -21.9426)}
MAP_MODEL = "map_gan"


def _map_pipeline() -> MapPipeline:
    with _LOAD_LOCK:
        return _load_map_pipeline()


@functools.lru_cache(maxsize=1)
def _load_map_pipeline() -> MapPipeline:
    try:
        return MapPipeline.from_pretrained(MAP_MODEL)
    except (FileNotFoundError, ValueError) as err:
        raise gr.Error(f"The map model could not be loaded: {err}") from None


def _latlon(lat, lon) -> tuple[float, float]:
    try:
        return geo.check_latlon(lat, lon)  # its messages name both values ("must be numbers, got lat=None")
    except (TypeError, ValueError) as err:
        raise gr.Error(f"Not a place on Earth: {err}") from None


def describe_place(lat: float, lon: float) -> dict:
    """Country, nearest city and land/sea of a coordinate; at sea also the nearest coast (for the 'go' button)."""
    lat, lon = _latlon(lat, lon)
    place = geo.reverse(lat, lon)
    info = {"lat": round(lat, 4), "lon": round(lon, 4), "is_land": place.is_land, "country": place.country,
            "country_name": place.country_name, "city": place.city, "city_km": round(place.city_distance_km, 1)}
    if not place.is_land:
        coast = mapview.nearest_land(lat, lon)
        info["nearest_land"] = None if coast is None else [round(coast[0], 4), round(coast[1], 4)]
        if coast is not None:
            info["nearest_land_km"] = round(float(geo.haversine_km(lat, lon, *coast)), 1)
    return info


def map_click(x: float, y: float) -> dict:
    """What a click at pixel (x, y) of the map image means: the same logic the map's select event runs."""
    try:
        lat, lon = mapview.pixel_to_latlon(x, y)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    return describe_place(lat, lon)


def _place_text(info: dict) -> str:
    where = f"**{info['lat']:.3f}°, {info['lon']:.3f}°**"
    if info["is_land"]:
        return f"{where} — {info['country_name']}, near {info['city']} ({info['city_km']:.0f} km)"
    coast = info.get("nearest_land")
    if coast is None:
        return f"{where} — open sea, no land within 2000 km. Pick a point on land."
    return (f"{where} — that's the sea (nearest city {info['city']}, {info['country_name']}). The nearest coast "
            f"is {info['nearest_land_km']:.0f} km away at {coast[0]:.2f}°, {coast[1]:.2f}°: tap **Nearest coast**.")


def generate_map(lat: float, lon: float, n: int, seed: int) -> tuple[list, list, str, Image.Image]:
    """n generated street images of (lat, lon), the world's render there, a description, and the marked map."""
    n, seed = _checked(n, seed, max(N_CHOICES), "images")
    lat, lon = _latlon(lat, lon)
    info = describe_place(lat, lon)
    marked = mapview.draw_markers([(lat, lon)])
    if not info["is_land"]:
        return [], [], _place_text(info), marked
    images = _map_pipeline()(lat, lon, n=n, seed=seed)
    caption = f"{info['city']}, {info['country_name']} · seed {seed}"
    ref = world.render(lat, lon, seed=seed, size=128).image
    return ([(im, f"{caption} · #{i + 1}") for i, im in enumerate(images)],
            [(ref, f"streetgen.world at {lat:.2f}°, {lon:.2f}°")], _place_text(info), marked)


def map_journey(lat: float, lon: float, lat2: float, lon2: float, seed: int) -> tuple[str, Image.Image]:
    """An animated GIF of one latent carried along the great circle from the first point to the second."""
    _, seed = _checked(1, seed, 1, "images")
    a, b = _latlon(lat, lon), _latlon(lat2, lon2)
    frames = _map_pipeline().journey(a, b, frames=16, seed=seed)
    path = os.path.join(tempfile.mkdtemp(prefix="streetgen-journey-"), f"journey-{seed}.gif")
    gif = save_gif([np.asarray(Image.fromarray(f).resize((256, 256), Image.BILINEAR)) for f in frames], path)
    return gif, mapview.draw_markers([a, b], path_between=True)


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


# ---- Layout → street -----------------------------------------------------------------------------------------------
LAYOUT_MODELS = {"World (any country style)": ("layout_world", "spade_world"),  # label -> (layout GAN, SPADE)
                 "CamVid (real Cambridge photos, non-commercial)": ("layout_camvid", "spade_camvid")}
LAYOUT_SIZE = (128, 256)  # (height, width) both layout generators make and both SPADE models paint
CANVAS_SCALE = 2  # the canvas shows the layout at 2× so fingers can paint details
STYLE_CHOICES = [("Any", "any")] + [(name.replace("_", " ").capitalize(), name) for name in world.FAMILIES]
BRUSH_COLOURS = ["#%02x%02x%02x" % tuple(int(v) for v in rgb) for rgb in classes.PALETTE[:classes.VOID]]
WHITE = 255  # an empty canvas is white, and no class is white: unpainted pixels are told apart by it


@functools.lru_cache(maxsize=4)
def _load_layout_pipeline(name: str):
    try:
        return (LayoutPipeline if name.startswith("layout") else SpadePipeline).from_pretrained(name)
    except (FileNotFoundError, ValueError) as err:
        raise gr.Error(f"Model {name!r} could not be loaded: {err}") from None


def _layout_pipelines(model: str) -> tuple[LayoutPipeline, SpadePipeline]:
    if model not in LAYOUT_MODELS:
        raise gr.Error(f"Unknown model {model!r}; choose one of: {', '.join(LAYOUT_MODELS)}.")
    with _LOAD_LOCK:
        return tuple(_load_layout_pipeline(name) for name in LAYOUT_MODELS[model])


def _editor_value(labels: np.ndarray) -> dict:
    """An ImageEditor value whose background is the layout in palette colours, at the canvas scale."""
    h, w = labels.shape
    shown = Image.fromarray(classes.colorize_labels(labels)).resize((w * CANVAS_SCALE, h * CANVAS_SCALE), Image.NEAREST)
    return {"background": shown, "layers": [], "composite": shown}


def new_layout(seed: int, model: str) -> dict:
    """A random street layout from the model's layout generator, placed on the canvas."""
    _, seed = _checked(1, seed, 1, "layouts")
    return _editor_value(_layout_pipelines(model)[0](n=1, seed=seed)[0])


def load_layout(path: str) -> dict:
    """An uploaded label map (colour map in the class palette, or class-id PNG) placed on the canvas."""
    if not path:
        raise gr.Error("No file was uploaded.")
    try:
        labels = layout.fit_layout(layout.read_layout(path), LAYOUT_SIZE, mode="pad")
    except (ValueError, OSError) as err:
        raise gr.Error(f"Not a usable layout: {err}") from None
    return _editor_value(labels)


def _canvas_labels(editor) -> np.ndarray:
    """The canvas composite as class ids: unpainted (white or transparent) pixels are void."""
    comp = editor.get("composite") if isinstance(editor, dict) else None
    if comp is None:
        raise gr.Error("The canvas is empty: tap New layout, upload a label map, or paint with the class colours.")
    rgba = np.asarray(Image.fromarray(np.asarray(comp)).convert("RGBA")).copy()
    rgba[(rgba[..., :3] == WHITE).all(axis=-1), 3] = 0
    try:
        return layout.read_layout(rgba)
    except ValueError as err:
        raise gr.Error(f"Not a usable layout: {err}") from None


def layout_to_photo(editor: dict, model: str, style: str, seed: int,
                    fill: bool = True) -> tuple[Image.Image, Image.Image]:
    """The canvas layout (as the model reads it) and the street photo SPADE paints for it."""
    _, seed = _checked(1, seed, 1, "photos")
    _, spade = _layout_pipelines(model)
    labels = _canvas_labels(editor)
    try:
        used = spade.prepare(labels, size=LAYOUT_SIZE, fill=bool(fill))
        photo = spade(used, seed=seed, style=style if spade.styles else None, size=LAYOUT_SIZE)
    except ValueError as err:
        raise gr.Error(f"Not a usable layout: {err}") from None
    big = (LAYOUT_SIZE[1] * CANVAS_SCALE, LAYOUT_SIZE[0] * CANVAS_SCALE)
    return (Image.fromarray(classes.colorize_labels(used)).resize(big, Image.NEAREST),
            Image.fromarray(photo).resize(big, Image.BICUBIC))


def _on_layout_model(model: str):
    styled = bool(_layout_pipelines(model)[1].styles)
    return gr.update(interactive=styled, value="any")


def _surprise_layout():
    return random.randrange(10_000), random.randrange(10_000)


# ---- City → city ---------------------------------------------------------------------------------------------------
CITY_METHODS = {  # label -> (route, checkpoint(s))
    "CycleGAN: Paris → Venice": ("cyclegan", "cyclegan_paris_venice"),
    "CycleGAN: Venice → Paris": ("cyclegan", "cyclegan_venice_paris"),
    "CycleGAN: Manhattan → Paris": ("cyclegan", "cyclegan_manhattan_paris"),
    "CycleGAN: Paris → Manhattan": ("cyclegan", "cyclegan_paris_manhattan"),
    "Depth route: Paris depth → Venice photo": ("depth", ("pix2pix_depth_paris", "pix2pix_photo_venice")),
    "Layout route: any photo → a famous city (segment, then paint)": ("layout", ("street_segmenter", "spade_cities")),
    "Any city or country (diffusion)": ("any", "country_diffusion"),
}
CITY_TARGETS = CITY_NAMES + [c.name for c in COUNTRIES]
MAX_CITY_FRAMES = 16


@functools.lru_cache(maxsize=8)
def _load_city_pipeline(method: str):
    names = CITY_METHODS[method][1]
    try:
        return load_city_pipeline(names if isinstance(names, str) else "+".join(names))
    except (FileNotFoundError, ValueError) as err:
        raise gr.Error(f"The {method!r} model could not be loaded: {err}") from None


def _city_pipeline(method: str):
    if method not in CITY_METHODS:
        raise gr.Error(f"Unknown method {method!r}; choose one of: {', '.join(CITY_METHODS)}.")
    with _LOAD_LOCK:
        return _load_city_pipeline(method)


def city_example(city: str, seed: int) -> str:
    """A world render of a famous city (256 × 256) as an input photo; returns its PNG path."""
    _, seed = _checked(1, seed, 1, "photos")
    try:
        img = world.render_city(city, seed=seed, size=256).image
    except ValueError as err:
        raise gr.Error(str(err)) from None
    path = os.path.join(tempfile.mkdtemp(prefix="streetgen-city-"), f"{city.lower().replace(' ', '_')}-{seed}.png")
    Image.fromarray(img).save(path)
    return path


def translate_city(photo: str, method: str, target: str, strength: float, seed: int,
                   progress: gr.Progress = gr.Progress()) -> tuple[Image.Image, Image.Image | None, str | None, str]:
    """The photo in another city's style; for the depth and layout routes also their intermediate (a picture and
    the data: depth in metres as .npy, or the label map as a PNG of class ids)."""
    _, seed = _checked(1, seed, 1, "photos")
    if not photo:
        raise gr.Error("No photo: upload one, or tap Use example for a world render.")
    pipe = _city_pipeline(method)  # outside the try: its gr.Error is a ValueError, and says what it means itself
    try:
        arr, note = read_photo(photo)
        out, middle = run_city(pipe, arr, target, strength, seed, _steps(progress, "Translating"))
    except ValueError as err:
        raise gr.Error(f"Cannot translate this photo: {err}") from None
    middle_img, middle_file = _intermediate(middle)
    h, w = arr.shape[:2]
    route = CITY_METHODS[method][0]
    text = f"{method} · {w}×{h}" + (f" · toward {target}, strength {float(strength):.2f}" if route == "any" else
                                     f" · toward {target}" if route == "layout" else "") + (
        f" · input {note}" if note else "")
    return Image.fromarray(out), middle_img, middle_file, text


def _intermediate(middle: np.ndarray | None) -> tuple[Image.Image | None, str | None]:
    """The route's intermediate as a picture and a data file: depth (float metres → .npy) or a label map
    (class ids → a PNG whose pixel values are the CamVid class ids)."""
    if middle is None:
        return None, None
    folder = tempfile.mkdtemp(prefix="streetgen-intermediate-")
    if np.issubdtype(middle.dtype, np.floating):
        path = os.path.join(folder, "depth_metres.npy")
        np.save(path, middle.astype(np.float32))
        return Image.fromarray(world.colorize_depth(middle)), path
    path = os.path.join(folder, "labels_class_ids.png")
    Image.fromarray(middle.astype(np.uint8)).save(path)
    return Image.fromarray(classes.colorize_labels(middle)), path


def translate_city_frames(animation: str, method: str, target: str, strength: float, seed: int,
                          steady: bool = True) -> str:
    """Every frame of a GIF (up to 16) translated with one seed and one noise and, with `steady`, carried along the
    video's motion so the texture does not shimmer; returns the translated GIF."""
    _, seed = _checked(1, seed, 1, "photos")
    if not animation:
        raise gr.Error("No animation: upload a GIF (or WebP) of street frames, or tap Use a world pan.")
    pipe = _city_pipeline(method)
    try:
        frames = read_frames(animation, max_frames=MAX_CITY_FRAMES)
        out = translate_frames(lambda f, seed: run_city(pipe, f, target, strength, seed)[0], frames,
                               seed=seed, steady=STEADY if steady else 0.0)
    except ValueError as err:
        raise gr.Error(f"Cannot translate these frames: {err}") from None
    path = os.path.join(tempfile.mkdtemp(prefix="streetgen-frames-"), "translated.gif")
    return save_gif(out, path, bounce=False)


def _frames_preview(animation: str | None) -> str | None:
    """The chosen GIF/WebP itself, shown playing (a file box shows only its name); nothing for unreadable files."""
    if not animation:
        return None
    try:
        with Image.open(animation) as img:
            img.verify()
    except (OSError, SyntaxError):
        return None
    return animation


def city_pan_example(city: str, seed: int) -> str:
    """A 16-frame world video (256², the camera turning 1° a frame) of a famous city; returns its GIF path."""
    _, seed = _checked(1, seed, 1, "photos")
    if city not in geo.FAMOUS_CITIES:
        raise gr.Error(f"Unknown city {city!r}; choose one of: {', '.join(geo.FAMOUS_CITIES)}.")
    frames = [s.image for s in world.render_pan(city, seed=seed, size=256, frames=MAX_CITY_FRAMES)]
    path = os.path.join(tempfile.mkdtemp(prefix="streetgen-pan-"), f"{city.lower().replace(' ', '_')}-pan.gif")
    return save_gif(frames, path, bounce=False)


def city_panorama_example(city: str, seed: int) -> str:
    """A 360° world panorama (512 × 256) of a famous city; returns its PNG path."""
    _, seed = _checked(1, seed, 1, "photos")
    if city not in geo.FAMOUS_CITIES:
        raise gr.Error(f"Unknown city {city!r}; choose one of: {', '.join(geo.FAMOUS_CITIES)}.")
    c = geo.FAMOUS_CITIES[city]
    pano = world.render_panorama(c.lat, c.lon, seed=seed, height=256, famous_city=city).image
    path = os.path.join(tempfile.mkdtemp(prefix="streetgen-pano-"), f"{city.lower().replace(' ', '_')}-360.png")
    Image.fromarray(pano).save(path)
    return path


def translate_city_panorama(pano: str, method: str, target: str, strength: float, seed: int,
                            progress: gr.Progress = gr.Progress()) -> tuple[Image.Image, Image.Image | None, str]:
    """A 2:1 equirectangular panorama translated through its six cube faces and stitched back (+ depth route)."""
    _, seed = _checked(1, seed, 1, "photos")
    if not pano:
        raise gr.Error("No panorama: upload a 2:1 equirectangular image, or tap Use a world panorama.")
    pipe = _city_pipeline(method)
    faces_done = [0]

    def one_face(face, seed):
        faces_done[0] += 1
        progress((faces_done[0] - 1) / 6, desc=f"Translating face {faces_done[0]} of 6")
        return run_city(pipe, face, target, strength, seed)

    try:
        out, depth = translate_panorama(one_face, pano, seed=seed)
    except ValueError as err:
        raise gr.Error(f"Cannot translate this panorama: {err}") from None
    h, w = out.shape[:2]
    depth_img = Image.fromarray(world.colorize_depth(depth)) if depth is not None else None
    return Image.fromarray(out), depth_img, f"{method} · {w}×{h} panorama, six 90° faces translated and stitched"


def _on_city_method(method: str, target: str):
    """Target and strength follow the method: any city or country for diffusion, the painter's cities for the
    layout route (the current target kept when it is one), neither for the fixed pairs."""
    route = CITY_METHODS.get(method, ("",))[0]
    if route == "layout":
        value = target if target in CITY_NAMES else "Venice"
        return gr.update(choices=CITY_NAMES, value=value, interactive=True), gr.update(interactive=False)
    return (gr.update(choices=CITY_TARGETS, interactive=route == "any"), gr.update(interactive=route == "any"))


def _seed_and_count(prefix: str) -> tuple[gr.Number, gr.Radio]:
    """The seed box and the number-of-images choice, one row (elem_ids <prefix>-seed, <prefix>-n)."""
    with gr.Row():
        seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id=f"{prefix}-seed",
                         min_width=120)
        count = gr.Radio(N_CHOICES, value=4, label="Images", elem_id=f"{prefix}-n", min_width=160)
    return seed, count


LEGEND = "<div id='legend-swatches'>" + "".join(
    f"<span class='swatch'><i style='background: rgb{tuple(int(v) for v in rgb)}'></i>{html.escape(name)}</span>"
    for name, rgb in zip(classes.CLASS_NAMES, classes.PALETTE)) + "</div>"

CSS = """
#render button, button#render, button#surprise { min-height: 64px; font-size: 1.25rem; }
#mode label, #size label, #n label, #continent label, #city label { min-height: 44px; }
/* Square pictures in galleries never taller than the gallery's own 55vh window: one image alone spans the
   whole width, and without this it was cut to a band (road and sky gone) with a scrollbar. */
.picture-gallery .thumbnail-item { max-height: calc(55vh - 24px); }
#legend-swatches { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 0.9rem; }
#legend-swatches .swatch { display: inline-flex; align-items: center; gap: 6px; }
#legend-swatches i { display: inline-block; width: 18px; height: 18px; border: 1px solid #8888; border-radius: 3px; }
"""
def _picture_gallery(label: str, columns: int, elem_id: str, **kwargs) -> gr.Gallery:
    """A gallery of square generated pictures, each shown whole (contained, no taller than the window; see CSS)."""
    return gr.Gallery(label=label, columns=columns, format="png", height="auto", object_fit="contain",
                      elem_id=elem_id, elem_classes=["picture-gallery"], **kwargs)


# Gradio 6 takes theme/css in launch(); tests and `python app.py` both pass these.
LAUNCH_KWARGS = {"css": CSS}

with gr.Blocks(title="streetgen") as demo:
    gr.Markdown("# streetgen\nStreet-level images of places on Earth: pick a place, get a photo-like street view "
                "with its exact label map and depth.")
    with gr.Tab("Country", id="country", elem_id="tab-country"):
        gr.Markdown("Pick a country (tap the list, or type to search) and get street views generated for it; "
                    "the world's own render of that country is shown beside them as the reference.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                c_model = gr.Radio(list(COUNTRY_MODELS), value=DEFAULT_COUNTRY_MODEL, label="Model",
                                   elem_id="c-model")
                c_country = gr.Dropdown(_country_choices(), value="JP", label="Country", filterable=True,
                                        allow_custom_value=True,  # API callers may pass names or codes
                                        elem_id="c-country")
                c_seed, c_n = _seed_and_count("c")
                c_guidance = gr.Slider(1, MAX_GUIDANCE, value=DEFAULT_GUIDANCE, step=0.5,
                                       label="Country signal (diffusion guidance; 1 = none, the CVAE ignores it)",
                                       elem_id="c-guidance")
                with gr.Row():
                    c_surprise = gr.Button("Surprise me", size="lg", elem_id="c-surprise")
                    c_go = gr.Button("Generate", variant="primary", size="lg", elem_id="c-generate")
                with gr.Accordion("Compare / morph with a second country", open=False):
                    c_other = gr.Dropdown(_country_choices(), value="NO", label="Second country", filterable=True,
                                          allow_custom_value=True,
                                          elem_id="c-other")
                    with gr.Row():
                        c_compare = gr.Button("Compare", elem_id="c-compare")
                        c_morph = gr.Button("Morph", elem_id="c-morph")
            with gr.Column(scale=2, min_width=360):
                c_gallery = _picture_gallery("Generated", 4, "c-gallery", buttons=["download", "fullscreen"])
                c_reference = _picture_gallery("Reference: streetgen.world", 2, "c-reference")
                with gr.Row():
                    c_gallery_b = _picture_gallery("Second country (same seeds)", 4, "c-gallery-b")
                    c_gif = gr.Image(label="Morph", type="filepath", format="gif", elem_id="c-morph-out",
                                     buttons=["download"])

    with gr.Tab("Map", id="map", elem_id="tab-map"):
        gr.Markdown("Tap anywhere on the map (or type coordinates, or pick a place) and get street views generated "
                    "for that point; the world's own render of the point is shown beside them. *The shipped map "
                    "model is still an early, under-trained checkpoint: its images are blurry 64 × 64 street scenes "
                    "whose place differences are still faint — the world render shows what it is learning toward.*")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                m_map = gr.Image(mapview.world_map(), type="pil", interactive=False, format="png", buttons=[],
                                 show_label=False, elem_id="worldmap")
                m_info = gr.Markdown(elem_id="m-info")
            with gr.Column(scale=2, min_width=320):
                m_preset = gr.Radio(list(MAP_PRESETS), label="Places", elem_id="m-preset")
                with gr.Row():
                    m_lat = gr.Number(35.6812, label="Latitude", minimum=-90, maximum=90, elem_id="m-lat",
                                      min_width=110)
                    m_lon = gr.Number(139.7671, label="Longitude", minimum=-180, maximum=180, elem_id="m-lon",
                                      min_width=110)
                m_seed, m_n = _seed_and_count("m")
                with gr.Row():
                    m_coast = gr.Button("Nearest coast", size="lg", elem_id="m-coast")
                    m_go = gr.Button("Generate", variant="primary", size="lg", elem_id="m-generate")
                with gr.Accordion("Journey to a second place", open=False):
                    m_preset2 = gr.Radio(list(MAP_PRESETS), value="Oslo", label="To", elem_id="m-preset2")
                    with gr.Row():
                        m_lat2 = gr.Number(59.9139, label="Latitude", elem_id="m-lat2", min_width=110)
                        m_lon2 = gr.Number(10.7522, label="Longitude", elem_id="m-lon2", min_width=110)
                    m_journey = gr.Button("Journey", elem_id="m-journey")
        with gr.Row(equal_height=False):
            m_gallery = _picture_gallery("Generated", 4, "m-gallery", buttons=["download", "fullscreen"])
            m_reference = _picture_gallery("Reference: streetgen.world", 1, "m-reference")
            m_gif = gr.Image(label="Journey", type="filepath", format="gif", elem_id="m-journey-out",
                             buttons=["download"])

    with gr.Tab("Layout", id="layout", elem_id="tab-layout"):
        gr.Markdown("Get a random street layout, paint over it with the class colours (or upload a label map), "
                    "and turn it into a photo. Unpainted parts of the canvas take the nearest painted class.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=360):
                l_editor = gr.ImageEditor(
                    value=None, type="numpy", image_mode="RGBA", format="png", label="Layout (paint here)",
                    brush=gr.Brush(colors=BRUSH_COLOURS, default_color=BRUSH_COLOURS[3], color_mode="fixed",
                                   default_size=16),
                    eraser=gr.Eraser(default_size=16), sources=[], transforms=[], layers=False,
                    canvas_size=(LAYOUT_SIZE[1] * CANVAS_SCALE, LAYOUT_SIZE[0] * CANVAS_SCALE),
                    fixed_canvas=True, elem_id="l-editor")
                gr.HTML(LEGEND, label="Class colours", elem_id="l-legend")
                with gr.Row():
                    l_new = gr.Button("New layout", size="lg", elem_id="l-new")
                    l_upload = gr.UploadButton("Upload a label map", file_types=["image"], type="filepath",
                                               size="lg", elem_id="l-upload")
                with gr.Row():
                    l_layout_seed = gr.Number(0, label="Layout seed", precision=0, minimum=0, maximum=MAX_SEED,
                                              min_width=110, elem_id="l-layout-seed")
                    l_fill = gr.Checkbox(True, label="Unpainted areas take the nearest painted class",
                                         elem_id="l-fill")
            with gr.Column(scale=1, min_width=360):
                l_photo = gr.Image(label="Photo", type="pil", format="png", interactive=False, elem_id="l-photo",
                                   buttons=["download", "fullscreen"])
                with gr.Row():
                    l_surprise = gr.Button("Surprise me", size="lg", elem_id="l-surprise")
                    l_go = gr.Button("Make photo", variant="primary", size="lg", elem_id="l-generate")
                l_model = gr.Radio(list(LAYOUT_MODELS), value=next(iter(LAYOUT_MODELS)), label="Model",
                                   elem_id="l-model")
                l_seed = gr.Number(0, label="Photo seed", precision=0, minimum=0, maximum=MAX_SEED,
                                   elem_id="l-seed")
                with gr.Accordion("Region style (world model)", open=False):
                    l_style = gr.Radio(STYLE_CHOICES, value="any", show_label=False, elem_id="l-style")
                l_used = gr.Image(label="Layout as the model reads it", type="pil", format="png",
                                  interactive=False, elem_id="l-used", buttons=["download"])

    with gr.Tab("City", id="city", elem_id="tab-city"):
        gr.Markdown("Repaint a street photo in another city's style, keeping the scene: a **CycleGAN** city pair, "
                    "the **depth route** (the photo's depth, estimated by a Paris model, painted by a Venice "
                    "model; the depth map is shown), the **layout route** (the photo's street layout, painted as "
                    "any of ten famous cities; the layout is shown), or **any city or country** with the diffusion "
                    "model "
                    "(*strength*: low keeps the photo, high takes more of the place).")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=340):
                y_photo = gr.Image(label="Photo", type="filepath", image_mode=None, format="png",
                                   sources=["upload", "clipboard"], elem_id="y-photo")
                with gr.Row():
                    y_example_city = gr.Dropdown(CITY_NAMES, value="Paris", label="Example: a world render of",
                                                 filterable=False, elem_id="y-example-city", min_width=160)
                    y_example = gr.Button("Use example", size="lg", elem_id="y-example")
                y_method = gr.Radio(list(CITY_METHODS), value=next(iter(CITY_METHODS)), label="Method",
                                    elem_id="y-method")
                with gr.Row():
                    y_target = gr.Dropdown(CITY_TARGETS, value="Venice", label="Target (any city, layout route)",
                                           filterable=True,
                                           interactive=False, elem_id="y-target", min_width=160)
                    y_strength = gr.Slider(0.05, 0.6, value=0.2, step=0.05, label="Strength", interactive=False,
                                           elem_id="y-strength", min_width=160)
                y_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="y-seed")
                y_go = gr.Button("Translate", variant="primary", size="lg", elem_id="y-translate")
            with gr.Column(scale=1, min_width=340):
                y_out = gr.Image(label="Translated", type="pil", format="png", interactive=False, elem_id="y-out",
                                 buttons=["download", "fullscreen"])
                y_depth = gr.Image(label="Intermediate: depth (depth route; near = bright) or layout (layout route)",
                                   type="pil", format="png", interactive=False, elem_id="y-depth")
                y_depth_file = gr.File(label="Intermediate data: depth in metres (.npy) or class ids (.png)",
                                       elem_id="y-depth-file")
                y_note = gr.Markdown(elem_id="y-note")
        with gr.Accordion("Frames: translate an animated GIF", open=False):
            with gr.Row():
                with gr.Column():
                    y_frames = gr.File(label="Animated GIF / WebP (up to 16 frames)", file_types=[".gif", ".webp"],
                                       type="filepath", elem_id="y-frames")
                    y_frames_preview = gr.Image(label="Input frames", type="filepath", interactive=False,
                                                elem_id="y-frames-preview")
                y_frames_out = gr.Image(label="Translated frames", type="filepath", format="gif",
                                        interactive=False, elem_id="y-frames-out", buttons=["download"])
            with gr.Row():
                y_pan_example = gr.Button("Use a world pan (example city above)", size="lg",
                                          elem_id="y-pan-example")
                y_steady = gr.Checkbox(True, label="Steady: follow the motion so textures do not shimmer",
                                       elem_id="y-steady")
                y_frames_go = gr.Button("Translate frames", variant="primary", size="lg", elem_id="y-frames-go")
        with gr.Accordion("360° panorama: translate its six views and stitch them back", open=False):
            with gr.Row():
                with gr.Column():
                    y_pano = gr.Image(label="Equirectangular panorama (2:1)", type="filepath", image_mode=None,
                                      format="png", sources=["upload", "clipboard"], elem_id="y-pano")
                    y_pano_example = gr.Button("Use a world panorama of the example city", elem_id="y-pano-example")
                    y_pano_go = gr.Button("Translate panorama", variant="primary", elem_id="y-pano-go")
                with gr.Column():
                    y_pano_out = gr.Image(label="Translated panorama", type="pil", format="png", interactive=False,
                                          elem_id="y-pano-out", buttons=["download", "fullscreen"])
                    y_pano_depth = gr.Image(label="Depth panorama (depth route)", type="pil", format="png",
                                            interactive=False, elem_id="y-pano-depth")
                    y_pano_note = gr.Markdown(elem_id="y-pano-note")

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
                    seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="seed",
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

    c_model.change(lambda m, a, b: _country_pickers(m, (a, b)), [c_model, c_country, c_other], [c_country, c_other],
                   api_visibility="private")
    c_go.click(generate_country, [c_country, c_n, c_seed, c_model, c_guidance], [c_gallery, c_reference],
               api_name="generate_country", concurrency_id="render")
    c_surprise.click(_surprise_country, c_model, [c_country, c_other, c_seed], api_visibility="private").then(
        generate_country, [c_country, c_n, c_seed, c_model, c_guidance], [c_gallery, c_reference],
        api_visibility="private",
        concurrency_id="render")
    c_compare.click(compare_countries, [c_country, c_other, c_n, c_seed, c_model, c_guidance],
                    [c_gallery, c_gallery_b],
                    api_name="compare_countries", concurrency_id="render")
    c_morph.click(morph_countries, [c_country, c_other, c_seed, c_model, c_guidance], c_gif,
                  api_name="morph_countries",
                  concurrency_id="render")
    demo.load(_country_pickers, None, [c_country, c_other], api_visibility="private")

    m_outputs = [m_gallery, m_reference, m_info, m_map]
    # the public endpoint first: the chained private events below would otherwise take the name "generate_map"
    m_go.click(generate_map, [m_lat, m_lon, m_n, m_seed], m_outputs, api_name="generate_map",
               concurrency_id="render")
    m_map.select(_on_map_select, None, [m_lat, m_lon], api_visibility="private").then(
        generate_map, [m_lat, m_lon, m_n, m_seed], m_outputs, api_visibility="private", concurrency_id="render")
    m_preset.input(_preset, m_preset, [m_lat, m_lon], api_visibility="private").then(
        generate_map, [m_lat, m_lon, m_n, m_seed], m_outputs, api_visibility="private", concurrency_id="render")
    m_coast.click(_to_coast, [m_lat, m_lon], [m_lat, m_lon], api_visibility="private").then(
        generate_map, [m_lat, m_lon, m_n, m_seed], m_outputs, api_visibility="private", concurrency_id="render")
    m_preset2.input(_preset, m_preset2, [m_lat2, m_lon2], api_visibility="private")
    m_journey.click(map_journey, [m_lat, m_lon, m_lat2, m_lon2, m_seed], [m_gif, m_map], api_name="map_journey",
                    concurrency_id="render")
    gr.api(map_click, api_name="map_click")
    gr.api(describe_place, api_name="describe_place")

    l_photo_inputs = [l_editor, l_model, l_style, l_seed, l_fill]
    l_go.click(layout_to_photo, l_photo_inputs, [l_used, l_photo], api_name="layout_to_photo",
               concurrency_id="render")
    l_new.click(new_layout, [l_layout_seed, l_model], l_editor, api_name="new_layout").then(
        layout_to_photo, l_photo_inputs, [l_used, l_photo], api_visibility="private", concurrency_id="render")
    l_upload.upload(load_layout, l_upload, l_editor, api_name="load_layout").then(
        layout_to_photo, l_photo_inputs, [l_used, l_photo], api_visibility="private", concurrency_id="render")
    l_surprise.click(_surprise_layout, None, [l_layout_seed, l_seed], api_visibility="private").then(
        new_layout, [l_layout_seed, l_model], l_editor, api_visibility="private").then(
        layout_to_photo, l_photo_inputs, [l_used, l_photo], api_visibility="private", concurrency_id="render")
    l_model.change(_on_layout_model, l_model, l_style, api_visibility="private")
    demo.load(new_layout, [l_layout_seed, l_model], l_editor, api_visibility="private").then(
        layout_to_photo, l_photo_inputs, [l_used, l_photo], api_visibility="private", concurrency_id="render")

    y_inputs = [y_photo, y_method, y_target, y_strength, y_seed]
    y_go.click(translate_city, y_inputs, [y_out, y_depth, y_depth_file, y_note], api_name="translate_city",
               concurrency_id="render")
    y_example.click(city_example, [y_example_city, y_seed], y_photo, api_name="city_example")
    y_method.change(_on_city_method, [y_method, y_target], [y_target, y_strength], api_visibility="private")
    y_pano_example.click(city_panorama_example, [y_example_city, y_seed], y_pano, api_name="city_panorama_example")
    y_pano_go.click(translate_city_panorama, [y_pano, y_method, y_target, y_strength, y_seed],
                    [y_pano_out, y_pano_depth, y_pano_note], api_name="translate_city_panorama",
                    concurrency_id="render")
    y_pan_example.click(city_pan_example, [y_example_city, y_seed], y_frames, api_name="city_pan_example")
    y_frames.change(_frames_preview, y_frames, y_frames_preview, api_visibility="private")
    y_frames_go.click(translate_city_frames, [y_frames, y_method, y_target, y_strength, y_seed, y_steady],
                      y_frames_out,
                      api_name="translate_city_frames", concurrency_id="render")

demo.queue(max_size=16, default_concurrency_limit=2)  # both render events share one limit via concurrency_id

if __name__ == "__main__":
    world.render(0.0, 0.0, 0, 64)  # first render compiles the pixel kernels (cached on disk afterwards)
    mapview.nearest_land(0.0, 0.0)  # builds the coast index (~1 s) before the first sea tap
    _pipeline(DEFAULT_COUNTRY_MODEL)  # the first page load fills its country lists from this model (~4 s to load)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), show_error=True, **LAUNCH_KWARGS)
