"""Pluggable eval judges (`streetgen.eval.judges`): specs, streetgen checkpoints, tiny random-config transformers
models of the real architectures saved in the real format (CLIP, SegFormer, DPT, Depth Anything), the Hub cache.

The transformers models are built once per module (tmp_path_factory); their numbers mean nothing, their shapes,
label mapping and plumbing do.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from fakehub import FakeHub
from streetgen.classes import BICYCLIST, BUILDING, CAR, IGNORE, NUM_CLASSES, SIGN, TREE
from streetgen.eval import judge_base
from streetgen.eval.hf_judges import SOURCE_TO_CLASS, country_name, depth_output, label_key, model_type_kind
from streetgen.eval.judges import KINDS, JudgeNotFoundError, load_judge, parse_judge_spec
from streetgen.models.card import ModelCardInfo

SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "judges"
CITYSCAPES = ["road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
              "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]


def _images(n: int = 3, h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


# ---- specs, label table, names: no model ------------------------------------------------------------------------
def test_parse_judge_spec_and_its_errors():
    assert parse_judge_spec("seg=org/name@rev") == ("seg", "org/name@rev")
    assert parse_judge_spec(" depth = judges/depth ") == ("depth", "judges/depth")
    assert KINDS == ("place", "city", "seg", "depth")
    for bad in ("seg", "seg=", "=judges/seg", "segment=judges/seg", "x" * 500):
        with pytest.raises(ValueError) as err:
            parse_judge_spec(bad)
        assert "place, city, seg, depth" in str(err.value) and len(str(err.value)) < 260


def test_label_table_maps_every_cityscapes_class_deliberately():
    ours = {name: SOURCE_TO_CLASS[label_key(name)] for name in CITYSCAPES}
    assert set(ours.values()) == set(range(NUM_CLASSES))  # all 11 streetgen classes are reachable
    assert (ours["rider"], ours["truck"], ours["bus"], ours["wall"], ours["traffic light"], ours["terrain"]) == (
        BICYCLIST, CAR, CAR, BUILDING, SIGN, TREE)
    # Mapillary Vistas / ADE20K spellings are normalised before the look-up
    assert SOURCE_TO_CLASS[label_key("Traffic Sign (Front)")] == SIGN
    assert SOURCE_TO_CLASS[label_key("Lane Marking - Crosswalk")] == SOURCE_TO_CLASS["road"]
    assert SOURCE_TO_CLASS[label_key("building, edifice")] == BUILDING
    assert label_key("Water") not in SOURCE_TO_CLASS  # no CamVid class: void


def test_country_names_read_well_in_prompts():
    assert country_name("JP") == "Japan" and country_name("kr") == "South Korea"
    assert country_name("NA") == "Namibia"  # not a missing value
    with pytest.raises(ValueError, match="unknown country code"):
        country_name("QQ")


def test_depth_output_from_config():
    assert depth_output(SimpleNamespace(model_type="dpt"), "x") == "relative_disparity"
    assert depth_output(SimpleNamespace(model_type="depth_anything", depth_estimation_type="relative"), "x") == \
        "relative_disparity"
    assert depth_output(SimpleNamespace(model_type="depth_anything", depth_estimation_type="metric"), "x") == "metric"
    assert depth_output(SimpleNamespace(model_type="zoedepth"), "x") == "metric"
    with pytest.raises(ValueError, match="output="):
        depth_output(SimpleNamespace(model_type="somenewdepth"), "x")


def test_device_and_input_checks():
    assert judge_base.pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="cpu, cuda or auto"):
        judge_base.pick_device("tpu")
    for bad in (np.zeros((2, 8, 8, 3), np.float32), np.zeros((8, 8, 3), np.uint8), np.zeros((1, 8, 8, 4), np.uint8)):
        with pytest.raises(ValueError, match=r"uint8 images \(N, H, W, 3\)"):
            judge_base.check_images(bad)


def test_unknown_sources_and_kinds_are_short_errors():
    with pytest.raises(ValueError, match="unknown judge kind"):
        load_judge("style", "judges/seg")
    with pytest.raises(JudgeNotFoundError) as err:
        load_judge("seg", "/no/such/folder")
    assert "not a folder" in str(err.value) and isinstance(err.value, ValueError)


def test_transformers_missing_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'streetgen\[eval\]'"):
        model_type_kind("segformer")


# ---- shipped streetgen judges -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_streetgen_place_and_city_judges_match_the_networks():
    from streetgen.eval.common import judge_outputs, to_tensor

    images = _images()
    place = load_judge("place", "judges/place", batch=2)  # two chunks: batching must not change the answer
    out = place.predict(images)
    ref = judge_outputs(place.model, images)
    assert out["countries"] == place.model.countries and len(out["countries"]) == out["probs"].shape[1]
    assert out["probs"].dtype == np.float32 and np.allclose(out["probs"].sum(1), 1, atol=1e-5)
    assert np.array_equal(out["probs"].argmax(1), ref["country"].argmax(1))
    assert out["latlon"].dtype == np.float64 and np.allclose(out["latlon"], ref["latlon"], atol=1e-4)
    assert "111 countries" in place.description and place.kind == "place" and place.source == "judges/place"

    city = load_judge("city", str(SHIPPED / "city"))
    got = city.predict(images)
    with torch.no_grad():
        logits = city.model(to_tensor(images)).numpy()
    assert got["cities"][0] == "Paris" and got["probs"].shape == (3, 10)
    assert np.array_equal(got["probs"].argmax(1), logits.argmax(1)) and np.allclose(got["probs"].sum(1), 1, atol=1e-5)


@pytest.mark.slow
def test_streetgen_seg_and_depth_judges_answer_at_the_input_size():
    from streetgen.eval.common import segment

    images = _images(2, 36, 52)
    seg = load_judge("seg", "judges/seg")
    labels = seg.predict(images)
    assert labels.shape == (2, 36, 52) and labels.dtype == np.uint8 and labels.max() < NUM_CLASSES
    assert np.array_equal(labels, segment(seg.model, images)) and seg.unmapped == []
    depth = load_judge("depth", "judges/depth", device="auto")
    d = depth.predict(images)
    assert d.shape == (2, 36, 52) and d.dtype == np.float32 and depth.output == "metric"
    assert 0.5 <= d.min() and d.max() <= 200.0


def test_streetgen_judge_of_the_wrong_kind_or_options_is_refused():
    with pytest.raises(ValueError) as err:
        load_judge("place", "judges/seg")
    assert "streetgen segmenter, not a place judge" in str(err.value) and "CLIP" in str(err.value)
    with pytest.raises(ValueError, match="unknown option 'colour'"):
        load_judge("seg", "judges/seg", colour=1)
    with pytest.raises(ValueError, match="own label set"):
        load_judge("place", "judges/place", countries=["JP"])


def test_card_metrics_are_the_cards_real_numbers(tmp_path):
    import streetgen

    model = streetgen.load("judges/seg")
    card = ModelCardInfo(description="copy", metrics={"real_camvid_val/miou": 0.61, "world_test/miou": 0.9})
    model.save_pretrained(tmp_path / "seg", card=card)
    assert load_judge("seg", str(tmp_path / "seg")).card_metrics == {"real_camvid_val/miou": 0.61}


# ---- tiny transformers models -----------------------------------------------------------------------------------
def _byte_chars() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (GPT-2's table)."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    extra = [b for b in range(256) if b not in keep]
    table = dict(zip(keep, keep)) | {b: 256 + i for i, b in enumerate(extra)}
    return [chr(table[b]) for b in range(256)]


def _save_clip(folder: Path) -> None:
    import transformers as tf

    chars = _byte_chars()
    merges = [("t", "h"), ("th", "e</w>"), ("a", "n"), ("i", "n")]
    vocab = {tok: i for i, tok in enumerate(chars + [c + "</w>" for c in chars] + ["th", "the</w>", "an", "in"]
                                             + ["<|startoftext|>", "<|endoftext|>"])}
    tokenizer = tf.CLIPTokenizer(vocab=vocab, merges=merges)
    end = vocab["<|endoftext|>"]
    config = tf.CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=77, eos_token_id=end, pad_token_id=end,
                         bos_token_id=vocab["<|startoftext|>"]),
        vision_config=dict(image_size=32, patch_size=8, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                           num_attention_heads=2), projection_dim=8)
    tf.CLIPModel(config).save_pretrained(folder)
    images = tf.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    tf.CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)


def _save_segformer(folder: Path, labels: list[str]) -> None:
    import transformers as tf

    config = tf.SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
                                patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2],
                                decoder_hidden_size=16, id2label=dict(enumerate(labels)),
                                label2id={n: i for i, n in enumerate(labels)})
    tf.SegformerForSemanticSegmentation(config).save_pretrained(folder)
    tf.SegformerImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)


def _save_depth(folder: Path, family: str) -> None:
    import transformers as tf

    if family == "dpt":
        config = tf.DPTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                              intermediate_size=32, backbone_out_indices=[0, 1, 2, 3], neck_hidden_sizes=[8, 8, 16, 16],
                              fusion_hidden_size=16, reassemble_factors=[4, 2, 1, 0.5], head_in_index=-1)
        tf.DPTForDepthEstimation(config).save_pretrained(folder)
        tf.DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False).save_pretrained(folder)
        return
    backbone = tf.Dinov2Config(image_size=28, patch_size=14, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                               intermediate_size=32, out_features=["stage1", "stage2", "stage3", "stage4"],
                               reshape_hidden_states=False)
    config = tf.DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16,
                                    neck_hidden_sizes=[8, 8, 16, 16], fusion_hidden_size=16, head_hidden_size=8,
                                    depth_estimation_type="metric", max_depth=80)
    tf.DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    tf.DPTImageProcessor(size={"height": 28, "width": 28}, keep_aspect_ratio=False,
                         ensure_multiple_of=14).save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """Folders of tiny random-weight transformers models with their processors, in transformers' own format."""
    root = tmp_path_factory.mktemp("tiny_judges")
    torch.manual_seed(0)
    _save_clip(root / "clip")
    _save_segformer(root / "seg", CITYSCAPES)
    _save_depth(root / "dpt", "dpt")
    _save_depth(root / "depth_anything", "depth_anything")
    for folder in root.iterdir():
        assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    return {f.name: f for f in root.iterdir()}


