"""Kiosk mode (`python app.py --kiosk`): the app on an exhibition's 1920 × 1080 touch screen.

Every tab's controls and results sit side by side above the fold (no page scroll), tap targets are at least 48 px,
lists open without a keyboard, the API/settings footer is gone, each tab shows the pictures `ui.showcase` stored for
its default choices as the page opens, and after `idle_seconds` without a touch a full-screen attract loop cycles
places and their pictures until the next tap (which only dismisses it: the app is where it was). Idle detection and
the slide show run in the browser (a script in the page head), so an idle kiosk costs the server nothing.

Like ui/choices.py, this module imports no gradio when it is imported: app.py adds the kiosk's options to its
command line before gradio is imported (gradio reads its environment settings then).
"""
from __future__ import annotations

import argparse
import base64
import functools
import html
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import gradio as gr

IDLE_SECONDS = 90.0  # untouched this long, the kiosk shows its attract loop
MAX_IDLE_SECONDS = 86_400.0
ATTRACT_ELEM = "kiosk-attract"
SCREEN = f"#{ATTRACT_ELEM} .kiosk-screen"  # the full-screen attract view (Gradio owns the block's own classes)
SLIDE_SECONDS = 4  # each place of the attract loop stays this long
_mode = {"on": False, "idle_s": IDLE_SECONDS}

CSS = """
/* Kiosk: one 1920 x 1080 touch screen, no page scroll, tap targets of 48 px or more. */
.gradio-container { padding: 0 16px !important; }
.gradio-container .main .wrap > .column, .gradio-container .column, .gradio-container .row { gap: 8px; }
.gradio-container .prose h1 { font-size: 1.5rem; margin: 0; }
.gradio-container .prose p { margin: 0; font-size: 0.95rem; }
.gradio-container button, .gradio-container [role="tab"], .gradio-container fieldset label,
.gradio-container .wrap-inner { min-height: 48px !important; min-width: 48px; }
.gradio-container button[aria-label="Reset to default value"] { display: none; }
.gradio-container .grid-wrap.fixed-height { min-height: 0; max-height: none; height: auto; overflow: hidden; }
.gradio-container .grid-wrap .grid-container { padding-top: 28px; }
#c-gallery .thumbnail-item { max-height: 25vh; }
#c-reference .thumbnail-item, #m-reference .thumbnail-item { max-height: 21vh; }
#c-gallery-b .empty, #c-gallery-b .thumbnail-item, #c-morph-out .image-container, #c-morph-out .empty { height: 18vh; }
#worldmap img { max-height: 42vh; }
#m-gallery .thumbnail-item { max-height: 21vh; }
#m-journey-out .image-container, #m-journey-out .empty, #m-gallery .empty, #m-reference .empty { height: 24vh; }
#l-photo .image-container { height: 28vh; }
#l-used .image-container { height: 18vh; }
#y-photo .image-container, #y-out .image-container { height: 20vh; }
#y-photo .source-selection, #y-seed { display: none; }
#tab-city .prose p { font-size: 0.85rem; }
#y-depth .image-container, #y-depth .empty { height: 18vh; }
#y-depth-file { display: none; }
#y-method label { font-size: 0.85rem; padding: 0 10px; }
#world-gallery .thumbnail-item { max-height: 30vh; }
#world-summary table { font-size: 0.85rem; }
#world-summary td, #world-summary th { padding: 2px 8px; }
.gradio-container .block:has(> button.label-wrap) { padding-top: 0; padding-bottom: 0; }
.gradio-container button.label-wrap { margin: 0; }
.gradio-container .prose:has(> h1) { display: flex; gap: 16px; align-items: baseline; }
#kiosk-attract { position: absolute; height: 0; min-height: 0; margin: 0; padding: 0; border: 0; }
#kiosk-attract .kiosk-screen { position: fixed; inset: 0; z-index: 10000; display: none; background: #0b0f17;
                               color: #fff; cursor: pointer; }
#kiosk-attract .kiosk-screen.kiosk-idle { display: block; }
#kiosk-attract .slide { position: absolute; inset: 0; display: none; flex-direction: column; align-items: center;
                        justify-content: center; gap: 24px; }
#kiosk-attract .slide.active { display: flex; }
#kiosk-attract .pair { display: flex; gap: 32px; }
#kiosk-attract .pair figure { margin: 0; text-align: center; font-size: 1.5rem; }
#kiosk-attract .pair img { width: 640px; height: 640px; object-fit: contain; image-rendering: auto;
                           border-radius: 12px; }
#kiosk-attract h2 { font-size: 3rem; margin: 0; color: #fff; }
#kiosk-attract .hint { font-size: 1.6rem; opacity: 0.8; }
#kiosk-attract figcaption, #kiosk-attract .hint { color: #e8edf5; }
"""

HEAD = """<script>
(() => {
  const IDLE_MS = %(idle_ms)d, SLIDE_MS = %(slide_ms)d;
  let last = Date.now(), slide = 0, shown = 0;
  const overlay = () => document.querySelector("%(screen)s");
  const idle = () => Boolean(overlay() && overlay().classList.contains("kiosk-idle"));
  const show = (k) => {
    const slides = overlay() ? overlay().querySelectorAll(".slide") : [];
    slides.forEach((s, i) => s.classList.toggle("active", i === k %% slides.length));
  };
  const touched = () => { last = Date.now(); };
  ["pointerdown", "touchstart", "keydown", "wheel"].forEach(t => window.addEventListener(t, touched, true));
  window.addEventListener("click", (e) => {  // the tap that ends the attract loop only ends it
    if (!idle()) return;
    e.preventDefault(); e.stopPropagation();
    overlay().classList.remove("kiosk-idle");
    last = Date.now();
  }, true);
  setInterval(() => {
    const now = Date.now();
    if (!idle() && now - last >= IDLE_MS && overlay()) {
      overlay().classList.add("kiosk-idle");
      slide = 0; shown = now; show(slide);
    } else if (idle() && now - shown >= SLIDE_MS) {
      slide += 1; shown = now; show(slide);
    }
  }, 250);
})();
</script>"""


