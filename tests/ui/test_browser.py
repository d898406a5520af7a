"""The World tab in a real browser: Playwright driving the system Chromium (never `playwright install`).

Screenshots go to each test's tmp_path, and are also copied to $STREETGEN_SHOTS when that is set.
"""
from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from conftest import RENDER_TIMEOUT_MS

pytestmark = [pytest.mark.slow, pytest.mark.browser]  # Playwright driving the system Chromium

def _touch_tab(browser, app_url: str, tab: str):
    """A touch-screen context (kiosk-sized) with the app open on `tab`, selected by a tap."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, has_touch=True)
    page = ctx.new_page()
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("tab", name=tab).tap()
    return ctx, page


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("STREETGEN_SHOTS"):
        out = Path(os.environ["STREETGEN_SHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / path.name)
    return path


def _wait_for_render(page, pattern: re.Pattern, timeout_ms: int = RENDER_TIMEOUT_MS):
    """Wait until the metadata summary matches `pattern`; fail at once, with its message, if an error toast shows."""
    summary, toast = page.locator("#world-summary"), page.locator(".toast-body")
    for _ in range(timeout_ms // 250):
        if toast.count():
            pytest.fail(f"the app showed an error: {' / '.join(toast.all_inner_texts())}")
        if pattern.search(summary.inner_text()):
            return
        page.wait_for_timeout(250)
    pytest.fail(f"no render matching {pattern.pattern!r} within {timeout_ms / 1000:.0f} s; "
                f"summary: {summary.inner_text()[:300]!r}")


SHOWN_WHOLE_JS = """e => {
    const r = e.getBoundingClientRect();
    const fit = getComputedStyle(e).objectFit;
    // 'cover' (Gradio's default) crops whenever the box's shape differs from the picture's
    if (fit === 'cover' && Math.abs(r.width / r.height - e.naturalWidth / e.naturalHeight) > 0.02) return 'cropped by cover';
    for (let a = e.parentElement; a; a = a.parentElement) {
        if (getComputedStyle(a).overflow === 'visible') continue;
        const b = a.getBoundingClientRect();
        if (r.top < b.top - 1 || r.bottom > b.bottom + 1 || r.left < b.left - 1 || r.right > b.right + 1)
            return `clipped by ${a.className}: ${Math.round(r.height)}px picture in ${Math.round(b.height)}px`;
    }
    return 'whole';
}"""


def _shown_whole(locator) -> str:
    """'whole' when the picture is on screen uncropped: object-fit keeps its shape and no clipping ancestor cuts it."""
    return locator.evaluate(SHOWN_WHOLE_JS)


def _first_image_ok(page):
    img = page.locator("#world-gallery img").first
    expect(img).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle(),
                           timeout=RENDER_TIMEOUT_MS)
    box = img.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0
    return img


def test_world_tab_desktop(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("tab", name="World").click()
    # Search the country list by typing, as a desktop / Spaces user would.
    box = page.locator("#country input")
    box.click()
    box.fill("")
    box.press_sequentially("Keny", delay=50)  # the filter listens to key events, which fill() does not send
    page.get_by_role("option", name="Kenya", exact=True).click()
    expect(box).to_have_value("Kenya")
    page.locator("#size").get_by_text("128 × 256 wide").click()
    page.locator("#render").click()
    _wait_for_render(page, re.compile(r"Kenya|\bKE\b"))
    _first_image_ok(page)
    assert page.locator("#world-gallery img").count() >= 3  # photo, labels, depth
    expect(page.locator("#legend")).to_contain_text("Bicyclist")
    assert _shot(page, tmp_path, "world_desktop").stat().st_size > 0
    page.close()


def test_world_tab_touch(app_url, browser, tmp_path):
    ctx = browser.new_context(has_touch=True, is_mobile=False, viewport={"width": 1080, "height": 1500})
    page = ctx.new_page()
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("tab", name="World").tap()
    # Kiosk flow 1: one tap on "Surprise me" picks a random country and seed and renders it.
    page.locator("#surprise").tap()
    _wait_for_render(page, re.compile(r"#1 · seed"))
    _first_image_ok(page)
    _shot(page, tmp_path, "world_touch_surprise")
    # Kiosk flow 2: no keyboard: narrow by continent, tap a country in the list, tap Render.
    page.locator("#continent").get_by_text("Europe", exact=True).tap()
    page.locator("#country input").tap()
    page.get_by_role("option", name="Portugal", exact=True).tap()
    expect(page.locator("#country input")).to_have_value("Portugal")
    page.locator("#render").tap()
    _wait_for_render(page, re.compile(r"Portugal|\bPT\b"))
    # Kiosk flow 3: a famous city.
    page.locator("#mode").get_by_text("Famous city", exact=True).tap()
    page.locator("#city").get_by_text("Venice", exact=True).tap()
    page.locator("#render").tap()
    _wait_for_render(page, re.compile("Venice|Venezia"))
    _first_image_ok(page)
    assert _shot(page, tmp_path, "world_touch_city").stat().st_size > 0
    ctx.close()


def test_country_tab_generate_and_morph(browser, app_url, tmp_path):
    """Country tab by touch: pick India, generate, see generated images and the world reference; then morph."""
    ctx, page = _touch_tab(browser, app_url, "Country")
    box = page.locator("#c-country input").first
    box.click()
    box.fill("")
    box.press_sequentially("Indi", delay=50)  # the filter listens to key events
    page.get_by_role("option", name="India", exact=True).click()
    expect(box).to_have_value("India")
    page.locator("#c-generate").tap()
    gallery = page.locator("#c-gallery img")
    expect(gallery.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#c-reference img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert gallery.count() == 4 and page.locator(".toast-body").count() == 0
    box = gallery.first.bounding_box()
    assert box["width"] > 20 and box["height"] > 20
    page.get_by_text("Compare / morph with a second country").tap()
    page.locator("#c-morph").tap()
    expect(page.locator("#c-morph-out img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    _shot(page, tmp_path, "country_touch")
    ctx.close()


def test_country_tab_sharp_model(browser, app_url, tmp_path):
    """Choose the diffusion model by touch, one image, generate: the gallery fills without an error toast."""
    ctx, page = _touch_tab(browser, app_url, "Country")
    page.locator("#c-model").get_by_text("Diffusion", exact=False).tap()
    page.locator("#c-n").get_by_text("1", exact=True).tap()
    page.locator("#c-generate").tap()
    gallery = page.locator("#c-gallery img")
    expect(gallery.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert gallery.count() == 1 and page.locator(".toast-body").count() == 0
    # one square picture alone spans the gallery's width: it must still show whole, road and sky included
    expect(page.locator("#c-reference img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert _shown_whole(gallery.first) == "whole"
    assert _shown_whole(page.locator("#c-reference img").first) == "whole"
    _shot(page, tmp_path, "country_sharp")
    ctx.close()


def _tap_map(page, lat: float, lon: float) -> None:
    from streetgen import mapview

    img = page.locator("#worldmap img").first
    box = img.bounding_box()
    x, y = mapview.latlon_to_pixel(lat, lon)
    w, h = mapview.MAP_SIZE
    img.tap(position={"x": (x + 0.5) / w * box["width"], "y": (y + 0.5) / h * box["height"]})


def test_map_tab_japan_kenya_norway(browser, app_url, tmp_path):
    """Tap Japan, Kenya and Norway on the world map: each tap names the country and yields different images."""
    ctx, page = _touch_tab(browser, app_url, "Map")
    page.locator("#m-n").get_by_text("1", exact=True).tap()
    firsts = []
    for (lat, lon), name in [((36.2, 138.3), "Japan"), ((0.5, 37.5), "Kenya"), ((61.0, 9.0), "Norway")]:
        _tap_map(page, lat, lon)
        expect(page.locator("#m-info")).to_contain_text(name, timeout=RENDER_TIMEOUT_MS)
        img = page.locator("#m-gallery img").first
        expect(img).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        expect(page.locator("#m-reference img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        src = img.get_attribute("src")
        assert _shown_whole(img) == "whole"
        expect(page.locator("#m-info")).to_contain_text(name)  # the gallery belongs to this tap
        firsts.append(np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"), dtype=int))
        _shot(page, tmp_path, f"map_{name.lower()}")
    assert page.locator(".toast-body").count() == 0
    for i in range(3):  # three places, three different streets
        assert np.abs(firsts[i] - firsts[(i + 1) % 3]).mean() > 2
    ctx.close()


def _pick_colour(page, editor, rgb: tuple[int, int, int]) -> None:
    editor.locator("button[aria-label=Brush]").click()
    editor.locator("button[aria-label=Color]").click()
    # the palette swatches are buttons styled "background-color: rgb(r, g, b)" (Gradio 6.31)
    editor.locator(f'button.color[style*="rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"]').first.click()


def _stroke(page, canvas_box: dict, y_frac: float) -> None:
    """One left-to-right brush stroke at `y_frac` of the canvas element's height. The image sits centred in the
    element (at 100 % zoom a 512 × 256 image in a wider box), and a stroke must start inside the image, so the
    stroke keeps to the middle 56 % of the width."""
    y = canvas_box["y"] + y_frac * canvas_box["height"]
    page.mouse.move(canvas_box["x"] + 0.22 * canvas_box["width"], y)
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(canvas_box["x"] + (0.22 + 0.07 * k) * canvas_box["width"], y, steps=3)
    page.mouse.up()


def test_layout_tab_paint_two_strokes(browser, app_url, tmp_path):
    """Clear the canvas, paint a Sky stroke high and a Road stroke low, make a photo: the segmenter finds sky above
    and road below (unpainted areas take the nearest painted class)."""
    import torch

    import streetgen
    from streetgen.classes import CLASS_NAMES, PALETTE

    page = browser.new_page(viewport={"width": 1366, "height": 1000})
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("tab", name="Layout").click()
    editor = page.locator("#l-editor")
    expect(page.locator("#l-photo img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)  # the tab opens with one
    # the editor zooms a loaded layout to fit its box (not 100 %), and clearing resets the zoom to 100 %: wait for
    # the first so the layout cannot land on the canvas after the clear, and for the second before painting
    zoom = editor.get_by_text(re.compile(r"^\d+%$"))
    expect(zoom).not_to_have_text("100%", timeout=RENDER_TIMEOUT_MS)
    editor.locator("button[aria-label='Clear canvas']").click()
    expect(zoom).to_have_text("100%")
    canvas = editor.locator("canvas").first
    box = canvas.bounding_box()
    sky, road = CLASS_NAMES.index("Sky"), CLASS_NAMES.index("Road")
    _pick_colour(page, editor, tuple(int(v) for v in PALETTE[sky]))
    _stroke(page, box, 0.3)
    _pick_colour(page, editor, tuple(int(v) for v in PALETTE[road]))
    _stroke(page, box, 0.7)
    old_src = page.locator("#l-photo img").first.get_attribute("src")
    page.locator("#l-generate").click()
    photo = page.locator("#l-photo img").first
    page.wait_for_function("([el, old]) => el.src && el.src !== old", arg=[photo.element_handle(), old_src],
                           timeout=RENDER_TIMEOUT_MS)
    assert page.locator(".toast-body").count() == 0
    _shot(page, tmp_path, "layout_strokes")

    def fetch(sel: str) -> np.ndarray:
        src = page.locator(sel).first.get_attribute("src")
        return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))

    used = fetch("#l-used img")
    h = used.shape[0]
    assert (used[: h // 4] == PALETTE[sky]).all(axis=-1).mean() > 0.95  # the filled layout: sky on top
    assert (used[-h // 4:] == PALETTE[road]).all(axis=-1).mean() > 0.95  # and road at the bottom
    rgb = fetch("#l-photo img")
    x = torch.from_numpy(np.array(Image.fromarray(rgb).resize((256, 128), Image.BICUBIC))).permute(2, 0, 1)
    with torch.no_grad():
        pred = streetgen.load("judges/seg").predict(x[None].float() / 255).numpy()[0]
    assert (pred[:32] == sky).mean() > 0.7 and (pred[-32:] == road).mean() > 0.7
    page.close()


def test_city_tab_upload_depth_route(browser, app_url, tmp_path):
    """Upload a photo (an RGBA PNG, converted with a note), tap the depth route, translate: the translated photo
    and the depth map appear, the translation keeps the photo's size and the depth map is far (dark) in the sky."""
    from streetgen import classes, world

    sample = world.render_city("Paris", seed=7, size=(192, 256))
    rgba = np.dstack([sample.image, np.full(sample.image.shape[:2], 255, np.uint8)])
    upload = tmp_path / "my_street.png"
    Image.fromarray(rgba, "RGBA").save(upload)
    ctx, page = _touch_tab(browser, app_url, "City")
    page.locator("#y-photo input[type=file]").set_input_files(str(upload))
    expect(page.locator("#y-photo img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    page.locator("#y-method").get_by_text("Depth route", exact=False).tap()
    page.locator("#y-translate").tap()
    out, depth = page.locator("#y-out img").first, page.locator("#y-depth img").first
    expect(out).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(depth).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#y-note")).to_contain_text("RGBA", timeout=RENDER_TIMEOUT_MS)
    assert page.locator(".toast-body").count() == 0
    _shot(page, tmp_path, "city_depth_route")

    def fetch(locator) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(page.request.get(locator.get_attribute("src")).body())).convert("L"),
                          dtype=float)

    translated, depth_map = fetch(out), fetch(depth)
    assert translated.shape == (192, 256) and depth_map.shape[:2] == (192, 256)
    sky = sample.labels == classes.CLASS_NAMES.index("Sky")
    assert sky.mean() > 0.05 and depth_map[sky].mean() < depth_map[~sky].mean()  # near = bright, the sky is far
    ctx.close()


