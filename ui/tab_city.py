"""The City tab: a street photo (or a GIF's frames, or a 360° panorama) repainted in another city's style."""
from __future__ import annotations

from collections.abc import Generator
from types import SimpleNamespace
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from streetgen import classes, geo, world
from streetgen.io.photos import read_frames, read_photo, save_gif
from streetgen.pipelines import STEADY, iter_translate_frames, run_city, translate_panorama
from streetgen.validate import shown
from ui import choices, model_panel, models
from ui.common import (CITY_NAMES, COUNTRIES, MAX_SEED, checked_seed, gpu, image_path, steps, stream_frames,
                       temp_path, user_number)

CITY_TARGETS = CITY_NAMES + [c.name for c in COUNTRIES]
MAX_CITY_FRAMES = 16


def city_pipeline(method: str | None) -> Any:
    """The city pipeline of a method label, loaded once."""
    offered = choices.configured("city")  # label -> spec (ui/models.toml, plus `--model city=SOURCE`)
    if method is not None and method not in offered:  # None: the tab has no usable model
        raise gr.Error(f"Unknown method {shown(method)}; choose one of: {', '.join(offered)}.")
    return models.load("city", model_panel.spec("city", method), f"The {method!r} model")


def _checked_city(city: str) -> None:
    if city not in geo.FAMOUS_CITIES:
        raise gr.Error(f"Unknown city {shown(city)}; choose one of: {', '.join(geo.FAMOUS_CITIES)}.")


def _file_stem(city: str) -> str:
    return city.lower().replace(" ", "_")


def city_example(city: str, seed: int) -> str:
    """A world render of a famous city (256 × 256) as an input photo; returns its PNG path."""
    seed = checked_seed(seed)
    try:
        img = world.render_city(city, seed=seed, size=256).image
    except ValueError as err:
        raise gr.Error(str(err)) from None
    path = temp_path("streetgen-city-", f"{_file_stem(city)}-{seed}.png")
    Image.fromarray(img).save(path)
    return path


@gpu
def translate_city(photo: str, method: str, target: str, strength: float, seed: int,
                   progress: gr.Progress = gr.Progress()) -> tuple[Image.Image, Image.Image | None, str | None, str]:
    """The photo in another city's style; for the depth and layout routes also their intermediate (a picture and
    the data: depth in metres as .npy, or the label map as a PNG of class ids)."""
    seed = checked_seed(seed)
    if not photo:
        raise gr.Error("No photo: upload one, or tap Use example for a world render.")
    pipe = city_pipeline(method)  # outside the try: its gr.Error is a ValueError, and says what it means itself
    try:
        arr, note = read_photo(photo)
        out, middle = run_city(pipe, arr, target, strength, seed, steps(progress, "Translating"))
    except ValueError as err:
        raise gr.Error(f"Cannot translate this photo: {err}") from None
    middle_img, middle_file = _intermediate(middle)
    h, w = arr.shape[:2]
    route = choices.route(method)
    text = f"{method} · {w}×{h}" + (f" · toward {target}, strength {float(strength):.2f}" if route == "any" else
                                     f" · toward {target}" if route == "layout" else "") + (
        f" · input {note}" if note else "")
    return Image.fromarray(out), middle_img, middle_file, text


def _intermediate(middle: np.ndarray | None) -> tuple[Image.Image | None, str | None]:
    """The route's intermediate as a picture and a data file: depth (float metres → .npy) or a label map
    (class ids → a PNG whose pixel values are the CamVid class ids)."""
    if middle is None:
        return None, None
    if np.issubdtype(middle.dtype, np.floating):
        path = temp_path("streetgen-intermediate-", "depth_metres.npy")
        np.save(path, middle.astype(np.float32))
        return Image.fromarray(world.colorize_depth(middle)), path
    path = temp_path("streetgen-intermediate-", "labels_class_ids.png")
    Image.fromarray(middle.astype(np.uint8)).save(path)
    return Image.fromarray(classes.colorize_labels(middle)), path