def idle_seconds(text: str) -> float:
    """An --idle-seconds value: seconds above 0 (at most a day), else an argparse error saying so."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_IDLE_SECONDS:
        raise argparse.ArgumentTypeError(f"expected seconds above 0 and at most {MAX_IDLE_SECONDS:g}, "
                                         f"got {str(text)[:40]!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The kiosk's command-line options: --kiosk and --idle-seconds N."""
    parser.add_argument("--kiosk", action="store_true",
                        help="exhibition kiosk: a 1920x1080 touch screen, pictures on open, no typing, no footer, "
                             "an attract loop when idle")
    parser.add_argument("--idle-seconds", type=idle_seconds, default=IDLE_SECONDS, metavar="N",
                        help=f"kiosk: untouched N seconds, the page shows its attract loop (default {IDLE_SECONDS:g})")


def enable(idle_seconds: float) -> None:
    """Turn kiosk mode on (before the page is built): the attract loop starts after `idle_seconds` untouched."""
    if not 0 < idle_seconds <= MAX_IDLE_SECONDS:
        raise ValueError(f"idle seconds must be above 0 and at most {MAX_IDLE_SECONDS:g}, got {idle_seconds!r}")
    _mode.update(on=True, idle_s=float(idle_seconds))


def disable() -> None:
    """Turn kiosk mode off again (tests build both pages in one process)."""
    _mode["on"] = False


def enabled() -> bool:
    """Whether the page is built for the kiosk."""
    return bool(_mode["on"])


def blocks_kwargs() -> dict:
    """gr.Blocks arguments of the kiosk page (the whole screen's width); {} outside kiosk mode."""
    return {"fill_width": True} if enabled() else {}


def launch_kwargs(css: str) -> dict:
    """launch() arguments: the page CSS (plus the kiosk's), and in kiosk mode the idle script and no footer."""
    if not enabled():
        return {"css": css}
    head = HEAD % {"idle_ms": round(_mode["idle_s"] * 1000), "slide_ms": SLIDE_SECONDS * 1000, "screen": SCREEN}
    return {"css": css + CSS, "head": head, "footer_links": []}


def _data_url(path: str) -> str:
    """A picture as an inline JPEG data URL at its own size (the browser enlarges it), for the attract loop."""
    buf = io.BytesIO()
    Image.open(path).convert("RGB").save(buf, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


@functools.lru_cache(maxsize=4)
def attract_html(slides: tuple[tuple[str, str], ...]) -> str:
    """The attract loop's slides: pairs of (picture path, "Place · what") items, one place per slide."""
    parts = []
    for (render, render_caption), (made, _) in zip(slides[::2], slides[1::2]):
        place = render_caption.split(" · ")[0]
        parts.append(
            f"<div class='slide'><h2>{html.escape(place)}</h2><div class='pair'>"
            f"<figure><img src='{_data_url(render)}' alt=''><figcaption>The world's render</figcaption></figure>"
            f"<figure><img src='{_data_url(made)}' alt=''><figcaption>Generated street view</figcaption></figure>"
            f"</div><div class='hint'>Tap anywhere to explore</div></div>")
    return "<div class='kiosk-screen'>" + "".join(parts) + "</div>"


TYPING_HINT = re.compile(r",? or type to search")  # "(tap the list, or type to search)" → "(tap the list)"


def adapt(blocks: gr.Blocks) -> None:
    """Lists that open without a keyboard: every dropdown of the page becomes tap-only (no typing to filter)."""
    import gradio as gr

    for block in blocks.blocks.values():
        if isinstance(block, gr.Dropdown):
            block.allow_custom_value = False
            block.filterable = False
            block.label = TYPING_HINT.sub("", block.label or "")
        elif isinstance(block, gr.Markdown) and isinstance(block.value, str):
            block.value = TYPING_HINT.sub("", block.value)  # the page's words say what a kiosk can do


def build(blocks: gr.Blocks, provide: Callable[[], dict[str, Any]], shown: list[str], slides_id: str) -> gr.HTML:
    """The attract overlay, and the page load that hands the components with elem_ids `shown` their stored values
    from `provide` (a component without one keeps its own); `slides_id` names the attract loop's slides. Call
    inside `blocks`, after the tabs."""
    import gradio as gr

    attract = gr.HTML("", elem_id=ATTRACT_ELEM, padding=False)
    by_id = {b.elem_id: b for b in blocks.blocks.values() if getattr(b, "elem_id", None)}
    missing = [elem for elem in shown if elem not in by_id]
    if missing:
        raise ValueError(f"the page has no components {missing} for the kiosk's stored pictures")

    def on_load():
        values = provide()
        slides = tuple(tuple(item) for item in values.get(slides_id, []))
        return [values.get(elem, gr.skip()) for elem in shown] + [attract_html(slides)]

    # no concurrency limit: a page opened while the start-up computation runs waits without holding a job slot
    blocks.load(on_load, None, [by_id[elem] for elem in shown] + [attract], api_visibility="private",
                concurrency_limit=None)
    return attract
