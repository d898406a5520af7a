"""What an eval run writes for a reader: `metrics.md` (the table, what each number means, which judges scored it and
how those judges do on real photos) and `sheet.png` (a few generated images above their references).

    write_report(out, "country", "cvae", metrics, {"place judge": "judges/place"}, examples)
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from streetgen.eval.common import Examples, to_markdown

OURS = "only comparable within streetgen"
STANDARD = "comparable with published FIDs at the same image count and resolution"
RENDER_ONLY = "no real-photo numbers on its card: treat its scores as render-only"
UNDESCRIBED = "no description yet (see the task's module in streetgen/eval/)"

# metric -> (what computed it, on what) + whether it is comparable; keys are exact metric names
MEANINGS: dict[str, str] = {
    "fid": f"standard FID (TF-Inception 2015-12-05 pool features, torch-fidelity), generated vs reference: {STANDARD}",
    "kid": "standard KID (same TF-Inception features, torch-fidelity's subsets, clipped to the image count): "
           "comparable with published KIDs at the same image count and resolution",
    "judge_frechet_distance": f"Fréchet distance on the place judge's 256-d features, generated vs reference: {OURS}",
    "judge_kernel_distance": f"kernel (KID-style) distance on the place judge's features: {OURS}",
    "country_top1": f"share of images whose place-judge top-1 country is the requested one: {OURS}",
    "country_top5": f"share of images with the requested country in the place judge's top 5: {OURS}",
    "country_top1_per_seed": "country_top1 for each generation seed k (how much one seed's look decides)",
    "chance_top1": "top-1 a judge guessing at random would reach (1 / its countries)",
    "diversity_within_country": f"mean pairwise place-judge feature distance within a country (0 = collapse): {OURS}",
    "n_countries": "countries judged (those both the model and the place judge know)",
    "n_images": "images generated and scored in this run",
    "seconds": "wall time of the run (generation and judging)",
    "median_location_error_km": f"median great-circle distance, requested point to the place judge's guess: {OURS}",
    "median_km_ci95_low": "lower end of a bootstrap 95% interval of that median",
    "median_km_ci95_high": "upper end of a bootstrap 95% interval of that median",
    "mean_location_error_km": f"mean great-circle distance, requested point to the place judge's guess: {OURS}",
    "data": "what the layouts and reference photos come from (world renders or CamVid val pairs)",
    "size": "image size (HxW, or pixels square) the run generated at",
    "real_layout_miou": "segmenter mIoU of the reference photos against their own layouts (the ceiling)",
    "layout_miou": f"segmenter mIoU of the generated photos against the layouts they were asked to keep: {OURS}",
    "miou_ratio_to_real": "layout_miou / real_layout_miou (1 = keeps the layout as well as a real photo does)",
    "layout_class_l1": "L1 distance between class shares of generated and real label maps (no judge)",
    "layout_row_profile_l1": "L1 distance between per-row class profiles of generated and real label maps (no judge)",
    "layout_frechet_distance": f"Fréchet distance on coarse grids of class shares, generated vs real maps: {OURS}",
    "painter": "the SPADE checkpoint that painted the generated label maps",
    "depth_rmse_m": f"depth judge's RMSE (m, sky excluded) on the generated photos vs the renderer's depth: {OURS}",
    "depth_abs_rel": f"depth judge's mean absolute relative error on the generated photos: {OURS}",
    "source": "city the inputs are rendered as", "target": "city the translation aims at",
    "strength": "SDEdit strength of the any-city route", "train_size": "the size the CycleGAN was trained at",
    "target_city_accuracy": f"share of translations the city judge calls the target city: {OURS}",
    "real_target_accuracy": "the city judge's accuracy on real renders of the target city (the ceiling)",
    "target_accuracy_ratio": "target_city_accuracy / real_target_accuracy (goal ≥ 0.9)",
    "still_source_accuracy": "share of translations the city judge still calls the source city",
    "input_target_accuracy": "share of untranslated inputs the city judge already calls the target city",
    "structure_miou": f"segmenter mIoU between the classes it reads on input and output (goal ≥ 0.7): {OURS}",
    "label_miou": f"segmenter mIoU of the translations against the inputs' true labels: {OURS}",
    "input_label_miou": "segmenter mIoU of the inputs against their true labels (the ceiling)",
    "label_miou_ratio": "label_miou / input_label_miou",
    "goal_met": "target_accuracy_ratio ≥ 0.9 and structure_miou ≥ 0.7",
    "intermediate_depth_rmse_m": "depth route: RMSE (m) of its intermediate depth vs the renderer's (no judge)",
    "intermediate_depth_abs_rel": "depth route: abs-rel error of its intermediate depth vs the renderer's (no judge)",
    "intermediate_label_miou": "layout route: mIoU of the segmenter's read layout vs the renderer's labels",
    "pans": "turning-camera videos measured", "frames_per_pan": "frames per video",
    "pan_degrees_per_frame": "camera turn between frames",
    "warp_error_input": "mean |frame − previous frame warped by the exact turn| (0–255) of the input videos",
    "steady_sharpness_ratio": "sharpness of the steadied frames / the raw translations' (blur check)",
    "city": "the city an image→depth model was trained on",
    "rmse_ratio_2x_to_1x": "depth RMSE at twice the training size / at the training size (no judge)",
}
# metric families: (pattern, meaning)
PATTERNS: list[tuple[str, str]] = [
    (r"warp_error_(fresh_seed|shared_seed|steady)", "warp error (0–255) of the translated videos (no judge)"),
    (r"warp_error_ratio_\w+", "that warp error / the input video's (1 = as stable as the input)"),
    (r"pan_(raw|steady)_target_accuracy", f"city judge's target accuracy on the video frames: {OURS}"),
    (r"pan_(raw|steady)_structure_miou", f"segmenter structure mIoU on the video frames: {OURS}"),
    (r"depth_rmse_m_[12]x", "RMSE (m, sky excluded) of the model's depth vs the renderer's, at 1× / 2× its training "
                            "size (exact depth, no judge)"),
    (r"depth_abs_rel_[12]x", "mean absolute relative error of the model's depth vs the renderer's, at 1× / 2× "
                             "(exact depth, no judge)"),
    (r"depth_judge_rmse_m_[12]x", f"the depth judge's RMSE on the same images (a reference): {OURS}"),
    (r"size_[12]x", "image size at 1× / 2× the training size"),
]
# `--task judge`: a judge scored on labelled real photos (streetgen/eval/real.py); these numbers say how far its
# scores of generated images can be trusted
REAL = "on labelled real photos"
JUDGE_MEANINGS: dict[str, str] = {
    "judge": "the judge scored (its source and family)", "n_images": "real photos scored",
    "seconds": "wall time of the run (loading, reading the photos and judging)",
    "data": "the labelled real photos it was scored on (kind and split)",
    "country_top1": f"share of real photos whose top-1 country is the true one ({REAL}; comparable with OSV-5M "
                    "papers only on the whole OSV-5M test split)",
    "country_top5": f"share of real photos with the true country in the top 5 ({REAL})",
    "always_most_common_top1": "top-1 of always answering the data's most common country (the floor to beat)",
    "most_common_country": "the data's most common true country",
    "true_countries_unknown_to_judge": "real photos whose true country the judge cannot answer",
    "region_style_top1": f"share whose predicted country has the true country's region style ({REAL})",
    "drive_side_accuracy": f"share whose predicted country drives on the true side ({REAL})",
    "top1_answers": "the judge's five most frequent answers and their counts (a judge stuck on one answer shows here)",
    "median_km": f"median great-circle error of the judge's coordinates ({REAL})",
    "geoscore": "OSV-5M's GeoScore, mean 5000·exp(−km / 1492.7) (0–5000; comparable on the whole OSV-5M test)",
    "city_top1": f"share of city photos the judge puts in the right city ({REAL})",
    "per_city_top1": "city_top1 for each city folder",
    "chance_top1": "top-1 of guessing at random among the judge's cities",
    "true_share": "share of labelled pixels of each class in the data",
    "pred_share": "share of pixels the judge gives each class (unmapped: its labels outside our 11)",
    "rmse_m": f"mean per-image depth RMSE (m) below max_depth_m ({REAL}; KITTI-style when data and range match)",
    "abs_rel": f"mean per-image absolute relative depth error ({REAL})",
    "delta_1.25": f"share of pixels with max(pred/true, true/pred) < 1.25 ({REAL})",
    "judge_output": "what the depth judge outputs (metric, or relative and aligned per image)",
    "max_depth_m": "pixels farther than this are not scored", "aligned": "whether predictions were aligned first",
}
JUDGE_PATTERNS: list[tuple[str, str]] = [
    (r"miou_(native|\d+rows)", f"dataset-level mean IoU over our 11 classes, void ignored, at the photos' native size "
                               f"or scaled to that many rows ({REAL}; CamVid 11-class papers on the same split)"),
    (r"pixel_accuracy_(native|\d+rows)", f"share of labelled pixels given the right class ({REAL})"),
    (r"per_class_iou_(native|\d+rows)", "IoU of each class at that scale"),
    (r"within_\d+km", "share of real photos located within that distance (OSV-5M's thresholds)"),
]
PREFIXES = {"two_stage_": "generated layouts painted by the painter: ",
            "unconditional_": "photos sampled with no country: "}
DATA = {"country": "images generated for each place-judge country vs world renders of the same countries (other "
                   "seeds)",
        "map": "images generated for random land points vs the requested points",
        "layout": "layouts and reference photos from {data}",
        "city": "world renders of the source city, translated; real renders of the target city as reference",
        "judge": "the judge itself on labelled real photos ({data}), not on generated images",
        "city_depth": "unseen world renders of the model's city at its training size and twice it, with their depth"}


def meaning(key: str, task: str = "") -> str | None:
    """What the metric `key` of `task` measures, with which judge or features, and whether it compares with papers."""
    if task == "judge":
        return JUDGE_MEANINGS.get(key) or next((text for pattern, text in JUDGE_PATTERNS
                                                if re.fullmatch(pattern, key)), MEANINGS.get(key))
    for prefix, what in PREFIXES.items():
        if key.startswith(prefix) and meaning(key[len(prefix):]):
            return what + meaning(key[len(prefix):])
    if key in MEANINGS:
        return MEANINGS[key]
    return next((text for pattern, text in PATTERNS if re.fullmatch(pattern, key)), None)


def judges_used(task: str, args: Any, metrics: dict | None = None) -> dict[str, str]:
    """Role → source of each judge a task scored with, from the command line's options: `--judge KIND=SOURCE` is
    the judge task's judge and the layout/city tasks' segmenter; an image→depth city row uses the depth judge only."""
    kind, _, judge = str(getattr(args, "judge", "") or "").partition("=")
    if task == "judge":
        return {f"{kind.strip()} judge": judge.strip()}
    roles = {"country": ("place_judge",), "map": ("place_judge",),
             "layout": ("segmenter", "place_judge", "depth_judge"),
             "city": ("city_judge", "segmenter", "depth_judge")}[task]
    if task == "city" and "rmse_ratio_2x_to_1x" in (metrics or {}):
        roles = ("depth_judge",)
    names = {"place_judge": "place judge", "segmenter": "segmenter", "depth_judge": "depth judge",
             "city_judge": "city judge"}
    used = {names[r]: getattr(args, r) for r in roles if getattr(args, r, "")}
    if "segmenter" in used and kind.strip() == "seg" and judge.strip():
        used["segmenter"] = judge.strip()
    return used


DETAIL = ("_within_", "_always_most_common", "_true_countries_unknown")  # card numbers a Judges line leaves out


def judge_line(role: str, source: str) -> str:
    """One Judges line: the judge, its source and the real-photo numbers its card carries (`real_*` metrics)."""
    from streetgen.eval.judge_base import card_metrics
    from streetgen.eval.judges import resolve_judge_source

    try:
        numbers = card_metrics(resolve_judge_source(source))
    except (OSError, ValueError):  # not found locally nor in the Hub cache: nothing to quote
        numbers = {}
    # per-class and per-threshold numbers stay in the card
    headline = {k: v for k, v in numbers.items() if "/" not in k and not any(d in k for d in DETAIL)}
    text = ", ".join(f"{k} {v:.4g}" for k, v in headline.items())
    return f"- {role}: `{source}` — " + (f"real-photo numbers on its card: {text}" if text else RENDER_ONLY)


def meaning_section(task: str, metrics: dict) -> str:
    """The "What these numbers mean" section: the data, then one line per metric present."""
    source = str(metrics.get("data", "world"))
    key = "city_depth" if task == "city" and "rmse_ratio_2x_to_1x" in metrics else task
    data = DATA[key].format(data="world renders" if source == "world" else source)
    lines = [f"- `{k}`: {meaning(k, task) or UNDESCRIBED}" for k in metrics]
    if task == "judge" and source == "world renders":  # `--task judge --data world`: the render side of validity
        data = "the judge itself on unseen world renders with exact labels (its render score), not on generated images"
        lines = [line.replace("labelled real photos", "unseen renders").replace("real photos", "renders")
                 for line in lines]
    return "## What these numbers mean\n\nData: " + data + ".\n\n" + "\n".join(lines) + "\n"


def report_markdown(task: str, model: str, metrics: dict, judges: dict[str, str]) -> str:
    """metrics.md: the table, what each number means, and the judges with their real-photo numbers."""
    judge_lines = [judge_line(role, source) for role, source in judges.items()] or ["- none"]
    return (to_markdown(task, model, metrics) + "\n" + meaning_section(task, metrics)
            + "\n## Judges\n\n" + "\n".join(judge_lines) + "\n")


LABEL_W, CAPTION_H, GAP, CELL_H = 170, 18, 4, 128  # picture sheet geometry (pixels)


def cell_size(block: Examples) -> tuple[int, int]:
    """(height, width) of every picture in a block: CELL_H high, the first image's aspect ratio."""
    h, w = next(iter(block.rows.values()))[0].shape[:2]
    return CELL_H, max(1, round(w * CELL_H / h))


