"""Model specs ("a+b") are parsed in one place; the pipeline base loads and moves its parts."""
import pytest
import torch

from streetgen.pipelines.base import Pipeline
from streetgen.specs import load_spec, parse_spec


def test_parse_spec_splits_on_plus_and_checks_the_count():
    assert parse_spec("cvae") == ["cvae"]
    assert parse_spec("street_segmenter+spade_cities") == ["street_segmenter", "spade_cities"]
    with pytest.raises(ValueError, match="names 3 model"):
        parse_spec("a+b+c", count=2)
    with pytest.raises(ValueError, match="checkpoint name"):
        parse_spec("")


def test_load_spec_refuses_a_wrong_count_before_loading_anything():
    with pytest.raises(ValueError, match="takes 2"):
        load_spec("no_such_model_a+no_such_model_b+no_such_model_c", count=2)


def test_pipeline_base_moves_every_part_and_needs_a_spec():
    class Two(Pipeline):
        parts = ("model", "other")

        def __init__(self, model, other) -> None:
            super().__init__(model)
            self.other = other

    pipe = Two(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    assert pipe.to(torch.float64) is pipe
    assert pipe.model.weight.dtype == pipe.other.weight.dtype == torch.float64
    with pytest.raises(TypeError, match="needs a model spec"):
        Two.from_pretrained()
    with pytest.raises(ValueError, match="takes 2"):
        Two.from_pretrained("only_one_name")
