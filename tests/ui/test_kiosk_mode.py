"""ui/kiosk.py on its own (no browser): its command-line options, launch arguments, tap-only lists and the attract
loop's slides."""
from __future__ import annotations

import argparse

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from ui import kiosk


@pytest.fixture
def kiosk_on():
    kiosk.enable(7)
    try:
        yield
    finally:
        kiosk.disable()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    kiosk.add_arguments(parser)
    return parser


def test_kiosk_options_default_to_off_and_90_seconds():
    args = _parser().parse_args([])
    assert args.kiosk is False and args.idle_seconds == kiosk.IDLE_SECONDS == 90
    args = _parser().parse_args(["--kiosk", "--idle-seconds", "2.5"])
    assert args.kiosk is True and args.idle_seconds == 2.5


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "nan", "inf", "1e9"])
def test_idle_seconds_outside_a_day_are_refused_with_the_value_shown(bad, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["--idle-seconds", bad])
    err = capsys.readouterr().err
    assert "--idle-seconds" in err and repr(bad) in err


def test_outside_kiosk_mode_launch_takes_only_the_page_css():
    assert not kiosk.enabled()
    assert kiosk.launch_kwargs("a{}") == {"css": "a{}"} and kiosk.blocks_kwargs() == {}


def test_kiosk_launch_hides_the_footer_and_carries_the_idle_time(kiosk_on):
    kwargs = kiosk.launch_kwargs("a{}")
    assert kwargs["footer_links"] == [] and kwargs["css"].startswith("a{}") and kiosk.CSS in kwargs["css"]
    assert "IDLE_MS = 7000" in kwargs["head"] and f'"{kiosk.SCREEN}"' in kwargs["head"]
    assert kiosk.blocks_kwargs() == {"fill_width": True}


def test_enable_refuses_a_non_positive_idle_time():
    with pytest.raises(ValueError, match="idle seconds"):
        kiosk.enable(0)
    assert not kiosk.enabled()


def test_adapt_makes_every_list_tap_only():
    with gr.Blocks() as blocks:
        typed = gr.Dropdown(["a", "b"], value="a", filterable=True, allow_custom_value=True)
        plain = gr.Dropdown(["a", "b"], value="b")
    kiosk.adapt(blocks)
    for box in (typed, plain):
        config = box.get_config()
        assert config["filterable"] is False and config["allow_custom_value"] is False


def test_adapt_drops_the_typing_hints_from_the_page():
    with gr.Blocks() as blocks:
        words = gr.Markdown("Pick a country (tap the list, or type to search) and get street views.")
        box = gr.Dropdown(["JP"], value="JP", label="Country (tap, or type to search)")
    kiosk.adapt(blocks)
    assert words.value == "Pick a country (tap the list) and get street views."
    assert box.label == "Country (tap)"


def test_attract_slides_show_each_place_with_its_two_pictures(tmp_path):
    paths = []
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.full((32, 48, 3), colour, np.uint8)).save(paths[-1])
    slides = ((paths[0], "Tokyo, Japan · streetgen.world"), (paths[1], "Tokyo, Japan · generated"),
              (paths[2], "Cairo <b>, Egypt · streetgen.world"), (paths[3], "Cairo <b>, Egypt · generated"))
    html = kiosk.attract_html(slides)
    assert html.count("class='slide'") == 2 and html.count("data:image/jpeg;base64,") == 4
    assert "<h2>Tokyo, Japan</h2>" in html and "Cairo &lt;b&gt;, Egypt" in html and str(tmp_path) not in html
