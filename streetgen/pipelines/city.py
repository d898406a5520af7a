"""City → city: repaint a street photo in another place's style, keeping the scene. Three routes, one `__call__` each:

    out = CycleGANPipeline.from_pretrained("cyclegan_paris_venice")(photo)            # a trained city pair
    out, depth = DepthRoutePipeline.from_pretrained("pix2pix_depth_paris",
                                                    "pix2pix_photo_venice")(photo)   # photo → depth → photo
    out, labels = LayoutRoutePipeline.from_pretrained("segmenter", "spade_cities")(photo, "Venice", seed=0)
    out = AnyCityPipeline.from_pretrained("country_diffusion")(photo, "Venice", strength=0.2, seed=0)

Photos may be any size and mode (`read_photo` converts RGBA / CMYK / 16-bit / grayscale and shrinks anything whose
long side is above MAX_TRANSLATE_SIDE); CycleGAN and pix2pix are fully convolutional and keep the photo's size, the any-city
route works at its model's square size and returns the photo's aspect. `translate_frames` runs any of them over a
sequence with one seed (and one noise) for every frame and carries the previous output along the optical flow, so
a still scene stays still and a pan does not shimmer; `iter_translate_frames` yields the same frames one by one.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Callable, Union

import numpy as np
from PIL import Image

from streetgen import geo
from streetgen.io.photos import MAX_FRAMES, PhotoInput, read_photo
from streetgen.pipelines.base import Pipeline
from streetgen.specs import load_spec
from streetgen.validate import MAX_TRANSLATE_SIDE, check_seed, shown


class CycleGANPipeline(Pipeline):
    """`pipe(photo)` → the photo in the target city's style, same size (uint8 H×W×3)."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self.source, self.target = model.source, model.target

    def __call__(self, photo: PhotoInput, seed: int = 0) -> np.ndarray:
        """`seed` is accepted for a uniform interface; CycleGAN has no noise, so it changes nothing."""
        arr, _ = read_photo(photo)
        return self.model.translate(arr)


