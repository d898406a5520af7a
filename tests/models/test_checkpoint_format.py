"""The one checkpoint format: config.json + model.safetensors + README.md; strict, safetensors-only loading."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
import torch.nn as nn
from huggingface_hub import ModelCard

import streetgen
from fakehub import CARD, IDX, TinyNet, run_py, saved
from streetgen.models.base import REGISTRY, StreetgenModel
from streetgen.models.card import ModelCardInfo, read_card

def test_layout_and_registry(tmp_path):
    m, folder = saved(tmp_path, countries=["FR", "JP"])
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "model.safetensors"]
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg == {"architecture": "test_tiny", "num_countries": 5, "width": 8, "countries": ["FR", "JP"]}
    assert REGISTRY["test_tiny"] is TinyNet
    with safetensors.safe_open(str(folder / "model.safetensors"), "pt") as f:
        assert "emb.weight" in f.keys() and "out.weight" not in f.keys()  # tied weight stored once


@pytest.mark.slow
def test_other_process_loads_identical_outputs(tmp_path):
    m, folder = saved(tmp_path, countries=["FR"])
    expected = m.eval()(IDX).detach().numpy()
    code = f"""
import sys, numpy as np
import streetgen
assert "torch" not in sys.modules, "import streetgen must stay torch-free"
import torch, fakehub
m = streetgen.load({str(folder)!r})
assert type(m).__name__ == "TinyNet" and not m.training and m.countries == ["FR"]
assert m.out.weight is m.emb.weight
np.save({str(tmp_path / "out.npy")!r}, m(torch.arange(5)).detach().numpy())
"""
    run_py(code)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_class_and_base_from_pretrained(tmp_path):
    m, folder = saved(tmp_path)
    for loader in (TinyNet.from_pretrained, StreetgenModel.from_pretrained, streetgen.load):
        m2 = loader(folder)
        assert isinstance(m2, TinyNet) and not m2.training
        assert torch.equal(m2(IDX), m.eval()(IDX))


def test_mismatched_shapes_are_a_clear_error(tmp_path):
    _, folder = saved(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "width": 16}))
    with pytest.raises(ValueError, match="shape mismatch") as e:
        streetgen.load(folder)
    assert str(folder) in str(e.value) and "emb.weight" in str(e.value)
    with pytest.raises(ValueError, match="shape mismatch"):  # never loadable, strict or not
        TinyNet.from_pretrained(folder, strict=False)


def test_missing_and_unexpected_keys_are_strict(tmp_path):
    _, folder = saved(tmp_path)
    path = folder / "model.safetensors"
    state = safetensors.torch.load_file(str(path))
    del state["mlp.0.bias"]
    state["extra.weight"] = torch.zeros(2)
    safetensors.torch.save_file(state, str(path))
    with pytest.raises(ValueError, match=r"missing keys: \['mlp.0.bias'\].*unexpected keys: \['extra.weight'\]"):
        streetgen.load(folder)
    m = TinyNet.from_pretrained(folder, strict=False)  # explicit opt-out still loads the rest
    assert torch.equal(m.emb.weight, state["emb.weight"])


def test_bin_only_folder_is_refused_without_unpickling(tmp_path, monkeypatch):
    m = TinyNet()
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architecture": "test_tiny", "num_countries": 5, "width": 8}))
    torch.save(m.state_dict(), folder / "pytorch_model.bin")

    def no_unpickling(*a, **k):
        raise AssertionError("torch.load was called")
    monkeypatch.setattr(torch, "load", no_unpickling)
    for loader in (streetgen.load, TinyNet.from_pretrained):
        with pytest.raises(ValueError, match="streetgen loads safetensors only") as e:
            loader(folder)
        assert "pytorch_model.bin" in str(e.value) and str(folder) in str(e.value)


def test_unknown_architecture_and_missing_config(tmp_path):
    _, folder = saved(tmp_path)
    (folder / "config.json").write_text(json.dumps({"architecture": "no_such_model", "width": 8}))
    with pytest.raises(ValueError, match="unknown architecture 'no_such_model'") as e:
        streetgen.load(folder)
    assert str(folder) in str(e.value)
    assert all(name in str(e.value) for name in ("country_diffusion", "place_judge", "spade", "test_tiny"))
    (folder / "config.json").unlink()
    with pytest.raises(ValueError, match="no config.json"):
        streetgen.load(folder)


def test_wrong_class_is_refused(tmp_path):
    class Other(StreetgenModel, architecture="test_other"):
        def __init__(self, width: int = 3):
            super().__init__()
            self.lin = nn.Linear(width, width)

    Other().save_pretrained(tmp_path / "other")
    with pytest.raises(ValueError, match="names architecture 'test_other'"):
        TinyNet.from_pretrained(tmp_path / "other")
    assert isinstance(streetgen.load(tmp_path / "other"), Other)


def test_var_kwargs_init_does_not_receive_architecture(tmp_path):
    class Loose(StreetgenModel, architecture="test_loose"):
        def __init__(self, width: int = 2, **extra):
            super().__init__()
            assert "architecture" not in extra
            self.lin = nn.Linear(width, 1)

    Loose(width=3).save_pretrained(tmp_path / "loose")
    assert streetgen.load(tmp_path / "loose").lin.in_features == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_safetensors_is_a_clear_error(tmp_path, damage):
    _, folder = saved(tmp_path)
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"\x00not safetensors" * 8)
    with pytest.raises(ValueError, match="corrupt or truncated") as e:
        streetgen.load(folder)
    assert str(folder) in str(e.value)


def test_fp16_export_halves_size_and_loads_back_as_float32(tmp_path):
    from streetgen.models import export

    torch.manual_seed(0)
    m = TinyNet(num_countries=50, width=64).eval()
    m.save_pretrained(tmp_path / "fp32")
    export(m, tmp_path / "fp16", card=CARD, half=True)
    s32 = (tmp_path / "fp32" / "model.safetensors").stat().st_size
    s16 = (tmp_path / "fp16" / "model.safetensors").stat().st_size
    assert s16 < 0.55 * s32
    with safetensors.safe_open(str(tmp_path / "fp16" / "model.safetensors"), "pt") as f:
        assert f.get_tensor("emb.weight").dtype == torch.float16
    m2 = streetgen.load(tmp_path / "fp16")
    assert m2.emb.weight.dtype == torch.float32 and m2.out.weight is m2.emb.weight
    torch.testing.assert_close(m2(IDX), m(IDX), atol=2e-3, rtol=2e-3)
    assert streetgen.load(tmp_path / "fp16", dtype=torch.float16).emb.weight.dtype == torch.float16


def test_model_card_round_trip(tmp_path):
    _, folder = saved(tmp_path)
    data = ModelCard.load(folder / "README.md").data.to_dict()
    assert data["license"] == "mit" and data["library_name"] == "streetgen"
    assert data["datasets"] == ["streetgen/world-128"] and data["metrics"] == ["loss", "top1"]
    assert "streetgen" in data["tags"]
    assert data["streetgen"]["training_command"] == CARD.training_command
    assert data["streetgen"]["metric_values"] == {"top1": 0.625, "loss": 1.25}
    text = (folder / "README.md").read_text()
    for section in ("## Data", "## Training command", "## Metrics", "## Licence", CARD.training_command,
                    "| top1 | 0.625 |", "1 h 02 min", "CC-BY-4.0"):
        assert section in text
    back = read_card(folder)
    for f in ("training_command", "steps", "wall_time_s", "metrics", "data", "data_license", "license", "notes"):
        assert getattr(back, f) == getattr(CARD, f), f


def test_resave_refreshes_card(tmp_path):
    m, folder = saved(tmp_path)
    m.save_pretrained(folder, card=ModelCardInfo(training_command="python -m train.again"))
    assert read_card(folder).training_command == "python -m train.again"


@pytest.mark.slow
def test_fresh_process_finds_model_classes_inside_the_package(tmp_path):
    """A process that only calls streetgen.load finds a shipped architecture's class (the explicit import list)."""
    from streetgen.models.judges import PlaceJudge

    PlaceJudge(countries=["FR", "JP"], width=4).save_pretrained(tmp_path / "judge")
    code = ("import sys, streetgen; m = streetgen.load(sys.argv[1]); "
            "print(type(m).__name__, m.countries, m.training, 'streetgen.models.judges' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "judge")], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["PlaceJudge", "['FR',", "'JP']", "False", "True"]


def test_add_evaluation_records_commands_and_numbers(tmp_path):
    """`eval --card`: the eval command and its numbers land in the card; a rerun replaces its own entry only, and
    the weights and the rest of the card are untouched."""
    from streetgen.models.card import add_evaluation

    model, folder = saved(tmp_path)
    info = ModelCardInfo(description="tiny", training_command="python train/x.py --steps 3", steps=3)
    model.save_pretrained(folder, card=info)
    before = (folder / "model.safetensors").read_bytes()
    with open(folder / "README.md", "a") as f:  # a hand-written section must survive
        f.write("\n## Training notes\n\nThree invocations of one run.\n")
    add_evaluation(folder, "python -m streetgen.eval --task map --model m", {"median_km": 812.5, "n": 4})
    add_evaluation(folder, "python -m streetgen.eval --task map --model m --n 2", {"median_km": 900.0})
    add_evaluation(folder, "python -m streetgen.eval --task map --model m", {"median_km": 700.25, "n": 4})
    card = read_card(folder)
    assert [e["metrics"]["median_km"] for e in card.evaluation] == [900.0, 700.25]
    assert card.training_command == "python train/x.py --steps 3" and card.steps == 3
    text = (folder / "README.md").read_text()
    assert "## Evaluation" in text and "| median_km | 700.2 |" in text and "| median_km | 812.5 |" not in text
    assert text.count("## Evaluation") == 1 and "Three invocations of one run." in text
    assert (folder / "model.safetensors").read_bytes() == before and type(streetgen.load(str(folder))) is TinyNet
