"""The model panel each tab shows under its model choice: the chosen checkpoint's card (name, metrics), the choices
that could not be offered and why, and for a training run's folder its newest sample grid and loss curves as the
run wrote them ("eyeball after training": nothing is recomputed)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui import choices


@dataclass
class Panel:
    """The panel's components; `outputs` is what `show` fills, in order."""

    info: gr.Markdown
    run: gr.Accordion
    samples: gr.Image
    curves: gr.Image

    @property
    def outputs(self) -> list:
        """The components `show` fills, in its order (for an event's outputs)."""
        return [self.info, self.run, self.samples, self.curves]


def _last_step(last: dict | None) -> str:
    if not last:
        return ""
    numbers = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "step" and isinstance(v, (int, float)))
    return f" · last logged step {last.get('step', '?')}" + (f": {numbers}" if numbers else "")


def show(kind: str, label: str | None) -> tuple:
    """The panel's values for a choice (label): card line, run accordion visibility, sample grid, curves."""
    text = choices.describe(kind, label) if label else ""
    view = choices.run_view(kind, label) if label else None
    if view is not None:
        text += _last_step(view.last)
    info = f"<small>Model: {text}</small>" if text else ""
    if view is None:
        return info, gr.update(visible=False), None, None
    return (info, gr.update(visible=True, label=f"Training run: {label}"),
            str(view.samples) if view.samples else None, str(view.curves) if view.curves else None)


def build(kind: str, elem_prefix: str) -> Panel:
    """The panel's widgets for a tab, filled for its default choice (elem_ids <prefix>-model-notice, -model-info,
    -run, -run-samples, -run-curves)."""
    missing = choices.notice(kind)
    if missing:
        gr.Markdown(missing, elem_id=f"{elem_prefix}-model-notice")
    info, run_visible, samples, curves = show(kind, choices.default(kind))
    info_md = gr.Markdown(info, elem_id=f"{elem_prefix}-model-info")
    with gr.Accordion("Training run", open=True, visible=run_visible["visible"], elem_id=f"{elem_prefix}-run") as run:
        with gr.Row():
            samples_img = gr.Image(samples, label="Newest sample grid", type="filepath", interactive=False,
                                   format="png", elem_id=f"{elem_prefix}-run-samples")
            curves_img = gr.Image(curves, label="Loss curves", type="filepath", interactive=False, format="png",
                                  elem_id=f"{elem_prefix}-run-curves")
    return Panel(info=info_md, run=run, samples=samples_img, curves=curves_img)


def spec(kind: str, label: str | None) -> str:
    """The spec behind a tab's choice, or a gr.Error saying why it cannot be used (missing, corrupt, wrong kind,
    or no usable model configured for the tab at all)."""
    if not label:
        raise gr.Error("No usable model is configured for this tab (see the notice under its controls).")
    try:
        return choices.spec_of(kind, label)
    except ValueError as err:
        raise gr.Error(str(err)) from None
