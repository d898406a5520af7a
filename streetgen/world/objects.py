"""Painters for the things along the street: cars, two-wheelers, people, trees, poles, wires, signs, bollards, fences.

Most objects are upright billboards facing the camera (at street-view distances their depth varies little);
cars add a true side plane so parked rows show their flanks, and fences are ray-cast planes like façades.
Objects only a few pixels tall get a cheap silhouette: at 128² most of the street is far away.
"""
from __future__ import annotations

import math

import numpy as np

from .canvas import F32, Camera, Canvas, clampi, noise, rgb
from streetgen.classes import BICYCLIST, CAR, FENCE, PAVEMENT, PEDESTRIAN, POLE, ROAD, SIGN, TREE

from .paint import Light
from .scene import OBJ_END, Obj, Scene
from .style import Style

CAR_DIMS = {  # length, width, height, cabin start/end along the length, body height fraction
    "sedan": (4.5, 1.8, 1.45, 0.28, 0.78, 0.55), "hatch": (4.0, 1.75, 1.5, 0.22, 0.9, 0.55),
    "suv": (4.8, 1.95, 1.75, 0.22, 0.9, 0.58), "pickup": (5.3, 2.0, 1.85, 0.3, 0.62, 0.6),
    "van": (5.0, 1.95, 2.0, 0.12, 0.95, 0.5), "kei": (3.4, 1.48, 1.75, 0.12, 0.95, 0.48),
    "minibus": (5.4, 2.0, 2.3, 0.08, 0.97, 0.45), "rickshaw": (2.7, 1.3, 1.7, 0.3, 0.95, 0.5),
    "taxi": (4.9, 1.85, 1.5, 0.28, 0.78, 0.55), "taxi_jp": (4.6, 1.7, 1.55, 0.28, 0.78, 0.55),
    "taxi_cairo": (4.5, 1.75, 1.45, 0.28, 0.78, 0.55), "black_cab": (4.6, 1.9, 1.8, 0.25, 0.85, 0.55),
    "bus": (10.0, 2.5, 4.2, 0.02, 0.98, 0.5), "lada": (4.1, 1.6, 1.45, 0.3, 0.78, 0.58),
}
TREE_GREENS = {
    "deciduous": "#4f7a35", "conifer": "#2f5234", "birch": "#6f9a45", "palm": "#5f8a3a", "cypress": "#2f4a2a",
    "olive": "#7d8a5a", "plane": "#5a7f3a", "tropical": "#3a6f2f", "acacia": "#6a7a3a", "eucalyptus": "#7a8f6a",
}


def _billboard(cv: Canvas, cam: Camera, X: float, Z: float, width: float, height: float, y0: float = 0.0,
               x_off: float = 0.0):
    """Screen block of an upright rectangle at (X, Z): (r0, c0, xs, ys, depth, px_per_m) in metres, or None."""
    c, r_base, d = cam.project(X, y0, Z)
    if not d > 0.6 or not math.isfinite(c):
        return None
    s = cam.focal / d
    left = c + (x_off - width / 2) * s
    right = c + (x_off + width / 2) * s
    c0, c1 = max(int(math.floor(left)), 0), min(int(math.ceil(right)), cv.w)
    r0, r1 = max(int(math.floor(r_base - height * s)), 0), min(int(math.ceil(r_base)), cv.h)
    if c1 <= c0 or r1 <= r0:
        return None
    xs = ((cam.cols[c0:c1] - c) / s)[None, :]  # metres from the anchor, + right
    ys = ((r_base - cam.rows[r0:r1]) / s + y0)[:, None]  # metres above ground
    return r0, c0, xs, ys, d, s


def _sun(light: Light, xs) -> np.ndarray:
    """Sun-side brightening of a rounded object (right half lit when the sun is on the right)."""
    return 0.3 + 0.25 * np.clip(xs * math.copysign(1.0, light.hx), -1, 1)


