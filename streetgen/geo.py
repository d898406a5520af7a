"""Places on Earth, offline: countries and their road conventions, cities, reverse geocoding, sampling, encodings.

Everything here runs without a network: the city and country tables are GeoNames extracts committed under
`streetgen/assets/geo/` (CC BY 4.0, see SOURCE.md) and the land/sea test is a 2-arcminute downsampling of the
GLOBE land mask shipped by `global_land_mask` (see SOURCE.md; 7 MB in memory instead of 900 MB).
Conventions (drive side, centre-line colour, sign shapes, …) are public facts collected by hand below; they are
what a geography-game player would use to tell countries apart, and `streetgen.world` renders them.
"""
from __future__ import annotations

import csv
import gzip
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from streetgen.validate import shown

EARTH_RADIUS_KM = 6371.0088

# --- conventions, by ISO 3166-1 alpha-2 -------------------------------------------------------------------------
# Countries that drive on the left (everything else drives on the right).
LEFT_DRIVING = set(
    "GB IE IM JE GG MT CY JP IN PK BD LK NP BT MV TH MY SG BN ID TL HK MO AU NZ PG FJ WS TO SB KI TV NR CK NU "
    "ZA NA BW ZW ZM MW MZ TZ KE UG LS SZ MU SC GY SR JM TT BB BS AG DM GD KN LC VC VG VI AI KY BM MS TC FK SH "
    "PN CX CC NF".split()
)
# Yellow centre lines: the Americas, plus Norway and Finland (white elsewhere).
YELLOW_CENTRE_LINE = set(
    "US CA MX GT BZ SV HN NI CR PA CO VE EC PE BO BR PY UY AR CL NO FI".split()
)
# Diamond-shaped yellow warning signs (Americas, Australia, Japan, ...); triangles elsewhere (Vienna convention).
DIAMOND_WARNING_SIGNS = set("US CA MX AU NZ JP CO VE EC PE BO BR PY UY AR CL CR PA GT HN SV NI PH TH MY ID".split())
# Warning triangles with a yellow instead of white field.
YELLOW_TRIANGLE_SIGNS = set("SE FI IS PL GR MK AL ME BA RS HR BG".split())
# Wooden utility poles with overhead wires lining the street are a strong tell in these countries.
OVERHEAD_WIRES = set(
    "US CA MX JP KR TW PH TH VN KH LA MM IN BD LK ID MY BR AR CL PE CO EC BO VE GT HN NI SV CR PA ZA KE NG GH "
    "TZ UG RU UA BY KZ MN".split()
)
# Regional architecture families (the world renderer draws one look per family).
REGION_STYLES = {
    "north_american_suburban": "US CA PR",
    "western_european_urban": "FR DE BE NL LU CH AT GB IE LI MC",
    "mediterranean": "ES PT IT GR MT CY HR SM VA AD AL ME TR SI",
    "nordic": "NO SE FI IS DK FO GL AX",
    "east_asian_dense": "JP KR CN TW HK MO KP SG",
    "south_southeast_asian": "IN PK BD LK NP BT MV MM TH VN LA KH MY ID PH BN TL",
    "middle_east_north_africa": "MA DZ TN LY EG SA AE QA BH KW OM YE JO IQ SY LB IL PS IR AF SD MR EH",
    "sub_saharan": "",  # default for the rest of Africa
    "latin_american": "",  # default for the rest of the Americas
    "eastern_european_panel": "RU UA BY PL CZ SK HU RO BG MD LT LV EE RS BA MK XK KZ UZ KG TJ TM GE AM AZ MN",
    "oceanian": "AU NZ PG FJ WS TO SB VU NC PF KI TV NR FM MH PW",
}
STYLE_OF_COUNTRY = {cc: style for style, ccs in REGION_STYLES.items() for cc in ccs.split()}
CONTINENT_DEFAULT_STYLE = {"AF": "sub_saharan", "SA": "latin_american", "NA": "latin_american",
                           "EU": "western_european_urban", "AS": "south_southeast_asian", "OC": "oceanian",
                           "AN": "nordic"}
