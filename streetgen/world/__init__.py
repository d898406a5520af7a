"""streetgen.world: a procedural, place-aware street renderer with exact labels, depth and coordinates.

    s = render(35.68, 139.77, seed=3, size=256)      # Tokyo
    s.image (H, W, 3) uint8 · s.labels (H, W) uint8 CamVid ids · s.depth (H, W) float32 metres · s.meta dict

The look follows the place: `streetgen.geo` says which country, city, climate and conventions apply; `style.py`
turns that into palettes; `scene.py` lays out the street; `paint.py` and `objects.py` ray-cast and draw it.
Same (lat, lon, seed, size) → identical bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from streetgen import geo
from streetgen.validate import MAX_RENDER_SIDE, check_seed
from streetgen.validate import shown

from . import kernels
from .canvas import F32, Canvas, noise
from .objects import paint_objects
from .paint import FAR, Light, paint_ground, paint_row, paint_sky, paint_terrain
from .scene import make_scene
from .style import FAMILIES, make_style


__all__ = ["WorldSample", "render", "render_panorama", "render_country", "render_city", "render_place",
           "colorize_depth",
           "FAMILIES", "FAR"]


@dataclass
class WorldSample:
    """One render: the photo, its per-pixel labels and depth, and what the world knows about the place."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    labels: np.ndarray  # (H, W) uint8, CamVid 11-class ids, 11 = void
    depth: np.ndarray  # (H, W) float32, metres along the camera axis; sky = FAR
    meta: dict


def _size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        try:
            h, w = (int(v) for v in size)
        except (TypeError, ValueError) as err:
            raise ValueError(f"size must be an int or (height, width), got {size!r}") from err
    if not (16 <= h <= MAX_RENDER_SIDE and 16 <= w <= MAX_RENDER_SIDE):
        raise ValueError(f"size {h}x{w} out of range: each side must be between 16 and {MAX_RENDER_SIDE} pixels")
    return h, w


def _rng(seed: int, lat: float, lon: float) -> np.random.Generator:
    check_seed(seed)
    return np.random.default_rng([int(seed), int(round((lat + 90) * 1e5)), int(round((lon + 180) * 1e5))])


def render(lat: float, lon: float, seed: int = 0, size=128, famous_city: str | None = None) -> WorldSample:
    """Render a street at (lat, lon). `size` is an int or (height, width); `famous_city` forces a city's look."""
    lat, lon = geo.check_latlon(lat, lon)
    h, w = _size(size)
    rng, place, style = _place_style(lat, lon, seed, famous_city)
    scene = make_scene(style, h, w, rng)
    light = Light(style)
    cv = _paint(scene, style, light)
    image = _finish(cv, light, scene, rng)
    meta = _meta(lat, lon, seed, (h, w), place, style, scene)
    return WorldSample(image, cv.label, cv.depth, meta)


def _place_style(lat: float, lon: float, seed: int, famous_city: str | None):
    """(rng, place, style): the random stream of this (seed, place) and the look drawn from it first."""
    rng = _rng(seed, lat, lon)
    if famous_city is not None and famous_city not in geo.FAMOUS_CITIES:
        raise ValueError(f"unknown famous city {shown(famous_city)}; choose one of {', '.join(geo.FAMOUS_CITIES)}")
    place = geo.reverse(lat, lon)
    style = make_style(lat, lon, place, rng, famous_city)
    style.extras["centre_pattern"] = style["centre_pattern"][int(rng.integers(len(style["centre_pattern"])))]
    style.extras["edge_lines"] = bool(rng.random() < style["edge_lines"])
    style.extras["crosswalk_z"] = float(rng.uniform(12, 40)) if (style.density > 0.6 and rng.random() < 0.3) else None
    style.spec["asphalt_i"] = int(rng.integers(8))
    return rng, place, style


