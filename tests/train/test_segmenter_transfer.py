"""The segmenter's transfer training: crops at random scales, strong photometric augmentation, class balance, and
an export that reads photos at any size (its card carries the real CamVid numbers)."""
import json

import numpy as np
import pytest
import torch

import streetgen
from streetgen.models.judges import Segmenter
from train.common.data import photometric, rescaled_crops
from train.train_segmenter import class_weights


def _stripes(scale: float) -> int:
    """Label changes along the middle row of a 32² crop of 16-px stripes, seen at `scale` from a 2× source."""
    labels = np.broadcast_to((np.arange(256) // 16 % 2).astype(np.uint8), (1, 256, 256)).copy()
    images = np.repeat(labels[..., None] * 255, 3, -1).astype(np.uint8)
    _, y = rescaled_crops(images, labels, 32, 1, torch.Generator().manual_seed(0), (scale, scale), base=2.0)
    assert set(np.unique(y.numpy())) <= {0, 1}  # nearest neighbour: no invented classes
    return int(np.count_nonzero(np.diff(y[0, 16].numpy())))


def test_rescaled_crops_zoom_in_by_the_drawn_scale():
    assert _stripes(1.0) >= 3 and _stripes(2.0) <= 2  # 64 source px → 4 stripes; 32 px → 2


def test_photometric_is_bounded_seeded_and_changes_colour():
    x = torch.rand(6, 3, 32, 32)
    a = photometric(x.clone(), torch.Generator().manual_seed(1))
    b = photometric(x.clone(), torch.Generator().manual_seed(1))
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1 and torch.equal(a, b)
    assert (a - x).abs().mean() > 0.02


def test_class_weights_favour_rare_classes():
    labels = np.zeros((1, 10, 10), np.uint8)
    labels[0, 0, :2] = 2  # Pole: 2 of 100 pixels
    labels[0, 5:] = 3  # Road: half
    sources = [(None, labels)]
    assert class_weights(sources, [4], 0) is None
    w = class_weights(sources, [4], 0.5)
    assert w[2] > w[0] > w[3]


def test_input_rows_reads_any_size_at_the_learned_scale():
    seg = Segmenter(width=4, input_rows=32).eval()
    x = torch.rand(1, 3, 96, 128)
    small = torch.nn.functional.interpolate(x, size=(32, 43), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        expected = torch.nn.functional.interpolate(seg(small), size=(96, 128), mode="bilinear").argmax(1)
    assert torch.equal(seg.predict(x), expected) and seg.predict(x).shape == (1, 96, 128)


@pytest.mark.slow
def test_transfer_run_exports_a_judge_with_real_numbers(tmp_path, camvid_root):
    from train.train_segmenter import main

    export = main(["--runs-dir", str(tmp_path), "--name", "t", "--per-city", "1", "--per-country", "0", "--size",
                   "64", "--width", "4", "--steps", "3", "--batch-size", "4", "--camvid", str(camvid_root),
                   "--scale-min", "0.8", "--scale-max", "1.5", "--photometric", "--class-balance", "0.5",
                   "--input-rows", "64", "--role", "judge", "--log-every", "1", "--device", "cpu", "--no-progress"])
    assert json.loads((export / "config.json").read_text())["input_rows"] == 64
    assert streetgen.load(str(export)).input_rows == 64
    card = (export / "README.md").read_text()
    assert "real_camvid_val_miou_native" in card and "seg judge" in card and "random scales 0.8–1.5" in card
    with pytest.raises(ValueError, match="--role"):
        main(["--runs-dir", str(tmp_path), "--name", "u", "--role", "painter", "--device", "cpu"])
