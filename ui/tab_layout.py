"""The Layout tab: a street layout (generated, uploaded or painted on a canvas) turned into a photo by SPADE."""
from __future__ import annotations

import random

import gradio as gr
import numpy as np
from PIL import Image

from streetgen import classes, world
from streetgen.io import labels as layout
from streetgen.pipelines import LayoutPipeline, SpadePipeline
from streetgen.validate import shown
from ui import choices, kiosk, model_panel, models
from ui.common import LEGEND, MAX_SEED, checked_seed, gpu, user_number

# label -> (layout GAN, SPADE), as shipped (ui/models.toml; `--model layout=… / spade=…` add a choice)
LAYOUT_MODELS = {label: tuple(spec.split("+")) for label, spec in choices.shipped()["layout"].items()}
LAYOUT_SIZE = (128, 256)  # (height, width) both layout generators make and both SPADE models paint
CANVAS_SCALE = 2  # the canvas shows the layout at 2× so fingers can paint details
STYLE_CHOICES = [("Any", "any")] + [(name.replace("_", " ").capitalize(), name) for name in world.FAMILIES]
BRUSH_COLOURS = ["#%02x%02x%02x" % tuple(int(v) for v in rgb) for rgb in classes.PALETTE[:classes.VOID]]
WHITE = 255  # an empty canvas is white, and no class is white: unpainted pixels are told apart by it


def layout_pipelines(model: str | None) -> tuple[LayoutPipeline, SpadePipeline]:
    """The (LayoutPipeline, SpadePipeline) pair of a model label, loaded once."""
    offered = choices.configured("layout")
    if model is not None and model not in offered:  # None: the tab has no usable model
        raise gr.Error(f"Unknown model {shown(model)}; choose one of: {', '.join(offered)}.")
    names = model_panel.spec("layout", model).split("+")
    return tuple(models.load(kind, name, f"Model {name!r}") for kind, name in zip(("layout", "spade"), names))


def _editor_value(labels: np.ndarray) -> dict:
    """An ImageEditor value whose background is the layout in palette colours, at the canvas scale."""
    h, w = labels.shape
    shown = Image.fromarray(classes.colorize_labels(labels)).resize((w * CANVAS_SCALE, h * CANVAS_SCALE), Image.NEAREST)
    return {"background": shown, "layers": [], "composite": shown}


@gpu
def new_layout(seed: int, model: str) -> dict:
    """A random street layout from the model's layout generator, placed on the canvas."""
    seed = checked_seed(seed)
    return _editor_value(layout_pipelines(model)[0](n=1, seed=seed)[0])


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


@gpu
def layout_to_photo(editor: dict, model: str, style: str, seed: int,
                    fill: bool = True) -> tuple[Image.Image, Image.Image]:
    """The canvas layout (as the model reads it) and the street photo SPADE paints for it."""
    seed = checked_seed(seed)
    _, spade = layout_pipelines(model)
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
    styled = bool(layout_pipelines(model)[1].styles)
    return gr.update(interactive=styled, value="any")


def _surprise_layout():
    return random.randrange(10_000), random.randrange(10_000)


def _canvas_column() -> tuple[gr.ImageEditor, gr.Button, gr.UploadButton, gr.Number, gr.Checkbox]:
    """The left column: the canvas, its legend, New layout / Upload, the layout seed and the fill switch."""
    with gr.Column(scale=1, min_width=360):
        editor = gr.ImageEditor(
            value=None, type="numpy", image_mode="RGBA", format="png", label="Layout (paint here)",
            brush=gr.Brush(colors=BRUSH_COLOURS, default_color=BRUSH_COLOURS[3], color_mode="fixed", default_size=16),
            eraser=gr.Eraser(default_size=16), sources=[], transforms=[], layers=False,
            canvas_size=(LAYOUT_SIZE[1] * CANVAS_SCALE, LAYOUT_SIZE[0] * CANVAS_SCALE),
            fixed_canvas=True, elem_id="l-editor")
        gr.HTML(LEGEND, label="Class colours", elem_id="l-legend")
        with gr.Row():
            new = gr.Button("New layout", size="lg", elem_id="l-new")
            upload = gr.UploadButton("Upload a label map", file_types=["image"], type="filepath", size="lg",
                                     elem_id="l-upload")
        with gr.Row():
            layout_seed = user_number(0, label="Layout seed", precision=0, minimum=0, maximum=MAX_SEED,
                                      min_width=110, elem_id="l-layout-seed")
            fill = gr.Checkbox(True, label="Unpainted areas take the nearest painted class", elem_id="l-fill")
    return editor, new, upload, layout_seed, fill


def build(demo: gr.Blocks) -> None:
    """The Layout tab's widgets and events (endpoints /layout_to_photo, /new_layout, /load_layout)."""
    with gr.Tab("Layout", id="layout", elem_id="tab-layout"):
        gr.Markdown("Get a random street layout, paint over it with the class colours (or upload a label map), "
                    "and turn it into a photo. Unpainted parts of the canvas take the nearest painted class.")
        with gr.Row(equal_height=False):
            editor, new, upload, layout_seed, fill = _canvas_column()
            with gr.Column(scale=1, min_width=360):
                photo = gr.Image(label="Photo", type="pil", format="png", interactive=False, elem_id="l-photo",
                                 buttons=["download", "fullscreen"])
                with gr.Row():
                    surprise = gr.Button("Surprise me", size="lg", elem_id="l-surprise")
                    go = gr.Button("Make photo", variant="primary", size="lg", elem_id="l-generate")
                model = gr.Radio(list(choices.available("layout")), value=choices.default("layout"),
                                 label="Model", elem_id="l-model")
                panel = model_panel.build("layout", "l")
                seed = user_number(0, label="Photo seed", precision=0, minimum=0, maximum=MAX_SEED,
                                   elem_id="l-seed")
                with gr.Accordion("Region style (world model)", open=False):
                    style = gr.Radio(STYLE_CHOICES, value="any", show_label=False, elem_id="l-style")
                used = gr.Image(label="Layout as the model reads it", type="pil", format="png",
                                interactive=False, elem_id="l-used", buttons=["download"])

    photo_inputs, photo_outputs = [editor, model, style, seed, fill], [used, photo]
    go.click(layout_to_photo, photo_inputs, photo_outputs, api_name="layout_to_photo", concurrency_id="render")
    new.click(new_layout, [layout_seed, model], editor, api_name="new_layout").then(
        layout_to_photo, photo_inputs, photo_outputs, api_visibility="private", concurrency_id="render")
    upload.upload(load_layout, upload, editor, api_name="load_layout").then(
        layout_to_photo, photo_inputs, photo_outputs, api_visibility="private", concurrency_id="render")
    surprise.click(_surprise_layout, None, [layout_seed, seed], api_visibility="private").then(
        new_layout, [layout_seed, model], editor, api_visibility="private").then(
        layout_to_photo, photo_inputs, photo_outputs, api_visibility="private", concurrency_id="render")
    model.change(_on_layout_model, model, style, api_visibility="private")
    model.change(lambda m: model_panel.show("layout", m), model, panel.outputs, api_visibility="private")
    if not kiosk.enabled():  # the kiosk's page load hands over a stored layout and photo instead (ui/showcase.py)
        demo.load(new_layout, [layout_seed, model], editor, api_visibility="private").then(
            layout_to_photo, photo_inputs, photo_outputs, api_visibility="private", concurrency_id="render")
