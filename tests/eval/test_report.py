"""Eval reports (streetgen.eval.report): metrics.md says what each number means and which judges scored it;
sheet.png shows generated images above their references."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from streetgen.eval.common import Examples, collect_examples, keep_examples
from streetgen.eval.report import (CAPTION_H, CELL_H, GAP, LABEL_W, RENDER_ONLY, UNDESCRIBED, cell_origin,
                                   judge_line, meaning, picture_sheet)
from streetgen.models.card import ModelCardInfo
from streetgen.models.judges import CityJudge, DepthEstimator, PlaceJudge, Segmenter


def test_meanings_name_the_features_and_say_what_is_comparable():
    assert "published FIDs" in meaning("fid") and "torch-fidelity" in meaning("fid")
    assert "only comparable within streetgen" in meaning("judge_frechet_distance")
    assert "place judge" in meaning("judge_frechet_distance")
    assert meaning("two_stage_fid").startswith("generated layouts painted") and "published" in meaning("two_stage_fid")
    assert "only comparable within streetgen" in meaning("unconditional_judge_kernel_distance")
    assert meaning("warp_error_ratio_steady") and meaning("depth_rmse_m_2x") and meaning("pan_raw_structure_miou")
    assert meaning("no_such_metric") is None and meaning("two_stage_no_such_metric") is None


def test_examples_are_collected_only_inside_the_block():
    a = np.zeros((8, 8, 3), np.uint8)
    keep_examples({"generated": [a]}, ["x"])  # nobody collecting: nothing happens, nothing fails
    with collect_examples() as got:
        keep_examples({"generated": [a] * 6, "reference": [a] * 5}, [str(k) for k in range(6)])
    keep_examples({"generated": [a]}, ["y"])
    assert len(got) == 1 and got[0].captions == ["0", "1", "2", "3"]  # at most 4, and no more than any row has
    assert [len(v) for v in got[0].rows.values()] == [4, 4]


def test_picture_sheet_layout_keeps_each_picture_in_its_cell():
    """Rows of pictures under column captions, one block per Examples; pictures of the cell size are pasted
    exactly, others resized to CELL_H high with their aspect ratio."""
    rng = np.random.default_rng(0)
    square = [rng.integers(0, 256, (CELL_H, CELL_H, 3), dtype=np.uint8) for _ in range(6)]
    wide = [rng.integers(0, 256, (32, 64, 3), dtype=np.uint8) for _ in range(2)]
    blocks = [Examples({"generated": square[:3], "reference": square[3:]}, ["FR", "JP", "KE"]),
              Examples({"generated": wide[:1], "reference": wide[1:]}, ["#0"])]
    sheet = picture_sheet(blocks)
    first_h = CAPTION_H + 2 * (CELL_H + GAP)
    assert sheet.shape == (first_h + CAPTION_H + 2 * (CELL_H + GAP), LABEL_W + 3 * (CELL_H + GAP), 3)
    for row in range(2):
        for col in range(3):
            top, left = cell_origin(0, row, col, (CELL_H, CELL_H))
            np.testing.assert_array_equal(sheet[top:top + CELL_H, left:left + CELL_H], square[3 * row + col])
    top, left = cell_origin(first_h, 1, 0, (CELL_H, 2 * CELL_H))
    cell = sheet[top:top + CELL_H, left:left + 2 * CELL_H].astype(int)
    assert abs(cell.mean() - wide[1].mean()) < 3  # the 32×64 reference, scaled to 128×256 in its cell
    assert (sheet[:CAPTION_H, LABEL_W:LABEL_W + 40] < 128).any()  # a caption drawn above the first column
    with pytest.raises(ValueError, match="no example"):
        picture_sheet([])


def test_judge_lines_quote_real_photo_numbers_or_say_render_only(tmp_path):
    judge = PlaceJudge(countries=["FR"], width=8, input_size=64)
    judge.save_pretrained(tmp_path / "real", card=ModelCardInfo(metrics={"real_osv5m_country_top1": 0.061,
                                                                         "country_top1": 0.239}))
    judge.save_pretrained(tmp_path / "renders", card=ModelCardInfo(metrics={"country_top1": 0.239}))
    line = judge_line("place judge", str(tmp_path / "real"))
    assert "real_osv5m_country_top1 0.061" in line and "country_top1 0.239" not in line
    assert judge_line("place judge", str(tmp_path / "renders")).endswith(RENDER_ONLY)
    assert judge_line("segmenter", str(tmp_path / "nowhere")).endswith(RENDER_ONLY)


# ---- the eval command: every task writes the meaning section, the judges and a sheet ---------------------------
@pytest.fixture(scope="module")
def tiny_judges(tmp_path_factory):
    """Random tiny judges saved as checkpoints (the numbers mean nothing; every report path runs)."""
    root = tmp_path_factory.mktemp("judges")
    torch.manual_seed(0)
    PlaceJudge(countries=["FR", "JP", "KE"], width=8, input_size=64).save_pretrained(root / "place")
    Segmenter(width=8).save_pretrained(root / "seg")
    DepthEstimator(width=8).save_pretrained(root / "depth")
    CityJudge(cities=["Paris", "Venice"], width=8, input_size=32).save_pretrained(root / "city")
    return {k: str(root / k) for k in ("place", "seg", "depth", "city")}


TASKS = {  # run -> (task, arguments, rows of its sheet, columns)
    "country": ("country", ["--model", "world", "--countries", "3", "--n", "2", "--size", "64"], 2, 3),
    "layout": ("layout", ["--model", "world", "--n", "3", "--layout-size", "64x128"], 3, 3),
    "map": ("map", ["--model", "world", "--points", "2", "--n", "1", "--size", "64"], 2, 2),
    "city": ("city", ["--model", "world", "--source", "Paris", "--target", "Venice", "--n", "2", "--size", "64"], 3, 2),
    "city_depth": ("city", ["--model", "pix2pix_depth_paris", "--n", "2"], 3, 2),  # image → depth: input, depths
}


@pytest.mark.slow
@pytest.mark.parametrize("run", list(TASKS))
def test_eval_writes_meanings_judges_and_sheet(run, tiny_judges, tmp_path):
    from streetgen.eval.__main__ import main

    task, args, rows, cols = TASKS[run]
    judges = ["--place-judge", tiny_judges["place"], "--segmenter", tiny_judges["seg"],
              "--depth-judge", tiny_judges["depth"], "--city-judge", tiny_judges["city"]]
    main(["--task", task, *args, *judges, "--out", str(tmp_path)])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    report = (tmp_path / "metrics.md").read_text()
    meanings = report.split("## What these numbers mean")[1].split("## Judges")[0]
    data = {"country": "world renders of the same countries", "layout": "from world renders.", "map": "random land",
            "city": "translated", "city_depth": "training size and twice it"}[run]
    assert data in meanings.split("\n\n")[1]
    for key in set(metrics) - {"task", "model", "sample"}:
        line = next((ln for ln in meanings.splitlines() if ln.startswith(f"- `{key}`: ")), None)
        assert line is not None and UNDESCRIBED not in line, key
    judges_part = report.split("## Judges")[1]
    used = {"country": ["place"], "map": ["place"], "layout": ["seg", "place", "depth"],
            "city": ["city", "seg", "depth"]}[task] if run != "city_depth" else ["depth"]
    for name in used:
        assert f"`{tiny_judges[name]}` — {RENDER_ONLY}" in judges_part
    assert judges_part.count("\n- ") == len(used)  # only the judges that scored this run
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    cell_w = CELL_H * 2 if task == "layout" else CELL_H  # 64×128 layouts keep their 1:2 shape
    assert sheet.shape == (CAPTION_H + rows * (CELL_H + GAP), LABEL_W + cols * (cell_w + GAP), 3)
    top, left = cell_origin(0, rows - 1, 0, (CELL_H, cell_w))
    assert sheet[top:top + CELL_H, left:left + cell_w].std() > 5  # a picture, not the blank page


@pytest.mark.slow
def test_judge_task_report_describes_every_number_and_quotes_the_card_after_card(tiny_judges, tmp_path, camvid_root):
    """`--task judge`: every real-photo number gets its meaning; after `--card` the judge's card carries real_*
    numbers, and the next report quotes them instead of calling the judge render-only."""
    import shutil

    from streetgen.eval.__main__ import main

    seg = shutil.copytree(tiny_judges["seg"], tmp_path / "seg")
    args = ["--task", "judge", "--judge", f"seg={seg}", "--data", f"camvid:{camvid_root}", "--n", "2"]
    first = main([*args, "--out", str(tmp_path / "a"), "--card"])
    report = (tmp_path / "a" / "metrics.md").read_text()
    meanings = report.split("## What these numbers mean")[1].split("## Judges")[0]
    assert "the judge itself on labelled real photos (camvid val)" in meanings
    for key in first:
        line = next((ln for ln in meanings.splitlines() if ln.startswith(f"- `{key}`: ")), None)
        assert line is not None and UNDESCRIBED not in line, key
    assert f"- seg judge: `{seg}` — {RENDER_ONLY}" in report and not (tmp_path / "a" / "sheet.png").exists()
    main([*args, "--out", str(tmp_path / "b")])
    again = (tmp_path / "b" / "metrics.md").read_text().split("## Judges")[1]
    assert f"real_camvid_val_miou_native {round(first['miou_native'], 4):.4g}" in again
