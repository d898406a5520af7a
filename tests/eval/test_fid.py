"""Standard FID/KID (streetgen.eval.fid): torch-fidelity's TF-Inception path from a safetensors file, never unpickled.

The weights here are random (same architecture, so every code path runs; the numbers mean nothing)."""
import json
import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from streetgen import metrics
from streetgen.eval import fid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """torch-fidelity's extractor with random weights (its loading skipped while it is built), saved as safetensors.

    Convolutions get He init so the 2048 pool features are O(1) rather than vanishing through ~90 layers."""
    import safetensors.torch
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    cls = tf_inception.FeatureExtractorInceptionV3
    with mock.patch.object(tf_inception, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(cls, "load_state_dict", lambda self, state: None):
        torch.manual_seed(0)
        net = cls("random-inception", ["2048"])
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "inception.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def _images(n: int, seed: int, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


# ---- our Fréchet / kernel functions against torch-fidelity's on the same features -------------------------------
@pytest.mark.slow  # importing torch-fidelity (torchvision's models) takes seconds
@pytest.mark.parametrize("n, d", [(300, 16), (40, 64)])  # more samples than dimensions, and fewer (our SVD branch)
def test_our_frechet_distance_equals_torch_fidelity_fid(n, d):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, d))
    b = rng.normal(loc=0.3, scale=1.2, size=(n + 7, d))
    theirs = fid.fid_from_features(a, b)
    assert theirs > 1.0  # shifted and scaled: far from 0
    assert metrics.frechet_distance(a, b) == pytest.approx(theirs, rel=1e-7, abs=1e-9)
    assert fid.fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_our_kernel_distance_equals_torch_fidelity_kid_on_the_same_subsets():
    """With one subset holding every sample both pick the same set (order does not change MMD²): equal."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(60, 32)), rng.normal(loc=0.5, size=(60, 32))
    theirs = fid.kid_from_features(a, b, subsets=1, subset_size=60)
    assert theirs > 0.05
    assert metrics.kernel_distance(a, b, subsets=1, subset_size=60) == pytest.approx(theirs, rel=1e-9)
    # default settings (100 subsets of 1000) with 60 samples: the subset size is clipped, not an error
    default = fid.kid_from_features(a, b)
    assert np.isfinite(default) and default == pytest.approx(theirs, rel=1e-6)  # every subset is the whole set
    with pytest.raises(ValueError, match="at least 2"):
        fid.kid_from_features(a[:1], b)


# ---- features from the weights file ---------------------------------------------------------------------------
@pytest.mark.slow
def test_features_shape_determinism_and_no_unpickling(inception_file, tmp_path, monkeypatch):
    """(N, 2048) features; the same images give the same features; torch's pickle loaders are never reached."""
    import torch.serialization

    def no_pickle(*a, **k):
        raise AssertionError("a pickle loader ran")
    monkeypatch.setattr(torch.serialization, "_load", no_pickle)
    monkeypatch.setattr(torch.serialization, "_legacy_load", no_pickle)
    fresh = tmp_path / "fresh.safetensors"  # a new path: the extractor is built (and loaded) here, not reused
    shutil.copy(inception_file, fresh)
    images = _images(3, 0)
    f = fid.inception_features(fresh, images, batch=2)
    assert f.shape == (3, 2048) and f.dtype == np.float32 and np.isfinite(f).all()
    assert f.std() > 1e-3  # real activations, not a collapsed network
    again = fid.inception_features(fresh, images[[2, 1]])
    np.testing.assert_allclose(again, f[[2, 1]], rtol=1e-5, atol=1e-6)
    other = fid.inception_features(fresh, _images(1, 1))
    assert np.abs(other - f[:1]).max() > 1e-4
    wide = fid.inception_features(fresh, _images(1, 2, size=32).repeat(3, axis=2))  # 32×96: any size is resized
    assert wide.shape == (1, 2048)
    # a folder holding the one file names it too
    assert fid.resolve_inception_weights(tmp_path) == fresh


