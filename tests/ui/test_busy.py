"""A full queue in a real browser: a tiny app (queue of 1, one job at a time) gets three clicks at once; the
refused one reads ui.busy's plain sentence instead of Gradio's "This application is currently busy"."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import gradio as gr
import pytest
from playwright.sync_api import expect

from ui import busy

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _tiny_app() -> gr.Blocks:
    """Three buttons whose 3-second jobs share one slot; the queue holds one waiting job."""
    def slow(i: int) -> str:
        time.sleep(3)
        return f"job {i} done"

    with gr.Blocks() as demo:
        out = gr.Textbox(label="out", elem_id="out")
        for i in range(3):
            gr.Button(f"Go {i}", elem_id=f"go{i}").click(lambda i=i: slow(i), None, out, concurrency_id="slot")
    demo.queue(max_size=1, default_concurrency_limit=1)
    return demo


def _toasts_after_three_clicks(browser, js: str | None, shot: Path) -> list[str]:
    demo = _tiny_app()
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, js=js)
    try:
        page = browser.new_page()
        page.goto(url, wait_until="networkidle")
        for i in range(3):
            page.locator(f"#go{i}").click()
            page.wait_for_timeout(300)
        expect(page.locator('[data-testid="toast-text"]').first).to_be_visible(timeout=10_000)
        page.wait_for_timeout(300)  # the hook's swap runs on the toast's own mutation
        texts = page.locator('[data-testid="toast-text"]').all_inner_texts()
        page.screenshot(path=str(shot))
        if os.environ.get("STREETGEN_SHOTS"):
            Path(os.environ["STREETGEN_SHOTS"]).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(os.environ["STREETGEN_SHOTS"]) / shot.name)
        expect(page.locator("#out textarea")).to_have_value("job 1 done", timeout=20_000)  # the other two ran
        page.close()
        return [t.strip() for t in texts]
    finally:
        demo.close()


def test_full_queue_in_plain_words(browser, tmp_path):
    assert _toasts_after_three_clicks(browser, busy.JS, tmp_path / "queue_full.png") == [busy.MESSAGE]


def test_gradio_says_its_own_sentence_without_the_hook(browser, tmp_path):
    """The sentence the hook looks for is the one this Gradio shows (a Gradio upgrade that changes it fails here)."""
    assert _toasts_after_three_clicks(browser, None, tmp_path / "queue_full_gradio.png") == [busy.GRADIO_BUSY]
