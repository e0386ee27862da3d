"""Shared helpers of the sample-twin generator (all geometry in METRIC_CRS metres)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import shapely
from shapely import Geometry

from geodata.crs import to_metric, to_storage

GRID: float | None = None
"""Precision grid (metres) for overlays. ``None`` (full double precision) keeps shared
Voronoi edges bit-identical in both neighbours; snapping to a grid (even 1 cm) was measured
to open gaps of up to ~1 m² along 300 m edges, because each overlay rounds its own noding."""

OUTPUT_PRECISION = 1e-5
"""Grid (metres) polygons are snapped to just before leaving METRIC_CRS: it removes the
nanometre spikes of full-precision overlays that would turn invalid once transformed, while
shifting shared edges identically in both neighbours (measured tiling error < 0.01 m²)."""

_POLYGON = 3


def rng_for(seed: int, tag: str, *path: int) -> np.random.Generator:
    """A generator seeded from the sample seed, a stage tag and a stable index path."""
    return np.random.default_rng([int(seed) % 2**64, zlib.crc32(tag.encode()), *map(int, path)])


def lonlat_to_xy(lon: float, lat: float) -> tuple[float, float]:
    """Longitude/latitude to METRIC_CRS metres."""
    x, y = to_metric.transform(lon, lat)
    return float(x), float(y)


def snap_polygons(geoms: np.ndarray) -> np.ndarray:
    """Snap polygons to :data:`OUTPUT_PRECISION` as valid MultiPolygons (for output)."""
    return as_multipolygons(shapely.set_precision(np.asarray(geoms, dtype=object),
                                                  OUTPUT_PRECISION))


def to_lonlat(geoms: np.ndarray) -> np.ndarray:
    """Transform an array of METRIC_CRS geometries to STORAGE_CRS."""
    if len(geoms) == 0:
        return np.asarray(geoms, dtype=object)
    return shapely.transform(
        np.asarray(geoms, dtype=object), to_storage.transform, interleaved=False
    )


def as_multipolygons(geoms: np.ndarray, *, repair: bool = True) -> np.ndarray:
    """Keep only the polygonal, non-empty parts of each geometry, as one valid MultiPolygon."""
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    while True:
        multi = shapely.get_num_geometries(parts) > 1
        multi |= np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
        if not multi.any():
            break
        sub, sidx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        idx = np.concatenate([idx[~multi], idx[multi][sidx]])
        order = np.argsort(idx, kind="stable")
        parts, idx = parts[order], idx[order]
    keep = (shapely.get_type_id(parts) == _POLYGON) & ~shapely.is_empty(parts)
    keep &= shapely.area(parts) > 0
    out = np.empty(len(geoms), dtype=object)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=idx[keep], out=out)
    missing = np.array([g is None for g in out], dtype=bool)
    if missing.any():
        out[missing] = shapely.MultiPolygon()
    if repair:
        bad = ~shapely.is_valid(out)
        if bad.any():  # near-degenerate overlay output: collapsed rings, touching parts
            out[bad] = as_multipolygons(shapely.make_valid(out[bad]), repair=False)
    return out


def random_points_in(poly: Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points (an (n, 2) array) strictly inside a polygon."""
    shapely.prepare(poly)
    minx, miny, maxx, maxy = poly.bounds
    fill = max(poly.area / max((maxx - minx) * (maxy - miny), 1e-9), 0.02)
    got: list[np.ndarray] = []
    have = 0
    while have < n:
        m = int(max(16, 2 * (n - have) / fill))
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(poly, xs, ys)
        pts = np.column_stack([xs[ok], ys[ok]])
        got.append(pts)
        have += len(pts)
    return np.concatenate(got)[:n]


def _cells(parent: Geometry, pts: np.ndarray) -> np.ndarray:
    vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=parent, ordered=True)
    cells = shapely.get_parts(vor)
    return shapely.intersection(cells, parent, grid_size=GRID)


def voronoi_split(
    parent: Geometry, n: int, rng: np.random.Generator, *, lloyd: int = 1,
    points: np.ndarray | None = None,
) -> np.ndarray:
    """Split a polygon into ``n`` Voronoi cells that tile it (MultiPolygons, snapped).

    ``points`` fixes the seeds; otherwise they are random, relaxed ``lloyd`` times.
    """
    if n <= 1:
        return as_multipolygons(np.array([parent], dtype=object))
    pts = random_points_in(parent, n, rng) if points is None else np.asarray(points, float)
    if points is None:
        for _ in range(lloyd):
            cells = _cells(parent, pts)
            cen = shapely.get_coordinates(shapely.centroid(cells))
            if len(cen) != len(pts):
                break
            inside = shapely.contains_xy(parent, cen[:, 0], cen[:, 1])
            new = np.where(inside[:, None], cen, pts)
            # Relaxation could merge two seeds; keep the previous ones then.
            if len(np.unique(np.round(new, 2), axis=0)) < len(new):
                break
            pts = new
    return as_multipolygons(_cells(parent, pts))


def meander(points: Sequence[tuple[float, float]], rng: np.random.Generator,
            amplitude: float, step: float = 80.0) -> np.ndarray:
    """Densify a polyline (metres) and bend it sideways with smooth random noise."""
    pts = np.asarray(points, dtype=float)
    seg = np.diff(pts, axis=0)
    lens = np.hypot(seg[:, 0], seg[:, 1])
    out = [pts[:1]]
    for p, s, length in zip(pts[:-1], seg, lens, strict=True):
        k = max(int(length // step), 1)
        t = (np.arange(1, k + 1) / k)[:, None]
        out.append(p + t * s)
    line = np.concatenate(out)
    d = np.gradient(line, axis=0)
    norm = np.hypot(d[:, 0], d[:, 1])[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(norm, 1e-9)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    off = np.zeros(len(line))
    for _ in range(3):
        wave = rng.uniform(400, 3000)
        off += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * s / wave + rng.uniform(0, 2 * np.pi))
    off *= amplitude / 2.0
    taper = np.minimum(1.0, np.minimum(s, s[-1] - s) / 300.0)  # keep the ends in place
    return line + normal * (off * taper)[:, None]


def chunk_buffers(line: np.ndarray, width: float, per_chunk: int = 6) -> list[Geometry]:
    """Buffer a polyline (metres) to ``width`` as several small overlapping polygons."""
    out = []
    for i in range(0, len(line) - 1, per_chunk):
        part = line[i : i + per_chunk + 1]
        if len(part) >= 2:
            out.append(shapely.buffer(shapely.linestrings(part), width / 2.0, quad_segs=4))
    return out


def grouped_union(geoms: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Union geometries by an integer group (0..n-1); empty polygon where a group is empty."""
    out = np.empty(n, dtype=object)
    out[:] = [shapely.Polygon()] * n
    if len(geoms) == 0:
        return out
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    geoms = geoms[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    single = ends - starts == 1
    out[g[starts[single]]] = geoms[starts[single]]
    for s, e in zip(starts[~single], ends[~single], strict=True):
        out[g[s]] = shapely.union_all(geoms[s:e], grid_size=GRID)
    return out
