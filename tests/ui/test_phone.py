"""Every tab on a phone (390 × 844, touch): open it, run its main action, and check that nothing is wider than the
screen and that the action button and the result are on screen. Screenshots go to tmp_path (and $STREETGEN_SHOTS)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import CHROMIUM_ARGS, RENDER_TIMEOUT_MS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
# tab, elements to tap before the main action, the main action button, the result picture
TABS = [
    ("Country", [], "#c-generate", "#c-gallery img"),
    ("Map", [], "#m-generate", "#m-gallery img"),
    ("Layout", [], "#l-generate", "#l-photo img"),
    ("City", ["#y-example"], "#y-translate", "#y-out img"),
    ("World", [], "#render", "#world-gallery img"),
]
NEW_PICTURE_JS = """([sel, old]) => {
    const e = document.querySelector(sel);
    return e && e.src && e.src !== old && e.complete && e.naturalWidth > 0;
}"""


@pytest.fixture(scope="module")
def phone():
    """A Chromium (the system one) page context sized and behaving like a phone."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium not found on PATH: install it with `apt-get install -y chromium`.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        try:
            yield ctx
        finally:
            ctx.close()
            browser.close()


def _within_width(page, selector: str) -> None:
    """`selector`'s first match is visible and lies inside the viewport horizontally (scrolled into view)."""
    el = page.locator(selector).first
    el.scroll_into_view_if_needed()
    expect(el).to_be_visible()
    box = el.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, selector
    assert box["x"] >= -1 and box["x"] + box["width"] <= PHONE["width"] + 1, f"{selector} off screen: {box}"


def _open_tab(page, name: str) -> None:
    """Tap tab `name` in the tab bar: on a phone it wraps onto two rows, so every tab is in it (no "⋯" menu)."""
    page.get_by_role("tab").first.wait_for(state="visible")  # the tab bar is drawn after the page's network is idle
    tab = page.get_by_role("tab", name=name)
    expect(tab.first).to_be_visible()
    tab.first.tap()


def test_phone_page_before_any_action(app_url, phone, tmp_path):
    """All five tabs in the bar (none in the overflow menu), empty galleries a short strip, the Layout canvas as
    wide as the page allows and not much taller than its picture."""
    page = phone.new_page()
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("tab").first.wait_for(state="visible")
    page.wait_for_timeout(500)  # the bar measures itself once drawn
    for name, *_ in TABS:
        expect(page.get_by_role("tab", name=name).first).to_be_visible()
        _within_width(page, f"button[role=tab]:has-text('{name}')")
    assert page.locator(".overflow-menu:not(.hide)").count() == 0
    for gallery in ("#c-gallery", "#c-reference"):
        box = page.locator(gallery).bounding_box()
        assert box and box["height"] <= 100, f"empty {gallery} is {box}"
    _open_tab(page, "Layout")
    canvas = page.locator("#l-editor canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box["width"] >= 0.9 * PHONE["width"] and box["height"] <= 300, f"Layout canvas {box}"
    page.screenshot(path=str(tmp_path / "phone_layout_empty.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("tab,taps,action,result", TABS, ids=[t[0] for t in TABS])
def test_tab_on_phone(app_url, phone, tmp_path, tab, taps, action, result):
    page = phone.new_page()
    page.goto(app_url, wait_until="networkidle")
    _open_tab(page, tab)
    for sel in taps:
        page.locator(sel).tap()
        page.wait_for_timeout(500)
    _within_width(page, action)
    if tab == "Layout":  # the tab opens with a photo: wait for it, and take another seed so the new one differs
        expect(page.locator(result).first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        page.locator("#l-seed input").fill("5")
        page.locator("#l-seed input").blur()
    old = page.locator(result).first.get_attribute("src") if page.locator(result).count() else None
    page.locator(action).tap()
    page.wait_for_function(NEW_PICTURE_JS, arg=[result, old], timeout=RENDER_TIMEOUT_MS)
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"page wider than the phone: scrollWidth {width[0]} > {width[1]}"
    _within_width(page, result)
    _within_width(page, action)
    page.locator(result).first.scroll_into_view_if_needed()
    path = tmp_path / f"phone_{tab.lower()}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("STREETGEN_SHOTS"):
        Path(os.environ["STREETGEN_SHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["STREETGEN_SHOTS"]) / path.name)
    page.close()
