"""Per-pixel kernels compiled with numba for the pixel-heavy passes (sky, ground, façades, final composition).

Why numba here: at 128² a numpy pass over a surface is ~60 small array operations, and their per-call overhead
(not the arithmetic) dominated render time. A compiled loop touches each pixel once. Kernels write straight
into the canvas arrays with the depth test, so each pass is one call. `cache=True` keeps the machine code in
`__pycache__`, so only the first run on a machine pays the compile (a few seconds).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from streetgen.classes import BUILDING, PAVEMENT, ROAD, SIGN, TREE, VOID

TEXM = 255  # noise textures are 256×256; indices wrap with & TEXM


@njit(cache=True, inline="always")
def _tex(t, u, v):
    return t[int(math.floor(v)) & TEXM, int(math.floor(u)) & TEXM]


@njit(cache=True, inline="always")
def _put(depth, label, mat, tex, lit, r, c, t, lab, m, tx, li):
    depth[r, c] = t
    label[r, c] = lab
    mat[r, c] = m
    tex[r, c] = tx
    lit[r, c] = li


@njit(cache=True)
def sky(out, dy, dx, dz, sun, horizon, zenith, direct, cloud_cover, fbm, fine):
    """Sky colours for rows [0, out.shape[0]): gradient, sun glow, clouds on a plane (so they shrink to the horizon)."""
    r1, w = out.shape[0], out.shape[1]
    heavy = cloud_cover > 0.9
    for r in range(r1):
        for c in range(w):
            hn = math.sqrt(dx[c] * dx[c] + dz[c] * dz[c])
            el = dy[r] / hn
            t = min(max(el * 2.2, 0.0), 1.0) ** 0.55
            norm = math.sqrt(hn * hn + dy[r] * dy[r])
            cosang = (dx[c] * sun[0] + dy[r] * sun[1] + dz[c] * sun[2]) / norm
            glow = math.exp((cosang - 1) * 60) * 0.8 + math.exp((cosang - 1) * 5) * 0.18
            if heavy:
                glow *= 0.3
            a = 0.0
            n = 0.0
            if cloud_cover > 0:
                safe = max(dy[r], 0.02)
                u = dx[c] / safe * 16 + 40
                v = dz[c] / safe * 9 + 90
                n = _tex(fbm, u, v) * 0.75 + _tex(fine, u * 3, v * 3) * 0.25
                if heavy:
                    a = min(max(0.55 + 0.45 * n, 0.0), 1.0) * min(max(el * 25, 0.0), 1.0)
                else:
                    a = min(max((n - (1 - cloud_cover) + 0.08) / 0.16, 0.0), 1.0) * min(max(el * 6, 0.0), 1.0) ** 0.5
            shade = 0.72 + 0.35 * (n - 0.5) + 0.25 * max(cosang, 0.0)
            for k in range(3):
                col = horizon[k] + (zenith[k] - horizon[k]) * t + glow * (direct[k] + 0.15)
                if a > 0:
                    if heavy:
                        cloud = horizon[k] * (0.85 + 0.3 * (n - 0.5))
                    else:
                        cloud = (horizon[k] * 0.45 + 0.55) * shade
                    col = col + (cloud - col) * a
                out[r, c, k] = min(max(col, 0.0), 1.2)


@njit(cache=True)
def finish(out, mat, tex, lit, depth, amb, sun, sky_rgb, horizon, fog_dist, white, oy, ox, vignette):
    """Compose albedo × light, sky, aerial perspective, vignette (0.35 for a lens; 0 for panorama views, which
    must meet without seams) and grain into uint8 RGB."""
    h, w = mat.shape
    r_sky = sky_rgb.shape[0]
    for r in range(h):
        yy = (r - h / 2) / h
        for c in range(w):
            xx = (c - w / 2) / w
            m = mat[r, c]
            scale = (1 - vignette * (xx * xx + yy * yy)) * 255 * (1 + 0.05 * (white[(r + oy) & TEXM, (c + ox) & TEXM] - 0.5))
            if m == 0 and r < r_sky:
                for k in range(3):
                    out[r, c, k] = np.uint8(min(max(sky_rgb[r, c, k] * scale + 0.5, 0.0), 255.0))
                continue
            f = 1.0 - math.exp(-depth[r, c] / fog_dist)
            tx = tex[r, c]
            sl = tx * lit[r, c]
            for k in range(3):
                v = amb[m, k] * tx + sun[m, k] * sl
                v = v + (horizon[k] - v) * f
                out[r, c, k] = np.uint8(min(max(v * scale + 0.5, 0.0), 255.0))


# Roof kinds as literals (numba freezes module-level ints at compile time; label ids come from streetgen.classes).
_FLAT, _MANSARD, _TIN, _GABLE = 0, 2, 4, 5


@njit(cache=True)
def ground(depth, label, mat, tex, lit, r0, dy, dx, dz, cam_h, cam_x, geom, flags, mats, fbm, fine, white, prof):
    """Road (markings, tyre tracks, crossings, slush) or canal, kerbs, pavements, shoulders, yards; cast shadows.

    geom: edgeL, edgeR, pavL, pavR, lane_w, lanes, asphalt_var, crosswalk_z (or -1), sun_y, row_x, hx, hz, tan_el
    flags: canal, centre pattern (0 none 1 dashed 2 solid 3 double), edge lines, kerb, shoulder, snow, veg, shadow
    mats: asphalt, centre, white, slush, pavement, kerb, dirt, ground, snow, water
    """
    h, w = depth.shape
    edge_l, edge_r, pav_l, pav_r, lane_w, lanes_f, a_var, zc, sun_y, row_x, hx, hz, tan_el = (
        geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7], geom[8], geom[9], geom[10],
        geom[11], geom[12])
    lanes = int(lanes_f)
    canal, pattern, edge_lines, kerb, shoulder, snow, veg, shadow = (
        flags[0], flags[1], flags[2], flags[3], flags[4], flags[5], flags[6], flags[7])
    carriage = lanes * lane_w
    wl = 0.1
    n_prof = prof.shape[0]
    for r in range(r0, h):
        t = cam_h / -min(dy[r], -1e-4)
        for c in range(w):
            if t >= depth[r, c]:
                continue
            X = cam_x + t * dx[c]
            Z = t * dz[c]
            ax = abs(X)
            edge = edge_l if X < 0 else edge_r
            pav = pav_l if X < 0 else pav_r
            d = ax - edge
            patch = _tex(fbm, X * 1.5 + 17, Z * 1.5)
            tx = (1 + a_var * 2 * (patch - 0.5)) * (0.94 + 0.12 * _tex(white, X * 24, Z * 24))
            lab = ROAD
            m = mats[0]
            on_road = d < 0
            if canal:
                m = mats[9]
                tx = 0.8 + 0.45 * _tex(fine, X * 6, Z * 1.5)
                lab = VOID
            elif on_road:
                lane_pos = abs((X / lane_w) % 1.0 - 0.5)
                if abs(lane_pos - 0.28) < 0.08:
                    tx *= 0.93  # tyre tracks
                wear = _tex(fine, X * 9, Z * 3) > 0.22
                if wear:
                    centre = False
                    if pattern == 1:
                        centre = ax < wl and (Z % 12.0) < 4.5
                    elif pattern == 2:
                        centre = ax < wl
                    elif pattern == 3:
                        centre = abs(ax - 0.16) < wl
                    if centre:
                        m = mats[1]
                    line = False
                    for k in range(1, lanes):
                        if abs(ax - k * lane_w) < wl and (Z % 9.0) < 3.0:
                            line = True
                    if edge_lines and abs(ax - (carriage - 0.25)) < wl:
                        line = True
                    if zc >= 0 and Z > zc and Z < zc + 3.5 and (X % 1.2) < 0.6:
                        line = True
                    if line:
                        m = mats[2]
                if snow and abs(lane_pos - 0.28) > 0.15 and _tex(fbm, X * 3, Z * 0.6) > 0.55:
                    m = mats[3]
            if d >= 0:
                if d < pav:
                    m = mats[4]
                    if (X % 0.9) < 0.05 or (Z % 0.9) < 0.05:
                        tx *= 0.88
                    if kerb and d < 0.18:
                        m = mats[5]
                    lab = PAVEMENT
                elif shoulder and not canal and d < pav + 1.0 and pav < 0.5:
                    m = mats[6]
                    lab = PAVEMENT
                elif snow:
                    m = mats[8]
                    lab = VOID
                else:
                    m = mats[7]
                    tx *= 0.85 + 0.3 * patch + 0.06 * ((Z % 6.0) < 3.0)
                    lab = TREE if veg else VOID
            li = sun_y
            if shadow:
                dist = abs(row_x - X) / abs(hx)
                k = int((Z + dist * hz + 25.0) * 2)  # profile starts at z = -25 m, 0.5 m steps
                k = min(max(k, 0), n_prof - 1)
                inside = X > row_x if row_x < 0 else X < row_x
                if inside and dist * tan_el < prof[k]:
                    li *= 0.15
            _put(depth, label, mat, tex, lit, r, c, t, lab, m, tx, li)


@njit(cache=True)
def facade(depth, label, mat, tex, lit, r0, r1, c0, dy, cam_h, t_col, a_col, len_col, ii_col, top_col, hopp_col,
           B, bases, M, flags, P, fbm, fine, white):
    """Windows, doors, shops, balconies, shutters, signs and roofs of a row of façades on one plane.

    Per column: t (depth), a (metres along the façade), façade length, building index (-1 = gap), top height,
    height of the opposite buildings' shadow line. B: per-building floats (height, floor_h, bay, roof, roof_h,
    shop, balcony, has_shutter, boards, grille, ac, seed). bases: per-building material bases (wall, roof,
    flat roof, shutter, awning, awning dark, board). M: shared materials (glass, glass_sky, glass_lit, frame,
    balcony, door, dark, ac, white, snow, shop_glass, shutter_metal, brick, concrete, tank).
    flags: parisian, fire_escapes, fascia, brick_top, arches, snow, roof_clutter, lit_windows, kind (0/1 panel/2
    towers), shadow. P: win_w, win_h, wall_var, rust, lam (sun on the wall), shadow drop (dist × tan(elev)).
    """
    parisian, fire_esc, fascia, brick_top, arches, snow, clutter, lit_win, kind, shadow = (
        flags[0], flags[1], flags[2], flags[3], flags[4], flags[5], flags[6], flags[7], flags[8], flags[9])
    ww, wh, wall_var, rust, lam, drop = P[0], P[1], P[2], P[3], P[4], P[5]
    if kind == 1:
        ww, wh = 0.55, 0.5
    elif kind == 2:
        ww, wh = 0.82, 0.7
    hw, hh = ww / 2, wh / 2
    for j in range(t_col.shape[0]):
        i = ii_col[j]
        if i < 0:
            continue
        c = c0 + j
        t = t_col[j]
        a = a_col[j]
        length = len_col[j]
        top_h = top_col[j]
        H = B[i, 0]
        fh = B[i, 1]
        roof = int(B[i, 3])
        shop = B[i, 5] > 0
        seed = B[i, 11]
        gf = fh + 0.6 if shop else fh
        nb = max(math.floor(length / B[i, 2]), 1.0)
        bw = length / nb
        fa = (a / bw) % 1.0
        bay_i = math.floor(a / bw)
        dfa = abs(fa - 0.5)
        seam = a < 0.18 or a > length - 0.18
        for r in range(r0, r1):
            Y = cam_h + t * dy[r]
            if Y < 0 or Y >= top_h or t >= depth[r, c]:
                continue
            above = Y >= gf
            fl = 1 + math.floor((Y - gf) / fh) if above else 0
            fy = ((Y - gf) / fh) % 1.0
            fyg = Y / gf
            in_wall = Y < H
            upper = above and in_wall
            m = bases[i, 0]
            tx = 1 + wall_var * 2.2 * (_tex(fbm, a * 2 + seed, Y * 2) - 0.5)
            lab = BUILDING
            dfy = abs(fy - 0.55)
            win = dfa < hw and dfy < hh and upper
            if win and arches:
                top_c = 0.55 + hh - hw
                win = fy < top_c or (dfa / hw) ** 2 + ((fy - top_c) / hw) ** 2 < 1
            if not win and upper and dfa < hw + 0.05 and dfy < hh + 0.05:
                m = M[3]
            if win:
                m = M[0]
                if fy > 0.55 + wh * 0.2:
                    m = M[1]
                if lit_win and _tex(white, bay_i * 7 + seed, fl * 13) > 0.6:
                    m = M[2]
            if B[i, 7] > 0 and upper and dfa >= hw + 0.05 and dfa < hw + 0.05 + ww * 0.28 and dfy < hh:
                m = bases[i, 3]
                if (fy * 14) % 1.0 < 0.3:
                    tx *= 0.85
            if parisian:
                bal = (fl == 2 or fl == 5) and fy < 0.3 and upper
            else:
                bal = B[i, 6] > 0 and fl >= 1 and fy < 0.32 and dfa < hw + 0.18 and in_wall
                if kind == 1:
                    bal = bal and bay_i % 3 == 1
            if bal:
                if (a * 9) % 1.0 < 0.35 or fy < 0.05 or fy > 0.26:
                    m = M[4]
                else:
                    tx *= 0.7
            if fire_esc and bay_i % 4 == 1 and fl >= 1 and in_wall and (
                    fy < 0.08 or abs((fa + fy * 0.8) % 1.0 - 0.5) < 0.06):
                m = M[6]
            if B[i, 9] > 0 and win and (a * 8) % 1.0 < 0.3:
                m = M[6]
            if B[i, 10] > 0 and upper and abs(fa - 0.88) < 0.1 and abs(fy - 0.22) < 0.12 and \
                    _tex(white, bay_i * 3, fl * 5) > 0.5:
                m = M[7]
            if in_wall and not above:
                if shop:
                    if dfa < 0.46 and 0.04 < fyg < 0.72:
                        m = M[10]
                        tx = 0.6 + 0.7 * _tex(fbm, a * 4 + seed, Y * 4)  # goods and lights inside
                        if (a * 1.1) % 1.0 < 0.07:
                            tx *= 0.35
                        if fascia and (bay_i + seed) % 5 < 1:
                            m = M[11]
                            if (Y * 9) % 1.0 < 0.3:
                                tx *= 0.8
                    if 0.74 <= fyg < 0.93:
                        if fascia:
                            m = bases[i, 6]
                            if (a * 5) % 1.0 < 0.55 and abs(fyg - 0.835) < 0.05 and bay_i % 2 == 0:
                                m = M[8]
                            lab = SIGN
                        else:
                            m = bases[i, 4] if (a * 2.2) % 1.0 < 0.5 else bases[i, 5]
                elif bay_i % 3 == 1 and dfa < 0.22 and fyg < 0.75:
                    m = M[5]
                elif dfa < hw and abs(fyg - 0.5) < 0.2:
                    m = M[0]
            if brick_top and seed > 110 and Y > H - 1.6 * fh and in_wall and not win:
                m = M[12]
                if fa < 0.07 or fy < 0.09:
                    m = M[13]
                if dfa < hw and dfy < hh:
                    m = M[6]
            if B[i, 8] > 0 and bay_i % 2 == 0 and abs(fa - 0.12) < 0.1 and Y > 2.2 and Y < min(H, 12.0):
                m = bases[i, 6]
                if (a * 12) % 1.0 < 0.6 and (Y * 10) % 1.0 < 0.55 and abs(fa - 0.12) < 0.05:
                    m = M[8]
                lab = SIGN
            if seam and in_wall:
                tx *= 0.78
            if rust > 0 and in_wall and _tex(fine, a * 20, Y * 0.8) > 0.7:
                tx *= 1 - 0.25 * rust
            if not in_wall:
                if roof == _FLAT:
                    m = bases[i, 2]
                    if clutter and Y > H + 0.35:
                        m = M[14]
                elif roof != _GABLE:
                    m = bases[i, 1]
                    if roof == _TIN:
                        tx *= 0.8 + 0.3 * ((a * 6) % 1.0 > 0.5)
                    else:
                        tx *= 0.85 + 0.2 * (((Y - H) * 4) % 1.0 > 0.25)
                    if roof == _MANSARD and dfa < 0.18 and 0.7 < Y - H < 2.0:
                        m = M[3]
                elif Y > top_h - 0.25:
                    m = M[8]
                if snow and roof != _FLAT:
                    m = M[9]
            li = lam
            if shadow and Y + drop < hopp_col[j]:
                li *= 0.1
            _put(depth, label, mat, tex, lit, r, c, t, lab, m, tx, li)