class DepthRoutePipeline(Pipeline):
    """`pipe(photo, seed=None)` → (photo in city B's style, depth in metres predicted by city A's model)."""

    parts = ("to_depth", "to_photo")

    def __init__(self, to_depth, to_photo) -> None:
        kinds = (getattr(to_depth, "kind", type(to_depth).__name__), getattr(to_photo, "kind", type(to_photo).__name__))
        if kinds != ("image_to_depth", "depth_to_image"):
            raise ValueError(f"need an image→depth and a depth→image model, got {kinds[0]} and {kinds[1]}")
        self.to_depth, self.to_photo = to_depth.eval(), to_photo.eval()
        self.source, self.target = to_depth.city, to_photo.city

    def __call__(self, photo: PhotoInput, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """seed None: pix2pix's dropout off (one answer); a seed: dropout on, seeded (another plausible photo)."""
        arr, _ = read_photo(photo)
        depth = self.to_depth.image_to_depth(arr)
        return self.to_photo.depth_to_image(depth, seed=seed), depth


class LayoutRoutePipeline(Pipeline):
    """`pipe(photo, target, seed=0)` → (photo painted in the target city, the label map it was painted from).

    The layout route: a segmenter reads the photo's street layout (11 CamVid classes), a city-conditioned SPADE
    paints that layout as the target city. Like the depth route, the intermediate needs no ground truth at test
    time; unlike a CycleGAN pair, one SPADE serves every city it was trained on, from any source."""

    parts = ("segmenter", "painter")

    def __init__(self, segmenter, painter) -> None:
        if getattr(segmenter, "architecture", None) != "segmenter":
            raise ValueError(f"the layout route's first model must be a segmenter, got {type(segmenter).__name__}")
        if getattr(painter, "architecture", None) != "spade" or not painter.styles:
            raise ValueError("the layout route's second model must be a SPADE generator conditioned on cities "
                             "(train.train_spade --cities)")
        self.segmenter, self.painter = segmenter.eval(), painter.eval()
        self.cities: list[str] = [c for c in painter.styles if c in geo.FAMOUS_CITIES]
        if not self.cities:
            raise ValueError(f"this SPADE generator is conditioned on {', '.join(painter.styles)}, not on cities")

    def city_index(self, target: str | None) -> int:
        """The painter's style row for a famous city (any case); ValueError listing the cities it knows."""
        by_lower = {c.lower(): c for c in self.cities}
        if not isinstance(target, str) or target.strip().lower() not in by_lower:
            raise ValueError(f"the layout route paints {', '.join(self.cities)}; {shown(target)} is not one of them")
        return self.painter.styles.index(by_lower[target.strip().lower()])

    def work_size(self, h: int, w: int) -> tuple[int, int]:
        """(height, width) both models run at for an h × w photo: its aspect, the short side at the painter's
        training side (both learnt streets at that scale: a 256² photo read at 256² shows every object twice as
        large as anything in training, and the segmenter then mistakes road for cars), sides a multiple of what the
        segmenter's U-Net (16) and SPADE's upsamplings need."""
        q = math.lcm(16, self.painter.multiple)
        s = min(self.painter.image_size) / min(h, w)
        return max(q, round(h * s / q) * q), max(q, round(w * s / q) * q)

    def _layout(self, arr: np.ndarray) -> np.ndarray:
        """Class ids (uint8) of an RGB photo at `work_size`."""
        import torch

        hw, ww = self.work_size(*arr.shape[:2])
        small = np.asarray(Image.fromarray(arr).resize((ww, hw), Image.BICUBIC, reducing_gap=2.0))
        x = torch.tensor(small).permute(2, 0, 1)[None].float() / 255  # a copy: PIL arrays can be read-only
        with torch.no_grad():
            ids = self.segmenter.predict(x.to(next(self.segmenter.parameters()).device))[0]
        return ids.cpu().numpy().astype(np.uint8)

    def segment(self, photo: PhotoInput) -> np.ndarray:
        """(H, W) uint8 class ids of the photo (at its size after `read_photo`; read at `work_size`)."""
        arr, _ = read_photo(photo)
        h, w = arr.shape[:2]
        return np.asarray(Image.fromarray(self._layout(arr)).resize((w, h), Image.NEAREST))

    def __call__(self, photo: PhotoInput, target: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 (H, W, 3) in the target city, uint8 (H, W) label map); `seed` picks SPADE's style latent. Both
        are made at `work_size` and brought back to the photo's size."""
        import torch

        seed = check_seed(seed)
        style = self.city_index(target)
        arr, _ = read_photo(photo)
        h, w = arr.shape[:2]
        layout = self._layout(arr)
        g = torch.Generator().manual_seed(int(seed))
        out = self.painter.synthesize(torch.from_numpy(layout.astype(np.int64))[None], generator=g,
                                      style=torch.tensor([style]))
        img = (out[0].permute(1, 2, 0).float().cpu().numpy() * 255).round().clip(0, 255).astype(np.uint8)
        if img.shape[:2] != (h, w):
            img = np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC))
        return img, np.asarray(Image.fromarray(layout).resize((w, h), Image.NEAREST))


def target_country(target: str) -> str:
    """ISO2 of a famous city (its country: the model knows countries, not cities) or of a country."""
    if target in geo.FAMOUS_CITIES:
        return geo.FAMOUS_CITIES[target].country
    return geo.country(target).iso2  # ValueError naming the unknown place


class AnyCityPipeline(Pipeline):
    """`pipe(photo, target, strength=0.2, seed=0)` → the photo re-imagined in the target place (SDEdit)."""

    default_spec = "country_diffusion"

    def __init__(self, model) -> None:
        super().__init__(model)
        self.countries: list[str] = list(model.countries)
        self.size = int(model.image_size)

    def __call__(self, photo: PhotoInput, target: str, strength: float = 0.2, seed: int = 0, steps: int = 40,
                 guidance: float = 3.0, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """strength in (0, 1]: how much of the diffusion schedule is redone (0.1 keeps the scene almost exactly;
        0.3 and above keep its layout but invent much of it). DDIM with `steps` over the whole schedule, so
        strength × steps denoising steps run; guidance 3 (classifier-free) toward the target's country."""
        import torch

        from streetgen.sampling import sample_diffusion

        seed = check_seed(seed)
        if not 0.0 < float(strength) <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {strength!r}")
        code = target_country(target)
        if code not in self.countries:
            raise ValueError(f"{geo.country(code).name} is not one of the {len(self.countries)} countries the model "
                             "knows")
        arr, _ = read_photo(photo)
        h, w = arr.shape[:2]
        square = np.array(Image.fromarray(arr).resize((self.size, self.size), Image.BICUBIC, reducing_gap=2.0))
        x = torch.from_numpy(square).permute(2, 0, 1)[None].float() / 255
        label = torch.zeros(1, len(self.countries))
        label[0, self.countries.index(code)] = 1
        g = torch.Generator().manual_seed(int(seed))
        out = sample_diffusion(self.model, label, generator=g, init_images=x, strength=float(strength),
                               solver="ddim", steps=int(steps), guidance=float(guidance), progress=progress)
        img = (out[0].permute(1, 2, 0).cpu().numpy() * 255).round().clip(0, 255).astype(np.uint8)
        return np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC))  # back to the photo's aspect


