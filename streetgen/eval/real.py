"""A judge scored on labelled real photos: how far its numbers can be trusted before it scores generations.

    python -m streetgen.eval --task judge --judge seg=judges/seg --data camvid:ROOT --split val
    python -m streetgen.eval --task judge --judge place=judges/place --data camvid:ROOT      # all of CamVid is GB
    python -m streetgen.eval --task judge --judge place=ORG/GEOCLIP --data osv5m:ROOT --split test --n 2000 --size 224
    python -m streetgen.eval --task judge --judge city=judges/city --data cities:ROOT     # ROOT/<City>/*.jpg
    python -m streetgen.eval --task judge --judge depth=judges/depth --data depth:ROOT   # ROOT/images + ROOT/depth
    python -m streetgen.eval --task judge --judge seg=judges/seg --data world           # the same, on unseen renders

Data kinds and what they label: `camvid` (11-class label maps; every frame is Cambridge, GB, so place judges can
be scored on it too), `osv5m` (country and coordinates of each photo), `cities` (one folder per city), `depth`
(photos + depth maps in metres, `streetgen.data.DepthPairs` encodings), and `world`: unseen renders with exact
labels (n per country of the place judge's countries, or per famous city; seed JUDGE_EVAL_SEED), so the same
command gives the render column of a judge's validity table. Judges come from
`streetgen.eval.judges.load_judge` (streetgen checkpoints or transformers models).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from streetgen import classes, geo, metrics

DATA_KINDS = ("camvid", "osv5m", "cities", "depth", "world")
CAMVID_PLACE = ("GB", 52.2053, 0.1218)  # CamVid was filmed in Cambridge, England
OSV5M_KM = (1, 25, 200, 750, 2500)  # OSV-5M's distance thresholds (street, city, region, country, continent)
SEG_ROWS = 128  # the second reading of every segmentation set: photos scaled to this many rows


def parse_data(text: str) -> tuple[str, str]:
    """'KIND:ROOT' → (kind, root), KIND one of DATA_KINDS."""
    kind, sep, root = text.partition(":")
    if kind == "world" and not root:
        return kind, ""
    if not sep or kind not in DATA_KINDS or not root:
        raise ValueError(f"--data must be KIND:ROOT with KIND one of {', '.join(DATA_KINDS)}, got {text[:80]!r}")
    return kind, root


def eval_judge(judge: Any, data: str, split: str = "val", n: int = 0, size: int = 224, seed: int = 0,
               depth_encoding: str = "mm", max_depth: float = 80.0) -> dict[str, Any]:
    """The judge's numbers on labelled real photos `data` ('KIND:ROOT', or 'world' for unseen renders); `n` > 0
    scores a random n of them (world: n per country or city, default 5)."""
    kind, root = parse_data(data)
    if kind == "world":
        return {"judge": judge.description, "data": "world renders", **on_renders(judge, n or 5, size, seed)}
    out: dict[str, Any] = {"judge": judge.description, "data": f"{kind} {split}" if kind in ("camvid", "osv5m")
                           else kind}
    if judge.kind == "seg" and kind == "camvid":
        from streetgen.data import camvid_pairs
        pairs = camvid_pairs(root, split)
        return {**out, **seg_scores(judge, pairs, _subset(len(pairs), n, seed))}
    if judge.kind == "place" and kind in ("camvid", "osv5m"):
        return {**out, **place_on(judge, kind, root, split, n, size, seed)}
    if judge.kind == "city" and kind == "cities":
        return {**out, **city_scores(judge, root, size, n, seed)}
    if judge.kind == "depth" and kind == "depth":
        from streetgen.data import DepthPairs
        pairs = DepthPairs(Path(root) / "images", Path(root) / "depth", encoding=depth_encoding)
        return {**out, **depth_scores(judge, pairs, _subset(len(pairs), n, seed), max_depth)}
    raise ValueError(f"a {judge.kind} judge cannot be scored on {kind} data; use "
                     + {"seg": "camvid", "place": "camvid or osv5m", "city": "cities", "depth": "depth"}[judge.kind]
                     + " (or world, for renders)")


def _subset(total: int, n: int, seed: int) -> np.ndarray:
    """All indices, or a sorted random n of them (a fixed seed: the same photos every run)."""
    if n <= 0 or n >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


def _rows(image: np.ndarray, label: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A photo (antialiased) and its label map (nearest) scaled to `rows` rows, aspect kept."""
    h, w = label.shape
    size = (max(1, round(w * rows / h)), rows)
    return (np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=2.0)),
            np.asarray(Image.fromarray(label).resize(size, Image.NEAREST)))