def render_panorama(lat: float, lon: float, seed: int = 0, height: int = 256,
                    famous_city: str | None = None) -> WorldSample:
    """A 360° equirectangular panorama (height × 2·height) of one street: image, labels, and depth as metres
    along each ray. Heading 0 (the middle column) looks down the street; x grows clockwise seen from above.

    Made from four pinhole views a quarter turn apart (90° wide, 126.9° tall: the renderer's camera has no pitch),
    resampled onto the sphere; above ±63.4° of elevation the views' first and last rows are stretched (open sky
    overhead, the road under the camera). The street is laid out 25 m behind the camera, so looking back shows
    where it ends. For testing `streetgen.panorama` with a known scene; not one of the training distributions."""
    from dataclasses import replace

    from streetgen.panorama import bilinear

    from .canvas import Camera

    lat, lon = geo.check_latlon(lat, lon)
    if isinstance(height, bool) or not isinstance(height, (int, np.integer)) or not 32 <= height <= MAX_RENDER_SIDE // 2:
        raise ValueError(f"panorama height must be an integer in [32, {MAX_RENDER_SIDE // 2}], got {height!r}")
    rng, place, style = _place_style(lat, lon, seed, famous_city)
    fw, fh = int(height), 2 * int(height)  # views twice as wide as the panorama samples them: no aliasing
    scene = make_scene(style, fh, fw, rng)  # where the camera stands and how high; the views set the direction
    light = Light(style)
    u = ((np.arange(fw) + 0.5 - fw / 2) / (fw / 2)).astype(F32)
    v = ((fh / 2 - np.arange(fh) - 0.5) / (fw / 2)).astype(F32)
    ray = np.sqrt(1 + u[None, :] ** 2 + v[:, None] ** 2)  # metres along the ray per metre of camera depth
    images, labels, depths = [], [], []
    for k in range(4):
        cam = Camera(fh, fw, fw / 2, fh / 2, k * math.pi / 2, scene.cam.height, scene.cam.x)
        view = replace(scene, cam=cam)
        for row in scene.rows:  # row caches hold material ids of one canvas: each view paints a new canvas
            row.cache.clear()
        cv = _paint(view, style, light)
        dist = np.where(cv.depth >= FAR, cv.depth, cv.depth * ray).astype(F32)
        images.append(_finish(cv, light, view, np.random.default_rng([seed, k, 17]), dist, vignette=0.0))
        labels.append(cv.label.copy())
        depths.append(dist)
    ph, pw = int(height), 2 * int(height)
    az = (np.arange(pw) + 0.5) / pw * 2 * math.pi - math.pi
    el = math.pi / 2 - (np.arange(ph) + 0.5) / ph * math.pi
    face = np.round(az / (math.pi / 2)).astype(np.int64) % 4
    rel = az - np.round(az / (math.pi / 2)) * (math.pi / 2)  # within ±45° of the view's axis
    cols = np.broadcast_to(fw / 2 + (fw / 2) * np.tan(rel) - 0.5, (ph, pw))
    rows = fh / 2 - (fw / 2) * np.tan(el)[:, None] / np.cos(rel)[None, :] - 0.5
    rows = np.clip(rows, 0, fh - 1)
    faces = np.broadcast_to(face, (ph, pw)).ravel()
    image = bilinear(np.stack(images), rows.ravel(), cols.ravel(), False, faces)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8).reshape(ph, pw, 3)
    ri, ci = np.round(rows).astype(np.int64).ravel(), np.clip(np.round(cols), 0, fw - 1).astype(np.int64).ravel()
    label = np.stack(labels)[faces, ri, ci].reshape(ph, pw)
    depth = np.stack(depths)[faces, ri, ci].reshape(ph, pw)
    meta = _meta(lat, lon, seed, (ph, pw), place, style, scene)
    meta["projection"] = "equirectangular"
    return WorldSample(image, label, depth, meta)


