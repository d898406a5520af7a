"""`--task layout`: layout → street measures (SPADE paintings, layout-GAN maps, unconditional photos)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from streetgen import classes, geo, world
from streetgen.eval.common import (GENERATORS, JUDGE_EVAL_SEED, SHEET_EXAMPLES, judge_outputs, keep_examples,
                                   segment, to_tensor)
from streetgen.metrics import frechet_distance, kernel_distance, mean_iou

GENERATORS["layout"].update({"world": None})  # the layouts' own photos (eval_layout handles it)

LAYOUT_SIZE = (128, 256)  # (height, width) of world layouts: the shipped layout GAN and SPADE work at this size
CAMVID_SIZE = (128, 160)  # CamVid val at 128 rows, centre-cropped to a multiple of 32 wide


def _layout_data(n: int, data: str, size: tuple[int, int] = LAYOUT_SIZE
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(label maps (N, H, W) uint8, their photos (N, H, W, 3) uint8, depth (N, H, W) or None): world renders of
    random places at `size`, or the first n pairs of CamVid val ('camvid:ROOT') at CAMVID_SIZE."""
    if data.startswith("camvid:"):
        from PIL import Image

        from streetgen.data.paired import LabelPairs
        from streetgen.io.labels import fit_layout

        root = Path(data.split(":", 1)[1]) / "val"
        pairs = LabelPairs(root / "images", root / "labels")
        photos, labels = [], []
        for i in range(min(n, len(pairs))):
            photo, label = pairs[i]
            h, w = CAMVID_SIZE[0], round(photo.shape[1] * CAMVID_SIZE[0] / photo.shape[0])
            left = (w - CAMVID_SIZE[1]) // 2
            im = Image.fromarray(photo).resize((w, h), Image.BILINEAR, reducing_gap=2.0)
            photos.append(np.asarray(im)[:, left:left + CAMVID_SIZE[1]])
            labels.append(fit_layout(np.minimum(label, classes.VOID), CAMVID_SIZE, mode="crop"))
        return np.stack(labels), np.stack(photos), None
    if data != "world":
        raise ValueError(f"layout data must be 'world' or 'camvid:ROOT', got {data!r}")
    rng = np.random.default_rng(JUDGE_EVAL_SEED + 1)
    samples = [world.render(*geo.sample_world(rng), seed=JUDGE_EVAL_SEED * 1000 + k, size=size)
               for k in range(n)]
    return (np.stack([s.labels for s in samples]), np.stack([s.image for s in samples]),
            np.stack([s.depth for s in samples]))




def spatial_class_features(labels: np.ndarray, grid: tuple[int, int] = (4, 8), num_classes: int = 11) -> np.ndarray:
    """(N, grid_h * grid_w * classes) share of each class in each cell of a coarse grid: where things are, the
    feature behind `layout_frechet_distance` (void pixels count for no class)."""
    n, h, w = labels.shape
    gh, gw = grid
    onehot = (labels[..., None] == np.arange(num_classes)).astype(np.float32)
    cells = onehot[:, : h // gh * gh, : w // gw * gw].reshape(n, gh, h // gh, gw, w // gw, num_classes)
    return cells.mean(axis=(2, 4)).reshape(n, -1)


def unconditional_photos(model, n: int, seed: int = JUDGE_EVAL_SEED, batch: int = 16) -> np.ndarray:
    """n uint8 photos from a class-conditional diffusion model asked for no class (its classifier-free-guidance
    branch, trained on every country): the study's "unconditional generator on photos" row."""
    import torch

    from streetgen.sampling import sample_diffusion

    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch):
        labels = torch.full((min(batch, n - i),), model.null_label, dtype=torch.long)
        x = sample_diffusion(model, labels, generator=g, guidance=1.0)
        out.append((x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8))
    return np.concatenate(out)


def _keep_layout_examples(prefix: str, photos: np.ndarray, real: np.ndarray, layouts: np.ndarray,
                          fake_layouts: np.ndarray | None) -> None:
    """The run's example images: the layout painted (the real one, or the generated one for two-stage rows), the
    generated photo and the reference photo; unconditional rows have no layout."""
    k = SHEET_EXAMPLES
    rows: dict[str, np.ndarray] = {}
    if fake_layouts is not None:
        rows["generated layout"] = classes.colorize_labels(fake_layouts[:k])
    elif prefix != "unconditional_":
        rows["layout (input)"] = classes.colorize_labels(layouts[:k])
    rows["generated"] = photos[:k]
    rows["reference photo"] = real[:k]
    keep_examples(rows, [f"#{i}" for i in range(min(k, len(photos)))])


