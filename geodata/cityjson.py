"""CityJSON buildings as triangle meshes in an east-north-up frame (for 3D Tiles).

Reads CityJSON 1.0–2.0 (``transform`` applied), takes the ``Building`` and ``BuildingPart``
objects at their finest level of detail, and triangulates every surface — a planar
polygon, possibly with holes (a wall with its windows) — with GEOS's constrained Delaunay
triangulation. Roofs, walls and ground take the colours of their semantic surfaces
(``RoofSurface`` …); an LoD1 block without semantics is coloured by where its faces point.

The coordinates come in the file's own CRS (``metadata.referenceSystem``, e.g. EPSG:7415,
RD New + NAP) and go out as WGS 84 lon/lat with the height unchanged: PROJ has no geoid
grid offline, and the model stands on whatever ground the map has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geodata.errors import GeodataError
from geodata.tiles3d import Mesh, enu_frame, to_enu

BUILDINGS = ("Building", "BuildingPart")
# Colours of the old towns of the Jiangnan water country: white walls, dark tiles.
COLORS = {"RoofSurface": (0.23, 0.25, 0.29), "WallSurface": (0.93, 0.92, 0.88),
          "GroundSurface": (0.45, 0.45, 0.42)}
MAX_BYTES = 512 << 20


class CityJsonError(GeodataError):
    pass


@dataclass
class Scene:
    """Buildings as meshes: one per building, in the frame's local metres."""

    frame: np.ndarray  # east-north-up → ECEF (tiles3d.enu_frame)
    centre: tuple[float, float]  # lon, lat of the frame's origin
    buildings: list[tuple[str, Mesh]]  # (CityObject id, its mesh)


def _crs(doc: dict, path: Path) -> CRS:
    ref = (doc.get("metadata") or {}).get("referenceSystem") or ""
    match = re.search(r"EPSG(?:/0/|::?)(\d+)", str(ref))
    if not match:
        raise CityJsonError(f"{path.name}: metadata.referenceSystem names no EPSG code "
                            f"({ref!r}): the buildings cannot be placed")
    return CRS.from_epsg(int(match.group(1)))


