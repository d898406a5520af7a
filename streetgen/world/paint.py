"""Painters for the large surfaces: sky, far terrain, the ground (road, markings, pavements, yards) and façades.

Each painter ray-casts analytically: the ground is the plane y = 0, façades are planes x = const and house ends
are planes z = const, so depth, label and texture coordinates of every pixel come from the same few numbers —
labels and depth are exact by construction.
"""
from __future__ import annotations

import math

import numpy as np

from streetgen.classes import BUILDING, SKY, TREE, VOID

from . import kernels
from .canvas import F32, Camera, Canvas, clampi, noise, rgb

from .scene import ROOF_KINDS, Z_START, BuildingRow, Scene
from .style import Style

FAR = 1000.0  # depth of the sky (metres)
TERRAIN_DEPTH = 900.0
FLAT, PITCHED, MANSARD, LOW, TIN, GABLE = range(len(ROOF_KINDS))


class Light:
    """Sun and sky for one image: a direction, direct and ambient colours, sky gradient colours, fog."""

    def __init__(self, style: Style) -> None:
        el, az = style.sun_elev, style.sun_az
        self.sun = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)], F32)
        self.hx, self.hz = math.sin(az), math.cos(az)  # horizontal unit vector toward the sun
        self.tan_el = math.tan(el)
        dusk = float(np.clip(1 - (el - math.radians(4)) / math.radians(16), 0, 1))
        self.dusk = dusk
        w = style.weather
        strength = {"clear": 1.0, "partly_cloudy": 0.8, "overcast": 0.12, "rain": 0.05, "fog": 0.15}[w]
        warm = np.array([1.0, 0.78, 0.55], F32)
        self.direct = ((np.array([1.0, 0.97, 0.9], F32) * (1 - dusk) + warm * dusk) * 0.75 * strength).astype(F32)
        amb = {"clear": 0.5, "partly_cloudy": 0.55, "overcast": 0.8, "rain": 0.62, "fog": 0.78}[w]
        self.ambient = (np.array([0.93, 0.96, 1.05], F32) * amb * (1 - 0.35 * dusk)).astype(F32)
        haze = style.get("haze", 0.15)
        if w in ("clear", "partly_cloudy"):
            self.zenith = rgb("#3f6fb8") * (1 - dusk) + rgb("#34467a") * dusk
            self.horizon = rgb("#c9dcec") * (1 - dusk) + rgb("#f0a66a") * dusk
            self.horizon = self.horizon * (1 - haze) + rgb("#e2ddd0") * haze
            self.zenith = self.zenith * (1 - haze * 0.6) + rgb("#9fb4c8") * haze * 0.6
        elif w == "fog":
            self.zenith, self.horizon = rgb("#b9bcbf"), rgb("#d3d5d6")
        else:
            self.zenith, self.horizon = rgb("#8b9199"), rgb("#c4c7cb")
            if w == "rain":
                self.zenith, self.horizon = self.zenith * 0.85, self.horizon * 0.9
        self.fog_dist = {"fog": 110.0, "rain": 600.0, "overcast": 1400.0}.get(w, 2600.0 / (1 + 3 * haze))
        self.cloud_cover = {"clear": 0.12, "partly_cloudy": 0.45, "overcast": 0.97, "rain": 1.0, "fog": 0.0}[w]


def paint_sky(cv: Canvas, cam: Camera, light: Light) -> None:
    """Gradient, sun glow and clouds on a cloud plane (so clouds shrink toward the horizon)."""
    r1 = clampi(math.ceil(cam.horizon + 2), cv.h)
    if r1 <= 0:
        return
    nz = noise()
    out = np.empty((r1, cv.w, 3), F32)
    kernels.sky(out, cam.dy, cam.dx, cam.dz, light.sun, light.horizon.astype(F32), light.zenith.astype(F32),
                light.direct, float(light.cloud_cover), nz.fbm, nz.fine)
    cv.sky_rgb = out
    cv.paint(0, 0, np.ones((r1, cv.w), bool), FAR, SKY, 0)


