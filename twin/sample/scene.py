"""The sample's real-scene 3D model (三维实景) of its old town: the sample's own buildings
as houses of the Jiangnan water towns — white walls, dark tiled gable roofs with eaves —
in 3D Tiles, as an oblique-photography model of Wuzhen would reach a county."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geodata.crs import METRIC_CRS
from geodata.tiles3d import Mesh, enu_frame, to_enu
from twin.sample.units import WUZHEN_SCENIC

WALL = (0.94, 0.93, 0.89)  # 白墙
TILE = (0.20, 0.22, 0.25)  # 黛瓦
PLINTH = (0.55, 0.55, 0.52)
STOREY_M = 3.0
EAVES = 1.10  # the roof overhangs the walls by a tenth
RADIUS_M = 350.0
NAME, TITLE = "wuzhen-old-town", "乌镇老街（实景三维 · 样例）"


def _quad(a, b, c, d) -> np.ndarray:
    return np.array([[a, b, c], [a, c, d]], dtype=float)


def house(ring: np.ndarray, floors: int) -> Mesh:
    """One house on a footprint ring (local metres): walls up to the eaves, a gable roof
    along the long side of the footprint's rectangle, gables in wall white."""
    mesh = Mesh()
    eave = max(1, int(floors)) * STOREY_M
    ring = ring[:-1] if np.allclose(ring[0], ring[-1]) else ring
    walls = []
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        walls.append(_quad([*a, 0], [*b, 0], [*b, eave], [*a, eave]))
    mesh.add(np.concatenate(walls), WALL)
    rect = np.asarray(shapely.Polygon(ring).minimum_rotated_rectangle.exterior.coords)[:4]
    centre = rect.mean(axis=0)
    rect = centre + (rect - centre) * EAVES
    if np.linalg.norm(rect[1] - rect[0]) < np.linalg.norm(rect[2] - rect[1]):
        rect = np.roll(rect, -1, axis=0)  # rect[0]→rect[1] is a long side
    c0, c1, c2, c3 = rect
    short = np.linalg.norm(c2 - c1)
    ridge = eave + 0.32 * short
    m12, m30 = (c1 + c2) / 2, (c3 + c0) / 2
    roof = [_quad([*c0, eave], [*c1, eave], [*m12, ridge], [*m30, ridge]),
            _quad([*c2, eave], [*c3, eave], [*m30, ridge], [*m12, ridge])]
    mesh.add(np.concatenate(roof), TILE)
    mesh.add(np.array([[[*c1, eave], [*c2, eave], [*m12, ridge]],
                       [[*c3, eave], [*c0, eave], [*m30, ridge]]]), WALL)
    return mesh


def old_town(buildings: gpd.GeoDataFrame, centre: tuple[float, float] | None = None,
             radius_m: float = RADIUS_M,
             height_of: Callable[[float, float], float | None] | None = None):
    """(frame, [(code, mesh)]) of the buildings within ``radius_m`` of ``centre`` (Wuzhen's
    scenic area; the buildings' middle when none stand there), standing at the ground
    height ``height_of`` gives for the centre (the sample's DEM)."""
    pts = buildings.geometry.representative_point()
    lon, lat = centre or WUZHEN_SCENIC
    to_m = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    x0, y0 = to_m.transform(lon, lat)
    x, y = to_m.transform(pts.x.to_numpy(), pts.y.to_numpy())
    near = np.hypot(x - x0, y - y0) <= radius_m
    if not near.any():  # a sample without Wuzhen: its densest place
        lon, lat = float(np.median(pts.x)), float(np.median(pts.y))
        x0, y0 = to_m.transform(lon, lat)
        near = np.hypot(x - x0, y - y0) <= radius_m
    ground_m = (height_of(lon, lat) if height_of else None) or 0.0
    frame = enu_frame(lon, lat, ground_m)
    models = []
    for row in buildings[near].itertuples():
        for part in shapely.get_parts(row.geometry):
            coords = np.asarray(part.exterior.coords)
            enu = to_enu(coords[:, 0], coords[:, 1], np.full(len(coords), ground_m), frame)
            models.append((row.code, house(enu[:, :2], row.floors)))
    return frame, models