# Mostly arid countries; boxes below add arid parts of large countries.
ARID_COUNTRIES = set("EG LY SA AE QA BH KW OM YE JO IQ IR AF TM NE ML MR TD SD SO DJ ER NA BW EH".split())
ARID_BOXES = [  # (lat_min, lat_max, lon_min, lon_max): deserts inside otherwise non-arid countries
    (31, 38, -120, -103), (24, 32, -116, -104), (-28, -17, -71, -68), (-32, -20, 118, 146), (37, 46, 75, 110),
    (24, 30, 69, 75), (20, 31.5, -17, 12), (40, 47, 50, 70), (-30, -24, 17, 25),
]
MEDITERRANEAN_BOXES = [(30, 45.5, -10, 36), (32, 42, -124, -117), (-38, -30, -73, -70), (-35.5, -30, 114, 119),
                       (-35, -33, 17.5, 21), (32, 37.5, -10, 11)]
HIGHLAND_BOXES = [(-20, 5, -80, -65), (-35, -20, -71, -66), (28, 38, 78, 100), (6, 14, 36, 40), (45.5, 47.5, 6, 14),
                  (35, 50, -115, -105), (18, 22, -103, -97), (36, 43, 42, 50)]
CONTINENTAL = set("RU UA BY KZ MN CA PL LT LV EE FI SE CZ SK HU RO MD KG UZ CN KP".split())

CLIMATES = ("tropical", "arid", "mediterranean", "temperate", "continental", "boreal", "polar")


@dataclass(frozen=True)
class Country:
    """A country with the road conventions the world renderer draws."""

    iso2: str
    iso3: str
    name: str
    continent: str
    capital: str
    population: int
    drive_side: str  # "left" | "right"
    centre_line: str  # "yellow" | "white"
    warning_sign: str  # "diamond" | "triangle_white" | "triangle_yellow"
    overhead_wires: bool
    region_style: str


@dataclass(frozen=True)
class Place:
    """What `reverse` knows about a coordinate."""

    lat: float
    lon: float
    country: str  # ISO alpha-2 of the nearest city ("" at sea far from any city)
    country_name: str
    city: str
    city_population: int
    city_distance_km: float
    is_land: bool


@dataclass(frozen=True)
class FamousCity:
    """A city with its own look in the world renderer (`streetgen.world.cities`)."""

    name: str
    lat: float
    lon: float
    country: str
    radius_km: float = 12.0


FAMOUS_CITIES = {c.name: c for c in [
    FamousCity("Paris", 48.8566, 2.3522, "FR"),
    FamousCity("Manhattan", 40.7831, -73.9712, "US", 8.0),
    FamousCity("Venice", 45.4371, 12.3326, "IT", 6.0),
    FamousCity("Burano", 45.4853, 12.4170, "IT", 1.5),
    FamousCity("Tokyo", 35.6812, 139.7671, "JP", 25.0),
    FamousCity("Amsterdam", 52.3728, 4.8936, "NL"),
    FamousCity("Cairo", 30.0444, 31.2357, "EG", 20.0),
    FamousCity("Rio de Janeiro", -22.9068, -43.1729, "BR", 20.0),
    FamousCity("Moscow", 55.7558, 37.6173, "RU", 25.0),
    FamousCity("London", 51.5074, -0.1278, "GB", 18.0),
]}


def check_latlon(lat: float, lon: float) -> tuple[float, float]:
    """Return (lat, lon) as floats, or raise ValueError for NaN or out-of-range values."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError) as err:
        raise ValueError(f"coordinates must be numbers, got lat={shown(lat)}, lon={shown(lon)}") from err
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"coordinates must be finite, got lat={lat}, lon={lon}")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside [-90, 90]")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside [-180, 180]")
    return lat, lon


# --- tables -----------------------------------------------------------------------------------------------------
def asset(name: str):
    """A file of the package's geography assets (tables, land mask, world map), as an importlib resource."""
    return resources.files("streetgen") / "assets" / "geo" / name