def paint_car(cv: Canvas, cam: Camera, light: Light, o: Obj) -> None:
    L, W, Hc, c0f, c1f, bf = CAR_DIMS.get(o.p["kind"], CAR_DIMS["sedan"])
    body_m = cv.colors(o.p["color"][None])
    glass = cv.colors((rgb("#2a3138") * 0.85 + light.horizon * 0.15)[None])
    tyre = cv.color("#151515")
    hb = Hc * bf
    zr = o.z - L / 2  # near end (the camera looks down +z)
    # Side plane: the flank facing the camera.
    if abs(o.x - cam.x) > W / 2 and o.z - cam.x * 0 < OBJ_END * 0.6:
        hit = cam.plane_x(o.x + (W / 2 if o.x < cam.x else -W / 2))
        if hit is not None:
            cfirst, t, Zc = hit
            keep = (Zc > zr) & (Zc < zr + L)
            if keep.any():
                sel = np.flatnonzero(keep)
                ca = cfirst + int(sel[0])
                t, Zc = t[sel[0]:sel[-1] + 1], Zc[sel[0]:sel[-1] + 1]
                r0 = clampi(math.floor((cam.horizon - cam.focal * (Hc - cam.height) / t).min()), cv.h)
                r1 = clampi(math.ceil((cam.horizon + cam.focal * cam.height / t).max()) + 1, cv.h)
                if r1 > r0:
                    Y = cam.height + t[None, :] * cam.dy[r0:r1, None]
                    front_first = o.p["facing"] < 0  # oncoming cars show their bonnet nearest to us
                    u = ((Zc - zr) / L)[None, :]
                    ua = 1 - u if front_first else u
                    slope = np.minimum(np.clip((ua - c0f) / 0.12, 0, 1), np.clip((c1f - ua) / 0.08, 0, 1))
                    cab_top = hb + (Hc - hb) * slope
                    Lm = u * L
                    wheel = (np.minimum((Lm - 0.8) ** 2, (Lm - (L - 0.85)) ** 2) + (Y - 0.32) ** 2) < 0.1
                    body = (Y >= 0.25) & (Y < hb)
                    cab = (ua > c0f) & (ua < c1f) & (Y >= hb) & (Y < cab_top)
                    mat = np.full(Y.shape, body_m, np.uint16)
                    mat[cab & (Y > hb + 0.07) & (Y < cab_top - 0.05)] = glass
                    mat[wheel] = tyre
                    lam = max(math.copysign(1.0, cam.x - o.x) * light.hx, 0) * 0.8
                    cv.paint(r0, ca, body | cab | wheel, t[None, :], CAR, mat, 1.0 + 0.12 * (Y > hb * 0.75), lam)
    # Near end: the rear of cars going our way, the front of oncoming ones.
    bb = _billboard(cv, cam, o.x, zr, W * 1.02, Hc + 0.2)
    if bb is None:
        return
    r0, c0, xs, ys, d, s = bb
    ax = np.abs(xs) * (2 / W)
    body = (ys >= 0.22) & (ys < hb) & (ax < 1)
    cab_w = 0.92 - 0.18 * np.clip((ys - hb) / max(Hc - hb, 0.1), 0, 1)
    cab = (ys >= hb) & (ys < Hc) & (ax < cab_w)
    tyres = (ys < 0.32) & (ax > 0.62) & (ax < 0.95)
    m = body | cab | tyres
    mat = np.full(m.shape, body_m, np.uint16)
    if s * Hc >= 6:  # details only when the car is big enough to show them
        rear = o.p["facing"] > 0
        mat[cab & (ys > hb + 0.06) & (ax < cab_w - 0.1) & (ys < Hc - 0.06)] = glass
        mat[(ys > hb - 0.28) & (ys < hb - 0.08) & (ax > 0.72) & (ax < 0.97)] = \
            cv.color("#c21a1a") if rear else cv.color("#f2f0e0")
        mat[(np.abs(xs) < 0.26) & (ys > 0.35) & (ys < 0.47)] = cv.colors(o.p["plate"][None])
        if not rear:
            mat[(ax < 0.6) & (ys > 0.5) & (ys < hb - 0.1)] = cv.color("#2a2a2a")
        if o.p["kind"] in ("taxi", "taxi_jp", "black_cab"):
            sign = (np.abs(xs) < 0.22) & (ys > Hc) & (ys < Hc + 0.18)
            m = m | sign
            mat[sign] = cv.color("#f4e27a")
    mat[tyres] = tyre
    # Contact shadow: darken the road under the car (labels stay road/pavement).
    under = (ys < 0.22) & (ax < 1.05)
    sl = (slice(r0, r0 + m.shape[0]), slice(c0, c0 + m.shape[1]))
    under &= np.isin(cv.label[sl], (ROAD, PAVEMENT))
    cv.tex[sl][under] *= 0.45
    cv.paint(r0, c0, m, d, CAR, mat, 1.0, max(-float(light.sun[2]), 0) * 0.5 + 0.15)