@gpu
def translate_city_frames(animation: str, method: str, target: str, strength: float, seed: int,
                          steady: bool = True) -> Generator[str, None, None]:
    """Every frame of a GIF (up to 16) translated with one seed and one noise and, with `steady`, carried along the
    video's motion so the texture does not shimmer: yields each translated frame (a PNG path) as soon as it is
    made, then the translated GIF's path."""
    seed = checked_seed(seed)
    if not animation:
        raise gr.Error("No animation: upload a GIF (or WebP) of street frames, or tap Use a world pan.")
    pipe = city_pipeline(method)
    try:
        frames = read_frames(animation, max_frames=MAX_CITY_FRAMES)
        stream = iter_translate_frames(lambda f, seed: run_city(pipe, f, target, strength, seed)[0], frames,
                                       seed=seed, steady=STEADY if steady else 0.0)
        out = yield from stream_frames(stream, "streetgen-frames-")
    except ValueError as err:
        raise gr.Error(f"Cannot translate these frames: {err}") from None
    yield save_gif(out, temp_path("streetgen-frames-", "translated.gif"), bounce=False)


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
    seed = checked_seed(seed)
    _checked_city(city)
    frames = [s.image for s in world.render_pan(city, seed=seed, size=256, frames=MAX_CITY_FRAMES)]
    return save_gif(frames, temp_path("streetgen-pan-", f"{_file_stem(city)}-pan.gif"), bounce=False)


def city_panorama_example(city: str, seed: int) -> str:
    """A 360° world panorama (512 × 256) of a famous city; returns its PNG path."""
    seed = checked_seed(seed)
    _checked_city(city)
    c = geo.FAMOUS_CITIES[city]
    pano = world.render_panorama(c.lat, c.lon, seed=seed, height=256, famous_city=city).image
    path = temp_path("streetgen-pano-", f"{_file_stem(city)}-360.png")
    Image.fromarray(pano).save(path)
    return path


@gpu
def translate_city_panorama(pano: str, method: str, target: str, strength: float, seed: int,
                            progress: gr.Progress = gr.Progress()) -> tuple[Image.Image, Image.Image | None, str]:
    """A 2:1 equirectangular panorama translated through its six cube faces and stitched back (+ depth route)."""
    seed = checked_seed(seed)
    if not pano:
        raise gr.Error("No panorama: upload a 2:1 equirectangular image, or tap Use a world panorama.")
    pipe = city_pipeline(method)
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


def method_controls(method: str, target: str) -> tuple[dict, dict]:
    """Target and strength follow the method: any city or country for diffusion, the painter's cities for the
    layout route (the current target kept when it is one), neither for the fixed pairs."""
    route = choices.route(method)
    if route == "layout":
        value = target if target in CITY_NAMES else "Venice"
        return gr.update(choices=CITY_NAMES, value=value, interactive=True), gr.update(interactive=False)
    return (gr.update(choices=CITY_TARGETS, interactive=route == "any"), gr.update(interactive=route == "any"))