@lru_cache(maxsize=1)
def _countries() -> dict[str, Country]:
    out = {}
    with asset("countries.csv").open(encoding="utf-8", newline="") as fh:
        # csv, not pandas: Namibia's "NA" must stay a string, never become a missing value.
        for row in csv.DictReader(fh):
            cc = row["iso2"]
            style = STYLE_OF_COUNTRY.get(cc) or CONTINENT_DEFAULT_STYLE[row["continent"]]
            if cc == "ZA":
                style = "sub_saharan"
            warning = ("diamond" if cc in DIAMOND_WARNING_SIGNS else
                       "triangle_yellow" if cc in YELLOW_TRIANGLE_SIGNS else "triangle_white")
            out[cc] = Country(cc, row["iso3"], row["name"], row["continent"], row["capital"],
                              int(row["population"] or 0), "left" if cc in LEFT_DRIVING else "right",
                              "yellow" if cc in YELLOW_CENTRE_LINE else "white", warning,
                              cc in OVERHEAD_WIRES, style)
    return out


class _Cities:
    """City arrays plus a KD-tree on unit-sphere xyz (chord distance is monotonic in great-circle distance)."""

    def __init__(self) -> None:
        names, lat, lon, cc, pop = [], [], [], [], []
        with gzip.open(asset("cities15000.csv.gz").open("rb"), "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                names.append(row["name"]); cc.append(row["country"])
                lat.append(float(row["latitude"])); lon.append(float(row["longitude"]))
                pop.append(int(row["population"]))
        self.names = names
        self.lat, self.lon = np.array(lat), np.array(lon)
        self.country = np.array(cc)
        self.population = np.array(pop, dtype=np.int64)
        from scipy.spatial import cKDTree  # imported here: scipy costs ~0.3 s and only geo needs it

        self.tree = cKDTree(unit_xyz(self.lat, self.lon))
        self.by_country: dict[str, np.ndarray] = {}
        order = np.argsort(self.country, kind="stable")
        codes, starts = np.unique(self.country[order], return_index=True)
        for code, a, b in zip(codes, starts, list(starts[1:]) + [len(order)]):
            self.by_country[str(code)] = order[a:b]


@lru_cache(maxsize=1)
def cities() -> _Cities:
    """The city table (34k places with ≥ 15,000 inhabitants), loaded once."""
    return _Cities()


COUNTRY_ALIASES = {"usa": "US", "united states of america": "US", "uk": "GB", "united kingdom": "GB",
                   "england": "GB", "britain": "GB", "great britain": "GB", "russia": "RU", "south korea": "KR",
                   "north korea": "KP", "korea": "KR", "czechia": "CZ", "ivory coast": "CI", "vietnam": "VN",
                   "laos": "LA", "syria": "SY", "iran": "IR", "bolivia": "BO", "venezuela": "VE",
                   "tanzania": "TZ", "taiwan": "TW", "palestine": "PS", "the netherlands": "NL", "holland": "NL"}


def countries() -> dict[str, Country]:
    """All countries by ISO alpha-2 code."""
    return _countries()


def renderable_countries() -> list[Country]:
    """Countries with at least one populated place to put a street in (all but a few territories), by name."""
    tab = cities()
    return sorted((c for c in _countries().values() if len(tab.by_country.get(c.iso2, ())) > 0), key=lambda c: c.name)


def country(code_or_name: str) -> Country:
    """Look a country up by ISO alpha-2/alpha-3 code or English name; ValueError names close matches if unknown."""
    table = _countries()
    if not isinstance(code_or_name, str) or not code_or_name.strip():
        raise ValueError(f"country must be a non-empty string, got {shown(code_or_name)}")
    key = code_or_name.strip()
    if key.upper() in table:
        return table[key.upper()]
    low = key.lower()
    for c in table.values():
        if low in (c.iso3.lower(), c.name.lower()):
            return c
    if low in COUNTRY_ALIASES:
        return table[COUNTRY_ALIASES[low]]
    import difflib

    close = difflib.get_close_matches(low, [c.name.lower() for c in table.values()], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(s.title()) for s in close)}?" if close else ""
    raise ValueError(f"unknown country {shown(code_or_name)} (use an ISO code such as 'FR' or an English name){hint}")


# --- geometry and lookups ------------------------------------------------------------------------------------------
def unit_xyz(lat, lon) -> np.ndarray:
    """Points on the unit sphere, shape (..., 3), for degrees lat/lon."""
    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@lru_cache(maxsize=1)
def land_mask() -> np.ndarray:
    """The 2-arcminute land mask, rows from 90 N and columns from 180 W (True on land; cached and shared: read only)."""
    with asset("land_mask_2arcmin.npz").open("rb") as fh:
        z = np.load(fh)
        h, w = (int(v) for v in z["shape"])
        return np.unpackbits(z["bits"], axis=1, count=w).astype(bool)


