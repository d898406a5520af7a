"""Model cards carry the Hub's pipeline_tag, base_model and datasets in their YAML, and read_card gets them back."""
from __future__ import annotations

import yaml

from streetgen.data.licences import source
from streetgen.models.card import PIPELINE_TAGS, ModelCardInfo, card_text, read_card
from streetgen.models.base import REGISTRY


def _front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_pipeline_tag_base_model_and_data_round_trip(tmp_path):
    info = ModelCardInfo(description="d", base_model=["streetgen/country-diffusion"], **source("osv5m").card_fields())
    text = card_text("country_diffusion", info)
    front = _front_matter(text)
    assert front["pipeline_tag"] == "unconditional-image-generation" and front["license"] == "cc-by-sa-4.0"
    assert front["datasets"] == ["osv5m/osv5m"] and front["base_model"] == "streetgen/country-diffusion"
    assert "https://huggingface.co/datasets/osv5m/osv5m" in text
    (tmp_path / "README.md").write_text(text)
    back = read_card(tmp_path)
    assert back.pipeline_tag == "unconditional-image-generation" and back.base_model == info.base_model
    assert back.datasets == ["osv5m/osv5m"] and back.license == "cc-by-sa-4.0"
    assert back.data_license == info.data_license


def test_two_base_models_and_an_explicit_tag(tmp_path):
    info = ModelCardInfo(base_model=["a/one", "b/two"], pipeline_tag="image-to-image")
    text = card_text("unknown_arch", info)
    assert _front_matter(text)["base_model"] == ["a/one", "b/two"]
    (tmp_path / "README.md").write_text(text)
    assert read_card(tmp_path).base_model == ["a/one", "b/two"]
    assert "pipeline_tag" not in _front_matter(card_text("unknown_arch", ModelCardInfo()))


def test_every_library_architecture_has_a_hub_task():
    import streetgen.models  # noqa: F401  (imports, so registers, every model module)

    ours = {name for name, cls in REGISTRY.items() if cls.__module__.startswith("streetgen.models.")}
    assert len(ours) >= 12 and ours <= set(PIPELINE_TAGS), ours - set(PIPELINE_TAGS)
    assert set(PIPELINE_TAGS.values()) <= {"unconditional-image-generation", "image-to-image",
                                           "image-classification", "image-segmentation", "depth-estimation"}