def test_city_tab_layout_route_by_touch(browser, app_url, tmp_path):
    """Kiosk flow: Use example, tap the layout route (the target list becomes the painter's ten cities), tap Cairo
    in the list, translate: the painted photo and the layout it was painted from appear, with no error toast."""
    ctx, page = _touch_tab(browser, app_url, "City")
    page.locator("#y-example").tap()
    expect(page.locator("#y-photo img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    page.locator("#y-method").get_by_text("Layout route", exact=False).tap()
    target = page.locator("#y-target input")
    expect(target).to_be_enabled(timeout=RENDER_TIMEOUT_MS)
    target.tap()
    expect(page.get_by_role("option", name="Japan", exact=True)).to_have_count(0)  # cities only now
    page.get_by_role("option", name="Cairo", exact=True).tap()
    expect(target).to_have_value("Cairo")
    page.locator("#y-translate").tap()
    expect(page.locator("#y-out img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#y-depth img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#y-note")).to_contain_text("toward Cairo", timeout=RENDER_TIMEOUT_MS)
    assert page.locator(".toast-body").count() == 0
    _shot(page, tmp_path, "city_layout_route")
    ctx.close()


def test_city_tab_world_pan_frames(browser, app_url, tmp_path):
    """Open the frames accordion, tap Use a world pan (a 16-frame GIF appears in the input), translate it with
    Steady on: an animated GIF of 16 frames comes back, with no error toast."""
    ctx, page = _touch_tab(browser, app_url, "City")
    page.get_by_text("Frames: translate an animated GIF").tap()
    page.locator("#y-pan-example").tap()
    expect(page.locator("#y-frames").get_by_text("paris-pan", exact=False).first).to_be_visible(
        timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#y-frames-preview img").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)  # it plays
    page.locator("#y-frames-go").tap()
    out = page.locator("#y-frames-out img").first
    expect(out).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    # the translated frames are shown as they come (PNGs); the GIF replaces them at the end
    expect(out).to_have_attribute("src", re.compile(r"\.gif$"), timeout=RENDER_TIMEOUT_MS)
    assert page.locator(".toast-body").count() == 0
    _shot(page, tmp_path, "city_frames")
    gif = Image.open(io.BytesIO(page.request.get(out.get_attribute("src")).body()))
    assert gif.format == "GIF" and gif.n_frames == 16 and gif.size == (256, 256)
    ctx.close()