def seg_scores(judge: Any, pairs: Any, indices: np.ndarray) -> dict[str, Any]:
    """Dataset-level IoU per class, mean IoU and pixel accuracy, each at the photos' native size and at SEG_ROWS
    rows; `pred_share` is the share of labelled pixels the judge gives each class (against `true_share`)."""
    n = classes.NUM_CLASSES
    names = classes.CLASS_NAMES[:n]
    cms = {"native": np.zeros((n, n + 1), np.int64), f"{SEG_ROWS}rows": np.zeros((n, n + 1), np.int64)}
    for i in indices:
        image, label = pairs[int(i)]
        for tag, (im, lab) in zip(cms, ((image, label), _rows(image, label, SEG_ROWS))):
            cms[tag] += metrics.confusion(judge.predict(im[None])[0], lab, n, classes.IGNORE)
    out: dict[str, Any] = {"n_images": len(indices)}
    for tag, cm in cms.items():
        ious = metrics.iou_from_confusion(cm)
        present = [v for v in ious if v == v]
        out[f"miou_{tag}"] = float(np.mean(present)) if present else float("nan")
        out[f"pixel_accuracy_{tag}"] = float(np.trace(cm[:, :n]) / max(cm.sum(), 1))
        out[f"per_class_iou_{tag}"] = {c: round(v, 4) for c, v in zip(names, ious) if v == v}
    cm = cms["native"]
    out["true_share"] = {c: round(float(v), 4) for c, v in zip(names, cm.sum(1) / max(cm.sum(), 1))}
    out["pred_share"] = {c: round(float(v), 4) for c, v in zip([*names, "unmapped"], cm.sum(0) / max(cm.sum(), 1))}
    return out


def _place_data(kind: str, root: str, split: str, n: int, size: int, seed: int):
    """(photos as size² central squares, true countries, true (lat, lon)) of a camvid or osv5m split."""
    from streetgen.data import OSV5M, camvid_pairs
    from streetgen.data.image import decode

    if kind == "camvid":
        pairs = camvid_pairs(root, split)
        idx = _subset(len(pairs), n, seed)
        photos = np.stack([decode(pairs.pairs[int(i)][0], size) for i in idx])
        cc, lat, lon = CAMVID_PLACE
        return photos, [cc] * len(idx), np.tile([lat, lon], (len(idx), 1))
    ds = OSV5M(root, split)
    idx = _subset(len(ds), n, seed)
    photos = np.stack([ds.image(int(i), size) for i in idx])
    return photos, [ds.country[i] for i in idx], np.stack([ds.lat[idx], ds.lon[idx]], 1)


def place_on(judge: Any, kind: str, root: str, split: str, n: int, size: int, seed: int) -> dict[str, Any]:
    """Country top-1/top-5, region style, drive side and (when the judge gives coordinates) distance errors and
    OSV-5M's GeoScore, beside the score of always answering the data's most common country."""
    return place_scores(judge, *_place_data(kind, root, split, n, size, seed))


def place_scores(judge: Any, photos: np.ndarray, truth: list[str], latlon: np.ndarray) -> dict[str, Any]:
    """`place_on`'s numbers for photos whose countries and coordinates are known."""
    preds = [judge.predict(photos[i:i + 64]) for i in range(0, len(photos), 64)]
    labels = list(preds[0]["countries"])
    probs = np.concatenate([p["probs"] for p in preds])
    order = np.argsort(-probs, axis=1)
    top1 = [labels[k] for k in order[:, 0]]
    common = max(set(truth), key=truth.count)
    style = geo.STYLE_OF_COUNTRY.get
    out: dict[str, Any] = {
        "n_images": len(truth),
        "country_top1": float(np.mean([p == t for p, t in zip(top1, truth)])),
        "country_top5": float(np.mean([t in {labels[k] for k in row[:5]} for row, t in zip(order, truth)])),
        "always_most_common_top1": truth.count(common) / len(truth),
        "most_common_country": common,
        "true_countries_unknown_to_judge": int(sum(t not in labels for t in truth)),
        "region_style_top1": float(np.mean([style(p) == style(t) and style(t) is not None
                                            for p, t in zip(top1, truth)])),
        "drive_side_accuracy": float(np.mean([(p in geo.LEFT_DRIVING) == (t in geo.LEFT_DRIVING)
                                              for p, t in zip(top1, truth)])),
        "top1_answers": dict(sorted(((c, top1.count(c)) for c in set(top1)), key=lambda kv: -kv[1])[:5]),
    }
    if preds[0].get("latlon") is not None:
        guess = np.concatenate([p["latlon"] for p in preds])
        km = geo.haversine_km(guess[:, 0], guess[:, 1], latlon[:, 0], latlon[:, 1])
        out["median_km"] = float(np.median(km))
        out["geoscore"] = float(np.mean(5000 * np.exp(-km / 1492.7)))  # OSV-5M's GeoScore (0–5000)
        out.update({f"within_{d}km": float(np.mean(km <= d)) for d in OSV5M_KM})
    return out


