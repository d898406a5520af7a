"""The Gradio app's tabs: one module per tab (its handlers and a `build()`), shared widgets and one model cache.

`app.py` assembles them; the library (`streetgen`) never imports this package.
"""
