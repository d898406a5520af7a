"""The Map tab's world map: the offline picture, click pixel <-> (lat, lon), what a point is, snapping to land, markers.

The map is `assets/geo/world_map.png` (built by `tools/make_world_map.py`), equirectangular: 1440 x 720 pixels of
0.25 deg, column 0 starting at 180 W and row 0 at 90 N. Clicks arrive as pixel indices in that original grid
(Gradio's `gr.Image.select` gives `evt.index == [x, y]`), and a pixel stands for the coordinate at its centre.
No torch here: the app imports this at start-up.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from streetgen.geo import (EARTH_RADIUS_KM, asset, check_latlon, haversine_km, is_land, land_mask, reverse,
                           unit_xyz)

MAP_SIZE = (1440, 720)  # (width, height) of the committed asset
MARKER_FILL = (220, 30, 40)
PATH_COLOUR = (235, 60, 30)


@lru_cache(maxsize=1)
def _map_image() -> Image.Image:
    with asset("world_map.png").open("rb") as fh:
        img = Image.open(fh)
        img.load()
    return img.convert("RGB")  # the asset is a 256-colour palette PNG; callers want plain RGB


def world_map() -> Image.Image:
    """The world map as an RGB image of MAP_SIZE (a fresh copy: callers may draw on it)."""
    return _map_image().copy()


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = (int(v) for v in size)
    if w <= 0 or h <= 0:
        raise ValueError(f"map size must be positive, got {size!r}")
    return w, h


def pixel_to_latlon(x: float, y: float, size: tuple[int, int] = MAP_SIZE) -> tuple[float, float]:
    """(lat, lon) at the centre of pixel (x, y) of an equirectangular map of `size`; ValueError outside it."""
    w, h = _check_size(size)
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError) as err:
        raise ValueError(f"pixel coordinates must be numbers, got x={x!r}, y={y!r}") from err
    # Half a pixel of slack on each side: the outer edges of the border pixels are still on the map.
    if not (math.isfinite(x) and math.isfinite(y) and -0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5):
        raise ValueError(f"pixel ({x}, {y}) is outside the {w} x {h} map")
    lat = 90.0 - (y + 0.5) / h * 180.0
    lon = (x + 0.5) / w * 360.0 - 180.0
    return check_latlon(lat, lon)


def latlon_to_pixel(lat: float, lon: float, size: tuple[int, int] = MAP_SIZE) -> tuple[float, float]:
    """Continuous pixel (x, y) of a coordinate, the inverse of `pixel_to_latlon`; ValueError if out of range."""
    w, h = _check_size(size)
    lat, lon = check_latlon(lat, lon)
    return (lon + 180.0) / 360.0 * w - 0.5, (90.0 - lat) / 180.0 * h - 0.5


class _Coast:
    """Unit-sphere KD-tree of the land-mask cells that touch the sea.

    Why only coastal cells: the land cell nearest to a sea point always borders the sea (any interior cell has a
    neighbour closer to the point), so ~10x fewer points than all land cells give the same answer. Chord distance
    on the unit sphere is monotonic in great-circle distance, so the tree's nearest is the true nearest.
    """

    def __init__(self) -> None:
        land = land_mask()
        h, w = land.shape
        sea = ~land
        touches_sea = np.zeros_like(land)
        touches_sea[1:] |= sea[:-1]
        touches_sea[:-1] |= sea[1:]
        # Columns wrap around the antimeridian; rows do not wrap over the poles.
        touches_sea |= np.roll(sea, 1, axis=1) | np.roll(sea, -1, axis=1)
        rows, cols = np.nonzero(land & touches_sea)
        self.lat = 90.0 - (rows + 0.5) * (180.0 / h)  # cell centres, so `is_land` agrees with the answer
        self.lon = (cols + 0.5) * (360.0 / w) - 180.0
        from scipy.spatial import cKDTree  # lazy, as in streetgen.geo: only the snapping needs scipy here

        self.tree = cKDTree(unit_xyz(self.lat, self.lon))


@lru_cache(maxsize=1)
def _coast() -> _Coast:
    return _Coast()


def nearest_land(lat: float, lon: float, max_km: float = 2000.0) -> tuple[float, float] | None:
    """The nearest land point (a 2' land-mask cell centre, within ~3 km) to a sea point, the point itself on land,
    or None when no land lies within `max_km`. The first sea query builds an index (~1 s); later ones take < 1 ms.
    """
    lat, lon = check_latlon(lat, lon)
    if not (max_km >= 0):
        raise ValueError(f"max_km must be a non-negative number, got {max_km!r}")
    if bool(is_land(lat, lon)):
        return lat, lon
    coast = _coast()
    chord = 2.0 * math.sin(min(max_km / EARTH_RADIUS_KM, math.pi) / 2.0)
    dist, i = coast.tree.query(unit_xyz(lat, lon), distance_upper_bound=chord * (1 + 1e-12))
    if not math.isfinite(dist):
        return None
    return float(coast.lat[i]), float(coast.lon[i])


def describe_place(lat: float, lon: float) -> dict:
    """Country, nearest city and land/sea of a coordinate (rounded for display); at sea also the nearest coast
    within 2000 km (`nearest_land`, None when there is none, and `nearest_land_km`). ValueError for bad input."""
    lat, lon = check_latlon(lat, lon)
    place = reverse(lat, lon)
    info = {"lat": round(lat, 4), "lon": round(lon, 4), "is_land": place.is_land, "country": place.country,
            "country_name": place.country_name, "city": place.city, "city_km": round(place.city_distance_km, 1)}
    if not place.is_land:
        coast = nearest_land(lat, lon)
        info["nearest_land"] = None if coast is None else [round(coast[0], 4), round(coast[1], 4)]
        if coast is not None:
            info["nearest_land_km"] = round(float(haversine_km(lat, lon, *coast)), 1)
    return info


def great_circle(lat1: float, lon1: float, lat2: float, lon2: float, n: int = 100) -> np.ndarray:
    """`n` points (lat, lon) along the shorter great-circle arc, by slerp on the unit sphere; shape (n, 2).

    Antipodes have no unique shortest arc; the path then leaves the start perpendicular to its meridian (due east
    for points off the poles), a deterministic choice. The endpoints are returned exactly as given.
    """
    start, end = check_latlon(lat1, lon1), check_latlon(lat2, lon2)
    a, b = unit_xyz(*start), unit_xyz(*end)
    omega = math.acos(float(np.clip(a @ b, -1.0, 1.0)))
    t = np.linspace(0.0, 1.0, n)[:, None]
    if omega < 1e-9:
        pts = np.repeat(a[None], n, axis=0)
    elif math.pi - omega < 1e-9:
        axis = np.cross(a, [0.0, 0.0, 1.0]) if abs(a[2]) < 0.999 else np.array([1.0, 0.0, 0.0])
        u = axis - (axis @ a) * a
        u /= np.linalg.norm(u)
        pts = np.cos(t * math.pi) * a + np.sin(t * math.pi) * u
    else:
        pts = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    out = np.stack([lat, lon], axis=1)
    out[0], out[-1] = start, end  # no round-trip error through xyz (and lon at a pole is arbitrary)
    return out


def _split_at_antimeridian(arc: np.ndarray) -> list[np.ndarray]:
    """Pieces of a (lat, lon) polyline that never jump across the map, each extended to the map edge it crosses.

    Why: neighbours more than 180 deg of longitude apart crossed the antimeridian; drawn naively that is a stroke
    across the whole world. The crossing latitude is interpolated so both pieces meet the edges.
    """
    pieces, start = [], 0
    for i in np.flatnonzero(np.abs(np.diff(arc[:, 1])) > 180.0):
        (la1, lo1), (la2, lo2) = arc[i], arc[i + 1]
        edge = 180.0 if lo1 > 0 else -180.0
        lo2_unwrapped = lo2 + 2 * edge
        f = (edge - lo1) / (lo2_unwrapped - lo1)
        la_c = la1 + f * (la2 - la1)
        pieces.append(np.vstack([arc[start:i + 1], [[la_c, edge]]]))
        arc = arc.copy()
        arc[i] = [la_c, -edge]  # the next piece starts on the opposite edge
        start = i
    pieces.append(arc[start:])
    return pieces


def _draw_path(draw: ImageDraw.ImageDraw, arc: np.ndarray, size: tuple[int, int], width: int) -> None:
    for piece in _split_at_antimeridian(arc):
        if len(piece) > 1:
            pts = [latlon_to_pixel(la, lo, size) for la, lo in piece]
            draw.line(pts, fill=(255, 255, 255), width=width + 4, joint="curve")  # halo: visible on any colour
            draw.line(pts, fill=PATH_COLOUR, width=width, joint="curve")


def draw_markers(points: list[tuple[float, float]], base: Image.Image | None = None,
                 path_between: bool = False) -> Image.Image:
    """A copy of the map (or `base`, any equirectangular size) with a red, white-ringed marker at each (lat, lon).

    With `path_between`, consecutive points are joined by their great-circle arc (e.g. guess -> true place).
    """
    img = (world_map() if base is None else base.convert("RGB").copy())
    size = img.size
    pts = [check_latlon(lat, lon) for lat, lon in points]
    draw = ImageDraw.Draw(img)
    # Scaled to the image so the marker stays finger-sized when the map is shown shrunk on a phone.
    r = max(5, round(size[0] / 90))
    if path_between:
        for (la1, lo1), (la2, lo2) in zip(pts, pts[1:]):
            _draw_path(draw, great_circle(la1, lo1, la2, lo2), size, max(2, r // 4))
    for lat, lon in pts:
        x, y = latlon_to_pixel(lat, lon, size)
        ring = max(2, r // 4)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=MARKER_FILL, outline=(255, 255, 255), width=ring)
        dot = max(1, r // 4)  # a white centre dot marks the exact spot under the fill
        draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(255, 255, 255))
    return img