def city_scores(judge: Any, root: str, size: int, n: int, seed: int) -> dict[str, Any]:
    """City top-1 overall and per folder; each subfolder of root is a city the judge must know."""
    from streetgen.data import ImageFolder

    folders = sorted(p for p in Path(root).iterdir() if p.is_dir())
    if not folders:
        raise ValueError("cities data needs one folder of photos per city, named like the judge's cities")
    photos = {f: ImageFolder(f, size=size) for f in folders}
    return city_scores_on(judge, {f.name: np.stack([ph[int(i)] for i in _subset(len(ph), n, seed)])
                                  for f, ph in photos.items()})


def city_scores_on(judge: Any, photos: dict[str, np.ndarray]) -> dict[str, Any]:
    """City top-1 overall and per city of {city name: photos}; every name must be one of the judge's cities."""
    answers = {name: [judge.predict(x[j:j + 64]) for j in range(0, len(x), 64)] for name, x in photos.items()}
    cities = list(next(iter(answers.values()))[0]["cities"])
    known = {c.lower().replace("_", " "): k for k, c in enumerate(cities)}
    unknown = [name for name in photos if name.lower().replace("_", " ") not in known]
    if unknown:
        raise ValueError(f"cities data: folders must be named like the judge's cities ({', '.join(cities)}); "
                         f"not known: {', '.join(unknown)[:120]}")
    per_city, hits = {}, []
    for name, parts in answers.items():
        want = known[name.lower().replace("_", " ")]
        got = np.concatenate([a["probs"].argmax(1) for a in parts])
        per_city[cities[want]] = float(np.mean(got == want))
        hits.append(got == want)
    return {"n_images": int(sum(len(h) for h in hits)), "city_top1": float(np.mean(np.concatenate(hits))),
            "chance_top1": 1.0 / len(cities), "per_city_top1": per_city}


def depth_scores(judge: Any, pairs: Any, indices: np.ndarray, max_depth: float) -> dict[str, Any]:
    """Mean per-image RMSE, abs-rel and δ<1.25 (relative judges aligned per image, see metrics.depth_errors)."""
    rows = []
    for i in indices:
        image, depth = pairs[int(i)]
        rows.append(metrics.depth_errors(judge.predict(image[None])[0], depth, judge.output, max_depth))
    out: dict[str, Any] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    out.update({"n_images": len(rows), "judge_output": judge.output, "max_depth_m": max_depth,
                "aligned": judge.output != "metric"})
    return out


def on_renders(judge: Any, n: int, size: int, seed: int) -> dict[str, Any]:
    """The judge on unseen world renders: n per country of the place judge's list (place, seg, depth) or n per
    famous city (city), rendered at `size` with exact labels, depth and coordinates."""
    from streetgen import world
    from streetgen.eval.judges import default_countries

    if judge.kind == "city":
        return city_scores_on(judge, {c: np.stack([world.render_city(c, seed=seed * 1000 + k, size=size).image
                                                   for k in range(n)]) for c in geo.FAMOUS_CITIES})
    samples = [world.render_country(c, seed=seed * 1000 + k, size=size) for k in range(n)
               for c in default_countries()]
    if judge.kind == "place":
        return place_scores(judge, np.stack([s.image for s in samples]), [s.meta["country"] for s in samples],
                            np.array([[s.meta["lat"], s.meta["lon"]] for s in samples]))
    if judge.kind == "seg":
        return seg_scores(judge, [(s.image, s.labels) for s in samples], np.arange(len(samples)))
    return depth_scores(judge, [(s.image, s.depth) for s in samples], np.arange(len(samples)), 80.0)