def eval_layout(model: str, n: int, segmenter, place_judge, depth_judge=None, data: str = "world",
                painter: str = "", inception_weights: str | None = None,
                size: tuple[int, int] = LAYOUT_SIZE) -> dict:
    """Layout → street measures. `model` is 'world' (the real photos: the reference), a SPADE checkpoint (paints
    the real layouts), a layout-GAN checkpoint (its maps against the real maps, then painted by `painter`), or a
    country diffusion checkpoint sampled without a country (an unconditional photo generator; it makes square
    images, so the world photos are rendered square to match)."""
    import streetgen
    from streetgen.layout_stats import layout_distance
    from streetgen.models.country_diffusion import CountryDiffusion
    from streetgen.models.layout_gan import LayoutGenerator
    from streetgen.models.spade import SpadeGenerator
    from streetgen.pipelines import LayoutPipeline, SpadePipeline

    net = None if model in GENERATORS["layout"] else streetgen.load(model)
    if isinstance(net, CountryDiffusion):
        if data != "world":
            raise ValueError("the unconditional photo row is measured on world photos (the model's training data)")
        size = (net.image_size, net.image_size)
    layouts, real, depth = _layout_data(n, data, size)
    real_feats = judge_outputs(place_judge, real)["features"]
    real_miou = mean_iou(segment(segmenter, real), layouts)
    out: dict = {"n_images": int(len(layouts)), "data": data, "real_layout_miou": real_miou}
    fake_layouts = None  # the layout GAN's own maps, when it is one
    if data == "world":
        out["size"] = f"{size[0]}x{size[1]}"
    if isinstance(net, CountryDiffusion):
        photos = unconditional_photos(net, len(layouts))
        prefix = "unconditional_"
    elif isinstance(net, LayoutGenerator):
        fake_layouts = np.concatenate([np.stack(LayoutPipeline(net)(n=min(16, n - i), seed=JUDGE_EVAL_SEED + i))
                                       for i in range(0, n, 16)])
        if fake_layouts.shape[1:] != layouts.shape[1:]:  # e.g. CamVid val crops: compare the same field of view
            from streetgen.io.labels import fit_layout

            fake_layouts = np.stack([fit_layout(m, layouts.shape[1:], mode="crop") for m in fake_layouts])
        dist = layout_distance(fake_layouts, layouts)
        out.update({"layout_class_l1": dist["class_l1"], "layout_row_profile_l1": dist["row_profile_l1"],
                    "layout_frechet_distance": frechet_distance(spatial_class_features(fake_layouts),
                                                                spatial_class_features(layouts))})
        painter = painter or ("spade_camvid" if data.startswith("camvid:") else "spade_world")
        spade = SpadePipeline.from_pretrained(painter)
        photos = np.stack([spade(m, seed=k, size=m.shape) for k, m in enumerate(fake_layouts)])
        out["painter"] = painter
        prefix = "two_stage_"
    elif isinstance(net, SpadeGenerator) or model in GENERATORS["layout"]:
        if net is not None:
            spade = SpadePipeline(net)
            photos = np.stack([spade(m, seed=k, size=m.shape) for k, m in enumerate(layouts)])
        else:
            photos = real
        miou = mean_iou(segment(segmenter, photos), layouts)
        out.update({"layout_miou": miou, "miou_ratio_to_real": miou / real_miou if real_miou > 0 else float("nan")})
        prefix = ""
    else:
        raise ValueError(f"{model!r} is neither 'world', a SPADE, a layout-GAN nor a country diffusion checkpoint")
    feats = judge_outputs(place_judge, photos)["features"]
    out[prefix + "judge_frechet_distance"] = frechet_distance(feats, real_feats)
    out[prefix + "judge_kernel_distance"] = kernel_distance(feats, real_feats)
    if inception_weights:
        from streetgen.eval.fid import fid_kid

        out.update({prefix + k: v for k, v in fid_kid(inception_weights, photos, real).items()})
    _keep_layout_examples(prefix, photos, real, layouts, fake_layouts)
    if depth_judge is not None and depth is not None and not prefix:
        import torch

        from streetgen.models.judges import MAX_DEPTH

        with torch.no_grad():
            d = np.concatenate([depth_judge.predict(to_tensor(photos[i:i + 64])).numpy()
                                for i in range(0, len(photos), 64)])
        valid = depth < MAX_DEPTH
        out["depth_rmse_m"] = float(np.sqrt(((d - depth)[valid] ** 2).mean()))
        out["depth_abs_rel"] = float((np.abs(d - depth)[valid] / depth[valid]).mean())
    return out
