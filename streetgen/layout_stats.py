"""Cheap, interpretable realism measures for sets of street label maps (numpy only).

A generated layout set can be wrong in two ways a reader can see at a glance: the wrong amount of each class
(too much sky, no cars), or classes at the wrong heights (road above buildings, sky at the bottom). Two numbers
cover them, both between two *sets* of maps so no pairing is needed:

- class_l1: L1 distance between the pixel frequencies of the classes (0 = same mix; at most 2);
- row_profile_l1: per image row, the fraction of each class, averaged over the set; the mean over rows of the L1
  distance between the two profiles (0 = classes at the same heights; at most 2). Maps of different heights are
  compared on a common number of rows (the smaller one) by averaging rows into bands.

    d = layout_distance(generated, real)   # {"class_l1": …, "row_profile_l1": …}
"""
from __future__ import annotations

import numpy as np

from streetgen.classes import NUM_CLASSES  # id 11 (void) is ignored by every measure here



def _as_maps(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels[None]
    if labels.ndim != 3:
        raise ValueError(f"label maps must be (H, W) or (N, H, W), got shape {labels.shape}")
    return labels


def class_histogram(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(num_classes,) pixel frequencies of a map or a set of maps, summing to 1 (ids ≥ num_classes ignored)."""
    flat = _as_maps(labels).reshape(-1).astype(np.int64)
    counts = np.bincount(flat[(flat >= 0) & (flat < num_classes)], minlength=num_classes)[:num_classes]
    total = counts.sum()
    return counts / total if total else np.zeros(num_classes)


def row_profile(labels: np.ndarray, rows: int | None = None, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(rows, num_classes): per row (or band of rows), the fraction of each class, averaged over the set.

    Void pixels count for nothing, so a row's fractions sum to the share of it that is labelled.
    """
    maps = _as_maps(labels)
    n, h, w = maps.shape
    rows = h if rows is None else int(rows)
    if not 1 <= rows <= h:
        raise ValueError(f"rows must be in 1..{h}, got {rows}")
    # one class at a time: an (N, H, W, C) one-hot of a thousand 128×256 maps would take 360 MB
    per_row = np.stack([(maps == c).mean(axis=(0, 2)) for c in range(num_classes)], axis=1)  # (H, C)
    band = np.minimum((np.arange(h) * rows) // h, rows - 1)  # which band each row falls in
    out = np.zeros((rows, num_classes))
    np.add.at(out, band, per_row)
    return out / np.bincount(band, minlength=rows)[:, None]


def layout_distance(a: np.ndarray, b: np.ndarray, num_classes: int = NUM_CLASSES) -> dict[str, float]:
    """{"class_l1", "row_profile_l1"} between two sets of label maps (widths may differ; heights are banded)."""
    a, b = _as_maps(a), _as_maps(b)
    rows = min(a.shape[1], b.shape[1])
    class_l1 = np.abs(class_histogram(a, num_classes) - class_histogram(b, num_classes)).sum()
    profile_l1 = np.abs(row_profile(a, rows, num_classes) - row_profile(b, rows, num_classes)).sum(axis=1).mean()
    return {"class_l1": float(class_l1), "row_profile_l1": float(profile_l1)}
