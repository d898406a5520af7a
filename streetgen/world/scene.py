"""Scene layout: the camera, the street cross-section, rows of buildings and the objects along the street.

World frame: x to the right of the road's axis, y up, z along the road away from the camera (metres).
The camera stands at z = 0 in its lane; which lane depends on the country's drive side.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .canvas import Camera, rgb
from .style import Style

Z_START, Z_END = -25.0, 270.0  # buildings are laid out over this stretch of street
OBJ_END = 120.0  # objects further than this are a few pixels at 256²


SHIRTS = ["#c0392b", "#2c3e66", "#f2f2f2", "#1c1c1c", "#d9a33b", "#3f7f6f", "#8e44ad", "#e67e22", "#7a8a9a"]
TROUSERS = ["#1c1c1c", "#2c3e66", "#4a4a4a", "#6b5a45", "#8a8a8a"]
SKINS = ["#f1c9a5", "#e0b08a", "#d9a27c", "#a86f4a", "#8a5a3a", "#6b4226"]


@dataclass
class Road:
    """Street cross-section, one value per side (index 0 = left, 1 = right)."""

    lane_w: float
    lanes: int
    edge: tuple[float, float]  # |x| of the kerb line (carriageway incl. parking lane)
    pavement: tuple[float, float]
    wall: tuple[float, float]  # |x| of the building fronts
    parking: tuple[bool, bool]
    canal: bool

    def side_x(self, side: int, d: float) -> float:
        """x of a point `d` metres outward from the kerb on a side (0 left, 1 right)."""
        s = -1.0 if side == 0 else 1.0
        return s * (self.edge[side] + d)


@dataclass
class BuildingRow:
    """Buildings on one plane parallel to the road; arrays hold one value per building."""

    x: float  # signed x of the facade plane
    z0: np.ndarray
    z1: np.ndarray
    height: np.ndarray
    roof: np.ndarray  # roof kind index into ROOF_KINDS
    roof_h: np.ndarray
    wall: np.ndarray  # (n, 3) rgb
    roof_rgb: np.ndarray
    bay: np.ndarray
    floor_h: np.ndarray
    shop: np.ndarray  # bool
    awning: np.ndarray  # (n, 3)
    balcony: np.ndarray  # bool
    shutter: np.ndarray  # (n, 3); alpha via has_shutter
    has_shutter: np.ndarray
    boards: np.ndarray  # bool: vertical shop signs on the facade
    board_rgb: np.ndarray
    grille: np.ndarray
    ac: np.ndarray
    seed: np.ndarray  # per-building texture offset
    kind: str = "buildings"  # or "trees" (a tree line), "panel", "towers"
    cache: dict = field(default_factory=dict)  # per-render derived data (materials, shadow profile)

    def lookup(self, z: np.ndarray) -> np.ndarray:
        """Index of the building covering each z, or -1 in gaps."""
        i = np.searchsorted(self.z0, z, side="right") - 1
        ok = (i >= 0) & (z < self.z1[np.clip(i, 0, None)])
        return np.where(ok, i, -1)


ROOF_KINDS = ("flat", "pitched", "mansard", "low", "tin", "gable")


@dataclass
class Obj:
    kind: str
    x: float
    z: float
    p: dict = field(default_factory=dict)


@dataclass
class Scene:
    cam: Camera
    road: Road
    rows: list[BuildingRow]
    objects: list[Obj]
    ridge_amp: float  # degrees of the far terrain silhouette
    ridge_off: float
    extras: dict


def _u(rng, lohi) -> float:
    lo, hi = lohi
    return float(rng.uniform(lo, hi))


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _pick_w(rng, pairs):
    """Weighted choice from [(item, weight), ...]."""
    total = sum(p[1] for p in pairs)
    r = rng.random() * total
    for item, w in pairs:
        r -= w
        if r < 0:
            return item
    return pairs[-1][0]


_PALETTES: dict[tuple, np.ndarray] = {}


def _palette(rng, hexes, var, n) -> np.ndarray:
    """n colours drawn from a palette, each jittered in brightness and hue by about `var`."""
    key = tuple(hexes)
    base = _PALETTES.get(key)
    if base is None:
        base = _PALETTES[key] = np.stack([rgb(h) for h in hexes])
    c = base[rng.integers(len(hexes), size=n)]
    c = c * (1 + rng.normal(0, var, (n, 1))) + rng.normal(0, var * 0.4, (n, 3))
    return np.minimum(np.maximum(c, 0), 1).astype(np.float32)


def _jitter_rgb(rng, hexes, var) -> np.ndarray:
    return _palette(rng, hexes, var, 1)[0]


def make_camera(style: Style, road: Road, h: int, w: int, rng: np.random.Generator) -> Camera:
    vfov = math.radians(rng.uniform(58, 72))
    focal = (h / 2) / math.tan(vfov / 2)
    pitch = math.radians(rng.uniform(-1.0, 7.0))
    horizon = h / 2 + focal * math.tan(pitch)
    height = rng.uniform(1.7, 2.7)
    yaw = math.radians(rng.normal(0, 7.0))
    if road.canal:
        cx = rng.uniform(-0.5, 0.5)
    else:
        s = 1.0 if style.drive_side == "right" else -1.0
        lane = int(rng.integers(road.lanes))
        cx = s * (lane + 0.5) * road.lane_w + rng.normal(0, 0.2)
        yaw += s * math.radians(1.5)  # look slightly toward the outer side, like a car-mounted camera
    return Camera(h, w, focal, horizon, yaw, height, cx)


def make_road(style: Style, rng: np.random.Generator) -> Road:
    lw = _u(rng, style["lane_w"])
    lanes = int(_pick(rng, style["lanes"]))
    canal = bool(style.get("canal", False))
    # Kerbside parking is commonest on the drive side (one-sided parking, loading bays, bus stops opposite).
    drive_i = 1 if style.drive_side == "right" else 0
    park = tuple(bool(rng.random() < style["parking"] * (1.0 if i == drive_i else 0.6)) for i in range(2))
    edge = tuple(lanes * lw + (2.2 if p else 0.0) for p in park)
    if canal:
        edge, park = (lw * lanes,) * 2, (False, False)
    pav = tuple(max(0.0, _u(rng, style["pavement_w"])) for _ in range(2))
    setback = tuple(_u(rng, style["setback"]) for _ in range(2))
    wall = tuple(edge[i] + pav[i] + setback[i] for i in range(2))
    return Road(lw, lanes, edge, pav, wall, park, canal)


def _palette_u(hexes, var: float, u: np.ndarray) -> np.ndarray:
    """Colours from a palette driven by uniforms u (n, 5): pick, brightness jitter, per-channel jitter."""
    key = tuple(hexes)
    base = _PALETTES.get(key)
    if base is None:
        base = _PALETTES[key] = np.stack([rgb(h) for h in hexes])
    j = (u[:, 1:] - 0.5) * (3.46 * var)  # uniform with standard deviation `var`
    c = base[(u[:, 0] * len(base)).astype(np.int64)] * (1 + j[:, :1]) + 0.4 * j[:, 1:]
    return np.minimum(np.maximum(c, 0), 1).astype(np.float32)


def _row(style: Style, rng: np.random.Generator, x: float, kind: str, floors, z_start: float, z_end: float,
         lengths, gap_prob: float, gap_len) -> BuildingRow:
    """One row of buildings; every per-building random number comes from a single draw (it is a hot path)."""
    m = 48
    U = rng.random((m, 40))
    lens = lengths[0] + (lengths[1] - lengths[0]) * U[:, 0]
    gaps = np.where(U[:, 1] < gap_prob, gap_len[0] + (gap_len[1] - gap_len[0]) * U[:, 2], 0.0)
    starts = z_start - 10 * U[0, 3] + np.concatenate([[0.0], np.cumsum(lens + gaps)[:-1]]) + gaps
    keep = starts < z_end
    n = int(keep.sum())
    U = U[:n]
    z0 = starts[:n].astype(np.float32)
    z1 = (z0 + lens[:n]).astype(np.float32)
    fh = (style["floor_h"] * (0.95 + 0.1 * U[:, 4])).astype(np.float32)
    nfl = floors[0] + np.minimum((U[:, 5] * (floors[1] - floors[0] + 1)).astype(np.int64), floors[1] - floors[0])
    shop = U[:, 6] < style["shop_prob"]
    height = (nfl * fh + np.where(shop, 0.6, 0.0)).astype(np.float32)
    walls_hex = style["walls"] if kind == "buildings" else style["back_walls"]
    wall = _palette_u(walls_hex, style["wall_var"], U[:, 7:12])
    if style.get("latitude_tint"):
        wall = np.clip(wall * (1 + 0.04 * style["latitude_tint"] * np.array([-1, 0, 1], np.float32)), 0, 1)
    roofs = np.array([ROOF_KINDS.index(r) for r in style["roofs"]], np.int64)
    roof = roofs[(U[:, 12] * len(roofs)).astype(np.int64)] if kind == "buildings" else np.zeros(n, np.int64)
    rh0, rh1 = style["roof_h"]
    bay0, bay1 = style["bay"]
    return BuildingRow(
        x=x, z0=z0, z1=z1, height=height, roof=roof, roof_h=(rh0 + (rh1 - rh0) * U[:, 13]).astype(np.float32),
        wall=wall, roof_rgb=_palette_u(style["roof_colors"], 0.06, U[:, 14:19]),
        bay=(bay0 + (bay1 - bay0) * U[:, 19]).astype(np.float32), floor_h=fh, shop=shop,
        awning=_palette_u(style["awnings"], 0.05, U[:, 20:25]), balcony=U[:, 25] < style["balcony_prob"],
        shutter=_palette_u(style["shutters"] or ["#555555"], 0.05, U[:, 26:31]),
        has_shutter=U[:, 31] < style["shutter_prob"], boards=U[:, 32] < style["boards"],
        board_rgb=_palette_u(style["board_colors"], 0.05, U[:, 33:38]),
        grille=U[:, 38] < style["grilles"], ac=U[:, 39] < style["ac_units"],
        seed=(256 * U[:, 3]).astype(np.float32), kind=kind)


def make_rows(style: Style, road: Road, rng: np.random.Generator) -> list[BuildingRow]:
    rows = []
    for side in (0, 1):
        s = -1.0 if side == 0 else 1.0
        rows.append(_row(style, rng, s * road.wall[side], "buildings", style["floors"], Z_START, Z_END,
                         style["bld_len"], style["gap_prob"], style["gap_len"]))
        back = _pick(rng, style["back"])
        if back == "none":
            continue
        dist = _u(rng, style["back_dist"])
        if back == "trees":
            rows.append(_row(style, rng, s * (road.wall[side] + dist * 0.6), "trees", (1, 1), Z_START, Z_END,
                             (30, 80), 0.3, (10, 40)))
        elif back == "favela":
            continue  # drawn on the hillside by the terrain painter
        else:
            floors = style["back_floors"]
            lengths = (15, 30) if back == "panel" else (12, 25)
            rows.append(_row(style, rng, s * (road.wall[side] + dist), back, floors, 0.0, Z_END,
                             lengths, 0.35 if back != "panel" else 0.5, (8, 30)))
    return rows


def _car(style: Style, rng: np.random.Generator, x: float, z: float, facing: int, parked: bool) -> Obj:
    """One car of a kind the place drives (taxis, cabs, buses, rickshaws in their own colours)."""
    car_colors = style["car_colors"]
    kind = _pick_w(rng, style["car_kinds"])
    color = rgb(_pick(rng, car_colors))
    if kind in ("taxi",):
        color = rgb("#f2c12e")
    elif kind == "taxi_jp":
        color = rgb(_pick(rng, ["#1f3a6b", "#f2c230", "#2f6b3d"]))
    elif kind == "taxi_cairo":
        color = rgb("#f2f2f2")
    elif kind == "black_cab":
        color = rgb("#141414")
    elif kind == "bus":
        color = rgb("#c8102e")
    elif kind == "rickshaw":
        color = rgb(_pick(rng, ["#2f8a3d", "#f2c230", "#1c1c1c"]))
    elif kind == "lada":
        color = rgb(_pick(rng, ["#e8e2d0", "#8a2b2b", "#3c5a3a", "#5a7a9a"]))
    return Obj("car", x, z, dict(kind=kind, color=color, facing=facing, parked=parked,
                                 plate=rgb(style["rear_plate"] if facing > 0 else style["plate"])))


def _vehicles(style: Style, road: Road, cam: Camera, rng: np.random.Generator, drive: float) -> list[Obj]:
    """Parked cars, traffic in both directions and two-wheelers (none on a canal)."""
    objs: list[Obj] = []
    if not road.canal:
        # Parked cars fill the parking lanes; they face the traffic direction of their side.
        for side in (0, 1):
            if not road.parking[side]:
                continue
            s = -1.0 if side == 0 else 1.0
            z = rng.uniform(-6, 4)
            while z < OBJ_END:
                if rng.random() < 0.75:
                    objs.append(_car(style, rng, s * (road.edge[side] - 1.1), z, 1 if s == drive else -1, True))
                z += rng.uniform(5.2, 8.0)
        # Traffic: same-direction lanes ahead (we see backs), oncoming lanes (we see fronts).
        n_traffic = rng.poisson(style["car_rate"] * 3.0)
        for _ in range(n_traffic):
            same = rng.random() < 0.6
            lane = int(rng.integers(road.lanes))
            x = (drive if same else -drive) * (lane + 0.5) * road.lane_w + rng.normal(0, 0.25)
            z = rng.uniform(9, 110)
            if same and abs(x - cam.x) < 1.5 and z < 14:
                z += 12
            objs.append(_car(style, rng, x, z, 1 if same else -1, False))
        # Two-wheelers ride near the kerb of our side.
        for _ in range(rng.poisson(style["bike_rate"] * 6)):
            objs.append(Obj("bike", drive * (road.lanes * road.lane_w - 0.7), rng.uniform(6, 70),
                            dict(color=_jitter_rgb(rng, ["#2c3e66", "#8a2b2b", "#2f6b3d", "#1c1c1c", "#d9a33b"], 0.1),
                                 motor=style.family == "south_southeast_asian")))
    return objs


def _people_and_trees(style: Style, road: Road, rng: np.random.Generator) -> list[Obj]:
    """People on pavements (or the road edge where there is none), then trees along pavements or in yards."""
    objs: list[Obj] = []
    # People on pavements (or on the road edge where there is none).
    for side in (0, 1):
        pav = road.pavement[side]
        n_ped = rng.poisson(style["ped_rate"] * 8 * (0.4 + style.density))
        for _ in range(n_ped):
            d = rng.uniform(0.4, max(pav - 0.3, 0.6)) if pav > 0.8 else rng.uniform(-0.3, 0.5)
            objs.append(Obj("ped", road.side_x(side, d), rng.uniform(3, 70),
                            dict(shirt=rgb(_pick(rng, SHIRTS)), legs=rgb(_pick(rng, TROUSERS)),
                                 skin=rgb(_pick(rng, SKINS)),
                                 h=rng.uniform(1.55, 1.85))))

    # Trees along the pavement or in front yards.
    trees = style["trees"]
    for side in (0, 1):
        gap = 10.0 / max(style["tree_rate"], 1e-3)
        if style["tree_rate"] <= 0.01:
            continue
        z = 4.0 + rng.uniform(0, gap)
        setback = road.wall[side] - road.edge[side] - road.pavement[side]
        while z < OBJ_END:
            if setback > 2.5:
                d = road.pavement[side] + rng.uniform(1.0, setback - 1.0)
            elif road.pavement[side] >= 2.2:
                d = road.pavement[side] - 0.9
            else:
                d = road.pavement[side] + 0.3
                if setback < 1.0:
                    z += gap
                    continue
            kind = _pick_w(rng, trees)
            objs.append(Obj("tree", road.side_x(side, d), z,
                            dict(kind=kind, h=rng.uniform(5, 11) * (1.4 if kind in ("palm", "plane", "eucalyptus")
                                                                   else 1.0),
                                 seed=rng.uniform(0, 256), snow=style.snow)))
            z += gap * rng.uniform(0.5, 1.5)

    return objs


def _street_furniture(style: Style, road: Road, rng: np.random.Generator, drive: float) -> list[Obj]:
    """Poles (and wires), traffic signs, bollards and fences."""
    objs: list[Obj] = []
    # Poles: street lamps on both sides, or a line of utility poles with wires on one side.
    kind = style["poles"]
    spacing = style["pole_spacing"]
    sides = (0, 1) if kind in ("lamp", "mooring") else (1 if rng.random() < 0.6 else 0,)
    for side in sides:
        z = rng.uniform(5, 15)  # nothing right beside the camera: it would hide half the view
        pole_pts = []
        while z < OBJ_END * 1.2:
            x = road.side_x(side, 0.35 if kind != "mooring" else -0.6)
            objs.append(Obj("pole", x, z, dict(kind=kind, side=side, h=rng.uniform(7.5, 10.0))))
            pole_pts.append((x, z))
            z += _u(rng, spacing)
        if style["wires"] and kind != "lamp" and len(pole_pts) > 1:
            objs.append(Obj("wires", 0.0, 1.0, dict(points=pole_pts, n=int(rng.integers(2, 5)),
                                                    cross=rng.random() < 0.5, side=side)))
    # Traffic signs on our side, country-specific shapes.
    for _ in range(rng.poisson(style["sign_rate"] * 10)):
        side = 1 if drive > 0 else 0
        if rng.random() < 0.3:
            side = 1 - side
        sk = _pick(rng, ["warning", "warning", "prohibit", "info", "stop"])
        objs.append(Obj("sign", road.side_x(side, 0.3), rng.uniform(6, 80), dict(kind=sk, style=style.warning_sign)))
    # Bollards in short runs at the kerb.
    if style.get("bollards") and style.density > 0.4 and not road.canal:
        for side in (0, 1):
            for _ in range(rng.poisson(1.2)):
                z = rng.uniform(3, 50)
                for k in range(int(rng.integers(3, 8))):
                    objs.append(Obj("bollard", road.side_x(side, 0.25), z + 1.6 * k, dict(colors=style["bollards"])))
    # Fences along yards or rails along country roads.
    fence = style.get("fence")
    fence = _pick(rng, fence) if isinstance(fence, list) else fence
    if fence:
        for side in (0, 1):
            d = road.pavement[side] + (0.2 if fence != "rail" else -0.1)
            if fence == "rail":
                d = 0.4 if road.pavement[side] < 0.5 else road.pavement[side]
            objs.append(Obj("fence", road.side_x(side, d), 0.0, dict(kind=fence, seed=rng.uniform(0, 256))))
    return objs


def make_objects(style: Style, road: Road, cam: Camera, rows: list[BuildingRow],
                 rng: np.random.Generator) -> list[Obj]:
    """Every billboard object of a street, drawn from `rng` in a fixed order (so renders stay reproducible)."""
    drive = 1.0 if style.drive_side == "right" else -1.0
    objs = _vehicles(style, road, cam, rng, drive)
    objs += _people_and_trees(style, road, rng)
    return objs + _street_furniture(style, road, rng, drive)


def make_scene(style: Style, h: int, w: int, rng: np.random.Generator) -> Scene:
    road = make_road(style, rng)
    cam = make_camera(style, road, h, w, rng)
    rows = make_rows(style, road, rng)
    objects = make_objects(style, road, cam, rows, rng)
    lo, hi = style["terrain"]
    return Scene(cam, road, rows, objects, _u(rng, (lo, hi)), float(rng.uniform(0, 4096)), {})