def paint_person(cv: Canvas, cam: Camera, light: Light, o: Obj, bike: bool = False) -> None:
    h = o.p.get("h", 1.72) if not bike else 1.75
    motor = bool(o.p.get("motor", False))
    bb = _billboard(cv, cam, o.x, o.z, 0.9 if motor else 0.6, h + 0.1)
    if bb is None:
        return
    r0, c0, xs, ys, d, s = bb
    head = (xs ** 2 + (ys - 0.93 * h) ** 2) < (0.11 * h / 1.72) ** 2
    torso = (np.abs(xs) < 0.2 - 0.03 * (ys - 0.5 * h)) & (ys > 0.5 * h) & (ys < 0.84 * h)
    if bike:
        wheel = (np.abs(xs) < (0.16 if motor else 0.04)) & (ys < 0.7)
        legs = (np.abs(np.abs(xs) - 0.12) < 0.06) & (ys > 0.3) & (ys < 0.5 * h)
        bars = (np.abs(xs) < (0.35 if motor else 0.25)) & (np.abs(ys - 1.0) < 0.04)
        m = head | torso | legs | wheel | bars
        mat = np.full(m.shape, cv.color("#1c1c1c"), np.uint16)
        mat[torso] = cv.colors(o.p["color"][None])
        mat[head] = cv.color("#3a3a3a" if motor else "#d9a27c")
        cv.paint(r0, c0, m, d, BICYCLIST, mat, 1.0, _sun(light, xs))
        return
    stride = (o.z * 3.1) % 1.0
    legs = (np.abs(np.abs(xs) - 0.07 - 0.05 * stride * (ys < 0.3 * h)) < 0.055) & (ys < 0.5 * h)
    arms = (np.abs(np.abs(xs) - 0.23) < 0.045) & (ys > 0.48 * h) & (ys < 0.82 * h)
    m = head | torso | legs | arms
    mat = np.full(m.shape, cv.colors(o.p["shirt"][None]), np.uint16)
    mat[legs] = cv.colors(o.p["legs"][None])
    mat[head] = cv.colors(o.p["skin"][None])
    mat[head & (ys > 0.95 * h)] = cv.color("#2a2018")
    cv.paint(r0, c0, m, d, PEDESTRIAN, mat, 1.0, _sun(light, xs))


