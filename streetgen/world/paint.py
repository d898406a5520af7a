"""Painters for the large surfaces: sky, far terrain, the ground (road, markings, pavements, yards) and façades.

Each painter ray-casts analytically: the ground is the plane y = 0, façades are planes x = const and house ends
are planes z = const, so depth, label and texture coordinates of every pixel come from the same few numbers —
labels and depth are exact by construction.
"""
from __future__ import annotations

import math

import numpy as np

from .canvas import F32, Camera, Canvas, _clampi, noise, rgb
from .scene import ROOF_KINDS, Z_START, BuildingRow, Scene
from .style import Style

FAR = 1000.0  # depth of the sky (metres)
TERRAIN_DEPTH = 900.0
SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PED, BIKE, VOID = range(12)
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
    r1 = _clampi(math.ceil(cam.horizon + 2), cv.h)
    if r1 <= 0:
        return
    dy = cam.dy[:r1, None]
    hnorm = np.sqrt(cam.dx ** 2 + cam.dz ** 2)[None, :]
    el = dy / hnorm
    t = np.clip(el * 2.2, 0, 1) ** 0.55
    norm = np.sqrt(hnorm ** 2 + dy ** 2)
    cosang = (cam.dx[None, :] * light.sun[0] + dy * light.sun[1] + cam.dz[None, :] * light.sun[2]) / norm
    glow = (np.exp((cosang - 1) * 60) * 0.8 + np.exp((cosang - 1) * 5) * 0.18) * (1 - 0.7 * (light.cloud_cover > 0.9))
    col = light.horizon + (light.zenith - light.horizon) * t[..., None] + glow[..., None] * (light.direct + 0.15)
    if light.cloud_cover > 0:
        nz = noise()
        safe = np.maximum(dy, 0.02)
        u = cam.dx[None, :] / safe * 16 + 40
        v = cam.dz[None, :] / safe * 9 + 90
        n = nz.sample(nz.fbm, u, v) * 0.75 + nz.sample(nz.fine, u * 3, v * 3) * 0.25
        c = light.cloud_cover
        if c > 0.9:
            a = np.clip(0.55 + 0.45 * n, 0, 1) * np.clip(el * 25, 0, 1)
            cloud = light.horizon * (0.85 + 0.3 * (n[..., None] - 0.5))
        else:
            a = np.clip((n - (1 - c) + 0.08) / 0.16, 0, 1) * np.clip(el * 6, 0, 1) ** 0.5
            shade = 0.72 + 0.35 * (n - 0.5) + 0.25 * np.clip(cosang, 0, 1)
            cloud = (light.horizon * 0.45 + 0.55) * shade[..., None]
        col = col + (cloud - col) * a[..., None]
    cv.sky_rgb = np.clip(col, 0, 1.2).astype(F32)
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
    r0 = _clampi(math.floor(cam.horizon + 0.5), cv.h)
    if r0 >= cv.h:
        return
    t = (cam.height / -np.minimum(cam.dy[r0:], -1e-4)).astype(F32)[:, None]  # depth per row
    X = cam.x + t * cam.dx[None, :]
    Z = t * cam.dz[None, :]
    left = X < 0
    ax = np.abs(X)
    d = ax - np.where(left, F32(road.edge[0]), F32(road.edge[1]))  # signed distance outward from the kerb
    pav = np.where(left, F32(road.pavement[0]), F32(road.pavement[1]))
    nz = noise()
    grain = nz.sample(nz.white, X * 24, Z * 24)
    patch = nz.sample(nz.fbm, X * 1.5 + 17, Z * 1.5)
    tex = (1 + style["asphalt_var"] * 2 * (patch - 0.5)) * (0.94 + 0.12 * grain)
    asphalt = rgb(style["asphalt"][style.get("asphalt_i", 0) % len(style["asphalt"])])
    if style.weather == "rain":
        asphalt = asphalt * 0.6 + light.horizon * 0.18
    label = np.full(X.shape, ROAD, np.uint8)
    mat = np.full(X.shape, cv.colors(asphalt[None]), np.uint16)
    on_road = d < 0
    if road.canal:
        ripple = nz.sample(nz.fine, X * 6, Z * 1.5)
        mat[:] = cv.colors((rgb("#3f6e6a") * 0.7 + light.horizon * 0.3)[None])
        tex = 0.8 + 0.45 * ripple
        label[:] = VOID
    else:
        lane_pos = np.abs(((X / road.lane_w) % 1.0) - 0.5)
        tex = tex * (1 - 0.07 * ((np.abs(lane_pos - 0.28) < 0.08) & on_road))  # darker tyre tracks
        # Markings belong to the Road class, as CamVid's lane markings do.
        w_line = 0.1
        pattern = style.extras.get("centre_pattern", "dashed")
        if pattern == "dashed":
            centre = (ax < w_line) & ((Z % 12.0) < 4.5)
        elif pattern == "solid":
            centre = ax < w_line
        elif pattern == "double":
            centre = np.abs(ax - 0.16) < w_line
        else:
            centre = np.zeros(X.shape, bool)
        wear = nz.sample(nz.fine, X * 9, Z * 3) > 0.22
        white = cv.color("#ecece6")
        mat[centre & wear & on_road] = cv.color("#e8c23a") if style.centre_line == "yellow" else white
        carriage = road.lanes * road.lane_w
        lines = np.zeros(X.shape, bool)
        for k in range(1, road.lanes):
            lines |= (np.abs(ax - k * road.lane_w) < w_line) & ((Z % 9.0) < 3.0)
        if style.extras.get("edge_lines", False):
            lines |= np.abs(ax - (carriage - 0.25)) < w_line
        zc = style.extras.get("crosswalk_z")
        if zc is not None:
            lines |= (Z > zc) & (Z < zc + 3.5) & ((X % 1.2) < 0.6)
        mat[lines & wear & on_road] = white
        if style.snow:
            slush = (np.abs(lane_pos - 0.28) > 0.15) & (nz.sample(nz.fbm, X * 3, Z * 0.6) > 0.55) & on_road
            mat[slush] = cv.color("#d9dde2")
    # Pavement with tiles and a kerb stone.
    is_pav = (d >= 0) & (d < pav)
    mat[is_pav] = cv.color(style["pavement"][0])
    tiles = is_pav & (((X % 0.9) < 0.05) | ((Z % 0.9) < 0.05))
    tex[tiles] *= 0.88
    if style["kerb"]:
        mat[(d >= 0) & (d < 0.18) & is_pav] = cv.colors((rgb(style["pavement"][0]) * 1.15)[None])
    label[is_pav] = PAVEMENT
    # Where there is no pavement, a shoulder of dirt or gravel (CamVid counts road shoulders as Pavement).
    beyond = d >= pav
    if style["shoulder"] in ("dirt", "pavement") and not road.canal:
        shoulder = beyond & (d < pav + 1.0) & (pav < 0.5)
        dirt = rgb(style["ground"]) * 0.5 + rgb("#a07a55" if style["shoulder"] == "dirt" else "#9c8a6a") * 0.5
        mat[shoulder] = cv.colors(dirt[None])
        label[shoulder] = PAVEMENT
        beyond &= ~shoulder
    # Yards and open land.
    if style.snow:
        mat[beyond] = cv.color("#e8ecf0")
        label[beyond] = VOID
    else:
        mat[beyond] = cv.color(style["ground"])
        tex[beyond] *= 0.85 + 0.3 * patch[beyond] + 0.06 * ((Z[beyond] % 6.0) < 3.0)
        label[beyond] = TREE if style["terrain_veg"] else VOID
    # Shadows cast by the buildings on the sun's side.
    lit = np.full(X.shape, max(float(light.sun[1]), 0.0), F32)
    side = 0 if light.hx < 0 else 1
    row = fronts.get(side)
    if row is not None and light.tan_el < 20 and abs(light.hx) > 1e-3:
        dist = np.abs(row.x - X) / abs(light.hx)
        h_at = _profile_at(height_profile(row), Z + dist * light.hz)
        inside = (X > row.x) if side == 0 else (X < row.x)
        lit[(dist * light.tan_el < h_at) & inside] *= 0.15
    cv.paint(r0, 0, np.ones(X.shape, bool), t, label, mat, tex, lit)


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
        self.shop_glass = cv.colors((glass * 0.55 + light.horizon * 0.25 + rgb("#8a6a4a") * 0.2)[None])
        self.shutter_metal = cv.color("#9a9c9e")
        self.brick = cv.color("#a4553a")
        self.concrete = cv.color("#b8b2a6")
        self.tank = cv.color("#2b2b2b")