def _edit_config(src: Path, dst: Path, **changes) -> Path:
    shutil.copytree(src, dst)
    config = json.loads((dst / "config.json").read_text())
    config.update(changes)
    (dst / "config.json").write_text(json.dumps(config))
    return dst


@pytest.mark.slow
def test_clip_zero_shot_place_and_city(tiny):
    images = _images(5)
    place = load_judge("place", str(tiny["clip"]), batch=2)
    out = place.predict(images)
    assert len(out["countries"]) == 111 and out["countries"][:2] == ["AE", "AF"] and out["latlon"] is None
    assert out["probs"].shape == (5, 111) and out["probs"].dtype == np.float32
    assert np.allclose(out["probs"].sum(1), 1, atol=1e-5) and (out["probs"] >= 0).all()
    assert place.description.startswith("clip zero-shot (") and "111 countries" in place.description
    assert place.card_metrics == {}

    few = load_judge("place", str(tiny["clip"]), countries=["JP", "FR", "NA"]).predict(images)
    rev = load_judge("place", str(tiny["clip"]), countries=["NA", "FR", "JP"]).predict(images)
    assert few["countries"] == ["JP", "FR", "NA"] and few["probs"].shape == (5, 3)
    np.testing.assert_allclose(few["probs"], rev["probs"][:, ::-1], atol=1e-5)  # columns follow the label set
    assert not np.allclose(few["probs"][:, 0], few["probs"][:, 1])  # the prompts differ, so do the scores

    with pytest.raises(ValueError, match="one \\{\\} for the place name"):
        load_judge("place", str(tiny["clip"]), prompt="a street in {country}")
    city = load_judge("city", str(tiny["clip"]), cities=["Paris", "Venice"]).predict(images)
    assert city["cities"] == ["Paris", "Venice"] and city["probs"].shape == (5, 2)
    assert load_judge("city", str(tiny["clip"])).predict(images[:1])["cities"][0] == "Paris"


