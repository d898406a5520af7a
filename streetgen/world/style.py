"""What a place looks like: architecture families, climate, famous-city looks, weather and time of day.

A `Style` is a flat dict of palettes and ranges (`spec`) merged in layers — defaults ← architecture family ←
climate ← density (city/countryside) ← famous city — plus the values drawn once per image (weather, sun, road
layout). `scene.py` draws buildings and objects from it; nothing here touches pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from streetgen import geo

FAMILIES = tuple(geo.REGION_STYLES)

DEFAULT = dict(
    lane_w=(3.0, 3.5), lanes=[1], parking=0.5, pavement_w=(1.8, 3.2), setback=(0.0, 0.0), kerb=True,
    asphalt=["#4a4a4c", "#56565a", "#3e3f42"], asphalt_var=0.10, centre_pattern=["dashed"], edge_lines=0.5,
    pavement=["#a29f99", "#b3afa7", "#8f8c88"], yard="grass", shoulder="pavement",
    bld_len=(9, 16), gap_prob=0.0, gap_len=(3, 8), floors=(3, 6), floor_h=3.1,
    walls=["#d8cdb6", "#c9b99a", "#b9a48a", "#e3dccb"], wall_var=0.06, win_w=0.45, win_h=0.55, bay=(2.6, 3.4),
    glass=["#3d4a57", "#4a5663", "#2f3b48"], frame="#e9e6df", shutters=[], shutter_prob=0.0,
    balcony_prob=0.2, balcony="#2c2c2c", shop_prob=0.5, awnings=["#8a2b2b", "#2b5a3a", "#2b3f6a", "#7a6a2b"],
    roofs=["pitched"], roof_colors=["#8b4a36", "#5b5f66"], roof_h=(1.5, 3.5), boards=0.0,
    board_colors=["#d62f2f", "#f2c230", "#2f7fd6", "#ffffff", "#2fa84f"], grilles=0.0, ac_units=0.0,
    rust=0.0, gables=0.0,
    back=["buildings"], back_dist=(12, 30), back_floors=(4, 8), back_walls=["#b7ada0", "#a6a39e", "#c4b9a6"],
    trees=[("deciduous", 1.0)], tree_rate=0.25, car_rate=0.8, ped_rate=0.25, bike_rate=0.03,
    car_colors=["#e6e6e6", "#1c1c1e", "#8d9196", "#b8bcc0", "#2c3e66", "#7d1f1f", "#3b4a3f"],
    car_kinds=[("sedan", 0.7), ("hatch", 0.3)], poles="lamp", pole_spacing=(22, 32), wires=False,
    bollards=None, sign_rate=0.12, fence=None, terrain=(0.3, 1.5), terrain_rgb="#6f7f6a", terrain_veg=True,
    ground="#7d8b55", plate="#f2f2f2", rear_plate="#f2f2f2", dome=0.0,
)

FAMILY_SPECS = {
    "north_american_suburban": dict(
        lane_w=(3.4, 3.8), parking=0.25, pavement_w=(1.2, 1.8), setback=(6, 14), bld_len=(10, 16), gap_prob=1.0,
        gap_len=(6, 14), floors=(1, 2), floor_h=3.0, shop_prob=0.0, balcony_prob=0.0,
        walls=["#eeeeea", "#d9cfb8", "#c7ced3", "#a9b9c9", "#e6dcae", "#b7c2a8", "#8e6f5a"],
        roofs=["pitched"], roof_colors=["#3d3f44", "#5a4a3f", "#4a4e55"], roof_h=(2.0, 3.5), frame="#f4f4f4",
        back=["trees", "none"], trees=[("deciduous", 0.7), ("conifer", 0.3)], tree_rate=0.35, car_rate=0.5,
        car_kinds=[("suv", 0.45), ("pickup", 0.25), ("sedan", 0.3)], ped_rate=0.05, poles="utility_wood",
        wires=True, pole_spacing=(30, 40), centre_pattern=["double", "double", "dashed"], edge_lines=0.8,
        fence=["picket", None, None], ground="#7a8b4f", asphalt=["#3a3b3d", "#4b4c4f", "#55565a"],
        car_colors=["#f0f0f0", "#1a1a1a", "#9aa0a6", "#7a1e1e", "#1f3a6b", "#c9c9c9", "#5b6b5b"],
    ),
    "western_european_urban": dict(
        parking=0.8, floors=(3, 6), walls=["#e4d9c3", "#d6c7a7", "#c4b28d", "#e8e2d2", "#cfc6b8", "#e6d7a5", "#b5654a"],
        roofs=["pitched", "mansard"], roof_colors=["#9a4b35", "#56595f", "#6b4537"], balcony_prob=0.35,
        shop_prob=0.55, bollards=["#f2f2f2", "#1c1c1c"], trees=[("deciduous", 1.0)], tree_rate=0.2,
        car_kinds=[("hatch", 0.55), ("sedan", 0.35), ("van", 0.1)], ped_rate=0.35, bike_rate=0.05,
        centre_pattern=["dashed", "none"], back=["buildings"], plate="#f2f2f2",
    ),
    "mediterranean": dict(
        lane_w=(2.8, 3.3), pavement_w=(1.2, 2.2), floors=(2, 5),
        walls=["#f3efe6", "#f4f1ea", "#e8c98f", "#d99a6c", "#e9d6a8", "#f0e0c8", "#c97b54"],
        shutters=["#2f6b3d", "#6b4a2b", "#2b5b8a", "#3f7f6f"], shutter_prob=0.7, balcony_prob=0.45,
        roofs=["low", "flat"], roof_colors=["#b35a35", "#c0673f", "#a4502f"], roof_h=(0.6, 1.4),
        trees=[("palm", 0.35), ("cypress", 0.25), ("olive", 0.4)], tree_rate=0.18, ground="#9a9560",
        car_kinds=[("hatch", 0.7), ("sedan", 0.2), ("scooter", 0.1)], bike_rate=0.06,
        car_colors=["#f2f2f2", "#c9c9c9", "#8d9196", "#1c1c1e", "#b22222", "#e0c050"],
    ),
    "nordic": dict(
        setback=(2, 8), gap_prob=0.8, gap_len=(5, 12), floors=(1, 3), bld_len=(8, 14), shop_prob=0.1,
        walls=["#8e2b22", "#a2342a", "#e3c15a", "#f2f0ea", "#d8d2c0", "#5f7f8f", "#c9a24a"], wall_var=0.04,
        roofs=["pitched"], roof_colors=["#2d2d30", "#3b3f45", "#6b2e26"], roof_h=(2.0, 3.5), frame="#f6f6f2",
        balcony_prob=0.05, trees=[("conifer", 0.55), ("birch", 0.45)], tree_rate=0.35, back=["trees", "trees", "none"],
        ground="#6c7d4a", car_kinds=[("sedan", 0.4), ("hatch", 0.3), ("suv", 0.3)], terrain=(0.8, 3.5),
        centre_pattern=["dashed"], edge_lines=0.9, ped_rate=0.1,
        urban=dict(walls=["#e3c15a", "#d9d2c0", "#c98f6a", "#9fb5a0", "#e8d8c0", "#b9c4cc", "#8e2b22"],
                   gap_prob=0.1, setback=(0, 2), floors=(3, 6), bld_len=(12, 22), shop_prob=0.4, back=["buildings", "trees"]),
    ),
    "east_asian_dense": dict(
        lane_w=(2.7, 3.1), parking=0.15, pavement_w=(0.0, 1.6), kerb=False, bld_len=(5, 10), floors=(2, 7),
        floor_h=3.0, walls=["#e8e6e0", "#d5d3cc", "#c8c2b4", "#b9b4aa", "#e2dccf", "#a7a9a6", "#d9cdb4"],
        roofs=["flat"], roof_h=(0.3, 0.6), roof_colors=["#8a8a88"], shop_prob=0.7, awnings=["#30343a", "#6a2f2f"],
        boards=0.6, ac_units=0.35, balcony_prob=0.3, balcony="#9da0a3", back=["towers", "buildings"],
        back_floors=(8, 20), trees=[("deciduous", 0.8), ("conifer", 0.2)], tree_rate=0.08, poles="utility_concrete",
        wires=True, pole_spacing=(18, 28), car_kinds=[("kei", 0.5), ("hatch", 0.3), ("van", 0.2)],
        car_colors=["#f4f4f4", "#f4f4f4", "#c9ccd0", "#1c1c1e", "#8d9196", "#2c3e66"], centre_pattern=["none", "solid"],
        edge_lines=1.0, ped_rate=0.3, bike_rate=0.12,
    ),
    "south_southeast_asian": dict(
        lane_w=(2.8, 3.3), parking=0.2, pavement_w=(0.0, 1.0), kerb=False, shoulder="dirt", bld_len=(5, 10),
        floors=(1, 4), walls=["#e8b4c0", "#7fc6c2", "#f0d36a", "#9fcf7f", "#f2a65a", "#d9d2c4", "#b7a3cf", "#ffffff"],
        wall_var=0.14, roofs=["flat", "flat", "tin"], roof_colors=["#8a8a88", "#9b5a3a"], roof_h=(0.3, 1.0),
        shop_prob=0.75, boards=0.45, grilles=0.3, rust=0.3, balcony_prob=0.25, back=["buildings", "trees"],
        trees=[("palm", 0.5), ("tropical", 0.5)], tree_rate=0.18, ground="#6f8a3f", poles="utility_concrete",
        wires=True, pole_spacing=(15, 25), car_kinds=[("rickshaw", 0.35), ("scooter", 0.35), ("hatch", 0.2),
                                                      ("minibus", 0.1)],
        car_colors=["#f2f2f2", "#d9d9d9", "#2f6b3d", "#f2c230", "#1c1c1e", "#8d2b2b"], ped_rate=0.5,
        bike_rate=0.15, centre_pattern=["none", "dashed"], edge_lines=0.2, asphalt=["#55524d", "#5e5a54"],
    ),
    "middle_east_north_africa": dict(
        lane_w=(3.2, 3.6), floors=(2, 4), walls=["#d9c3a0", "#e3cfa9", "#cdb48c", "#e8dcc4", "#c8a87e", "#f0e6d2"],
        wall_var=0.05, win_w=0.3, win_h=0.45, haze=0.45, roofs=["flat"], roof_h=(0.4, 0.9), roof_colors=["#c9b18a"],
        shop_prob=0.6, awnings=["#2b5a3a", "#8a2b2b", "#d8c7a0"], grilles=0.35, balcony_prob=0.3,
        balcony="#8c7c68", back=["buildings", "none"], back_walls=["#d8c4a2", "#cbb38e"], dome=0.25,
        trees=[("palm", 0.8), ("olive", 0.2)], tree_rate=0.12, ground="#c8ae7e", terrain_veg=False,
        terrain_rgb="#b79e7a", car_kinds=[("sedan", 0.6), ("hatch", 0.2), ("pickup", 0.2)],
        car_colors=["#f2f2f2", "#f2f2f2", "#d9d9d9", "#b8bcc0", "#1c1c1e", "#c9b79a"], asphalt=["#5a5854", "#63605a"],
        pavement=["#c9bfae", "#b8ae9c"], shoulder="dirt", fascia=True, roof_clutter=True, arches=True,
        shutters=["#2f6b4f", "#2b5b8a", "#6b4a2b"], shutter_prob=0.45,
        board_colors=["#2f8a4f", "#f4f4f0", "#c0392b", "#2b5b8a", "#e0b040"],
    ),
    "sub_saharan": dict(
        lane_w=(3.0, 3.4), parking=0.1, pavement_w=(0.0, 1.5), kerb=False, shoulder="dirt", setback=(2, 8),
        bld_len=(6, 12), gap_prob=0.7, gap_len=(3, 10), floors=(1, 2), floor_h=2.8,
        walls=["#e9e4d8", "#c9d7e6", "#e7c9a0", "#d96f4a", "#9fc7a8", "#f2e28f", "#b08a6a"], wall_var=0.12,
        roofs=["tin"], roof_colors=["#8f9396", "#8b5a3c", "#a3a7aa"], roof_h=(0.6, 1.4), rust=0.5, shop_prob=0.35,
        boards=0.25, fence=["wall", "wall", None], back=["none", "trees"], trees=[("acacia", 0.6), ("tropical", 0.4)],
        tree_rate=0.15, ground="#a8553a", car_kinds=[("minibus", 0.35), ("sedan", 0.35), ("pickup", 0.3)],
        car_colors=["#f2f2f2", "#e8e8e8", "#f2c230", "#2c5aa0", "#1c1c1e"], ped_rate=0.35, poles="utility_wood",
        centre_pattern=["none", "dashed"], asphalt=["#4b4946", "#55524e"], fascia=True,
        board_colors=["#f2c230", "#c0392b", "#2f7fd6", "#2fa84f", "#f4f4f0"],
    ),
    "latin_american": dict(
        lane_w=(3.0, 3.4), pavement_w=(1.2, 2.4), floors=(1, 3), bld_len=(6, 10),
        walls=["#e8743b", "#2fa3a0", "#e8b4c0", "#f2d15a", "#7fb26a", "#f4efe6", "#4f7fc4", "#c9483b"],
        wall_var=0.1, roofs=["flat"], roof_h=(0.3, 0.8), roof_colors=["#9a9a96"], grilles=0.6, shop_prob=0.4,
        boards=0.2, rust=0.15, back=["buildings", "trees"], trees=[("tropical", 0.6), ("palm", 0.4)], tree_rate=0.2,
        poles="utility_concrete", wires=True, car_kinds=[("sedan", 0.4), ("hatch", 0.4), ("pickup", 0.2)],
        centre_pattern=["double", "dashed"], ped_rate=0.3, fascia=True, roof_clutter=True,
    ),
    "eastern_european_panel": dict(
        lane_w=(3.3, 3.7), lanes=[1, 2, 2], pavement_w=(2.5, 5.0), setback=(3, 10), floors=(4, 6),
        walls=["#d8c28e", "#cfc9bd", "#b8b4aa", "#e0d2b0", "#a9a49a", "#c98f6a"], roofs=["flat", "pitched"],
        roof_colors=["#6b6e72", "#7a4a3a"], balcony_prob=0.4, balcony="#8e8e8a", shop_prob=0.3,
        back=["panel", "panel", "trees"], back_floors=(9, 16), back_walls=["#c9c6be", "#b4b2ab", "#d6d0c2"],
        trees=[("birch", 0.5), ("deciduous", 0.5)], tree_rate=0.35, car_kinds=[("sedan", 0.6), ("hatch", 0.4)],
        car_colors=["#f2f2f2", "#8d9196", "#1c1c1e", "#3c5a3a", "#6a2b2b", "#c9c9c9", "#2c3e66"], ped_rate=0.25,
        bollards=["#f2f2f2", "#c0392b"], poles="lamp",
    ),
    "oceanian": dict(
        lane_w=(3.3, 3.6), parking=0.3, pavement_w=(1.2, 1.8), setback=(5, 12), gap_prob=1.0, gap_len=(5, 12),
        floors=(1, 1), floor_h=3.0, walls=["#f0ede4", "#d9cdb0", "#c7b89a", "#a9b8b0", "#b56a4a", "#e8e0c8"],
        roofs=["tin", "pitched"], roof_colors=["#7a2e2a", "#3f5a4a", "#9a9ea2", "#4a4e55"], roof_h=(1.2, 2.5),
        shop_prob=0.05, balcony_prob=0.0, back=["trees", "none"], trees=[("eucalyptus", 0.7), ("palm", 0.3)],
        tree_rate=0.3, ground="#a59a5e", car_kinds=[("suv", 0.4), ("sedan", 0.3), ("pickup", 0.3)],
        poles="utility_wood", wires=True, fence=["picket", None], ped_rate=0.08, centre_pattern=["dashed", "solid"],
        edge_lines=0.9,
    ),
}

CITY_SPECS = {
    "Paris": dict(family="western_european_urban", floors=(5, 7), floor_h=3.2, bld_len=(14, 22),
                  walls=["#e6dcc6", "#ddd1b6", "#e9e1cf", "#d4c6a6"], wall_var=0.03, win_w=0.42, win_h=0.62,
                  roofs=["mansard"], roof_colors=["#5d6770", "#66707a"], roof_h=(3.0, 4.0), balcony_prob=0.9,
                  balcony="#1e1e1e", shop_prob=0.9, awnings=["#8a2020", "#1f4f33", "#2b2b2b"],
                  pavement_w=(3.0, 5.0), trees=[("plane", 1.0)], tree_rate=0.3, back=["buildings"], lanes=[1, 2],
                  bollards=["#2a3a2f", "#2a3a2f"], parisian=True),
    "Manhattan": dict(family="north_american_suburban", setback=(0, 0), gap_prob=0.0, bld_len=(12, 25),
                      floors=(6, 22), floor_h=3.4, walls=["#8a4b3a", "#9c5a44", "#b8a58a", "#6f6f73", "#c9c2b4"],
                      roofs=["flat"], roof_h=(0.5, 1.0), shop_prob=0.9, balcony_prob=0.5, balcony="#1c1c1c",
                      fire_escapes=True, back=["towers"], back_floors=(25, 60), back_dist=(20, 40), lanes=[2],
                      pavement_w=(3.5, 5.0), trees=[("deciduous", 1.0)], tree_rate=0.12, poles="lamp", wires=False,
                      car_kinds=[("taxi", 0.55), ("suv", 0.25), ("sedan", 0.2)], ped_rate=0.6, fence=None,
                      centre_pattern=["double"]),
    "Venice": dict(family="mediterranean", canal=True, lane_w=(3.0, 4.0), pavement_w=(2.0, 3.5), floors=(3, 4),
                   walls=["#c9714f", "#e0b184", "#d89a84", "#e8d3b0", "#b8583f", "#e5c48a"], wall_var=0.12,
                   win_w=0.35, win_h=0.6, frame="#efe9dc", shutters=["#2f5b3a", "#3d6b4f"], shutter_prob=0.6,
                   roofs=["low"], car_rate=0.0, bike_rate=0.0, trees=[("cypress", 1.0)], tree_rate=0.02,
                   poles="mooring", back=["buildings"], ped_rate=0.35, bollards=None, sign_rate=0.0, arches=True),
    "Burano": dict(family="mediterranean", canal=True, lane_w=(3.0, 4.0), pavement_w=(2.0, 3.0), floors=(2, 3),
                   bld_len=(5, 9), walls=["#e63946", "#1d4ed8", "#f4c430", "#16a34a", "#a855f7", "#f97316",
                                          "#06b6d4", "#ec4899"], wall_var=0.03, frame="#ffffff", shutters=["#1f6f3f"],
                   shutter_prob=0.5, roofs=["low"], roof_colors=["#b35a35"], car_rate=0.0, bike_rate=0.0,
                   tree_rate=0.0, poles="mooring", back=["none"], ped_rate=0.3, sign_rate=0.0, balcony_prob=0.1),
    "Tokyo": dict(family="east_asian_dense", floors=(3, 9), boards=0.9, ac_units=0.5, pavement_w=(0.0, 1.2),
                  car_kinds=[("kei", 0.45), ("taxi_jp", 0.15), ("hatch", 0.25), ("van", 0.15)], ped_rate=0.5,
                  back=["towers"], back_floors=(12, 30), pole_spacing=(14, 20)),
    "Amsterdam": dict(family="western_european_urban", floors=(3, 5), bld_len=(5, 8), floor_h=3.0,
                      walls=["#6b3a2a", "#5a2f24", "#7a4230", "#3d2a22", "#8a5a3c", "#e9e3d5"], wall_var=0.05,
                      frame="#f4f4f0", win_w=0.55, win_h=0.62, gables=1.0, roofs=["gable"], roof_colors=["#3a2a24"],
                      roof_h=(2.0, 3.5), shop_prob=0.3, balcony_prob=0.0, trees=[("deciduous", 1.0)], tree_rate=0.4,
                      bike_rate=0.5, bollards=["#5a1f1a", "#5a1f1a"], asphalt=["#6b4a44", "#5a4a48"],
                      car_kinds=[("hatch", 0.8), ("van", 0.2)], rear_plate="#f2c230", plate="#f2c230"),
    "Cairo": dict(family="middle_east_north_africa", floors=(5, 12), walls=["#c2a283", "#b08a68", "#c9b295", "#a8805e",
                                                                          "#d6c3a5", "#b89a7a"],
                  wall_var=0.06, rust=0.3, back=["towers", "buildings"], back_floors=(8, 16), grilles=0.2,
                  dome=0.35, car_kinds=[("sedan", 0.5), ("taxi_cairo", 0.3), ("minibus", 0.2)], ped_rate=0.5,
                  brick_top=True, arches=False,
                  haze=0.5, trees=[("palm", 1.0)], tree_rate=0.06),
    "Rio de Janeiro": dict(family="latin_american", floors=(2, 4), back=["favela"], terrain=(9, 16),
                           terrain_rgb="#4f6b3f", trees=[("palm", 0.7), ("tropical", 0.3)], tree_rate=0.3,
                           walls=["#f4efe6", "#e8743b", "#f2d15a", "#2fa3a0", "#e8b4c0", "#d9d2c4"]),
    "Moscow": dict(family="eastern_european_panel", lanes=[3], floors=(7, 11), bld_len=(30, 60), setback=(0, 4),
                   walls=["#e3c98f", "#d9b77a", "#cfc6b0", "#e6d7b8", "#c47a5a"], wall_var=0.03,
                   roofs=["flat"], shop_prob=0.5, balcony_prob=0.25, pavement_w=(5.0, 8.0),
                   car_kinds=[("sedan", 0.5), ("lada", 0.3), ("suv", 0.2)], back=["panel"], back_floors=(12, 22),
                   poles="lamp", wires=True),
    "London": dict(family="western_european_urban", floors=(3, 4), bld_len=(5, 7),
                   walls=["#b89a6a", "#a8875a", "#c4a77a", "#8a5a45", "#efe9dc"], wall_var=0.06, frame="#f6f6f2",
                   win_w=0.4, win_h=0.65, roofs=["pitched"], roof_colors=["#4a4e55"], balcony_prob=0.1,
                   shop_prob=0.35, car_kinds=[("hatch", 0.45), ("black_cab", 0.2), ("bus", 0.15), ("sedan", 0.2)],
                   rear_plate="#f2c230", bollards=["#1c1c1c", "#1c1c1c"], trees=[("plane", 1.0)]),
}

CLIMATE_SPECS = {
    "tropical": dict(ground_tint="#5f8a3a", haze=0.25),
    "arid": dict(ground_tint="#c8a97a", trees_override=[("palm", 0.6), ("acacia", 0.4)], tree_scale=0.4,
                 terrain_veg=False, terrain_rgb="#b89a74", haze=0.35),
    "mediterranean": dict(ground_tint="#9a9560"),
    "temperate": dict(ground_tint="#6f8a45"),
    "continental": dict(ground_tint="#6c8044"),
    "boreal": dict(ground_tint="#5f7240", trees_override=[("conifer", 0.6), ("birch", 0.4)]),
    "polar": dict(ground_tint="#8a8f80", trees_override=[("conifer", 1.0)], tree_scale=0.3),
}
WEATHER_BY_CLIMATE = {  # probabilities of clear, partly, overcast, rain, fog
    "tropical": (0.30, 0.45, 0.10, 0.15, 0.0), "arid": (0.75, 0.2, 0.03, 0.0, 0.02),
    "mediterranean": (0.55, 0.3, 0.1, 0.05, 0.0), "temperate": (0.25, 0.35, 0.25, 0.1, 0.05),
    "continental": (0.3, 0.35, 0.25, 0.05, 0.05), "boreal": (0.2, 0.3, 0.35, 0.1, 0.05),
    "polar": (0.25, 0.25, 0.4, 0.0, 0.1),
}
WEATHERS = ("clear", "partly_cloudy", "overcast", "rain", "fog")


@dataclass
class Style:
    """Everything the scene sampler and painters need to know about this image's place and moment."""

    spec: dict
    family: str
    famous_city: str | None
    country: str
    drive_side: str
    centre_line: str
    warning_sign: str
    climate: str
    density: float
    coastal: bool
    highland: bool
    sea_km: float
    snow: bool
    weather: str
    hour: float
    sun_elev: float  # radians above the horizon
    sun_az: float  # radians, 0 = straight down the road, positive toward +x (the right)
    extras: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.spec[key]

    def get(self, key, default=None):
        return self.spec.get(key, default)


