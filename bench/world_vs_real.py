"""How far the world's renders are from real street photos, in numbers anyone can read (issue 35's baseline).

    python bench/world_vs_real.py --camvid ../shared/datasets/camvid --n 3

Renders n places per judge country at CamVid's aspect (96×128) beside CamVid val (101 Cambridge photos scaled to
96×128) and prints:
- the share of pixels of each class, renders vs photos (labels: exact for renders, CamVid's for photos);
- where the classes sit: `streetgen.layout_stats` class and row-profile L1 distances;
- the look: luminance and saturation histograms (16 bins each) and their L1 distance, mean luminance, contrast
  (per-image standard deviation of luminance) and saturation.
CamVid is one city in one season, so these are distances to *a* real street set, not to all of them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streetgen import classes, layout_stats, world  # noqa: E402

SIZE = (96, 128)  # rows, columns: CamVid's 3:4


def look(images: np.ndarray, bins: int = 16) -> dict[str, np.ndarray | float]:
    """Luminance (Rec. 601) and HSV-saturation histograms of uint8 images (N, H, W, 3), normalised, plus their
    means and the mean per-image luminance standard deviation (contrast)."""
    x = images.astype(np.float32) / 255
    luma = x @ np.array([0.299, 0.587, 0.114], np.float32)
    top, bottom = x.max(-1), x.min(-1)
    sat = np.where(top > 0, (top - bottom) / np.maximum(top, 1e-6), 0)
    hist = {k: np.histogram(v, bins=bins, range=(0, 1))[0] / v.size for k, v in (("luma", luma), ("sat", sat))}
    return {"luma_hist": hist["luma"], "sat_hist": hist["sat"], "mean_luma": float(luma.mean()),
            "contrast": float(luma.reshape(len(x), -1).std(1).mean()), "mean_sat": float(sat.mean())}


def compare(renders: tuple[np.ndarray, np.ndarray], photos: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """Distances between (images, labels) of renders and of real photos (both at the same size)."""
    a, b = look(renders[0]), look(photos[0])
    out = dict(layout_stats.layout_distance(renders[1], photos[1]))
    out["luma_hist_l1"] = float(np.abs(a["luma_hist"] - b["luma_hist"]).sum())
    out["sat_hist_l1"] = float(np.abs(a["sat_hist"] - b["sat_hist"]).sum())
    for key in ("mean_luma", "contrast", "mean_sat"):
        out[f"{key}_renders"], out[f"{key}_photos"] = a[key], b[key]
    return out


def camvid_val(root: str) -> tuple[np.ndarray, np.ndarray]:
    """CamVid val photos (antialiased) and labels (nearest) at SIZE."""
    from streetgen.data import camvid_pairs

    pairs = camvid_pairs(root, "val")
    ims, labs = [], []
    for i in range(len(pairs)):
        image, label = pairs[i]
        ims.append(np.asarray(Image.fromarray(image).resize(SIZE[::-1], Image.BILINEAR, reducing_gap=2.0)))
        labs.append(np.asarray(Image.fromarray(label).resize(SIZE[::-1], Image.NEAREST)))
    return np.stack(ims), np.stack(labs)


def renders(n: int, seed: int = 9005) -> tuple[np.ndarray, np.ndarray]:
    """n world renders per judge country at SIZE (seed 9005: none of the judges' or evals' seeds)."""
    from streetgen.eval.judges import default_countries

    samples = [world.render_country(c, seed=seed * 1000 + k, size=SIZE) for k in range(n) for c in default_countries()]
    return np.stack([s.image for s in samples]), np.stack([s.labels for s in samples])


def profile_picture(labels: np.ndarray, width: int = 128) -> np.ndarray:
    """uint8 (H, width, 3): each row of the set's row profile as a bar of class colours, left to right in class
    order, void (unlabelled) black at the right: where in the frame each class sits, at a glance."""
    prof = layout_stats.row_profile(labels)
    out = np.zeros((len(prof), width, 3), np.uint8)
    for r, shares in enumerate(prof):
        edges = np.round(np.concatenate([[0], np.cumsum(shares)]) * width).astype(int)
        for c in range(len(shares)):
            out[r, edges[c]:edges[c + 1]] = classes.PALETTE[c]
    return out


def sheet(fake: tuple[np.ndarray, np.ndarray], real: tuple[np.ndarray, np.ndarray], k: int = 6) -> np.ndarray:
    """Two rows — renders, then CamVid photos — of k pictures each, then each set's row-profile picture."""
    pick = lambda x: np.linspace(0, len(x) - 1, k).astype(int)  # noqa: E731
    rows = [np.concatenate([*x[0][pick(x[0])], profile_picture(x[1])], 1) for x in (fake, real)]
    return np.concatenate(rows, 0)


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--camvid", default="../shared/datasets/camvid", help="CamVid root (val split is read)")
    p.add_argument("--n", type=int, default=3, help="renders per judge country")
    p.add_argument("--png", default="", help="also save renders | photos with their row profiles as this PNG")
    args = p.parse_args(argv)
    t0 = time.time()
    real, fake = camvid_val(args.camvid), renders(args.n)
    share = [layout_stats.class_histogram(x[1]) for x in (fake, real)]
    print(f"{len(fake[0])} renders vs {len(real[0])} CamVid val photos at {SIZE[0]}x{SIZE[1]} "
          f"({time.time() - t0:.0f} s)\n\n| class | renders | CamVid val |\n|---|---|---|")
    for name, r, c in zip(classes.CLASS_NAMES, *share):
        print(f"| {name} | {r:.3f} | {c:.3f} |")
    out = compare(fake, real)
    print("\n| measure | value |\n|---|---|")
    for k, v in out.items():
        print(f"| {k} | {v:.3f} |")
    if args.png:
        Image.fromarray(sheet(fake, real)).save(args.png)
    return out


if __name__ == "__main__":
    main()