def paint_tree(cv: Canvas, cam: Camera, light: Light, o: Obj, style: Style) -> None:
    kind, h = o.p["kind"], o.p["h"]
    widths = {"conifer": 0.45, "cypress": 0.22, "palm": 0.8, "acacia": 1.1, "birch": 0.45, "olive": 0.8}
    bb = _billboard(cv, cam, o.x, o.z, h * widths.get(kind, 0.7), h)
    if bb is None:
        return
    r0, c0, xs, ys, d, s = bb
    nz = noise()
    sd = o.p["seed"]
    n = nz.sample(nz.fbm, xs * 6 + sd, ys * 6 + sd)
    X, Yn = xs / h, ys / h
    trunk_w = {"palm": 0.025, "birch": 0.025, "conifer": 0.03, "cypress": 0.02}.get(kind, 0.035)
    bend = 0.06 * Yn ** 2 if kind == "palm" else 0.0
    trunk = (np.abs(X - bend) < trunk_w) & (Yn < 0.9)
    if kind == "conifer":
        crown = (np.abs(X) < (1 - np.clip((Yn - 0.1) / 0.9, 0, 1)) * 0.21 * (0.8 + 0.3 * ((Yn * 9) % 1.0))
                 + 0.02 * (n - 0.5)) & (Yn > 0.1)
    elif kind == "cypress":
        crown = (X / 0.1) ** 2 + ((Yn - 0.55) / 0.45) ** 2 < 1 + 0.3 * (n - 0.5)
    elif kind == "palm":
        cx, cy = X - 0.06, Yn - 0.9
        r = np.sqrt(cx ** 2 + cy ** 2)
        crown = (r < 0.36) & (np.cos(np.arctan2(cy, cx) * 7 + sd) > 0.25 - 0.6 * r) & (cy + 1.8 * r ** 2 > -0.2)
        trunk &= ((Yn * 40) % 1.0) > 0.15
    elif kind == "acacia":
        crown = (X / 0.5) ** 2 + ((Yn - 0.82) / 0.12) ** 2 < 1 + 0.5 * (n - 0.5)
        trunk |= (np.abs(np.abs(X) - (Yn - 0.45) * 0.6) < 0.02) & (Yn > 0.45) & (Yn < 0.8)
    else:
        rx = {"birch": 0.2, "olive": 0.38, "tropical": 0.36, "eucalyptus": 0.32}.get(kind, 0.33)
        cyc = {"olive": 0.55, "birch": 0.62}.get(kind, 0.64)
        ry = {"olive": 0.32, "birch": 0.36}.get(kind, 0.34)
        crown = (X / rx) ** 2 + ((Yn - cyc) / ry) ** 2 < 1 + 0.7 * (n - 0.5)
        if kind == "eucalyptus":
            crown &= nz.sample(nz.fine, xs * 14 + sd, ys * 14) > 0.35
    m = crown | trunk
    green = rgb(TREE_GREENS.get(kind, "#4f7a35"))
    if style.climate == "arid":
        green = green * 0.85 + rgb("#8a8a5a") * 0.15
    trunk_hex = {"birch": "#e6e2d8", "eucalyptus": "#c9c0b0", "plane": "#a59a80", "palm": "#8a7558"}.get(kind, "#5a4632")
    mat = np.full(m.shape, cv.colors(green[None]), np.uint16)
    mat[trunk & ~crown] = cv.color(trunk_hex)
    if o.p.get("snow"):
        mat[crown & (n > 0.62)] = cv.color("#eef1f4")
    tex = (0.7 + 0.6 * n) * (0.85 + 0.3 * Yn)
    cv.paint(r0, c0, m, d, TREE, mat, tex, _sun(light, xs))


def paint_pole(cv: Canvas, cam: Camera, light: Light, o: Obj, style: Style) -> None:
    kind, h = o.p["kind"], o.p["h"]
    inward = 1.0 if o.x < 0 else -1.0  # toward the road centre
    if kind == "mooring":
        bb = _billboard(cv, cam, o.x, o.z, 0.26, 3.2)
        if bb is None:
            return
        r0, c0, xs, ys, d, s = bb
        m = np.broadcast_to(np.abs(xs) < 0.12, (ys.shape[0], xs.shape[1]))
        mat = np.where(((ys * 2.2 + xs * 3) % 1.0) < 0.5, cv.color("#f2f2f2"),
                       cv.color("#b22234" if o.z % 2 < 1 else "#1f3f8a")).astype(np.uint16)
        cv.paint(r0, c0, m, d, POLE, mat, 1.0, 0.4)
        return
    if kind == "lamp":
        arm = 1.6
        bb = _billboard(cv, cam, o.x, o.z, arm + 0.4, h + 0.3, x_off=inward * arm / 2)
        if bb is None:
            return
        r0, c0, xs, ys, d, s = bb
        xi = xs * inward
        head = (np.abs(xi - arm + 0.2) < 0.28) & (ys > h - 0.25) & (ys < h)
        m = ((np.abs(xs) < 0.08) & (ys < h)) | ((xi > -0.05) & (xi < arm) & (np.abs(ys - h + 0.05 * xi) < 0.07)) | head
        mat = np.full(m.shape, cv.color("#2f3a34" if style.get("parisian") else "#6a6e72"), np.uint16)
        mat[head] = cv.color("#f6e7b0", emissive=True) if light.dusk > 0.5 else cv.color("#c9ccd0")
        cv.paint(r0, c0, m, d, POLE, mat, 1.0, 0.4)
        return
    wood = kind == "utility_wood"
    bb = _billboard(cv, cam, o.x, o.z, 2.4, h + 0.2)
    if bb is None:
        return
    r0, c0, xs, ys, d, s = bb
    pole = (np.abs(xs) < (0.14 if wood else 0.17) * (1.1 - 0.2 * ys / h)) & (ys < h)
    cross = (np.abs(xs) < 1.1) & (np.abs(ys - (h - 0.5)) < 0.08)
    ins = (np.abs(np.abs(xs) - 0.9) < 0.06) & (ys > h - 0.45) & (ys < h - 0.25)
    box = (np.abs(xs - 0.3) < 0.22) & (np.abs(ys - (h - 2.2)) < 0.35) & (o.z % 3 < 1)
    m = pole | cross | ins | box
    mat = np.full(m.shape, cv.color("#6b5038" if wood else "#9a9a96"), np.uint16)
    mat[box] = cv.color("#7a7f84")
    if style.country == "JP" and not wood:  # Japan's yellow-and-black striped pole guards
        sleeve = (ys > 0.5) & (ys < 2.3) & pole
        mat[sleeve & (((ys + xs) * 3) % 1.0 < 0.5)] = cv.color("#f2c230")
        mat[sleeve & (((ys + xs) * 3) % 1.0 >= 0.5)] = cv.color("#1c1c1c")
    cv.paint(r0, c0, m, d, POLE, mat, 1.0, _sun(light, xs))