@pytest.mark.slow
def test_segformer_labels_are_mapped_to_our_classes(tiny, tmp_path):
    images = _images(2, 30, 45)
    seg = load_judge("seg", str(tiny["seg"]), batch=1)
    labels = seg.predict(images)
    assert labels.shape == (2, 30, 45) and labels.dtype == np.uint8 and labels.max() <= IGNORE
    assert seg.unmapped == [] and "19 source classes" in seg.description
    head = seg.model.decode_head.classifier
    with torch.no_grad():
        head.weight.zero_()
        for i, name in enumerate(CITYSCAPES):  # logits forced to one source class: our mapped class everywhere
            head.bias.copy_(torch.nn.functional.one_hot(torch.tensor(i), len(CITYSCAPES)).float() * 10)
            assert (seg.predict(images[:1]) == SOURCE_TO_CLASS[name]).all(), name

    import transformers

    half = transformers.SegformerForSemanticSegmentation.from_pretrained(tiny["seg"]).half()
    half.save_pretrained(tmp_path / "seg_half")
    shutil.copy(tiny["seg"] / "preprocessor_config.json", tmp_path / "seg_half")
    from_half = load_judge("seg", str(tmp_path / "seg_half"))  # half-precision weights run in float32
    assert from_half.model.dtype == torch.float32 and from_half.predict(images).shape == (2, 30, 45)

    renamed = _edit_config(tiny["seg"], tmp_path / "seg_water",
                           id2label={**{str(i): n for i, n in enumerate(CITYSCAPES)}, "3": "Water"})
    water = load_judge("seg", str(renamed))
    assert water.unmapped == ["Water"] and "1 unmapped" in water.description
    with torch.no_grad():
        water.model.decode_head.classifier.weight.zero_()
        water.model.decode_head.classifier.bias.copy_(torch.arange(len(CITYSCAPES)) == 3)
    assert (water.predict(images) == IGNORE).all()


