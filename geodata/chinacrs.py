"""GCJ-02 and BD-09, the offset coordinates of Chinese web maps, to and from WGS84.

GCJ-02 (Amap/Gaode, Tencent) is WGS84 moved by a published non-linear function inside
China; BD-09 (Baidu) is a further shift of GCJ-02. The forward functions are the published
formulas; the inverses are solved by fixed-point iteration to well under a millimetre
(the usual one-step inverse is off by up to ~2 m). Arrays in, arrays out (numpy, lon/lat
in degrees). The small PyPI packages for this are unmaintained single-point copies of the
same formulas with the one-step inverse, so the twin keeps its own, tested against
published reference points.
"""

from __future__ import annotations

import numpy as np

_A = 6378245.0                     # Krasovsky 1940 semi-major axis, as the formula uses
_EE = 0.00669342162296594323       # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
# Where GCJ-02 applies (outside, GCJ-02 equals WGS84).
CHINA = (72.004, 0.8293, 137.8347, 55.8271)


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    west, south, east, north = CHINA
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at a WGS84 position (degrees)."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The WGS84 position whose GCJ-02 image is (lon, lat): x ← x − (f(x) − target)."""
    glon, glat = _arrays(lon, lat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(iterations):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (flon - glon), wlat - (flat - glat)
    return wlon, wlat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 position whose BD-09 image is (lon, lat), by the same iteration."""
    blon, blat = _arrays(lon, lat)
    glon, glat = blon - 0.0065, blat - 0.006
    for _ in range(iterations):
        flon, flat = gcj02_to_bd09(glon, glat)
        glon, glat = glon - (flon - blon), glat - (flat - blat)
    return glon, glat


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def transform_geometries(geoms: np.ndarray, source: str, target: str = "wgs84") -> np.ndarray:
    """Shapely geometries from one of wgs84/gcj02/bd09 to another, vertex by vertex."""
    import shapely

    if source == target:
        return geoms
    steps = []
    if source != "wgs84":
        steps.append(TO_WGS84[source])
    if target != "wgs84":
        steps.append(FROM_WGS84[target])

    def move(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], coords[:, 1]
        for step in steps:
            lon, lat = step(lon, lat)
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), move)