def famous_city_at(lat: float, lon: float) -> str | None:
    """Name of the famous city whose radius contains the point (nearest one wins), else None."""
    best, best_d = None, 1e9
    for c in geo.FAMOUS_CITIES.values():
        if abs(lat - c.lat) > 0.5 or abs(lon - c.lon) > 0.8:  # cheap reject before the great-circle distance
            continue
        d = float(geo.haversine_km(lat, lon, c.lat, c.lon))
        if d <= c.radius_km and d < best_d:
            best, best_d = c.name, d
    return best


def make_style(lat: float, lon: float, place: geo.Place, rng: np.random.Generator,
               famous_city: str | None = None) -> Style:
    """Merge the layers for this place and draw the per-image moment (weather, time, snow)."""
    cc = place.country
    ctry = geo.countries().get(cc)
    family = ctry.region_style if ctry else "western_european_urban"
    city = famous_city if famous_city is not None else famous_city_at(lat, lon)
    city_spec = CITY_SPECS.get(city, {}) if city else {}
    family = city_spec.get("family", family)
    spec = dict(DEFAULT)
    spec.update(FAMILY_SPECS[family])

    sea_km = geo.distance_to_sea_km(lat, lon)
    clim = geo.climate(lat, lon, cc, sea_km)
    highland = geo.is_highland(lat, lon)
    cs = CLIMATE_SPECS[clim]
    if "trees_override" in cs and not city_spec:
        spec["trees"] = cs["trees_override"]
    spec["tree_rate"] = spec["tree_rate"] * cs.get("tree_scale", 1.0)
    spec["ground"] = _mix_hex(spec["ground"], cs["ground_tint"], 0.6)
    if not cs.get("terrain_veg", True):
        spec["terrain_veg"], spec["terrain_rgb"] = False, cs["terrain_rgb"]
    spec["haze"] = max(cs.get("haze", 0.15), spec.get("haze", 0.0))
    if highland:
        spec["terrain"] = (4.0, 10.0)
        if clim not in ("arid", "tropical"):
            spec["trees"] = [("conifer", 0.7)] + [t for t in spec["trees"] if t[0] != "palm"][:1]
    if sea_km <= 5 and clim in ("tropical", "mediterranean", "arid") and not city_spec:
        spec["trees"] = spec["trees"] + [("palm", 0.5)]  # coastal promenades get palms
    if cc in ("NO", "CH", "AT", "NP", "BT", "PE", "BO", "CL", "NZ", "IS"):
        spec["terrain"] = (3.0, 9.0)

    # City ↔ countryside: the urban index scales height, continuity, traffic and people.
    density = geo.urban_index(lat, lon) if not city else 1.0
    if not city:
        _apply_density(spec, density, family)
    spec.update({k: v for k, v in city_spec.items() if k != "family"})

    # Within a country: north/south and coast/inland shift the palette a little so places differ.
    tint = float(np.clip((lat - (ctry_lat(cc) if ctry else lat)) / 15.0, -1, 1))
    spec["latitude_tint"] = tint

    weather = WEATHERS[rng.choice(5, p=WEATHER_BY_CLIMATE[clim])]
    snow_p = {"polar": 0.7, "boreal": 0.35, "continental": 0.25}.get(clim, 0.0) + (0.35 if highland else 0.0)
    snow = bool(rng.random() < min(snow_p, 0.85)) and clim != "tropical" and city not in ("Cairo", "Rio de Janeiro")
    if snow and weather == "rain":
        weather = "overcast"
    hour = float(rng.uniform(7.0, 19.0))
    max_elev = math.radians(90 - abs(lat - 10 * np.sign(lat)) * 0.9)
    sun_elev = max(math.radians(2.0), max_elev * math.sin(math.pi * (hour - 6.0) / 13.0))
    sun_az = float(rng.uniform(-math.pi, math.pi))
    return Style(spec, family, city, cc, ctry.drive_side if ctry else "right",
                 ctry.centre_line if ctry else "white", ctry.warning_sign if ctry else "triangle_white",
                 clim, density, sea_km <= 5, highland, sea_km, snow, weather, hour, sun_elev, sun_az)