@pytest.mark.slow
def test_transformers_depth_models_and_their_output_kind(tiny, tmp_path):
    images = _images(3, 33, 47)
    dpt = load_judge("depth", str(tiny["dpt"]), batch=2)
    d = dpt.predict(images)
    assert d.shape == (3, 33, 47) and d.dtype == np.float32 and np.isfinite(d).all()
    assert dpt.output == "relative_disparity" and "dpt depth" in dpt.description
    metric = load_judge("depth", str(tiny["depth_anything"]))
    m = metric.predict(images)
    assert metric.output == "metric" and m.shape == (3, 33, 47) and (m >= 0).all() and (m <= 80).all()
    relative = _edit_config(tiny["depth_anything"], tmp_path / "da_rel", depth_estimation_type="relative")
    assert load_judge("depth", str(relative)).output == "relative_disparity"
    assert load_judge("depth", str(tiny["dpt"]), output="relative_depth").output == "relative_depth"
    with pytest.raises(ValueError, match="output must be one of"):
        load_judge("depth", str(tiny["dpt"]), output="metres")


@pytest.mark.slow
def test_transformers_model_of_the_wrong_family_is_refused(tiny, tmp_path):
    for kind, folder in (("place", "seg"), ("seg", "dpt"), ("depth", "clip"), ("city", "depth_anything")):
        with pytest.raises(ValueError) as err:
            load_judge(kind, str(tiny[folder]))
        assert f"not a {kind} judge" in str(err.value) and "streetgen" in str(err.value)
        assert len(str(err.value)) < 300
    # a depth DPT whose config claims a segmentation head: the head's weights are missing, so it is refused
    claimed = _edit_config(tiny["dpt"], tmp_path / "dpt_as_seg", architectures=["DPTForSemanticSegmentation"])
    with pytest.raises(ValueError, match="weights do not fill"):
        load_judge("seg", str(claimed))
    # no head recorded: the model type's registered auto classes decide (DPT serves both heads, so it is refused)
    assert load_judge("seg", str(_edit_config(tiny["seg"], tmp_path / "no_head", architectures=None))).kind == "seg"
    with pytest.raises(ValueError, match="not a depth judge"):
        load_judge("depth", str(_edit_config(tiny["dpt"], tmp_path / "dpt_no_head", architectures=None)))
    with pytest.raises(ValueError, match="neither a streetgen architecture nor a transformers model_type"):
        load_judge("seg", str(_edit_config(tiny["seg"], tmp_path / "bare", model_type=None)))