def is_land(lat, lon):
    """True on land, from a 2-arcminute (≈3.7 km) grid of the GLOBE land mask (vectorised; lakes count as land)."""
    mask = land_mask()
    h, w = mask.shape
    r = ((90.0 - np.asarray(lat, dtype=np.float64)) * (h / 180.0)).astype(np.int64)
    c = ((np.asarray(lon, dtype=np.float64) + 180.0) * (w / 360.0)).astype(np.int64)
    return mask[np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)]


def reverse(lat: float, lon: float) -> Place:
    """Country and city of a coordinate, offline (~0.2 ms after the tables are loaded).

    The nearest place decides the country (borders run between towns); the city reported is the most prominent
    place of that country nearby (population / (distance + 2 km)²), so central Paris says "Paris", not its
    4th arrondissement.
    """
    lat, lon = check_latlon(lat, lon)
    tab = cities()
    _, idx = tab.tree.query(unit_xyz(lat, lon), k=12)
    d = haversine_km(lat, lon, tab.lat[idx], tab.lon[idx])
    cc = str(tab.country[idx[0]])
    score = np.where((tab.country[idx] == cc) & (d < 25.0), tab.population[idx] / (d + 2.0) ** 2, -1.0)
    score[0] = max(score[0], 0.0)
    best = int(np.argmax(score))
    i = idx[best]
    name = _countries()[cc].name if cc in _countries() else cc
    return Place(lat, lon, cc, name, tab.names[i], int(tab.population[i]), float(d[best]), bool(is_land(lat, lon)))


def urban_index(lat: float, lon: float) -> float:
    """0 (countryside) … 1 (city centre): population of nearby cities discounted by distance."""
    tab = cities()
    idx = tab.tree.query_ball_point(unit_xyz(lat, lon), r=60.0 / EARTH_RADIUS_KM)
    if not idx:
        return 0.0
    idx = np.asarray(idx)
    d = haversine_km(lat, lon, tab.lat[idx], tab.lon[idx])
    # A city "reaches" about sqrt(population) metres / 60 km-ish: 1M people → ~8 km of dense town.
    reach = np.sqrt(tab.population[idx]) / 125.0
    score = np.max(np.exp(-d / np.maximum(reach, 0.5)) * np.clip(np.log10(np.maximum(tab.population[idx], 1)) - 3.5, 0, 3) / 3)
    return float(np.clip(score, 0, 1))


def distance_to_sea_km(lat: float, lon: float) -> float:
    """Approximate distance to the nearest sea (km, 0 at sea, 200 = "far inland") from rings of land-mask probes."""
    if not is_land(lat, lon):
        return 0.0
    radii = np.array([2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 150.0])
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    dlat = radii[:, None] / 111.2 * np.cos(ang)[None]
    dlon = radii[:, None] / (111.2 * max(math.cos(math.radians(lat)), 0.05)) * np.sin(ang)[None]
    plat, plon = np.clip(lat + dlat, -89.9, 89.9), ((lon + dlon + 180) % 360) - 180
    wet = ~is_land(plat, plon)
    hit = np.flatnonzero(wet.any(axis=1))
    return float(radii[hit[0]]) if len(hit) else 200.0


def _in_boxes(lat: float, lon: float, boxes) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in boxes)


def is_highland(lat: float, lon: float) -> bool:
    """Rough mountain/plateau regions (Andes, Tibet, Alps, Rockies, Ethiopian highlands, …)."""
    return _in_boxes(lat, lon, HIGHLAND_BOXES)


def climate(lat: float, lon: float, country_code: str = "", sea_km: float | None = None) -> str:
    """A coarse Köppen-like main class, one of CLIMATES, from latitude, known dry/mediterranean regions and country."""
    alat = abs(lat)
    if alat >= 66 or (country_code == "GL"):
        return "polar"
    if country_code in ARID_COUNTRIES and not (country_code in ("IR", "IQ", "SY") and lat > 35):
        return "arid"
    if _in_boxes(lat, lon, ARID_BOXES):
        if sea_km is None or sea_km > 20 or country_code in ("EG", "LY", "EH", "MR"):
            return "arid"
    if alat < 23.5:
        return "tropical"
    if _in_boxes(lat, lon, MEDITERRANEAN_BOXES):
        return "mediterranean"
    if alat >= 57 or (alat >= 52 and country_code in ("RU", "CA", "KZ", "MN")):
        return "boreal"
    if country_code in CONTINENTAL and alat >= 42:
        return "continental"
    if country_code in ("US",) and lat >= 40 and lon > -105 and lon < -75:
        return "continental"
    return "temperate"


