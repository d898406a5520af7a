"""The app on other models: each shipped checkpoint deleted in turn (only its choices go), and a training run's
folder served through `--model country=RUNFOLDER` (its generation, sample grid and loss curves)."""
from __future__ import annotations

from pathlib import Path

import pytest

from streetgen import sources
from streetgen.specs import parse_spec
from ui import choices

pytestmark = pytest.mark.slow  # builds the whole app per case and runs real models

SHIPPED = sources.checkpoints_root()
USED = sorted({part for kind in choices.KINDS for spec in choices.shipped()[kind].values()
               for part in parse_spec(spec)})  # every shipped checkpoint a tab uses


@pytest.fixture
def app_module():
    """app.py imported (it builds the default page once); overrides are cleared afterwards."""
    import app

    yield app
    choices.configure([])


def _components(demo, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


@pytest.mark.parametrize("gone", USED)
def test_app_builds_without_each_shipped_checkpoint(gone, tmp_path, monkeypatch, app_module):
    from ui import tab_country, tab_map

    root = tmp_path / "checkpoints"
    root.mkdir()
    for folder in SHIPPED.iterdir():  # links to the real checkpoints: nothing is copied or deleted
        if folder.name != gone:
            (root / folder.name).symlink_to(folder, target_is_directory=True)
    monkeypatch.setattr(sources, "checkpoints_root", lambda: root)
    choices.configure([])
    demo = app_module.build_demo()
    for kind in choices.KINDS:
        users = {label for label, spec in choices.configured(kind).items() if gone in parse_spec(spec)}
        assert users.isdisjoint(choices.available(kind)) and set(choices.available(kind)) | users == set(
            choices.configured(kind))
        if users:
            assert f"no checkpoint '{gone}'" in choices.notice(kind)
            assert f"no checkpoint '{gone}'" in _components(demo, f"{kind_prefix(kind)}-model-notice").value
    radio = _components(demo, "c-model")
    assert [c[0] for c in radio.choices] == list(choices.available("country"))
    fastest = next((label for label in choices.available("country") if "CVAE" in label), radio.value)
    images, _ = tab_country.generate_country("JP", 1, 0, fastest)  # a choice left still generates
    assert len(images) == 1
    if choices.default("map"):
        assert len(tab_map.generate_map(35.68, 139.77, 1, 0)[0]) == 1


def kind_prefix(kind: str) -> str:
    return {"country": "c", "map": "m", "layout": "l", "city": "y"}[kind]


def tiny_cvae(folder: Path) -> Path:
    """An untrained tiny country CVAE (FR, JP, KE at 32²) saved with a card into `folder`."""
    from streetgen.models.card import ModelCardInfo
    from streetgen.models.cvae import CountryCVAE

    model = CountryCVAE(countries=["FR", "JP", "KE"], image_size=32, latent_dim=8, embed_dim=4, channels=(8, 8, 8),
                        hidden=32)
    model.save_pretrained(folder, card=ModelCardInfo(description="tiny", metrics={"recon": 0.125}))
    return folder


def tiny_run(root: Path) -> Path:
    """A run folder in the real format, nothing trained: a tiny CVAE saved into export/ with a card, a sample grid
    and curves written by train.common.logging, and its metrics.jsonl."""
    import numpy as np

    from train.common.logging import MetricsLog, plot_curves, read_metrics, save_grid

    tiny_cvae(root / "export")
    log = MetricsLog(root / "metrics.jsonl")
    for step in range(1, 21):
        log.append({"step": step, "loss": 1.0 / step})
    plot_curves(read_metrics(log.path), root / "curves.png", title="tiny")
    rng = np.random.default_rng(0)
    for step in (10, 20):
        save_grid(rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8), root / "samples" / f"step_{step:06d}.png")
    return root


def test_a_run_folder_is_served_with_its_grid_and_curves(tmp_path, app_module):
    from gradio_client import Client

    run = tiny_run(tmp_path / "runs" / "tiny")
    with pytest.raises(SystemExit):  # argparse's usage message names the keys
        app_module.parse_args(["--model", "flavour=x"])
    args = app_module.parse_args(["--model", f"country={run}"])
    choices.configure(args.model)
    demo = app_module.build_demo()
    radio = _components(demo, "c-model")
    assert radio.value == "Run tiny" and "CVAE (fast, the study's baseline)" in [c[0] for c in radio.choices]
    assert "tiny (country_cvae): recon 0.125" in _components(demo, "c-model-info").value
    assert "last logged step 20" in _components(demo, "c-model-info").value
    assert _components(demo, "c-run").visible
    assert Path(_components(demo, "c-run-samples").value["path"]).name == "step_000020.png"
    assert Path(_components(demo, "c-run-curves").value["path"]).name == "curves.png"
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app_module.LAUNCH_KWARGS)
    try:
        client = Client(url, verbose=False)
        images, refs = client.predict("JP", 2, 7, "Run tiny", api_name="/generate_country")
        assert len(images) == 2 and len(refs) == 2
        with pytest.raises(Exception, match="not one of the 3 countries"):
            client.predict("US", 1, 0, "Run tiny", api_name="/generate_country")
    finally:
        demo.close()