def _paint(scene, style, light: Light) -> Canvas:
    """Every surface of the scene, seen by scene.cam, onto a fresh canvas (sky, terrain, ground, rows, objects)."""
    cam = scene.cam
    cv = Canvas(cam.h, cam.w)
    paint_sky(cv, cam, light)
    paint_terrain(cv, scene, style, light)
    fronts = {}
    for row in scene.rows:
        side = 0 if row.x < 0 else 1
        if row.kind == "buildings":
            fronts[side] = row
    paint_ground(cv, scene, style, light, fronts)
    for row in scene.rows:
        side = 0 if row.x < 0 else 1
        paint_row(cv, scene, style, light, row, fronts.get(1 - side) if row.kind == "buildings" else None)
    paint_objects(cv, scene, style, light)
    return cv


def _finish(cv: Canvas, light: Light, scene, rng: np.random.Generator, fog_depth: np.ndarray | None = None,
            vignette: float = 0.35) -> np.ndarray:
    """Compose materials and light, then aerial perspective, vignette and sensor grain (one compiled pass).
    `fog_depth`: the distances the haze grows with (default: the canvas depth)."""
    amb, sun = cv.light_tables(light.ambient, light.direct)
    oy, ox = (int(v) for v in rng.integers(0, 256, 2))
    sky = cv.sky_rgb if cv.sky_rgb is not None else np.zeros((0, cv.w, 3), F32)
    out = np.empty((cv.h, cv.w, 3), np.uint8)
    kernels.finish(out, cv.mat, cv.tex, cv.lit, cv.depth if fog_depth is None else fog_depth, amb, sun, sky,
                   light.horizon.astype(F32), float(light.fog_dist), noise().white, oy, ox, float(vignette))
    return out


def _meta(lat, lon, seed, hw, place: geo.Place, style, scene) -> dict:
    hour = style.hour
    tod = "morning" if hour < 10 else "midday" if hour < 15 else "afternoon" if hour < 17.5 else "evening"
    return {
        "lat": lat, "lon": lon, "seed": int(seed), "height": hw[0], "width": hw[1],
        "country": place.country, "country_name": place.country_name, "city": place.city,
        "city_population": place.city_population, "city_distance_km": round(place.city_distance_km, 2),
        "famous_city": style.famous_city, "drive_side": style.drive_side, "climate": style.climate,
        "region_style": style.family, "urban_index": round(style.density, 3), "coastal": style.coastal, "dist_sea_km": style.sea_km,
        "highland": style.highland, "snow": style.snow, "weather": style.weather, "time_of_day": tod,
        "hour": round(hour, 2), "sun_elevation_deg": round(math.degrees(style.sun_elev), 1),
        "centre_line": style.centre_line, "lanes_per_direction": scene.road.lanes,
        "camera_height_m": round(scene.cam.height, 6), "camera_yaw_deg": round(math.degrees(scene.cam.yaw), 1),
        "focal_px": round(scene.cam.focal, 6), "horizon_row": round(scene.cam.horizon, 6),
        "land_cover": _land_cover(style),
    }


def _land_cover(style) -> str:
    if style.snow:
        return "snow"
    if style.density > 0.5:
        return "urban"
    if style.climate == "arid":
        return "bare"
    if style.climate in ("boreal",):
        return "forest"
    return "cropland" if style.density < 0.25 else "grassland"


def render_country(country: str, seed: int = 0, size=128) -> WorldSample:
    """Render a plausible place in a country (ISO code or English name), drawn like `geo.sample_place`."""
    c = geo.country(country)
    lat, lon = geo.sample_place(c.iso2, np.random.default_rng([int(seed), 7]))
    return render(lat, lon, seed, size)


def _city_latlon(name: str, seed: int) -> tuple[float, float]:
    if name not in geo.FAMOUS_CITIES:
        raise ValueError(f"unknown famous city {shown(name)}; choose one of {', '.join(geo.FAMOUS_CITIES)}")
    c = geo.FAMOUS_CITIES[name]
    rng = np.random.default_rng([int(seed), 11])
    r = c.radius_km * 0.5 * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return c.lat + r * math.cos(a) / 111.2, c.lon + r * math.sin(a) / (111.2 * math.cos(math.radians(c.lat)))