@pytest.mark.slow
def test_country_eval_command_reports_standard_fid_and_kid(inception_file, tmp_path):
    """The whole path: `eval --task country --inception-weights FILE` writes fid and kid (named so, beside the
    judge distances) into metrics.json, and metrics.md says what they mean."""
    from streetgen.eval.__main__ import main
    from streetgen.models.judges import PlaceJudge

    torch.manual_seed(0)
    PlaceJudge(countries=["FR", "JP", "KE"], width=8, input_size=64).eval().save_pretrained(tmp_path / "judge")
    out = tmp_path / "run"
    m = main(["--task", "country", "--model", "world", "--countries", "1", "--n", "3", "--size", "64",
              "--place-judge", str(tmp_path / "judge"), "--inception-weights", str(inception_file), "--out", str(out)])
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["fid"] == m["fid"] and np.isfinite(m["fid"]) and m["fid"] > 0
    assert np.isfinite(m["kid"]) and "judge_frechet_distance" in m and "inception_fid" not in m
    report = (out / "metrics.md").read_text()
    assert "- `fid`: standard FID (TF-Inception" in report and "published FIDs" in report
    # the same images' features straight from the library: our Fréchet function and their KID agree with the run
    from streetgen import world
    from streetgen.eval.common import JUDGE_EVAL_SEED

    gen = np.stack([world.render_country("FR", JUDGE_EVAL_SEED * 1000 + k, 64).image for k in range(3)])
    ref = np.stack([world.render_country("FR", JUDGE_EVAL_SEED * 1000 + 500 + k, 64).image for k in range(3)])
    fa, fb = fid.inception_features(inception_file, gen), fid.inception_features(inception_file, ref)
    assert metrics.frechet_distance(fa, fb) == pytest.approx(m["fid"], rel=1e-3)
    assert fid.kid_from_features(fa, fb) == pytest.approx(m["kid"], rel=1e-6, abs=1e-9)


# ---- bad weights: short messages, no paths --------------------------------------------------------------------
def test_bad_weight_sources_get_short_messages(tmp_path):
    import safetensors.torch

    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json" + bytes(50))
    pth = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    pth.write_bytes(b"PK")
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a", "b"):
        safetensors.torch.save_file({"x": torch.zeros(1)}, str(two / f"{name}.safetensors"))
    cases = [(corrupt, ValueError, "not a readable safetensors"), (pth, ValueError, "must be a .safetensors"),
             (tmp_path / "missing.safetensors", FileNotFoundError, "no Inception weights"),
             (two, ValueError, "holds 2 .safetensors files")]
    for source, error, text in cases:
        with pytest.raises(error, match=text) as e:
            fid.inception_features(source, _images(1, 0))
        assert str(tmp_path) not in str(e.value) and len(str(e.value)) <= 160, str(e.value)


def test_a_hub_id_resolves_to_its_cached_file_offline(tmp_path, monkeypatch):
    """`org/repo[@rev]`: the repo's one safetensors file from the Hub cache (the suite runs with HF_HUB_OFFLINE=1:
    nothing is fetched), at the revision asked for; a repo that is not there says so briefly."""
    import safetensors.torch
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "models--org--inception"
    for sha, name in (("a" * 40, "old.safetensors"), ("b" * 40, "inception.safetensors")):
        (repo / "snapshots" / sha).mkdir(parents=True)
        safetensors.torch.save_file({"x": torch.zeros(1)}, str(repo / "snapshots" / sha / name))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("b" * 40)
    assert fid.resolve_inception_weights("org/inception").name == "inception.safetensors"
    assert fid.resolve_inception_weights("org/inception@" + "a" * 40).name == "old.safetensors"
    with pytest.raises(FileNotFoundError, match="no Inception weights in Hub repo 'org/missing'") as e:
        fid.resolve_inception_weights("org/missing")
    assert str(tmp_path) not in str(e.value)


@pytest.mark.slow
def test_a_state_dict_of_another_network_is_refused(tmp_path):
    import safetensors.torch

    wrong = tmp_path / "judge.safetensors"
    safetensors.torch.save_file({"body.0.weight": torch.zeros(3, 3)}, str(wrong))
    with pytest.raises(ValueError, match="not torch-fidelity's Inception state dict") as e:
        fid.inception_features(wrong, _images(1, 0))
    assert str(tmp_path) not in str(e.value) and len(str(e.value)) <= 160


@pytest.mark.slow
def test_conversion_tool_writes_weights_that_give_the_same_features(inception_file, tmp_path, capsys):
    """tools/convert_inception_weights.py: a .pth state dict (the official file's format) → safetensors that the
    eval reads, with the same features as the original tensors."""
    import importlib.util

    import safetensors.torch

    pth = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    torch.save(safetensors.torch.load_file(str(inception_file)), pth)
    spec = importlib.util.spec_from_file_location("convert_inception_weights",
                                                  ROOT / "tools" / "convert_inception_weights.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "converted.safetensors"
    tool.main([str(pth), str(out)])
    assert "2048-d" in capsys.readouterr().out
    images = _images(2, 3)
    np.testing.assert_array_equal(fid.inception_features(out, images), fid.inception_features(inception_file, images))
    with pytest.raises(SystemExit):
        tool.main([str(pth), str(tmp_path / "converted.pth")])