def paint_wires(cv: Canvas, cam: Camera, light: Light, o: Obj) -> None:
    """Sagging overhead wires between consecutive utility poles, drawn as 1-px polylines with a depth test."""
    pts = np.array(o.p["points"], F32)
    x0, z0, x1, z1 = pts[:-1, 0:1], pts[:-1, 1:2], pts[1:, 0:1], pts[1:, 1:2]
    s = np.linspace(0, 1, max(48, cv.w // 2), dtype=F32)[None, :]  # dense enough to leave no gaps
    sag = 2.4 * s * (1 - s)
    Xs, Zs, Ys = [], [], []
    for k in range(o.p["n"]):
        Xs.append(x0 + (x1 - x0) * s + (0.9 if k % 2 else -0.9) * (k > 1))
        Zs.append(z0 + (z1 - z0) * s)
        Ys.append(9.0 - 0.35 * k - sag + 0 * z0)
    if o.p["cross"]:
        Xs.append(x0 * (1 - 2 * s))
        Zs.append(z0 + 0 * s)
        Ys.append(8.6 - 1.6 * s * (1 - s) + 0 * x0)
    X, Z, Y = (np.concatenate([a.ravel() for a in v]) for v in (Xs, Zs, Ys))
    c, sn = math.cos(cam.yaw), math.sin(cam.yaw)
    rx = X - cam.x
    zc = rx * sn + Z * c
    ok = zc > 1.0
    col = np.floor(cam.w / 2 + cam.focal * (rx * c - Z * sn)[ok] / zc[ok]).astype(np.int64)
    row = np.floor(cam.horizon - cam.focal * (Y[ok] - cam.height) / zc[ok]).astype(np.int64)
    zc = zc[ok]
    keep = (col >= 0) & (col < cv.w) & (row >= 0) & (row < cv.h)
    col, row, zc = col[keep], row[keep], zc[keep]
    near = zc < cv.depth[row, col]
    col, row, zc = col[near], row[near], zc[near]
    cv.depth[row, col] = zc
    cv.label[row, col] = POLE
    cv.mat[row, col] = cv.color("#26282a")
    cv.tex[row, col] = 1.0
    cv.lit[row, col] = 0.0


def paint_sign(cv: Canvas, cam: Camera, light: Light, o: Obj) -> None:
    size = 0.75
    bb = _billboard(cv, cam, o.x, o.z, size, 2.2 + size)
    if bb is None:
        return
    r0, c0, xs, ys, d, s = bb
    kind = o.p["kind"]
    pole = (np.abs(xs) < 0.04) & (ys < 2.2 + size / 2)
    px, py = np.broadcast_arrays(xs / (size / 2), (ys - 2.2 - size / 2) / (size / 2))
    red, white, yellow, blue = (cv.color(h) for h in ("#c8102e", "#f4f4f4", "#f2c230", "#1f4f9a"))
    if kind == "warning":
        if o.p["style"] == "diamond":
            q = np.abs(px) + np.abs(py)
            plate, inner, fill, border = q < 1.0, q < 0.85, yellow, cv.color("#1c1c1c")
        else:
            plate = (py > -0.75) & (np.abs(px) < (0.95 - py) * 0.57)
            inner = (py > -0.58) & (np.abs(px) < (0.72 - py) * 0.57)
            fill, border = (yellow if o.p["style"] == "triangle_yellow" else white), red
    elif kind == "prohibit":
        r2 = px ** 2 + py ** 2
        plate, inner, fill, border = r2 < 1.0, r2 < 0.55, white, red
    elif kind == "stop":
        plate = (np.abs(px) + np.abs(py) < 1.3) & (np.maximum(np.abs(px), np.abs(py)) < 0.95)
        inner, fill, border = np.abs(py) < 0.15, white, red
    else:
        plate = (np.abs(px) < 1.0) & (np.abs(py) < 0.65)
        inner, fill, border = (np.abs(px) < 0.85) & (np.abs(py) < 0.5), blue, white
    mat = np.full(plate.shape, border, np.uint16)
    mat[inner] = fill
    if kind == "warning":
        mat[inner & (np.abs(px) < 0.12) & (np.abs(py + 0.05) < 0.3)] = cv.color("#1c1c1c")
    mat[pole & ~plate] = cv.color("#8a8d90")
    cv.paint(r0, c0, plate | pole, d, np.where(plate, SIGN, POLE), mat, 1.0, 0.4)


def paint_bollard(cv: Canvas, cam: Camera, light: Light, o: Obj) -> None:
    bb = _billboard(cv, cam, o.x, o.z, 0.16, 0.95)
    if bb is None:
        return
    r0, c0, xs, ys, d, s = bb
    m = np.broadcast_to(np.abs(xs) < 0.075, (ys.shape[0], xs.shape[1]))
    a, b = (cv.color(h) for h in o.p["colors"])
    mat = np.where((ys > 0.72) | ((ys > 0.45) & (ys < 0.55)), b, a).astype(np.uint16)
    cv.paint(r0, c0, m, d, POLE, np.broadcast_to(mat, m.shape), 1.0, 0.4)


def paint_fence(cv: Canvas, cam: Camera, light: Light, o: Obj, style: Style) -> None:
    """Picket fences, compound walls or guard rails along a line x = const (ray-cast like a façade)."""
    kind = o.p["kind"]
    hit = cam.plane_x(o.x)
    if hit is None:
        return
    c0, t, Zc = hit
    height = {"picket": 1.0, "wall": 1.9, "rail": 0.8}[kind]
    ok = (Zc > 0) & (Zc < OBJ_END)
    if kind != "rail":
        ok &= ((Zc + o.p["seed"]) % 17.0) > 3.5  # gates and driveways
    if not ok.any():
        return
    r0 = clampi(math.floor((cam.horizon - cam.focal * (height - cam.height) / t[ok]).min()), cv.h)
    r1 = clampi(math.ceil((cam.horizon + cam.focal * cam.height / t[ok]).max()) + 1, cv.h)
    if r1 <= r0:
        return
    Y = cam.height + t[None, :] * cam.dy[r0:r1, None]
    Z = Zc[None, :]
    tex = 1.0
    if kind == "picket":
        fz = (Z * 7) % 1.0
        m = ((fz < 0.55) & (Y < height - 0.5 * np.abs(fz - 0.27))) | (np.abs(Y - 0.75) < 0.05) | (np.abs(Y - 0.3) < 0.05)
        mat = cv.color("#f0efe8")
    elif kind == "wall":
        m = Y < height
        mat = cv.colors((rgb(style["walls"][0]) * 0.9)[None])
        nz = noise()
        tex = (0.85 + 0.3 * nz.sample(nz.fbm, Z * 3, Y * 3)) * np.where(Y > height - 0.12, 0.8, 1.0)
    else:
        m = ((Y > 0.45) & (Y < 0.75)) | (((Z % 4.0) < 0.15) & (Y < 0.75))
        mat = cv.color("#b9bcbf")
    m = m & (Y >= 0) & ok[None, :]
    lam = max((1.0 if o.x < 0 else -1.0) * light.hx, 0.0) * 0.8
    cv.paint(r0, c0, m, t[None, :], FENCE, mat, tex, lam)


SIMPLE = {  # width, height, colour key, label of the cheap silhouette used for objects a few pixels tall
    "car": (1.8, 1.5, "color", CAR), "ped": (0.45, 1.7, "shirt", PEDESTRIAN), "bike": (0.5, 1.75, "color", BICYCLIST),
    "bollard": (0.15, 0.95, None, POLE), "sign": (0.7, 2.9, None, SIGN),
}
LOD_PX = 10.0  # objects shorter than this on screen get a silhouette instead of full detail


def _paint_simple(cv: Canvas, cam: Camera, o: Obj) -> None:
    """A few-pixel object as a constant-depth rectangle of its main colour."""
    k = o.kind
    if k == "tree":
        h = o.p["h"]
        w, y0, mat, label = h * 0.5, h * 0.25, cv.color(TREE_GREENS.get(o.p["kind"], "#4f7a35")), TREE
    elif k == "pole":
        h = o.p["h"] if o.p["kind"] != "mooring" else 3.2
        w, y0, mat, label = 0.22, 0.0, cv.color("#6f6f6c"), POLE
    else:
        w, h, key, label = SIMPLE[k]
        if k == "car":
            w, h = CAR_DIMS.get(o.p["kind"], CAR_DIMS["sedan"])[1:3]
        y0 = 2.2 if k == "sign" else 0.0
        mat = cv.colors(o.p[key][None]) if key else cv.color("#c8102e" if k == "sign" else "#e8e8e8")
    c, r_base, d = cam.project(o.x, 0.0, o.z)
    if not d > 0.6:
        return
    s = cam.focal / d
    half = max(w * s / 2, 0.5)
    c0, c1 = max(int(c - half + 0.5), 0), min(int(c + half + 0.5), cv.w)
    r0, r1 = max(int(r_base - h * s + 0.5), 0), min(int(r_base - y0 * s + 0.5), cv.h)
    if c1 <= c0 or r1 <= r0:
        return
    if k == "tree" and (r1 - r0) > 3:  # a round crown reads as a tree; a box does not
        yy = (cam.rows[r0:r1, None] - (r0 + r1) / 2) / ((r1 - r0) / 2)
        xx = (cam.cols[None, c0:c1] - c) / half
        cv.paint(r0, c0, xx * xx + yy * yy < 1.0, d, label, mat, 0.9, 0.3)
    else:
        cv.fill_rect(r0, r1, c0, c1, d, label, mat, 0.3)


def paint_objects(cv: Canvas, sc: Scene, style: Style, light: Light) -> None:
    cam = sc.cam
    c, sn = math.cos(cam.yaw), math.sin(cam.yaw)
    for o in sc.objects:
        k = o.kind
        if k in ("wires", "fence"):
            (paint_wires(cv, cam, light, o) if k == "wires" else paint_fence(cv, cam, light, o, style))
            continue
        zc = (o.x - cam.x) * sn + o.z * c
        size = o.p.get("h", 1.8) if k in ("tree", "pole", "ped") else 1.6
        px = cam.focal * size / max(zc, 0.1)
        if zc < 0.6 or px < 2.0:  # under two pixels tall: below what a label map can hold
            continue
        if px < LOD_PX and k != "car" or px < LOD_PX * 0.6:
            _paint_simple(cv, cam, o)
        elif k == "car":
            if o.p["kind"] == "scooter":
                paint_person(cv, cam, light, Obj("bike", o.x, o.z, dict(color=o.p["color"], motor=True)), bike=True)
            else:
                paint_car(cv, cam, light, o)
        elif k == "ped":
            paint_person(cv, cam, light, o)
        elif k == "bike":
            paint_person(cv, cam, light, o, bike=True)
        elif k == "tree":
            paint_tree(cv, cam, light, o, style)
        elif k == "pole":
            paint_pole(cv, cam, light, o, style)
        elif k == "sign":
            paint_sign(cv, cam, light, o)
        elif k == "bollard":
            paint_bollard(cv, cam, light, o)
