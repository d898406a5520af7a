"""What a visitor reads when the queue is full.

Gradio answers a refused event with HTTP 503, and its page then shows a fixed sentence from its JavaScript client
(GRADIO_BUSY), whatever the server said; no setting changes it. `JS` (passed to `launch(js=...)`) swaps that sentence
in the page's toasts for a plain one. API clients keep gradio_client's own "Queue is full" error.
"""
from __future__ import annotations

import json

GRADIO_BUSY = "This application is currently busy. Please try again."  # gradio 6's frontend, on a 503 from queue/join
MESSAGE = "Many people are using streetgen right now; please try again in a minute."

JS = """() => {
    const busy = %s, plain = %s;
    const swap = () => document.querySelectorAll('[data-testid="toast-text"]').forEach((el) => {
        if (el.textContent.trim() === busy) el.textContent = plain;
    });
    new MutationObserver(swap).observe(document.body, {childList: true, subtree: true, characterData: true});
}""" % (json.dumps(GRADIO_BUSY), json.dumps(MESSAGE))