def test_a_hub_id_at_a_revision_is_served_and_leaves_the_hub_online(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from fakehub import FakeHub, run_py
    from streetgen import hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest sets HF_HUB_OFFLINE=1 for the suite
    with FakeHub() as fake:
        hub.push(tiny_cvae(tmp_path / "tiny"), "org/tinyc", token="hf_fake", endpoint=fake.endpoint)
        sha = fake.repos["org/tinyc"]["sha"]
        code = f"""
import os
os.environ.pop("HF_HUB_OFFLINE", None)
import gradio as gr
import app
from ui import tab_country
assert "HF_HUB_OFFLINE" not in os.environ  # a Hub id is configured: the app does not force offline mode
assert tab_country.pipeline("Hub org/tinyc@{sha}").countries == ["FR", "JP", "KE"]
assert len(tab_country.generate_country("KE", 1, 0, "Hub org/tinyc@{sha}")[0]) == 1
try:
    tab_country.pipeline("Hub org/tinyc@v9")
    raise SystemExit("a revision the Hub does not have loaded")
except gr.Error as err:
    assert "could not be loaded: no checkpoint 'org/tinyc'" in str(err), err
assert len(tab_country.generate_country("JP", 1, 0, "CVAE (fast, the study's baseline)")[0]) == 1
"""
        run_py(code, HF_ENDPOINT=fake.endpoint, HF_HOME=str(tmp_path / "hf_home"),
               STREETGEN_MODELS=f"country=org/tinyc@{sha};country=org/tinyc@v9")
        assert ("GET", f"/org/tinyc/resolve/{sha}/config.json") in fake.log


def test_an_incompatible_checkpoint_fails_only_its_own_choice(tmp_path, app_module):
    import json

    import gradio as gr

    from ui import tab_country

    folder = tiny_cvae(tmp_path / "wider")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden": 64}))  # weights were saved at 32
    choices.configure([f"country={folder}"])
    assert choices.default("country") == "Folder wider"  # its files are whole: it is offered, and fails on load
    with pytest.raises(gr.Error, match="Model 'Folder wider' could not be loaded"):
        tab_country.generate_country("JP", 1, 0, "Folder wider")
    assert len(tab_country.generate_country("JP", 1, 0, "CVAE (fast, the study's baseline)")[0]) == 1


def test_a_hub_only_city_model_has_its_route_before_its_weights_are_downloaded(tmp_path):
    """The City tab knows a Hub choice's route (so its target and strength controls open) from config.json alone;
    with nothing on the Hub the route is unknown (controls stay shut), and it is asked again next time."""
    import json
    import os
    import subprocess
    import sys

    from fakehub import TESTS, FakeHub

    with FakeHub() as fake:
        sha = fake.commit("org/anycity", {"config.json": json.dumps({"architecture": "country_diffusion"}).encode(),
                                          "model.safetensors": b"not downloaded by the route"})
        code = f"""
import os
os.environ.pop("HF_HUB_OFFLINE", None)
from ui import choices, tab_city
choices.configure(["city=org/anycity", "city=org/cyclepair@{sha}", "city=org/later"])
assert choices.route("Hub org/anycity") == "any"
assert choices.default("city") == "Hub org/anycity"  # an added model opens first
target, strength = tab_city.method_controls("Hub org/anycity", "Venice")
assert target["interactive"] and strength["interactive"]
assert choices.route("Hub org/later") == ""  # not on the Hub (yet)
assert not tab_city.method_controls("Hub org/later", "Venice")[0]["interactive"]
print("ASKED-AGAIN", flush=True)
input()  # the test commits org/later now
assert choices.route("Hub org/later") == "cyclegan"
assert choices.route("Hub org/cyclepair@{sha}") == ""  # that commit is org/anycity's, not org/cyclepair's
"""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)]),
               "HF_ENDPOINT": fake.endpoint, "HF_HOME": str(tmp_path / "hf_home")}
        env.pop("HF_HUB_OFFLINE", None)
        p = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        assert p.stdout.readline().strip() == "ASKED-AGAIN", p.communicate()[0]
        fake.commit("org/later", {"config.json": b'{"architecture": "cyclegan"}'})
        out, _ = p.communicate("\n", timeout=120)
        assert p.returncode == 0, out
    assert ("GET", "/org/anycity/resolve/main/config.json") in fake.log
    assert not any(path.endswith("model.safetensors") for _, path in fake.log)  # config.json alone