def paint_row(cv: Canvas, sc: Scene, style: Style, light: Light, row: BuildingRow,
              opposite: BuildingRow | None) -> None:
    """A row of façades (or a tree line) on the plane x = row.x, plus the exposed ends of detached houses."""
    cam = sc.cam
    rel = row.x - cam.x
    cols = np.flatnonzero(cam.dx * rel > 1e-4)
    if len(cols) == 0:
        return
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    t = rel / cam.dx[c0:c1]
    Zc = t * cam.dz[c0:c1]
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
    r0 = _clampi(math.floor(np.where(has, top, cv.h).min()), cv.h)
    r1 = _clampi(math.ceil(np.where(has, bottom, 0).max()) + 1, cv.h)
    if r1 <= r0:
        return
    Y = cam.height + t[None, :] * cam.dy[r0:r1, None]
    mask = has[None, :] & (Y >= 0) & (Y < top_h[None, :])
    side_sign = 1.0 if row.x < 0 else -1.0  # the façade normal points back toward the road
    lam = max(side_sign * light.hx, 0.0) * math.cos(style.sun_elev) * 0.9
    lit = np.full(mask.shape, lam, F32)
    if opposite is not None and lam > 0 and light.tan_el < 20:
        dist = abs(opposite.x - row.x) / max(abs(light.hx), 1e-3)
        h_opp = _profile_at(height_profile(opposite), Zc + dist * light.hz)
        lit[Y + dist * light.tan_el < h_opp[None, :]] *= 0.1
    if row.kind == "trees":
        mat, tex, label = _foliage(cv, Y, Zc, style, nz)
    else:
        mats = row.cache.setdefault("mats", RowMaterials(cv, row, style, light))
        far = row.kind != "buildings" or (c1 - c0) * (r1 - r0) < 600
        facade = _facade_far if far else _facade
        mat, tex, label = facade(Y, a, length, ii, row, style, light, nz, mats, top_h)
    cv.paint(r0, c0, mask, t[None, :], label, mat, tex, lit)
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
        r0 = _clampi(math.floor((cam.horizon - cam.focal * (top_h - cam.height) / t).min()), cv.h)
        r1 = _clampi(math.ceil((cam.horizon + cam.focal * cam.height / t).max()) + 1, cv.h)
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