CityPipeline = Union["CycleGANPipeline", "DepthRoutePipeline", "LayoutRoutePipeline", "AnyCityPipeline"]


def load_city_pipeline(spec) -> CityPipeline:
    """The pipeline for a model spec: a CycleGAN checkpoint, 'to_depth+to_photo' pix2pix checkpoints (the depth
    route), 'segmenter+spade' (the layout route) or a country diffusion checkpoint (any city); local folders or Hub
    repo ids, or an already loaded model."""
    from streetgen.models.country_diffusion import CountryDiffusion
    from streetgen.models.cyclegan import CycleGenerator

    models = load_spec(spec) if isinstance(spec, str) else [spec]
    if len(models) == 2:
        first, second = models
        if getattr(first, "architecture", None) == "segmenter":
            return LayoutRoutePipeline(first, second)
        return DepthRoutePipeline(first, second)
    net = models[0] if len(models) == 1 else None
    if isinstance(net, CycleGenerator):
        return CycleGANPipeline(net)
    if isinstance(net, CountryDiffusion):
        return AnyCityPipeline(net)
    raise ValueError(f"{spec!r} is not a city translator: use a CycleGAN checkpoint, 'to_depth+to_photo' pix2pix "
                     "checkpoints, 'segmenter+spade' or a country diffusion checkpoint")


