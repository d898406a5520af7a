"""What the tabs share: place choices, input checks that turn bad input into gr.Error, temporary output files,
the seed/count row, picture galleries, the class-colour legend and the page's CSS."""
from __future__ import annotations

import contextlib
import functools
import html
import inspect
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable

import gradio as gr
import numpy as np
from PIL import Image

from streetgen import classes, geo
from streetgen.io.photos import save_gif
from streetgen.validate import shown

MAX_SEED = 2**32 - 1  # the UI's seeds: exact in a browser's float64 numbers (the pipelines take up to 2**63 - 1)
N_CHOICES = [1, 2, 4, 8]  # how many images the Country and Map tabs generate at once
COUNTRIES = geo.renderable_countries()
CITY_NAMES = list(geo.FAMOUS_CITIES)


def country_choices(continent: str = "all") -> list[tuple[str, str]]:
    """(name, ISO2) of every renderable country, or of one continent's."""
    return [(c.name, c.iso2) for c in COUNTRIES if continent == "all" or c.continent == continent]


def whole(value) -> int | None:
    """A UI number (int, float or numeric string) as an int when it is a finite whole number, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def checked(n, seed, most: int, what: str) -> tuple[int, int]:
    """(n, seed) as ints, or a gr.Error saying what is wrong (shared by every tab's handlers)."""
    seed_value = whole(seed)
    if seed_value is None or not 0 <= seed_value <= MAX_SEED:
        raise gr.Error(f"Seed must be a whole number from 0 to {MAX_SEED}, got {shown(seed)}.")
    count = whole(n)
    if count is None or not 1 <= count <= most:
        raise gr.Error(f"Number of {what} must be a whole number from 1 to {most}, got {shown(n)}.")
    return count, seed_value


def checked_seed(seed) -> int:
    """`seed` as an int, or a gr.Error (the same rule and message as `checked`), for handlers making one output."""
    return checked(1, seed, 1, "outputs")[1]


CORES = os.cpu_count() or 1
_jobs = {"running": 0}
_jobs_lock = threading.Lock()


@contextlib.contextmanager
def _model_job():
    with _jobs_lock:
        _jobs["running"] += 1
    try:
        yield
    finally:
        with _jobs_lock:
            _jobs["running"] -= 1


def _take_cores() -> None:
    import torch  # a model job: torch is loaded by now

    torch.set_num_threads(max(1, CORES // max(1, _jobs["running"])))  # this thread's count (OpenMP: per thread)


def share_cores(fn: Callable) -> Callable:
    """`fn` run with the cores shared among the model jobs running at that moment: a lone job gets them all, two get
    half each (torch's thread count belongs to the calling thread; a streaming handler takes its share again
    before each frame, as Gradio may run each step on another worker thread)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            with _model_job():
                steps = fn(*args, **kwargs)
                while True:
                    _take_cores()
                    try:
                        item = next(steps)
                    except StopIteration:
                        return
                    yield item
        return stream

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _model_job():
            _take_cores()
            return fn(*args, **kwargs)
    return run


def gpu(fn: Callable) -> Callable:
    """A handler that runs models: its cores shared (`share_cores`), and wrapped by `spaces.GPU` when the `spaces`
    package is importable (a ZeroGPU Space gives the handler a GPU while it runs; outside a Space it is a no-op)."""
    fn = share_cores(fn)
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(fn)


def steps(progress: gr.Progress, desc: str) -> Callable[[int, int], None]:
    """A pipeline progress callback that moves Gradio's progress bar (denoising steps of the diffusion model)."""
    return lambda done, total: progress((done, total), desc=desc, unit="steps")


TEMP_ROOT = os.path.join(tempfile.gettempdir(), "streetgen-outputs")  # the one folder the tabs write files into
TEMP_MAX_AGE_S = 120  # Gradio copies a returned file into its own cache as the event ends; ours go 2 minutes later
_SWEEP = {"last": 0.0}


def temp_path(prefix: str, name: str) -> str:
    """A path `name` in a fresh folder under TEMP_ROOT (Gradio serves output files from paths, and each call gets
    its own folder); folders older than TEMP_MAX_AGE_S are removed on the way, at most every 30 seconds."""
    now = time.time()
    if now - _SWEEP["last"] > 30:
        _SWEEP["last"] = now
        sweep_temp(TEMP_MAX_AGE_S)
    os.makedirs(TEMP_ROOT, exist_ok=True)
    return os.path.join(tempfile.mkdtemp(prefix=prefix, dir=TEMP_ROOT), name)


def sweep_temp(max_age_s: float) -> int:
    """Remove the folders under TEMP_ROOT older than `max_age_s` seconds; returns how many went."""
    removed, cutoff = 0, time.time() - max_age_s
    for entry in os.scandir(TEMP_ROOT) if os.path.isdir(TEMP_ROOT) else ():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        except FileNotFoundError:  # another request's sweep got it first
            pass
    return removed


def user_number(*args, **kwargs) -> gr.Number:
    """gr.Number(*args, **kwargs) that hands what it cannot read as a number (a script's "abc") to the handler
    unchanged, so the handler's own check says what is wrong instead of Gradio's generic "Could not preprocess
    input". (Its preprocess is replaced on the instance: a gr.Number subclass would make Gradio write a .pyi stub
    next to this file at every import.)"""
    box = gr.Number(*args, **kwargs)
    read = box.preprocess

    def preprocess(payload):
        try:
            return read(payload)
        except gr.Error:  # a number out of the box's range: Gradio's message says so
            raise
        except (TypeError, ValueError):
            return payload

    box.preprocess = preprocess
    return box


def image_path(**kwargs) -> gr.Image:
    """gr.Image(type="filepath", **kwargs) that passes the uploaded file's path on without opening it: our readers
    check its header (pixel cap) and say plainly what is wrong with a corrupt, empty or non-image file."""
    box = gr.Image(type="filepath", **kwargs)
    read = box.preprocess

    def preprocess(payload):
        path = getattr(payload, "path", None)
        inline = str(getattr(payload, "url", None) or "").startswith("data:")  # pasted: Gradio decodes it
        return str(path) if path and not inline else read(payload)

    box.preprocess = preprocess
    return box


def enlarged_256(frame: np.ndarray) -> np.ndarray:
    """A frame of a morph or journey enlarged to 256 × 256 for viewing."""
    return np.asarray(Image.fromarray(frame).resize((256, 256), Image.BILINEAR))


def save_gif_256(frames: list[np.ndarray], path: str) -> str:
    """Frames of a morph or journey, enlarged to 256 × 256 for viewing, as an animated GIF at `path`."""
    return save_gif([enlarged_256(f) for f in frames], path)


PREVIEW_EVERY_S = 0.25  # a streamed frame is shown when this long has passed since the last one shown


def stream_frames(frames: Iterable[np.ndarray], prefix: str, view: Callable[[np.ndarray], np.ndarray] | None = None,
                  also: tuple = ()) -> Generator[str | tuple, None, list[np.ndarray]]:
    """Yield the latest frame as frames come, saved as frame-NN.png (after `view`, e.g. `enlarged_256`) in one
    fresh folder under TEMP_ROOT: its path, or (path, *also) for a handler with more outputs; the generator's
    return value is the list of frames. The first frame is always shown, later ones at most every PREVIEW_EVERY_S
    (frames made in one burst, like a CVAE morph, would only queue pictures the GIF replaces at once). Long actions
    (morph, journey, frames) show their progress this way, then the GIF."""
    folder = os.path.dirname(temp_path(prefix, "frame.png"))
    made: list[np.ndarray] = []
    shown_at = -math.inf
    for k, frame in enumerate(frames):
        made.append(frame)
        if time.monotonic() - shown_at < PREVIEW_EVERY_S:
            continue
        path = os.path.join(folder, f"frame-{k:02d}.png")
        Image.fromarray(view(frame) if view is not None else frame).save(path)
        shown_at = time.monotonic()
        yield (path, *also) if also else path
        also = tuple(gr.skip() for _ in also)  # the other outputs were sent with the first frame
    return made


def seed_and_count(prefix: str) -> tuple[gr.Number, gr.Radio]:
    """The seed box and the number-of-images choice, one row (elem_ids <prefix>-seed, <prefix>-n)."""
    with gr.Row():
        seed = user_number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id=f"{prefix}-seed",
                           min_width=120)
        count = gr.Radio(N_CHOICES, value=4, label="Images", elem_id=f"{prefix}-n", min_width=160)
    return seed, count


def picture_gallery(label: str, columns: int, elem_id: str, **kwargs) -> gr.Gallery:
    """A gallery of square generated pictures, each shown whole (contained, no taller than the window; see CSS)."""
    return gr.Gallery(label=label, columns=columns, format="png", height="auto", object_fit="contain",
                      elem_id=elem_id, elem_classes=["picture-gallery"], **kwargs)


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
/* Phones (390 px wide and the like): gallery pictures at most two a row, fitting the width (Gradio's fixed count
   of 100 px minimum columns pushed a 4th picture off the side; one picture alone still spans the width), no empty
   fixed-height rows, and tap targets at least 48 px. Gradio puts ".gradio-container... .contain " before every
   selector inside @media, so these name what lies inside the page's .contain (a ".gradio-container" here matched
   nothing). */
@media (max-width: 480px) {
  .grid-wrap .grid-container { grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)) !important;
                             grid-template-rows: none !important; grid-auto-rows: auto !important; }
  button.lg, button.primary, button.secondary, fieldset label { min-height: 48px; }
  img, canvas { max-width: 100%; }
  /* The page's 32 px side margins (an eighth of the width) become 10 px: the Layout canvas opens at 60% instead of
     52% (Gradio's editor keeps 30 px around the picture when fitting it); outputs (galleries, pictures, files) stay a
     strip until they are made, and galleries take the whole width. */
  .column:has(> .tabs) { margin-left: -22px !important; margin-right: -22px !important; }
  #l-editor { height: 250px !important; }  /* was 350 px around a 154 px tall picture */
  .empty.unpadded_box { min-height: 72px !important; height: 72px !important; }  /* an output not made yet */
  .picture-gallery, #world-gallery { min-width: 100% !important; }  /* a row's galleries one under another */
}
"""