def paint_terrain(cv: Canvas, sc: Scene, style: Style, light: Light) -> None:
    """Far hills or mountains above the horizon; a favela-covered hillside for Rio's look."""
    cam = sc.cam
    amp = math.radians(sc.ridge_amp)
    nz = noise()
    az = np.arctan2(cam.dx, cam.dz)
    ridge = amp * (0.25 + 0.55 * nz.line_at(az * 700 + sc.ridge_off) + 0.2 * nz.line_at(az * 2600 + sc.ridge_off * 3))
    top = cam.horizon - cam.focal * np.tan(ridge)  # row of the ridge per column
    r0 = int(max(0, math.floor(top.min())))
    r1 = int(min(cv.h, math.ceil(cam.horizon + 1)))
    if r1 <= r0:
        return
    rows = cam.rows[r0:r1, None]
    mask = (rows >= top[None, :]) & (rows < cam.horizon + 0.5)
    frac = np.clip((rows - top[None, :]) / np.maximum(cam.horizon - top[None, :], 1), 0, 1)
    tex_n = nz.sample(nz.fbm, cam.cols[None, :] * 1.3 + sc.ridge_off, rows * 1.3)
    base = rgb(style["terrain_rgb"]) * 0.6 + light.horizon * 0.4  # aerial perspective
    mat = np.full(mask.shape, cv.colors(base[None]), np.uint16)
    tex = (0.75 + 0.45 * tex_n) * (0.85 + 0.25 * frac)
    label = np.full(mask.shape, TREE if style["terrain_veg"] else VOID, np.uint8)
    if style.snow or (amp > math.radians(6) and style.climate in ("boreal", "polar", "continental", "temperate")):
        mat[(frac < 0.4) & (tex_n > 0.45)] = cv.colors((rgb("#eef2f6") * 0.8 + light.horizon * 0.2)[None])
    if style["back"] == ["favela"]:
        cw, ch = 3, 2
        cell = ((cam.cols[None, :] // cw) * 7 + (rows // ch) * 13).astype(np.int64)
        pal = np.stack([rgb(h) for h in style["walls"] + ["#a9653f", "#c9c2b4", "#d9d2c4", "#8a8a86"]])
        base_f = cv.colors(pal * 0.8 + light.horizon * 0.2)
        houses = (frac < 0.85) & (nz.sample(nz.white, cell, cell * 3) > 0.15)
        mat = np.where(houses, base_f + ((cell * 2654435761) >> 7) % len(pal), mat)
        label[houses] = BUILDING
    cv.paint(r0, 0, mask, TERRAIN_DEPTH, label, mat, tex, 0.35)


def height_profile(row: BuildingRow, step: float = 0.5, n: int = 700) -> np.ndarray:
    """Building height (incl. half the roof) sampled every `step` m from Z_START; 0 in gaps (for shadows)."""
    if "profile" not in row.cache:
        z = Z_START + step * np.arange(n, dtype=F32)
        i = row.lookup(z)
        row.cache["profile"] = np.where(i >= 0, row.height[i] + 0.5 * row.roof_h[i], 0.0).astype(F32)
    return row.cache["profile"]


def _profile_at(prof: np.ndarray, z) -> np.ndarray:
    k = np.clip(((np.asarray(z) - Z_START) * 2).astype(np.int64), 0, len(prof) - 1)
    return prof[k]


def paint_ground(cv: Canvas, sc: Scene, style: Style, light: Light, fronts: dict[int, BuildingRow]) -> None:
    """Road with markings (or a canal), kerbs, pavements, shoulders, yards and open land, with cast shadows."""
    cam, road = sc.cam, sc.road
    r0 = clampi(math.floor(cam.horizon + 0.5), cv.h)
    if r0 >= cv.h:
        return
    asphalt = rgb(style["asphalt"][style.get("asphalt_i", 0) % len(style["asphalt"])])
    if style.weather == "rain":
        asphalt = asphalt * 0.6 + light.horizon * 0.18  # wet: darker, mirroring the sky
    pav = rgb(style["pavement"][0])
    dirt = rgb(style["ground"]) * 0.5 + rgb("#a07a55" if style["shoulder"] == "dirt" else "#9c8a6a") * 0.5
    mats = np.array([
        cv.colors(asphalt[None]), cv.color("#e8c23a" if style.centre_line == "yellow" else "#ecece6"),
        cv.color("#ecece6"), cv.color("#d9dde2"), cv.colors(pav[None]), cv.colors((pav * 1.15)[None]),
        cv.colors(dirt[None]), cv.color(style["ground"]), cv.color("#e8ecf0"),
        cv.colors((rgb("#3f6e6a") * 0.7 + light.horizon * 0.3)[None])], np.int64)
    side = 0 if light.hx < 0 else 1
    row = fronts.get(side)
    shadow = row is not None and light.tan_el < 20 and abs(light.hx) > 1e-3
    prof = height_profile(row) if shadow else np.zeros(1, F32)
    zc = style.extras.get("crosswalk_z")
    geom = np.array([road.edge[0], road.edge[1], road.pavement[0], road.pavement[1], road.lane_w, road.lanes,
                     style["asphalt_var"], -1.0 if zc is None else zc, max(float(light.sun[1]), 0.0),
                     row.x if shadow else 0.0, light.hx, light.hz, light.tan_el], np.float64)
    pattern = {"none": 0, "dashed": 1, "solid": 2, "double": 3}[style.extras.get("centre_pattern", "dashed")]
    flags = np.array([road.canal, pattern, style.extras.get("edge_lines", False), style["kerb"],
                      style["shoulder"] in ("dirt", "pavement"), style.snow, style["terrain_veg"], shadow], np.int64)
    nz = noise()
    kernels.ground(cv.depth, cv.label, cv.mat, cv.tex, cv.lit, r0, cam.dy, cam.dx, cam.dz, cam.height, cam.x,
                   geom, flags, mats, nz.fbm, nz.fine, nz.white, prof)


class RowMaterials:
    """Material ids of a building row: per-building colours plus shared ones (glass, frames, doors, …)."""

    def __init__(self, cv: Canvas, row: BuildingRow, style: Style, light: Light) -> None:
        self.wall = cv.colors(row.wall)
        self.roof = cv.colors(row.roof_rgb)
        self.flat_roof = cv.colors(row.wall * 0.82)
        self.shutter = cv.colors(row.shutter)
        self.awning = cv.colors(row.awning)
        self.awning_dark = cv.colors(row.awning * 0.8)
        self.board = cv.colors(row.board_rgb)
        glass = rgb(style["glass"][0])
        self.glass = cv.colors(glass[None])
        self.glass_sky = cv.colors((glass * 0.5 + light.horizon * 0.5)[None])
        self.glass_lit = cv.color("#f4c46a", emissive=True)
        self.frame = cv.color(style["frame"])
        self.balcony = cv.color(style["balcony"])
        self.door = cv.color("#4a3526")
        self.dark = cv.color("#222222")
        self.ac = cv.color("#d8d8d4")
        self.white = cv.color("#f4f2ec")
        self.snow = cv.color("#eef1f4")
        self.shop_glass = cv.colors((glass * 0.35 + light.horizon * 0.3 + rgb("#b08a5a") * 0.35)[None])
        self.shutter_metal = cv.color("#9a9c9e")
        self.brick = cv.color("#a4553a")
        self.concrete = cv.color("#b8b2a6")
        self.tank = cv.color("#2b2b2b")
        n = len(row.z0)
        self.bases = (np.array([self.wall, self.roof, self.flat_roof, self.shutter, self.awning, self.awning_dark,
                                self.board], np.int64)[None, :] + np.arange(n)[:, None])
        self.shared = np.array([self.glass, self.glass_sky, self.glass_lit, self.frame, self.balcony, self.door,
                                self.dark, self.ac, self.white, self.snow, self.shop_glass, self.shutter_metal,
                                self.brick, self.concrete, self.tank], np.int64)


def paint_row(cv: Canvas, sc: Scene, style: Style, light: Light, row: BuildingRow,
              opposite: BuildingRow | None) -> None:
    """A row of façades (or a tree line) on the plane x = row.x, plus the exposed ends of detached houses."""
    cam = sc.cam
    hit = cam.plane_x(row.x)
    if hit is None:
        return
    c0, t, Zc = hit
    idx = row.lookup(Zc)
    has = idx >= 0
    if not has.any():
        return
    ii = np.clip(idx, 0, None)
    nz = noise()
    a = Zc - row.z0[ii]  # along-façade coordinate (m)
    length = row.z1[ii] - row.z0[ii]
    if row.kind == "trees":
        top_h = 6.0 + 9.0 * nz.line_at(Zc * 9 + row.seed[ii]) * (0.6 + 0.4 * row.bay[ii] / 3.4)
    else:
        top_h = row.height[ii] + _roof_extra(row, ii, a / np.maximum(length, 1e-3), a,
                                             bool(style.get("roof_clutter")) and row.kind == "buildings")
    top = cam.horizon - cam.focal * (top_h - cam.height) / t
    bottom = cam.horizon + cam.focal * cam.height / t
    r0 = clampi(math.floor(np.where(has, top, cv.h).min()), cv.h)
    r1 = clampi(math.ceil(np.where(has, bottom, 0).max()) + 1, cv.h)
    if r1 <= r0:
        return
    side_sign = 1.0 if row.x < 0 else -1.0  # the façade normal points back toward the road
    lam = max(side_sign * light.hx, 0.0) * math.cos(style.sun_elev) * 0.9
    shadow_on = opposite is not None and lam > 0 and light.tan_el < 20
    drop, h_opp = 0.0, t
    if shadow_on:  # the buildings across the street shade this façade's lower part
        dist = abs(opposite.x - row.x) / max(abs(light.hx), 1e-3)
        drop = dist * light.tan_el
        h_opp = _profile_at(height_profile(opposite), Zc + dist * light.hz)
    if row.kind == "trees":
        Y = cam.height + t[None, :] * cam.dy[r0:r1, None]
        mask = has[None, :] & (Y >= 0) & (Y < top_h[None, :])
        lit = np.full(mask.shape, lam, F32)
        if shadow_on:
            lit[Y + drop < h_opp[None, :]] *= 0.1
        mat, tex, label = _foliage(cv, Y, Zc, style, nz)
        cv.paint(r0, c0, mask, t[None, :], label, mat, tex, lit)
    else:
        mats = row.cache.setdefault("mats", RowMaterials(cv, row, style, light))
        kernels.facade(cv.depth, cv.label, cv.mat, cv.tex, cv.lit, r0, r1, c0, cam.dy, cam.height,
                       t.astype(F32), a.astype(F32), length.astype(F32), np.where(has, ii, -1),
                       top_h.astype(F32), h_opp.astype(F32), row.cache.setdefault("B", _building_table(row)),
                       mats.bases, mats.shared, _facade_flags(style, row, light, shadow_on), np.array(
                           [*_window_size(style), style["wall_var"], style["rust"], lam, drop], np.float64),
                       nz.fbm, nz.fine, nz.white)
    if row.kind == "buildings" and style["gap_prob"] > 0:
        _paint_ends(cv, sc, style, light, row, nz)


def _roof_extra(row: BuildingRow, ii, u, a, clutter: bool):
    """Height of the visible roof above the wall top, by roof kind (gables are stepped triangles).

    With `clutter`, flat roofs carry water tanks and stair huts (Middle East, South Asia, Latin America).
    """
    roof, rh = row.roof[ii], row.roof_h[ii]
    stepped = np.floor((1 - np.abs(2 * u - 1)) * 4) / 4
    flat = 0.35 + 0 * rh
    if clutter:
        flat = flat + 1.1 * ((np.floor(a / 2.5 + row.seed[ii]) % 5 == 2) & ((a % 2.5) < 1.3) & (u > 0.05) & (u < 0.95))
    return np.choose(roof, [flat, rh * 0.55, rh, rh * 0.45, rh * 0.3, rh * (0.3 + 0.7 * stepped)])


def _paint_ends(cv: Canvas, sc: Scene, style: Style, light: Light, row: BuildingRow, nz) -> None:
    """Gable ends of detached buildings: the plane z = z0 from the façade line back to the rear wall."""
    cam = sc.cam
    s = 1.0 if row.x > 0 else -1.0
    prev_end = np.concatenate([[-1e9], row.z1[:-1]])
    mats = row.cache["mats"]
    lam = max(-float(light.sun[2]), 0.0) * 0.8
    for i in np.flatnonzero((row.z0 > 2.0) & (row.z0 < 90.0) & (prev_end < row.z0 - 0.5)):
        z0 = float(row.z0[i])
        depth_b = 9.0
        ca, _, da = cam.project(row.x, 0.0, z0)
        cb, _, db = cam.project(row.x + s * depth_b, 0.0, z0)
        if not (da > 0.5 and db > 0.5):
            continue
        lo, hi = sorted((ca, cb))
        c0, c1 = max(int(math.floor(lo)), 0), min(int(math.ceil(hi)), cv.w)
        if c1 - c0 < 2:
            continue
        t = z0 / cam.dz[c0:c1]
        Xr = (cam.x + t * cam.dx[c0:c1] - row.x) * s  # metres behind the façade line
        inside = (Xr >= 0) & (Xr <= depth_b)
        H = float(row.height[i])
        rh = float(row.roof_h[i])
        pitched = row.roof[i] in (PITCHED, MANSARD, LOW, TIN, GABLE)
        top_h = H + (rh * (1 - np.abs(2 * Xr / depth_b - 1)) if pitched else 0.35 + 0 * Xr)
        r0 = clampi(math.floor((cam.horizon - cam.focal * (top_h - cam.height) / t).min()), cv.h)
        r1 = clampi(math.ceil((cam.horizon + cam.focal * cam.height / t).max()) + 1, cv.h)
        if r1 <= r0:
            continue
        Y = cam.height + t[None, :] * cam.dy[r0:r1, None]
        mask = inside[None, :] & (Y >= 0) & (Y < top_h[None, :])
        mat = np.full(mask.shape, mats.wall + i, np.uint16)
        fa = (Xr / 3.0) % 1.0
        fh = float(row.floor_h[i])
        fy = (Y / fh) % 1.0
        win = (np.abs(fa - 0.5) < 0.2)[None, :] & (np.abs(fy - 0.55) < 0.22) & (Y < H)
        mat[win] = mats.glass
        eave = (Y > top_h[None, :] - 0.35) & (Y > H)
        mat[eave] = mats.roof + i
        if style.snow:
            mat[eave] = mats.snow
        tex = 0.9 + 0.1 * nz.sample(nz.fine, Xr[None, :] * 7, Y * 7)
        cv.paint(r0, c0, mask, t[None, :], BUILDING, mat, tex, lam)


def _foliage(cv: Canvas, Y, Zc, style: Style, nz):
    green = "#3f5f2f" if style.climate not in ("arid", "mediterranean") else "#5f6a3a"
    if style.climate in ("boreal", "polar"):
        green = "#2f4a33"
    n = nz.sample(nz.fbm, Zc[None, :] * 3, Y * 3)
    f = nz.sample(nz.fine, Zc[None, :] * 9, Y * 9)
    mat = np.full(Y.shape, cv.color(green), np.uint16)
    if style.snow:
        mat[f > 0.6] = cv.color("#e6eaee")
    return mat, 0.6 + 0.5 * n + 0.3 * (f - 0.5), np.full(Y.shape, TREE, np.uint8)


def _window_size(style: Style) -> tuple[float, float]:
    return float(style["win_w"]), float(style["win_h"])


def _building_table(row: BuildingRow) -> np.ndarray:
    """Per-building numbers the façade kernel reads, one row per building."""
    return np.stack([row.height, row.floor_h, row.bay, row.roof, row.roof_h, row.shop, row.balcony, row.has_shutter,
                     row.boards, row.grille, row.ac, row.seed], axis=1).astype(np.float64)


def _facade_flags(style: Style, row: BuildingRow, light: Light, shadow: bool) -> np.ndarray:
    kind = {"panel": 1, "towers": 2}.get(row.kind, 0)
    return np.array([bool(style.get("parisian")), bool(style.get("fire_escapes")), bool(style.get("fascia")),
                     bool(style.get("brick_top")), bool(style.get("arches")), style.snow,
                     bool(style.get("roof_clutter")) and row.kind == "buildings", light.dusk > 0.5, kind, shadow],
                    np.int64)