def run_city(pipe: CityPipeline, photo: PhotoInput, target: str | None = None, strength: float = 0.2, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(translated photo, intermediate or None) from any city pipeline with one signature: the intermediate is
    depth in metres (float32) for the depth route and the label map (uint8 class ids) for the layout route.
    `target` matters to the any-city and layout routes (which need one), `strength` to any-city, the seed to the
    stochastic ones."""
    if isinstance(pipe, AnyCityPipeline):
        if not target:
            raise ValueError("the any-city route needs a target city or country")
        return pipe(photo, target, strength=float(strength), seed=seed, progress=progress), None
    if isinstance(pipe, LayoutRoutePipeline):
        return pipe(photo, target, seed=seed)
    if isinstance(pipe, DepthRoutePipeline):
        return pipe(photo, seed=seed)
    return pipe(photo), None


STEADY = 0.6  # how much of the motion-compensated previous output a well-tracked pixel keeps


def _gray(frame: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(frame)
    if img.size != (hw[1], hw[0]):
        img = img.resize((hw[1], hw[0]), Image.BILINEAR)
    return np.asarray(img.convert("L"))


def _track_back(dis, cur: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y) float32: where each pixel of `cur` was in `prev` (DIS optical flow on the inputs, so it
    works on any user video with no known camera motion)."""
    flow = dis.calc(cur, prev, None)
    h, w = cur.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def steady_frames(inputs: list[np.ndarray], outputs: list[np.ndarray], steady: float = STEADY) -> list[np.ndarray]:
    """Translated `outputs` made temporally steady: each blended with the previous steady output carried along the
    *inputs'* optical flow, out_t = (1 − s·c)·raw_t + s·c·warp(out_{t−1}), c the confidence that the flow holds at
    that pixel (the warped previous input matches the current one; 0 where the pixel came into view).

    Why: translators re-invent texture from each frame's grain, so raw outputs shimmer even where the camera moves
    smoothly; the blend follows the motion instead of averaging in place, so a pan leaves no ghosts."""
    if len(inputs) != len(outputs):
        raise ValueError(f"{len(inputs)} input frames but {len(outputs)} outputs")
    _check_steady(steady)
    return list(_steadied(zip(inputs, outputs), steady))


def _check_steady(steady: float) -> None:
    if not 0 <= float(steady) < 1:
        raise ValueError(f"steady must be in [0, 1), got {steady!r}")


def _steadied(pairs: Iterable[tuple[np.ndarray, np.ndarray]], steady: float) -> Iterator[np.ndarray]:
    """`steady_frames` one frame at a time, over (input, raw output) pairs as they come."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    hw = last = prev = None
    for frame, raw in pairs:
        raw = np.asarray(raw)
        if last is None:  # the first frame stays as it is; the others follow it
            hw = raw.shape[:2]  # a model may answer at its own size: track at the output's size
            last, prev = raw, _gray(frame, hw)
            yield last
            continue
        cur = _gray(frame, hw)  # each input's grey once (it is `cur`, then `prev`)
        map_x, map_y = _track_back(dis, cur, prev)
        prev_out = cv2.remap(last.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
        prev_in = cv2.remap(prev.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR)
        # a mismatch of ~10 grey levels (well above sensor grain) halves the trust; new pixels get none
        conf = np.exp(-((prev_in - cur.astype(np.float32)) / 12.0) ** 2) * (prev_out[..., 0] >= 0)
        weight = (float(steady) * conf)[..., None]
        last = np.clip((1 - weight) * raw + weight * np.maximum(prev_out, 0), 0, 255).round().astype(np.uint8)
        prev = cur
        yield last


def translate_frames(pipe: Callable[..., object], frames: list[np.ndarray], seed: int = 0,
                     steady: float = STEADY, **options) -> list[np.ndarray]:
    """Each frame through `pipe` with the same seed (so the same noise), made steady along the motion by
    `steady_frames` (steady=0: the raw translations). Depth-route outputs keep their photo."""
    return list(iter_translate_frames(pipe, frames, seed=seed, steady=steady, **options))


def iter_translate_frames(pipe: Callable[..., object], frames: list[np.ndarray], seed: int = 0,
                          steady: float = STEADY, **options) -> Iterator[np.ndarray]:
    """`translate_frames`' outputs in order, each yielded as soon as its frame is translated (and made steady,
    which needs only the frames before it); arguments are checked at the call, before the first frame."""
    if not 1 <= len(frames) <= MAX_FRAMES:
        raise ValueError(f"need 1..{MAX_FRAMES} frames, got {len(frames)}")
    _check_steady(steady)
    raws = (_first(pipe(frame, seed=seed, **options)) for frame in frames)
    return _steadied(zip(frames, raws), steady) if steady else raws


def _first(result: object) -> np.ndarray:
    """A city pipeline's image: the first item of a (photo, intermediate) pair, or the result itself."""
    return np.asarray(result[0] if isinstance(result, tuple) else result)


def translate_panorama(pipe: Callable[..., object], pano: PhotoInput, seed: int = 0, face_size: int | None = None,
                       **options) -> tuple[np.ndarray, np.ndarray | None]:
    """(translated panorama uint8, depth panorama float32 metres or None): an equirectangular (2:1) panorama cut
    into its six 90° cube faces (the study's perspective views), each face through `pipe` with one seed, and the
    faces stitched back at the panorama's size. Faces are translated independently, so a translator that changes
    colours a lot can leave faint edges where faces meet. Depth-route depth comes back as a panorama too (the
    layout route's label maps do not: class ids cannot be interpolated)."""
    from streetgen.panorama import cube_to_equirect, equirect_to_cube

    arr, _ = read_photo(pano, max_side=max(MAX_TRANSLATE_SIDE * 2, 1024))
    faces = equirect_to_cube(arr, face_size)  # ValueError when it is not 2:1
    photos, depths = {}, {}
    for name, face in faces.items():
        result = pipe(face, seed=seed, **options)
        photos[name], depths[name] = result if isinstance(result, tuple) else (result, None)
    out = cube_to_equirect(photos, size=arr.shape[:2])
    if any(d is None or not np.issubdtype(d.dtype, np.floating) for d in depths.values()):
        return out, None
    return out, cube_to_equirect({k: d.astype(np.float32) for k, d in depths.items()}, size=arr.shape[:2])
