"""ui.choices: each tab's model choices from ui/models.toml plus --model / STREETGEN_MODELS overrides."""
from __future__ import annotations

from pathlib import Path

import pytest

from fakes import fake_checkpoint, fake_run
from streetgen import sources
from ui import choices

SHIPPED = sources.checkpoints_root()


@pytest.fixture(autouse=True)
def fresh():
    """Every test starts and ends with no overrides (and a fresh availability cache)."""
    choices.configure([])
    yield
    choices.configure([])


@pytest.fixture
def root_without(tmp_path, monkeypatch):
    """A function: a checkpoints root holding links to every shipped checkpoint but the named ones, in use."""
    def make(*left_out: str) -> Path:
        root = tmp_path / "checkpoints"
        root.mkdir()
        for folder in SHIPPED.iterdir():
            if folder.name not in left_out:
                (root / folder.name).symlink_to(folder, target_is_directory=folder.is_dir())
        monkeypatch.setattr(sources, "checkpoints_root", lambda: root)
        choices.configure([])
        return root
    return make


def test_shipped_choices_keep_their_labels_and_all_load():
    assert choices.default("country") == "Diffusion (sharp, a few seconds)"
    assert choices.available("country")["CVAE (fast, the study's baseline)"] == "cvae"
    assert list(choices.available("layout"))[0] == "World (any country style)"
    assert len(choices.available("city")) == 7 and all(choices.notice(k) == "" for k in choices.KINDS)
    assert choices.route("Depth route: Paris depth → Venice photo") == "depth"
    assert choices.route("Any city or country (diffusion)") == "any"


def test_overrides_parse_and_reject_bad_keys():
    assert choices.parse_overrides(["country=a;map=org/m@v1", " ", "spade=b"]) == [
        ("country", "a"), ("map", "org/m@v1"), ("spade", "b")]
    for bad in ("country", "flavour=x", "country="):
        with pytest.raises(ValueError, match="expected KEY=SOURCE"):
            choices.parse_overrides([bad])


def test_an_override_is_added_and_opened_first(tmp_path):
    run = fake_run(tmp_path / "runs" / "tiny")
    choices.configure([f"country={run};map=org/streetgen-map@v2"])
    assert choices.default("country") == "Run tiny" and choices.available("country")["Run tiny"] == str(run)
    assert "CVAE (fast, the study's baseline)" in choices.available("country")  # shipped ones stay
    assert choices.default("map") == "Hub org/streetgen-map@v2"  # Hub parts are checked when loaded
    assert choices.run_view("country", "Run tiny").samples.name == "step_000100.png"
    assert "org/streetgen-map@v2" in choices.all_specs() and sources.uses_hub(choices.all_specs())


def test_layout_and_spade_overrides_pair_with_the_first_shipped_pair(tmp_path):
    folder = fake_checkpoint(tmp_path / "my_spade", "spade")
    choices.configure([f"spade={folder}"])
    label = choices.default("layout")
    assert label == "Custom: Folder layout_world + Folder my_spade"
    assert choices.available("layout")[label] == f"layout_world+{folder}"


def test_missing_checkpoint_disables_only_its_choices(root_without):
    root_without("country_diffusion_early")
    assert list(choices.available("country")) == ["CVAE (fast, the study's baseline)"]
    assert choices.default("country") == "CVAE (fast, the study's baseline)"
    assert "*Diffusion (sharp, a few seconds)* is unavailable: no checkpoint 'country_diffusion_early'" in \
        choices.notice("country")
    assert "Any city or country (diffusion)" in choices.available("city")  # it needs only country_diffusion
    with pytest.raises(ValueError, match="unavailable: no checkpoint 'country_diffusion_early'"):
        choices.spec_of("country", "Diffusion (sharp, a few seconds)")
    assert choices.spec_of("country", "cvae") == "cvae"  # an API caller's spec passes through


def test_corrupt_or_wrong_kind_checkpoints_are_left_out(tmp_path):
    cut = fake_checkpoint(tmp_path / "cut", cut=3)
    choices.configure([f"country={cut}", f"country={SHIPPED / 'map_gan'}"])
    assert choices.default("country") == "Diffusion (sharp, a few seconds)"
    notice = choices.notice("country")
    assert "*Folder cut* is unavailable: model.safetensors is cut short" in notice
    assert "is a map_gan checkpoint, not one this tab can use" in notice


def test_no_usable_map_model_leaves_the_tab_without_a_default(root_without):
    root_without("map_gan")
    assert choices.default("map") is None and "no checkpoint 'map_gan'" in choices.notice("map")