# ---- Hub ids: fetched from the fake Hub, then from the local cache offline ----------------------------------------
class ListingHub(FakeHub):
    """FakeHub plus the two listing routes snapshot_download asks for: repo info (the revision's commit) and the
    file tree."""

    def __init__(self) -> None:
        super().__init__()
        hub, base = self, self.server.RequestHandlerClass
        route = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/(?P<what>revision|tree)/(?P<rev>[^/?]+)")

        class Handler(base):
            def do_GET(self) -> None:
                m = route.match(self.path)
                if m is None:
                    return super().do_GET()
                hub.log.append(("GET", self.path))
                repo = hub.repos.get(m["repo"])
                if repo is None:
                    return reply(self, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                if m["rev"] not in ("main", repo["sha"]):
                    return reply(self, 404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
                files = repo["files"]
                if m["what"] == "revision":
                    return reply(self, 200, {"id": m["repo"], "sha": repo["sha"],
                                             "siblings": [{"rfilename": f} for f in files]})
                return reply(self, 200, [{"type": "file", "path": f, "size": len(data),
                                          "oid": hashlib.sha1(data).hexdigest()} for f, data in files.items()])

        self.server.RequestHandlerClass = Handler


def reply(handler, code: int, obj, headers: dict | None = None) -> None:
    body = json.dumps(obj).encode()
    handler.send_response(code)
    for key, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                       **(headers or {})}.items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.slow
def test_hub_ids_are_fetched_then_served_offline_from_the_cache(tiny, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub_cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    images = _images(2)
    with ListingHub() as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)  # what HF_ENDPOINT sets at import
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        shas = {}
        for repo, folder in (("org/tiny-seg", tiny["seg"]), ("org/streetgen-depth", SHIPPED / "depth")):
            files = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}
            shas[repo] = hub.commit(repo, {**files, "pytorch_model.bin": b"pickled weights are never fetched"})
        online = load_judge("seg", "org/tiny-seg").predict(images)
        assert online.shape == (2, 40, 56)
        depth = load_judge("depth", "org/streetgen-depth")
        assert depth.output == "metric" and depth.description == "streetgen depth_estimator (org/streetgen-depth)"
        fetched = [path for method, path in hub.log if method == "GET" and "/resolve/" in path]
        assert any(p.endswith("/model.safetensors") for p in fetched) and not any(".bin" in p for p in fetched)
        with pytest.raises(JudgeNotFoundError, match="org/nothing-here"):
            load_judge("seg", "org/nothing-here")

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the Hub is gone: the cache answers
    seg = load_judge("seg", "org/tiny-seg")
    assert seg.source == "org/tiny-seg" and np.array_equal(seg.predict(images), online)
    pinned = load_judge("seg", f"org/tiny-seg@{shas['org/tiny-seg']}")
    assert np.array_equal(pinned.predict(images), online)
    assert load_judge("depth", "org/streetgen-depth").output == "metric"
    for missing in ("org/nothing-here", "org/tiny-seg@v9"):
        with pytest.raises(JudgeNotFoundError) as err:
            load_judge("seg", missing)
        message = str(err.value)
        assert missing in message and "local cache only" in message and str(tmp_path) not in message