def cell_origin(block_top: int, row: int, col: int, cell: tuple[int, int]) -> tuple[int, int]:
    """(top, left) pixel of picture (row, col) of a block that starts at `block_top`."""
    return block_top + CAPTION_H + row * (cell[0] + GAP), LABEL_W + col * (cell[1] + GAP)


def picture_sheet(examples: list[Examples]) -> np.ndarray:
    """uint8 (H, W, 3) sheet: per block, a caption above each column and a label left of each row."""
    from PIL import Image, ImageDraw

    blocks = [b for b in examples if b.captions and b.rows]
    if not blocks:
        raise ValueError("no example images to draw")
    sizes = [cell_size(b) for b in blocks]
    heights = [CAPTION_H + len(b.rows) * (c[0] + GAP) for b, c in zip(blocks, sizes)]
    width = max(LABEL_W + len(b.captions) * (c[1] + GAP) for b, c in zip(blocks, sizes))
    sheet = Image.new("RGB", (width, sum(heights)), "white")
    draw = ImageDraw.Draw(sheet)
    top = 0
    for block, cell, height in zip(blocks, sizes, heights):
        for col, caption in enumerate(block.captions):
            draw.text((cell_origin(top, 0, col, cell)[1] + 2, top + 3), caption[:40], fill="black")
        for row, (label, images) in enumerate(block.rows.items()):
            y, _ = cell_origin(top, row, 0, cell)
            draw.text((4, y + cell[0] // 2 - 6), label[:28], fill="black")
            for col, image in enumerate(images[:len(block.captions)]):
                picture = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
                if picture.size != (cell[1], cell[0]):
                    picture = picture.resize((cell[1], cell[0]), Image.BILINEAR)
                sheet.paste(picture, cell_origin(top, row, col, cell)[::-1])
        top += height
    return np.asarray(sheet)


def write_report(out: str | Path, task: str, model: str, metrics: dict, judges: dict[str, str],
                 examples: list[Examples]) -> list[Path]:
    """Write metrics.md (and sheet.png when the task handed back examples) under `out`; the paths written."""
    from PIL import Image

    out = Path(out)
    written = [out / "metrics.md"]
    written[0].write_text(report_markdown(task, model, metrics, judges), encoding="utf-8")
    if any(b.captions and b.rows for b in examples):
        written.append(out / "sheet.png")
        Image.fromarray(picture_sheet(examples)).save(written[1])
    return written
