"""streetgen.geo: country table and conventions, reverse geocoding, sampling, encodings, bad input."""
import math

import numpy as np
import pytest

from streetgen import geo


@pytest.mark.parametrize("query,iso2", [("FR", "FR"), ("fra", "FR"), ("France", "FR"), ("japan", "JP"),
                                        ("NA", "NA"), ("Namibia", "NA"), ("UK", "GB"), ("USA", "US")])
def test_country_lookup(query, iso2):
    assert geo.country(query).iso2 == iso2


def test_namibia_is_not_missing():
    c = geo.countries()["NA"]
    assert c.name == "Namibia" and c.continent == "AF" and c.drive_side == "left"


@pytest.mark.parametrize("bad", ["Atlantis", "XX", "", "   ", None, 42])
def test_unknown_country_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="country"):
        geo.country(bad)


def test_misspelt_country_suggests_the_right_one():
    with pytest.raises(ValueError, match="France"):
        geo.country("Frnace")


@pytest.mark.parametrize("iso2,side", [("JP", "left"), ("GB", "left"), ("IN", "left"), ("AU", "left"), ("ZA", "left"),
                                       ("FR", "right"), ("US", "right"), ("DE", "right"), ("BR", "right")])
def test_drive_side(iso2, side):
    assert geo.country(iso2).drive_side == side


def test_conventions_and_styles_cover_every_country():
    table = geo.countries()
    assert len(table) > 240
    for c in table.values():
        assert c.region_style in geo.REGION_STYLES
        assert c.centre_line in ("yellow", "white")
    assert table["US"].centre_line == "yellow" and table["NO"].centre_line == "yellow"
    assert table["DE"].centre_line == "white" and table["JP"].centre_line == "white"
    families = {c.region_style for c in table.values()}
    assert families == set(geo.REGION_STYLES)  # every family is used by some country


@pytest.mark.parametrize("lat,lon", [(math.nan, 0), (0, math.nan), (91, 0), (-90.5, 0), (0, 180.5), (0, -181),
                                     ("north", 0), (None, 0), (math.inf, 0)])
def test_bad_coordinates(lat, lon):
    with pytest.raises(ValueError):
        geo.check_latlon(lat, lon)
    with pytest.raises(ValueError):
        geo.reverse(lat, lon)


@pytest.mark.parametrize("lat,lon,cc,city", [
    (48.8566, 2.3522, "FR", "Paris"), (35.6812, 139.7671, "JP", None), (-1.2864, 36.8172, "KE", "Nairobi"),
    (42.3314, -83.0458, "US", "Detroit"), (42.285, -82.99, "CA", "Windsor"), (1.3521, 103.8198, "SG", None),
    (-22.57, 17.08, "NA", "Windhoek"),
])
def test_reverse(lat, lon, cc, city):
    place = geo.reverse(lat, lon)
    assert place.country == cc
    assert place.is_land
    if city:
        assert place.city == city
    assert place.city_distance_km < 30


def test_reverse_at_sea_says_so():
    place = geo.reverse(40.0, -30.0)  # mid-Atlantic
    assert not place.is_land
    assert place.city_distance_km > 100


def test_land_mask():
    assert geo.is_land(48.85, 2.35) and geo.is_land(-25.0, 134.0) and geo.is_land(64.0, -100.0)
    assert not geo.is_land(0.0, -140.0) and not geo.is_land(-40.0, 80.0) and not geo.is_land(36.0, 18.0)


def test_sample_place_stays_in_country_on_land():
    rng = np.random.default_rng(0)
    for cc in ("JP", "NO", "NA", "CL", "EG"):
        for _ in range(8):
            lat, lon = geo.sample_place(cc, rng)
            assert geo.reverse(lat, lon).country == cc
            assert geo.is_land(lat, lon)


def test_sample_place_is_weighted_by_population():
    rng = np.random.default_rng(1)
    pops = [geo.reverse(*geo.sample_place("FR", rng)).city_population for _ in range(60)]
    tab = geo.cities()
    fr = tab.population[tab.by_country["FR"]]
    # Uniform sampling of French places would put the median near the median French city (~25k people).
    assert np.median(pops) > 2 * np.median(fr)


def test_sampling_is_reproducible():
    a = [geo.sample_world(np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1]
    assert geo.sample_place("BR", np.random.default_rng(3)) == geo.sample_place("BR", np.random.default_rng(3))


def test_sample_place_unknown_country():
    with pytest.raises(ValueError, match="unknown country"):
        geo.sample_place("Narnia", np.random.default_rng(0))


def test_encode_coords():
    f = geo.encode_coords([0.0, 45.0, -33.9], [0.0, 90.0, 151.2], n_freqs=4)
    assert f.shape == (3, 3 + 6 * 4) and f.dtype == np.float32
    assert np.allclose(np.linalg.norm(f[:, :3], axis=1), 1.0, atol=1e-6)
    # No seam at the antimeridian: both sides encode almost identically.
    a, b = geo.encode_coords(10.0, 179.999), geo.encode_coords(10.0, -179.999)
    assert np.abs(a - b).max() < 1e-2
    # Nearby places are closer in feature space than far ones.
    p, q, r = geo.encode_coords([48.85, 48.9, -33.9], [2.35, 2.4, 151.2])
    assert np.linalg.norm(p - q) < np.linalg.norm(p - r)
    with pytest.raises(ValueError):
        geo.encode_coords([np.nan], [0.0])
    with pytest.raises(ValueError):
        geo.encode_coords([100.0], [0.0])


@pytest.mark.parametrize("lat,lon,cc,expected", [
    (30.04, 31.24, "EG", "arid"), (59.91, 10.75, "NO", "boreal"), (1.35, 103.82, "SG", "tropical"),
    (41.9, 12.5, "IT", "mediterranean"), (52.52, 13.4, "DE", "temperate"), (69.65, 18.96, "NO", "polar"),
    (55.75, 37.62, "RU", "boreal"),
])
def test_climate(lat, lon, cc, expected):
    assert geo.climate(lat, lon, cc) == expected


def test_urban_index_city_vs_countryside():
    assert geo.urban_index(48.8566, 2.3522) > 0.8  # central Paris
    assert geo.urban_index(46.3, 2.0) < 0.3  # rural centre of France
    assert geo.distance_to_sea_km(43.296, 5.37) <= 5  # Marseille is coastal
    assert geo.distance_to_sea_km(48.8566, 2.3522) >= 80  # Paris is not


def test_renderable_countries():
    names = [c.name for c in geo.renderable_countries()]
    assert names == sorted(names) and len(names) > 230
    assert "Namibia" in names and "Antarctica" not in names