def _photo_widgets(w: SimpleNamespace) -> None:
    """The photo row: input photo, example, method, target, strength and seed; the output and its intermediate."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=340):
            w.photo = image_path(label="Photo", image_mode=None, format="png", sources=["upload", "clipboard"],
                                 elem_id="y-photo")
            with gr.Row():
                w.example_city = gr.Dropdown(CITY_NAMES, value="Paris", label="Example: a world render of",
                                             filterable=False, elem_id="y-example-city", min_width=160)
                w.example = gr.Button("Use example", size="lg", elem_id="y-example")
            w.method = gr.Radio(list(choices.available("city")), value=choices.default("city"), label="Method",
                                elem_id="y-method")
            w.panel = model_panel.build("city", "y")
            with gr.Row():
                w.target = gr.Dropdown(CITY_TARGETS, value="Venice", label="Target (any city, layout route)",
                                       filterable=True, interactive=False, elem_id="y-target", min_width=160)
                w.strength = gr.Slider(0.05, 0.6, value=0.2, step=0.05, label="Strength", interactive=False,
                                       elem_id="y-strength", min_width=160)
            w.seed = user_number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="y-seed")
            w.go = gr.Button("Translate", variant="primary", size="lg", elem_id="y-translate")
        with gr.Column(scale=1, min_width=340):
            w.out = gr.Image(label="Translated", type="pil", format="png", interactive=False, elem_id="y-out",
                             buttons=["download", "fullscreen"])
            w.depth = gr.Image(label="Intermediate: depth (depth route; near = bright) or layout (layout route)",
                               type="pil", format="png", interactive=False, elem_id="y-depth")
            w.depth_file = gr.File(label="Intermediate data: depth in metres (.npy) or class ids (.png)",
                                   elem_id="y-depth-file")
            w.note = gr.Markdown(elem_id="y-note")


def _frames_widgets(w: SimpleNamespace) -> None:
    """The animated-GIF accordion: input file and its preview, the translated GIF, pan example, steady switch."""
    with gr.Accordion("Frames: translate an animated GIF", open=False):
        with gr.Row():
            with gr.Column():
                w.frames = gr.File(label="Animated GIF / WebP (up to 16 frames)", file_types=[".gif", ".webp"],
                                   type="filepath", elem_id="y-frames")
                w.frames_preview = gr.Image(label="Input frames", type="filepath", interactive=False,
                                            elem_id="y-frames-preview")
            w.frames_out = gr.Image(label="Translated frames", type="filepath", format="gif", interactive=False,
                                    elem_id="y-frames-out", buttons=["download"])
        with gr.Row():
            w.pan_example = gr.Button("Use a world pan (example city above)", size="lg", elem_id="y-pan-example")
            w.steady = gr.Checkbox(True, label="Steady: follow the motion so textures do not shimmer",
                                   elem_id="y-steady")
            w.frames_go = gr.Button("Translate frames", variant="primary", size="lg", elem_id="y-frames-go")


def _panorama_widgets(w: SimpleNamespace) -> None:
    """The 360° accordion: input panorama, example and go buttons; the translated panorama, its depth and a note."""
    with gr.Accordion("360° panorama: translate its six views and stitch them back", open=False):
        with gr.Row():
            with gr.Column():
                w.pano = image_path(label="Equirectangular panorama (2:1)", image_mode=None, format="png",
                                    sources=["upload", "clipboard"], elem_id="y-pano")
                w.pano_example = gr.Button("Use a world panorama of the example city", elem_id="y-pano-example")
                w.pano_go = gr.Button("Translate panorama", variant="primary", elem_id="y-pano-go")
            with gr.Column():
                w.pano_out = gr.Image(label="Translated panorama", type="pil", format="png", interactive=False,
                                      elem_id="y-pano-out", buttons=["download", "fullscreen"])
                w.pano_depth = gr.Image(label="Depth panorama (depth route)", type="pil", format="png",
                                        interactive=False, elem_id="y-pano-depth")
                w.pano_note = gr.Markdown(elem_id="y-pano-note")


def _wire(w: SimpleNamespace) -> None:
    """The City tab's events, in the order the API names them."""
    route = [w.method, w.target, w.strength, w.seed]
    w.go.click(translate_city, [w.photo, *route], [w.out, w.depth, w.depth_file, w.note], api_name="translate_city",
               concurrency_id="render")
    w.example.click(city_example, [w.example_city, w.seed], w.photo, api_name="city_example")
    w.method.change(method_controls, [w.method, w.target], [w.target, w.strength], api_visibility="private")
    w.method.change(lambda m: model_panel.show("city", m), w.method, w.panel.outputs, api_visibility="private")
    w.pano_example.click(city_panorama_example, [w.example_city, w.seed], w.pano, api_name="city_panorama_example")
    w.pano_go.click(translate_city_panorama, [w.pano, *route], [w.pano_out, w.pano_depth, w.pano_note],
                    api_name="translate_city_panorama", concurrency_id="render")
    w.pan_example.click(city_pan_example, [w.example_city, w.seed], w.frames, api_name="city_pan_example")
    w.frames.change(_frames_preview, w.frames, w.frames_preview, api_visibility="private")
    w.frames_go.click(translate_city_frames, [w.frames, *route, w.steady], w.frames_out,
                      api_name="translate_city_frames", concurrency_id="render",
                      show_progress="minimal")  # streamed: the frames show the progress


def build(demo: gr.Blocks) -> None:
    """The City tab's widgets and events (endpoints /translate_city, /city_example, /city_pan_example,
    /translate_city_frames, /city_panorama_example, /translate_city_panorama)."""
    with gr.Tab("City", id="city", elem_id="tab-city"):
        gr.Markdown("Repaint a street photo in another city's style, keeping the scene: a **CycleGAN** city pair, "
                    "the **depth route** (the photo's depth, estimated by a Paris model, painted by a Venice "
                    "model; the depth map is shown), the **layout route** (the photo's street layout, painted as "
                    "any of ten famous cities; the layout is shown), or **any city or country** with the diffusion "
                    "model "
                    "(*strength*: low keeps the photo, high takes more of the place).")
        w = SimpleNamespace()
        _photo_widgets(w)
        _frames_widgets(w)
        _panorama_widgets(w)
    _wire(w)
    # the opening choice's route sets the target and strength controls (an added model may open first)
    demo.load(method_controls, [w.method, w.target], [w.target, w.strength], api_visibility="private")
