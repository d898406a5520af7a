"""Kiosk mode: `python app.py --kiosk` on a 1920 × 1080 touch screen (Playwright driving the system Chromium), and
the kiosk module's pieces on their own. Screenshots go to tmp_path (and $STREETGEN_SHOTS when set)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ui import kiosk

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SCREEN = {"width": 1920, "height": 1080}
START_TIMEOUT_S = 300  # importing gradio and torch on a busy 2-core CI box
RESULT_TIMEOUT_MS = 600_000  # a cold start computes every tab's pictures before the page load hands them over
# tab, what shows on open, taps before the main action, the main action (a tap), the result picture
TABS = [
    ("Country", ["#c-gallery img", "#c-reference img"], [], "#c-surprise", "#c-gallery img"),
    ("Map", ["#m-gallery img", "#m-reference img"], [], "#m-preset label:has-text('Nairobi')", "#m-gallery img"),
    ("Layout", ["#l-photo img", "#l-used img"], [], "#l-surprise", "#l-photo img"),
    ("City", ["#y-photo img", "#y-out img"], ["#y-method label:has-text('Venice → Paris')"], "#y-translate",
     "#y-out img"),
    ("World", ["#world-gallery img"], [], "#surprise", "#world-gallery img"),
]
NEW_PICTURE_JS = """([sel, old]) => {
    const e = document.querySelector(sel);
    return e && e.src && e.src !== old && e.complete && e.naturalWidth > 0;
}"""
LOADED_JS = "sel => [...document.querySelectorAll(sel)].some(e => e.complete && e.naturalWidth > 0)"
# visible tap targets (buttons, tabs, radio/checkbox labels, list boxes) smaller than 48 px: their text and size
SMALL_TARGETS_JS = """() => [...document.querySelectorAll(
        'button, [role=tab], fieldset label, .wrap-inner')]
    .filter(e => e.offsetParent !== null && e.getClientRects().length)
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'
                        && (r.height < 47.5 || r.width < 47.5))
    .map(([e, r]) => `${e.tagName} ${(e.getAttribute('aria-label') || e.innerText || '').trim().slice(0, 30)} `
                     + `${Math.round(r.width)}x${Math.round(r.height)}`)"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_kiosk(idle_seconds: float, log: Path):
    """`python app.py --kiosk --idle-seconds N` on a free port, its output in `log`; (process, url) once it
    answers."""
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    with open(log, "w") as out:  # a file, not a pipe: nobody reads a pipe while the app runs, and a full one blocks it
        proc = subprocess.Popen([sys.executable, "app.py", "--kiosk", "--idle-seconds", str(idle_seconds)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + START_TIMEOUT_S
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app.py --kiosk stopped: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    pytest.fail(f"app.py --kiosk did not answer within {START_TIMEOUT_S} s")


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def screen(browser):  # noqa: F811  (the imported fixture, by name)
    """A touch-screen context of the kiosk's size."""
    ctx = browser.new_context(viewport=SCREEN, has_touch=True)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def kiosk_url(tmp_path_factory):
    """The kiosk app with an idle time longer than the tests (the attract loop stays away)."""
    proc, url = _start_kiosk(3600, tmp_path_factory.mktemp("kiosk") / "app.log")
    try:
        yield url
    finally:
        _stop(proc)


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("STREETGEN_SHOTS"):
        out = Path(os.environ["STREETGEN_SHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / path.name)
    return path


def _inside_screen(page, selector: str) -> None:
    """Every visible match of `selector` lies wholly inside the 1920 × 1080 viewport (nothing scrolled)."""
    boxes = [b for b in (e.bounding_box() for e in page.locator(selector).all() if e.is_visible()) if b]
    assert boxes, f"no visible {selector}"
    for b in boxes:
        assert b["x"] >= -1 and b["y"] >= -1, f"{selector} starts off screen: {b}"
        assert b["x"] + b["width"] <= SCREEN["width"] + 1 and b["y"] + b["height"] <= SCREEN["height"] + 1, (
            f"{selector} ends off screen: {b}")


@pytest.mark.parametrize("tab,on_open,taps,action,result", TABS, ids=[t[0] for t in TABS])
def test_tab_on_the_kiosk(kiosk_url, screen, tmp_path, tab, on_open, taps, action, result):
    page = screen.new_page()
    page.set_default_timeout(120_000)  # taps wait while a cold start keeps both cores busy
    page.goto(kiosk_url, wait_until="load")
    page.get_by_role("tab", name=tab).first.wait_for(state="visible", timeout=60_000)
    page.get_by_role("tab", name=tab).first.tap()
    for selector in on_open:  # the stored pictures, handed over by the page load: nothing tapped yet
        page.wait_for_function(LOADED_JS, arg=selector, timeout=RESULT_TIMEOUT_MS)
    _shot(page, tmp_path, f"kiosk_{tab.lower()}_open")
    for selector in taps:
        page.locator(selector).first.tap()
        page.wait_for_timeout(500)
    old = page.locator(result).first.get_attribute("src")
    page.locator(action).first.tap()
    page.wait_for_function(NEW_PICTURE_JS, arg=[result, old], timeout=RESULT_TIMEOUT_MS)
    page.wait_for_timeout(1000)  # the rest of the event's outputs and the layout settle
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    _shot(page, tmp_path, f"kiosk_{tab.lower()}")
    height = page.evaluate("[document.documentElement.scrollHeight, window.innerHeight]")
    assert height[0] <= height[1] + 1, f"the page scrolls: scrollHeight {height[0]} > {height[1]}"
    for selector in on_open:
        _inside_screen(page, selector)
    assert page.evaluate(SMALL_TARGETS_JS) == []
    assert page.locator("footer").filter(visible=True).count() == 0, "the API/settings footer is shown"
    typing = page.evaluate("[...document.querySelectorAll('.wrap-inner input')].filter(e => e.offsetParent !== null)"
                           ".map(e => e.readOnly)")  # a list's box: read-only unless it filters by typing
    assert all(typing) and (typing or tab not in ("Country", "City", "World")), f"lists taking typing: {typing}"
    page.close()


def test_attract_loop_after_idle_and_a_tap_returns(screen, tmp_path):
    proc, url = _start_kiosk(3, tmp_path / "app.log")
    try:
        page = screen.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_function(LOADED_JS, arg="#c-gallery img", timeout=RESULT_TIMEOUT_MS)
        attract = page.locator(kiosk.SCREEN)
        attract.wait_for(state="visible", timeout=15_000)  # untouched since the page opened
        page.touchscreen.tap(960, 540)
        attract.wait_for(state="hidden", timeout=5_000)
        page.get_by_role("tab", name="Map").first.tap()  # within the idle time: the tab the visitor leaves it on
        attract.wait_for(state="visible", timeout=15_000)
        first = page.locator(f"#{kiosk.ATTRACT_ELEM} .slide.active")
        assert page.locator(f"#{kiosk.ATTRACT_ELEM} .slide").count() >= 8
        page.wait_for_function(LOADED_JS, arg=f"#{kiosk.ATTRACT_ELEM} .slide.active img", timeout=10_000)
        _inside_screen(page, f"#{kiosk.ATTRACT_ELEM} .slide.active img")
        place = first.locator("h2").inner_text()
        _shot(page, tmp_path, "kiosk_attract")
        page.wait_for_function(f"() => document.querySelector('#{kiosk.ATTRACT_ELEM} .slide.active h2')"
                               f".innerText !== {place!r}", timeout=(kiosk.SLIDE_SECONDS + 3) * 1000)
        _shot(page, tmp_path, "kiosk_attract_next")
        page.touchscreen.tap(960, 540)
        attract.wait_for(state="hidden", timeout=5_000)
        assert page.get_by_role("tab", name="Map", selected=True).count() == 1  # back where the visitor was
        page.close()
    finally:
        _stop(proc)