def _vertices(doc: dict, path: Path) -> np.ndarray:
    vertices = np.asarray(doc.get("vertices") or [], dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not len(vertices):
        raise CityJsonError(f"{path.name}: no vertices, or not triples")
    t = doc.get("transform")
    if t:
        vertices = vertices * np.asarray(t["scale"]) + np.asarray(t["translate"])
    return vertices


def _surfaces(geometry: dict) -> Iterator[tuple[list, str | None]]:
    """(rings, semantic type) of every surface of one geometry."""
    kind, boundaries = geometry.get("type"), geometry.get("boundaries") or []
    semantics = geometry.get("semantics") or {}
    types = [s.get("type") for s in semantics.get("surfaces") or []]
    values = semantics.get("values")

    def named(index) -> str | None:
        return types[index] if isinstance(index, int) and 0 <= index < len(types) else None

    if kind in ("MultiSurface", "CompositeSurface"):
        shells, vals = [boundaries], [values]
    elif kind == "Solid":
        shells, vals = boundaries, values
    elif kind in ("MultiSolid", "CompositeSolid"):
        shells = [shell for solid in boundaries for shell in solid]
        vals = [v for solid in (values or [None] * len(boundaries))
                for v in (solid or [None] * len(shells))]
    else:
        return
    for i, shell in enumerate(shells):
        shell_values = vals[i] if vals and i < len(vals) else None
        for j, surface in enumerate(shell):
            yield surface, named(shell_values[j] if shell_values and j < len(shell_values)
                                 else None)


def _newell(ring: np.ndarray) -> np.ndarray:
    nxt = np.roll(ring, -1, axis=0)
    n = np.array([np.sum((ring[:, 1] - nxt[:, 1]) * (ring[:, 2] + nxt[:, 2])),
                  np.sum((ring[:, 2] - nxt[:, 2]) * (ring[:, 0] + nxt[:, 0])),
                  np.sum((ring[:, 0] - nxt[:, 0]) * (ring[:, 1] + nxt[:, 1]))])
    length = np.linalg.norm(n)
    return n / length if length > 0 else n


def triangulate(rings: list[np.ndarray]) -> np.ndarray:
    """Triangles (m, 3, 3) of one planar polygon in 3D: the outer ring, then its holes.
    Degenerate faces (under three distinct corners, no area) give none."""
    outer = rings[0]
    if len(np.unique(outer, axis=0)) < 3:
        return np.empty((0, 3, 3))
    normal = _newell(outer)
    if not normal.any():
        return np.empty((0, 3, 3))
    if len(rings) == 1 and len(outer) == 3:
        return outer[None]
    drop = int(np.argmax(np.abs(normal)))  # project onto the plane it is least tilted to
    keep = [a for a in range(3) if a != drop]
    lookup = {}
    for ring in rings:
        for p in ring:
            lookup[(round(p[keep[0]], 6), round(p[keep[1]], 6))] = p
    polygon = shapely.Polygon(outer[:, keep], [r[:, keep] for r in rings[1:]])
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    triangles = []
    for tri in shapely.get_parts(shapely.constrained_delaunay_triangles(polygon)):
        corners = [lookup.get((round(x, 6), round(y, 6)))
                   for x, y in np.asarray(tri.exterior.coords)[:3]]
        if any(c is None for c in corners):
            continue
        t = np.array(corners)
        if np.dot(np.cross(t[1] - t[0], t[2] - t[0]), normal) < 0:
            t = t[[0, 2, 1]]  # the winding of the face
        triangles.append(t)
    return np.array(triangles) if triangles else np.empty((0, 3, 3))


def _color(kind: str | None, triangles: np.ndarray) -> tuple[float, float, float]:
    if kind is not None and kind in COLORS:
        return COLORS[kind]
    n = np.cross(triangles[0, 1] - triangles[0, 0], triangles[0, 2] - triangles[0, 0])
    up = n[2] / (np.linalg.norm(n) or 1)
    return COLORS["RoofSurface" if up > 0.3 else "GroundSurface" if up < -0.7 else
                  "WallSurface"]


def read_buildings(path: str | Path) -> Scene:
    """The buildings of a CityJSON file as meshes around their centre."""
    path = Path(path)
    if path.stat().st_size > MAX_BYTES:
        raise CityJsonError(f"{path.name}: {path.stat().st_size >> 20} MB is more than a "
                            f"CityJSON file may hold here ({MAX_BYTES >> 20} MB)")
    try:
        doc = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CityJsonError(f"{path.name}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        raise CityJsonError(f"{path.name}: not a CityJSON file (no \"type\": \"CityJSON\")")
    crs = _crs(doc, path)
    local = _vertices(doc, path)
    to_wgs = Transformer.from_crs(crs, CRS.from_epsg(4979) if crs.is_compound or
                                  len(crs.axis_info) == 3 else "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(local[:, 0], local[:, 1])[:2]
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise CityJsonError(f"{path.name}: its coordinates do not convert from {crs.name}")
    centre = (float(np.mean(lon)), float(np.mean(lat)))
    ground = float(local[:, 2].min())
    frame = enu_frame(*centre, 0.0)
    enu = to_enu(lon, lat, local[:, 2] - ground, frame)
    buildings = []
    for key, obj in (doc.get("CityObjects") or {}).items():
        if obj.get("type") not in BUILDINGS or not obj.get("geometry"):
            continue
        geometry = max(obj["geometry"], key=lambda g: float(g.get("lod", 0) or 0))
        mesh = Mesh()
        for rings, kind in _surfaces(geometry):
            if not rings or len(rings[0]) < 3:
                continue
            tri = triangulate([enu[np.asarray(r, dtype=int)] for r in rings if len(r) >= 3])
            if len(tri):
                mesh.add(tri, _color(kind, tri))
        if len(mesh):
            buildings.append((key, mesh))
    if not buildings:
        raise CityJsonError(f"{path.name}: no Building with a geometry")
    return Scene(frame, centre, buildings)