def _apply_density(spec: dict, density: float, family: str) -> None:
    """Countryside: low, detached, sparse, fields behind; city: tall, continuous, busy."""
    if density > 0.5 and "urban" in spec:
        spec.update(spec["urban"])
    if family == "middle_east_north_africa" and density > 0.5:
        spec["brick_top"] = True
    lo, hi = spec["floors"]
    if density < 0.25:
        spec["floors"] = (1, max(1, min(hi, 2)))
        spec["gap_prob"] = max(spec["gap_prob"], 0.85)
        spec["gap_len"] = (10, 40)
        spec["setback"] = (max(spec["setback"][0], 3), max(spec["setback"][1], 12))
        spec["shop_prob"] *= 0.2
        spec["boards"] *= 0.3
        spec["back"] = ["none", "trees"]
        spec["pavement_w"] = (0.0, 0.8)
        spec["kerb"] = False
        spec["shoulder"] = "dirt" if family in ("sub_saharan", "south_southeast_asian", "middle_east_north_africa",
                                                 "latin_american") else "grass"
        spec["car_rate"] *= 0.4
        spec["ped_rate"] *= 0.2
        spec["parking"] *= 0.2
        spec["tree_rate"] *= 1.6
        spec["fence"] = ["rail", None] if family not in ("sub_saharan",) else spec["fence"]
        spec["lanes"] = [1]
        spec["centre_pattern"] = [p for p in spec["centre_pattern"] if p != "none"] or ["dashed"]
    elif density > 0.8 and family not in ("north_american_suburban", "oceanian", "nordic", "sub_saharan"):
        spec["floors"] = (lo + 1, hi + 2)
        spec["car_rate"] *= 1.3
        spec["ped_rate"] *= 1.5
    elif density > 0.8:  # downtowns of otherwise low-rise families
        spec.update(setback=(0, 2), gap_prob=0.2, floors=(3, 10), shop_prob=0.6, roofs=["flat"], roof_h=(0.4, 0.8),
                    back=["towers"], back_floors=(10, 30))


@lru_cache(maxsize=None)
def ctry_lat(cc: str) -> float:
    """Population-weighted mean latitude of a country's cities (its "middle" for north/south variation)."""
    tab = geo.cities()
    idx = tab.by_country.get(cc)
    if idx is None:
        return 0.0
    w = np.maximum(tab.population[idx], 1).astype(float)
    return float((tab.lat[idx] * w).sum() / w.sum())


def _mix_hex(a: str, b: str, t: float) -> str:
    ca = np.array([int(a[i:i + 2], 16) for i in (1, 3, 5)])
    cb = np.array([int(b[i:i + 2], 16) for i in (1, 3, 5)])
    c = np.round(ca * (1 - t) + cb * t).astype(int)
    return "#" + "".join(f"{v:02x}" for v in c)