def _facade_far(Y, a, length, ii, row: BuildingRow, style: Style, light: Light, nz, M: RowMaterials, top_h):
    """Distant or small façades: wall, a window grid and the roof — details would be sub-pixel anyway."""
    fh = row.floor_h[ii][None, :]
    A = a[None, :]
    H2 = row.height[ii][None, :]
    shape = Y.shape
    iib = np.broadcast_to(ii[None, :], shape)
    mat = (M.wall + iib).astype(np.uint16)
    bw = (length / np.maximum(np.floor(length / row.bay[ii]), 1))[None, :]
    ww, wh = {"panel": (0.55, 0.5), "towers": (0.82, 0.7)}.get(row.kind, (style["win_w"], style["win_h"]))
    win = (np.abs((A / bw) % 1.0 - 0.5) < ww / 2) & (np.abs((Y / fh) % 1.0 - 0.55) < wh / 2) & (Y > fh) & (Y < H2)
    mat[win] = M.glass
    on_roof = Y >= H2
    mat[on_roof] = np.where(row.roof[ii][None, :] == FLAT, M.flat_roof + iib, M.roof + iib)[on_roof]
    if style.snow:
        mat[on_roof & (row.roof[ii][None, :] != FLAT)] = M.snow
    tex = 0.97 + 0.06 * ((A % 7.0) < 3.5)
    return mat, np.broadcast_to(tex, shape), np.full(shape, BUILDING, np.uint8)


