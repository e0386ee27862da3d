"""GCJ-02 and BD-09 against published reference points, round trips to well under a
metre, and the real GCJ-02 outlines landing where the county really is."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely

from geodata import chinacrs
from tests.conftest import REAL

# Published by Amap's coordinate-conversion service (and quoted in MapCoords' docs):
# WGS84 (116.481499, 39.990475) → GCJ-02 (116.487586, 39.991754) → BD-09 (116.49412, 39.997716)
WGS, GCJ, BD = (116.481499, 39.990475), (116.487586, 39.991754), (116.49412, 39.997716)


def metres(a, b) -> float:
    """Distance between two lon/lat points (equirectangular, fine at this scale)."""
    dx = (a[0] - b[0]) * math.cos(math.radians((a[1] + b[1]) / 2)) * 111_320
    dy = (a[1] - b[1]) * 110_574
    return math.hypot(dx, dy)


def test_published_reference_points():
    assert metres(np.ravel(chinacrs.wgs84_to_gcj02(*WGS)), GCJ) < 0.5
    assert metres(np.ravel(chinacrs.gcj02_to_bd09(*GCJ)), BD) < 1.0
    assert metres(np.ravel(chinacrs.gcj02_to_wgs84(*GCJ)), WGS) < 0.5
    assert metres(np.ravel(chinacrs.bd09_to_wgs84(*BD)), WGS) < 1.0


def test_round_trips_across_the_county_are_exact_to_a_millimetre():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(120.2, 120.8, 1000), rng.uniform(30.4, 30.9, 1000)
    for there, back in ((chinacrs.wgs84_to_gcj02, chinacrs.gcj02_to_wgs84),
                        (chinacrs.wgs84_to_bd09, chinacrs.bd09_to_wgs84)):
        blon, blat = back(*there(lon, lat))
        worst = max(metres((a, b), (c, d)) for a, b, c, d in zip(lon, lat, blon, blat,
                                                                 strict=True))
        assert worst < 0.001


def test_no_offset_outside_china():
    lon, lat = chinacrs.wgs84_to_gcj02([2.35, 139.9], [48.85, 57.0])
    assert list(lon) == [2.35, 139.9] and list(lat) == [48.85, 57.0]


@pytest.mark.parametrize("name", ["jiaxing_city_gcj02.geojson", "pinghu_county_gcj02.geojson"])
def test_a_real_gcj02_outline_moves_back_by_the_known_offset(name):
    geom = shapely.from_geojson(json.dumps(json.loads((REAL / name).read_text())))
    fixed = chinacrs.transform_geometries(np.array([geom]), "gcj02")[0]
    before, after = geom.centroid, fixed.centroid
    east = (before.x - after.x) * math.cos(math.radians(before.y)) * 111_320
    south = (after.y - before.y) * 110_574
    # README of the real data: GCJ-02 here lies ~450 m east and ~270 m south of WGS84
    assert 380 < east < 520 and 200 < south < 340
    # the offset is smooth but not a pure shift: the area changes by well under 1 %
    assert shapely.is_valid(fixed) and abs(fixed.area - geom.area) / geom.area < 5e-3