def render_city(name: str, seed: int = 0, size=128) -> WorldSample:
    """Render one of `geo.FAMOUS_CITIES` with its own look, somewhere within its radius."""
    lat, lon = _city_latlon(name, seed)
    return render(lat, lon, seed, size, famous_city=name)


def _place_latlon(place: str, seed: int) -> tuple[float, float, str | None]:
    """(lat, lon, famous city or None) that `render_place` draws for a place name and seed."""
    name = (place or "").strip() if isinstance(place, str) else place
    city = next((c for c in geo.FAMOUS_CITIES if isinstance(name, str) and c.lower() == name.lower()), None)
    if city:
        return (*_city_latlon(city, seed), city)
    c = geo.country(name)
    return (*geo.sample_place(c.iso2, np.random.default_rng([int(seed), 7])), None)


def render_place(place: str, seed: int = 0, size=128) -> WorldSample:
    """Render a famous city (name, any case) or else a country (ISO code or English name)."""
    lat, lon, city = _place_latlon(place, seed)
    return render(lat, lon, seed, size, famous_city=city)


MAX_PAN_FRAMES = 64


def render_pan(place: str, seed: int = 0, size=128, frames: int = 16, degrees_per_frame: float = 1.0
               ) -> list[WorldSample]:
    """A video of the camera turning on the spot: `frames` renders of the street `render_place(place, seed, size)`
    shows (frame 0 is that render, byte for byte), the yaw growing by `degrees_per_frame` each frame.

    A pure turn moves every pixel by a known homography whatever its depth (`streetgen.metrics.yaw_flow`), so
    temporal stability of a translator can be measured exactly. Each frame has its own sensor grain, like video."""
    from dataclasses import replace

    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not 1 <= frames <= MAX_PAN_FRAMES:
        raise ValueError(f"frames must be an integer in [1, {MAX_PAN_FRAMES}], got {frames!r}")
    if not isinstance(degrees_per_frame, (int, float)) or not abs(degrees_per_frame) <= 10:
        raise ValueError(f"degrees_per_frame must be a number in [-10, 10], got {degrees_per_frame!r}")
    lat, lon, city = _place_latlon(place, seed)
    lat, lon = geo.check_latlon(lat, lon)
    h, w = _size(size)
    rng, where, style = _place_style(lat, lon, seed, city)
    scene = make_scene(style, h, w, rng)
    light = Light(style)
    out = []
    for k in range(int(frames)):
        view = replace(scene, cam=replace(scene.cam, yaw=scene.cam.yaw + math.radians(k * degrees_per_frame)))
        for row in scene.rows:  # row caches hold material ids of one canvas: each frame paints a new canvas
            row.cache.clear()
        cv = _paint(view, style, light)
        # frame 0 continues render()'s random stream (so it is that render); later frames draw fresh grain
        image = _finish(cv, light, view, rng if k == 0 else np.random.default_rng([int(seed), k, 29]))
        out.append(WorldSample(image, cv.label, cv.depth, _meta(lat, lon, seed, (h, w), where, style, view)))
    return out


def colorize_depth(depth: np.ndarray, far: float = 200.0) -> np.ndarray:
    """Metric depth → a perceptual colour ramp (near warm and bright, far dark blue), log-scaled up to `far`."""
    d = np.clip(np.log1p(np.asarray(depth, F32)) / np.log1p(far), 0, 1)
    stops = np.array([[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]], F32)
    pos = d * (len(stops) - 1)
    i = np.minimum(pos.astype(np.int64), len(stops) - 2)
    f = (pos - i)[..., None]
    return (stops[i] * (1 - f) + stops[i + 1] * f).astype(np.uint8)