def _facade(Y, a, length, ii, row: BuildingRow, style: Style, light: Light, nz, M: RowMaterials, top_h):
    """Windows, doors, shops, balconies, shutters, signs and roofs of a façade block → (material, texture, label)."""
    fh = row.floor_h[ii][None, :]
    A = a[None, :]
    shop = row.shop[ii][None, :]
    gf = np.where(shop, fh + 0.6, fh)  # ground-floor height
    above = Y >= gf
    ylocal = Y - gf
    floor = np.where(above, 1 + np.floor(ylocal / fh), 0)
    fy = (ylocal / fh) % 1.0  # position within an upper storey (only read where `above`)
    fyg = Y / gf  # position within the ground floor (only read below it)
    # Whole bays per façade, so windows never straddle a building's edge.
    bw = (length / np.maximum(np.floor(length / row.bay[ii]), 1))[None, :]
    fa = (A / bw) % 1.0
    bay_i = np.floor(A / bw)
    H2 = row.height[ii][None, :]
    in_wall = Y < H2
    shape = Y.shape
    mat = np.broadcast_to((M.wall + ii).astype(np.uint16)[None, :], shape).copy()
    n = nz.sample(nz.fbm, A * 2 + row.seed[ii][None, :], Y * 2)
    tex = (1 + style["wall_var"] * 2.2 * (n - 0.5)).astype(F32)
    label = np.full(shape, BUILDING, np.uint8)
    kind = row.kind
    ww, wh = {"panel": (0.55, 0.5), "towers": (0.82, 0.7)}.get(kind, (style["win_w"], style["win_h"]))
    dfa = np.abs(fa - 0.5)
    dfy = np.abs(fy - 0.55)
    upper = above & in_wall
    win = (dfa < ww / 2) & (dfy < wh / 2) & upper
    if style.get("arches"):
        win &= (fy < 0.55 + wh / 2 - ww / 2) | ((dfa / (ww / 2)) ** 2 + ((fy - (0.55 + wh / 2 - ww / 2)) / (ww / 2)) ** 2 < 1)
    frame = (dfa < ww / 2 + 0.05) & (dfy < wh / 2 + 0.05) & upper & ~win
    mat[frame] = M.frame
    mat[win] = M.glass
    mat[win & (fy > 0.55 + wh * 0.2)] = M.glass_sky
    if light.dusk > 0.5:
        lit_win = win & (nz.sample(nz.white, bay_i * 7 + row.seed[ii][None, :], floor * 13) > 0.6)
        mat[lit_win] = M.glass_lit
    if row.has_shutter.any():
        shut = row.has_shutter[ii][None, :] & upper & (dfa >= ww / 2 + 0.05) & (dfa < ww / 2 + 0.05 + ww * 0.28) & \
            (dfy < wh / 2)
        mat[shut] = (M.shutter + np.broadcast_to(ii[None, :], shape))[shut]
        tex[shut & ((fy * 14 % 1) < 0.3)] *= 0.85
    # Balconies (Paris: continuous wrought iron on floors 2 and 5).
    if style.get("parisian"):
        bal = ((floor == 2) | (floor == 5)) & (fy < 0.3) & upper
    else:
        bal = row.balcony[ii][None, :] & (floor >= 1) & (fy < 0.32) & (dfa < ww / 2 + 0.18) & in_wall
        if kind == "panel":
            bal &= (bay_i % 3) == 1
    if bal.any():
        bars = ((A * 9) % 1.0) < 0.35
        mat[bal & (bars | (fy < 0.05) | (fy > 0.26))] = M.balcony
        tex[bal & ~bars] *= 0.7
    if style.get("fire_escapes"):
        fe = ((bay_i % 4) == 1) & (floor >= 1) & in_wall
        mat[fe & ((fy < 0.08) | (np.abs(((fa + fy * 0.8) % 1.0) - 0.5) < 0.06))] = M.dark
    if row.grille.any():
        mat[row.grille[ii][None, :] & win & (((A * 8) % 1.0) < 0.3)] = M.dark
    if row.ac.any():
        ac = row.ac[ii][None, :] & upper & (np.abs(fa - 0.88) < 0.1) & (np.abs(fy - 0.22) < 0.12) & \
            (nz.sample(nz.white, bay_i * 3, floor * 5) > 0.5)
        mat[ac] = M.ac
    # Ground floor: shop fronts (glass with mullions) under awnings or sign fascias; houses get doors and windows.
    ground = ~above & in_wall
    shopg = ground & shop
    iib = np.broadcast_to(ii[None, :], shape)
    front = shopg & (dfa < 0.46) & (fyg > 0.04) & (fyg < 0.72)
    shut = front & ((bay_i + row.seed[ii][None, :]) % 5 < 1) & style.get("fascia", False)
    mat[front] = M.shop_glass
    tex[front & (((A * 1.1) % 1.0) < 0.07)] *= 0.35  # mullions
    if shut.any():
        mat[shut] = M.shutter_metal
        tex[shut & (((Y * 9) % 1.0) < 0.3)] *= 0.8
    band = shopg & (fyg >= 0.74) & (fyg < 0.93)
    if style.get("fascia"):
        mat[band] = (M.board + iib)[band]
        mat[band & (((A * 5) % 1.0) < 0.55) & (np.abs(fyg - 0.835) < 0.05) & ((bay_i % 2) == 0)] = M.white
        label[band] = SIGN
    else:
        mat[band] = np.where(((A * 2.2) % 1.0) < 0.5, M.awning + iib, M.awning_dark + iib)[band]
    house = ground & ~shop
    door = house & ((bay_i % 3) == 1) & (dfa < 0.22) & (fyg < 0.75)
    mat[door] = M.door
    mat[house & ~door & (dfa < ww / 2) & (np.abs(fyg - 0.5) < 0.2)] = M.glass
    # Unfinished red-brick top floors between a concrete frame (Egyptian informal housing).
    if style.get("brick_top"):
        brick = (row.seed[ii][None, :] > 110) & (Y > H2 - 1.6 * fh) & in_wall & ~win
        mat[brick] = M.brick
        mat[brick & ((fa < 0.07) | (fy < 0.09))] = M.concrete
        mat[brick & (dfa < ww / 2) & (dfy < wh / 2)] = M.dark
    # Vertical signboards (SignSymbol in CamVid terms).
    if row.boards.any():
        board = row.boards[ii][None, :] & ((bay_i % 2) == 0) & (np.abs(fa - 0.12) < 0.1) & (Y > 2.2) & \
            (Y < np.minimum(H2, 12))
        text = (((A * 12) % 1.0) < 0.6) & (((Y * 10) % 1.0) < 0.55)  # rows of characters
        mat[board] = (M.board + iib)[board]
        mat[board & text & (np.abs(fa - 0.12) < 0.05)] = M.white
        label[board] = SIGN
    # Pilasters at building edges, rust streaks.
    tex[((A < 0.18) | (A > length[None, :] - 0.18)) & in_wall] *= 0.78
    if style["rust"] > 0:
        tex[(nz.sample(nz.fine, A * 20, Y * 0.8) > 0.7) & in_wall] *= 1 - 0.25 * style["rust"]
    # Roofs.
    on_roof = ~in_wall
    roof = np.broadcast_to(row.roof[ii][None, :], shape)
    roofmat = np.where(roof == FLAT, M.flat_roof + iib, M.roof + iib)
    roofmat = np.where(roof == GABLE, mat, roofmat)  # Dutch gables continue the brick façade
    mat[on_roof] = roofmat[on_roof]
    rows_ = on_roof & (roof != GABLE) & (roof != FLAT)
    if rows_.any():  # tile courses, or corrugations on tin roofs, computed on roof pixels only
        r, c = np.nonzero(rows_)
        tin = roof[r, c] == TIN
        tex[r, c] *= np.where(tin, 0.8 + 0.3 * (((a[c] * 6) % 1.0) > 0.5),
                              0.85 + 0.2 * (((Y[r, 0] - H2[0, c]) * 4 % 1.0) > 0.25))
    mat[on_roof & (roof == MANSARD) & (dfa < 0.18) & (Y - H2 > 0.7) & (Y - H2 < 2.0)] = M.frame
    mat[on_roof & (roof == GABLE) & (Y > top_h[None, :] - 0.25)] = M.white
    if style.get("roof_clutter"):
        mat[on_roof & (roof == FLAT) & (Y > H2 + 0.35)] = M.tank
    if style.snow:
        mat[on_roof & (roof != FLAT)] = M.snow
    return mat, tex, label