# --- sampling ------------------------------------------------------------------------------------------------------
def _jitter_km(lat: float, lon: float, rng: np.random.Generator, sigma_km: float) -> tuple[float, float]:
    dy, dx = rng.normal(0, sigma_km, 2)
    nlat = float(np.clip(lat + dy / 111.2, -89.5, 89.5))
    nlon = float(((lon + dx / (111.2 * max(math.cos(math.radians(lat)), 0.05)) + 180) % 360) - 180)
    return nlat, nlon


def sample_place(country_code: str, rng: np.random.Generator, max_tries: int = 20) -> tuple[float, float]:
    """A plausible (lat, lon) on land inside a country, drawn near its cities weighted by population.

    Countries without a city of 15,000 people fall back to their capital's neighbourhood via the table's nearest.
    """
    c = country(country_code)
    tab = cities()
    idx = tab.by_country.get(c.iso2)
    if idx is None or len(idx) == 0:
        raise ValueError(f"no populated places known for {c.name} ({c.iso2})")
    # pop**0.75: big cities dominate like real street imagery, but small towns still appear.
    w = np.maximum(tab.population[idx], 1).astype(np.float64) ** 0.75  # some places list population 0
    w /= w.sum()
    for _ in range(max_tries):
        i = idx[rng.choice(len(idx), p=w)]
        sigma = 1.0 + 0.6 * math.sqrt(tab.population[i] / 1e5)  # km: larger cities spread further
        lat, lon = _jitter_km(tab.lat[i], tab.lon[i], rng, min(sigma, 15.0))
        if is_land(lat, lon) and reverse(lat, lon).country == c.iso2:
            return lat, lon
    return float(tab.lat[i]), float(tab.lon[i])  # the city centre itself is always inside


def sample_world(rng: np.random.Generator, min_population: int = 0) -> tuple[float, float]:
    """A (lat, lon) anywhere on Earth's populated land, weighted by city population (like street imagery)."""
    tab = cities()
    p = _world_weights()
    for _ in range(20):
        i = rng.choice(len(p), p=p)
        sigma = 1.0 + 0.6 * math.sqrt(tab.population[i] / 1e5)
        lat, lon = _jitter_km(tab.lat[i], tab.lon[i], rng, min(sigma, 15.0))
        if is_land(lat, lon):
            return lat, lon
    return float(tab.lat[i]), float(tab.lon[i])


@lru_cache(maxsize=1)
def _world_weights() -> np.ndarray:
    w = np.maximum(cities().population, 1).astype(np.float64) ** 0.75
    return w / w.sum()


# --- encodings for models ------------------------------------------------------------------------------------------
def encode_coords(lat, lon, n_freqs: int = 6) -> np.ndarray:
    """Unit-sphere xyz plus multi-scale Fourier features of xyz: shape (..., 3 + 6 * n_freqs), float32.

    Why xyz first: it has no seam at the antimeridian and no singularity at the poles. The Fourier bands
    (frequencies 2^0 … 2^(n-1) cycles per Earth radius) let a model resolve places ~6000 km / 2^n apart.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if np.any(~np.isfinite(lat)) or np.any(~np.isfinite(lon)) or np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        raise ValueError("encode_coords: latitudes must lie in [-90, 90] and longitudes in [-180, 180], no NaN")
    xyz = unit_xyz(lat, lon)
    freqs = (2.0 ** np.arange(n_freqs)) * np.pi
    ang = xyz[..., None, :] * freqs[:, None]  # (..., n_freqs, 3)
    feats = np.concatenate([np.sin(ang), np.cos(ang)], axis=-1).reshape(*xyz.shape[:-1], 6 * n_freqs)
    return np.concatenate([xyz, feats], axis=-1).astype(np.float32)
