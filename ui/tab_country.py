"""The Country tab: street images generated for a country (CVAE or diffusion), compared or morphed with another."""
from __future__ import annotations

import random
from collections.abc import Generator

import gradio as gr

from streetgen import geo, world
from streetgen.pipelines import CountryPipeline
from streetgen.validate import shown
from ui import choices, model_panel, models
from ui.common import (COUNTRIES, N_CHOICES, checked, checked_seed, country_choices, enlarged_256, gpu,
                       picture_gallery, save_gif_256, seed_and_count, steps, stream_frames, temp_path)

COUNTRY_MODELS = dict(choices.shipped()["country"])  # label -> checkpoint spec, as shipped (ui/models.toml)
# the sharp model (autoguided by its earlier export: see checkpoints/country_diffusion_early) is what a visitor
# should see first (2.2 s for 4 images on 2 CPU threads); the CVAE stays a tap away
DEFAULT_COUNTRY_MODEL = choices.shipped()["defaults"]["country"]
DEFAULT_GUIDANCE = 12.0  # the diffusion model's default (picked by a place-judge sweep; see its card)
MAX_GUIDANCE = 20.0


def pipeline(model: str) -> CountryPipeline:
    """The CountryPipeline of a model label (or a checkpoint spec, for API callers), loaded once; a choice that
    could not be offered (missing or corrupt checkpoint) is a gr.Error saying why."""
    return models.load("country", model_panel.spec("country", model), f"Model {model!r}")


def _model_countries(model: str) -> list[tuple[str, str]]:
    codes = set(pipeline(model).countries)
    return [(c.name, c.iso2) for c in COUNTRIES if c.iso2 in codes]


def _guidance(pipe: CountryPipeline, guidance: float) -> dict:
    """The diffusion model's country signal as a sampler option (the CVAE has none), checked."""
    if not pipe.guided:
        return {}
    try:
        value = float(guidance)
    except (TypeError, ValueError):
        raise gr.Error(f"Country signal must be a number between 1 and {MAX_GUIDANCE:g}, "
                       f"got {shown(guidance)}.") from None
    if not 1.0 <= value <= MAX_GUIDANCE:
        raise gr.Error(f"Country signal must be between 1 and {MAX_GUIDANCE:g}, got {value:g}.")
    return {"guidance": value}


@gpu
def generate_country(country: str, n: int, seed: int, model: str, guidance: float = DEFAULT_GUIDANCE,
                     progress: gr.Progress = gr.Progress()) -> tuple[list, list]:
    """n generated street images of a country (ISO code or name) plus the world's own render as reference;
    `guidance` turns the diffusion model's country signal up or down (1 = none)."""
    n, seed = checked(n, seed, max(N_CHOICES), "images")
    pipe = pipeline(model)
    options = _guidance(pipe, guidance)
    try:
        images = pipe(country, n=n, seed=seed, progress=steps(progress, f"Generating {country}"), **options)
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


@gpu
def morph_countries(country_a: str, country_b: str, seed: int, model: str, guidance: float = DEFAULT_GUIDANCE,
                    progress: gr.Progress = gr.Progress()) -> Generator[str, None, None]:
    """An animated GIF walking one latent from country A to country B: yields each frame's picture (a PNG path)
    as soon as it is made, then the GIF's path."""
    seed = checked_seed(seed)
    pipe = pipeline(model)
    options = _guidance(pipe, guidance)
    try:
        stream = pipe.iter_morph(country_a, country_b, frames=16, seed=seed, chunk=pipe.stream_chunk,
                                 progress=steps(progress, f"Morphing {country_a} → {country_b}"), **options)
        frames = yield from stream_frames(stream, "streetgen-morph-", enlarged_256)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    yield save_gif_256(frames, temp_path("streetgen-morph-", f"{country_a}-{country_b}-{seed}.gif"))


def _country_pickers(model: str | None = None, preferred: tuple[str, str] = ("JP", "NO")):
    """Both pickers limited to the model's countries (the tab's default model when none is given), keeping Japan /
    Norway when the model knows them; every country when no model can be loaded."""
    model = model or choices.default("country")
    try:
        known = _model_countries(model)
    except gr.Error:
        known = country_choices()
    codes = [v for _, v in known]
    a = preferred[0] if preferred[0] in codes else codes[0]
    b = preferred[1] if preferred[1] in codes else codes[min(1, len(codes) - 1)]
    return gr.update(choices=known, value=a), gr.update(choices=known, value=b)


def _surprise_country(model: str):
    known = _model_countries(model)
    a, b = random.sample(known, 2)
    return a[1], b[1], random.randrange(10_000)


def build(demo: gr.Blocks) -> None:
    """The Country tab's widgets and events (endpoints /generate_country, /compare_countries, /morph_countries)."""
    with gr.Tab("Country", id="country", elem_id="tab-country"):
        gr.Markdown("Pick a country (tap the list, or type to search) and get street views generated for it; "
                    "the world's own render of that country is shown beside them as the reference.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                model = gr.Radio(list(choices.available("country")), value=choices.default("country"),
                                 label="Model", elem_id="c-model")
                panel = model_panel.build("country", "c")
                country = gr.Dropdown(country_choices(), value="JP", label="Country", filterable=True,
                                      allow_custom_value=True,  # API callers may pass names or codes
                                      elem_id="c-country")
                seed, n = seed_and_count("c")
                guidance = gr.Slider(1, MAX_GUIDANCE, value=DEFAULT_GUIDANCE, step=0.5,
                                     label="Country signal (diffusion guidance; 1 = none, the CVAE ignores it)",
                                     elem_id="c-guidance")
                with gr.Row():
                    surprise = gr.Button("Surprise me", size="lg", elem_id="c-surprise")
                    go = gr.Button("Generate", variant="primary", size="lg", elem_id="c-generate")
                with gr.Accordion("Compare / morph with a second country", open=False):
                    other = gr.Dropdown(country_choices(), value="NO", label="Second country", filterable=True,
                                        allow_custom_value=True, elem_id="c-other")
                    with gr.Row():
                        compare = gr.Button("Compare", elem_id="c-compare")
                        morph = gr.Button("Morph", elem_id="c-morph")
            with gr.Column(scale=2, min_width=360):
                gallery = picture_gallery("Generated", 4, "c-gallery", buttons=["download", "fullscreen"])
                reference = picture_gallery("Reference: streetgen.world", 2, "c-reference")
                with gr.Row():
                    gallery_b = picture_gallery("Second country (same seeds)", 4, "c-gallery-b")
                    gif = gr.Image(label="Morph", type="filepath", format="gif", elem_id="c-morph-out",
                                   buttons=["download"])

    inputs = [country, n, seed, model, guidance]
    model.change(lambda m, a, b: _country_pickers(m, (a, b)), [model, country, other], [country, other],
                 api_visibility="private")
    model.change(lambda m: model_panel.show("country", m), model, panel.outputs, api_visibility="private")
    go.click(generate_country, inputs, [gallery, reference], api_name="generate_country", concurrency_id="render")
    surprise.click(_surprise_country, model, [country, other, seed], api_visibility="private").then(
        generate_country, inputs, [gallery, reference], api_visibility="private", concurrency_id="render")
    compare.click(compare_countries, [country, other, n, seed, model, guidance], [gallery, gallery_b],
                  api_name="compare_countries", concurrency_id="render")
    # streamed: a small timer instead of the progress overlay, which would hide the frames as they come
    morph.click(morph_countries, [country, other, seed, model, guidance], gif, api_name="morph_countries",
                concurrency_id="render", show_progress="minimal")
    demo.load(_country_pickers, None, [country, other], api_visibility="private")
