"""Vector tiles (MVT) straight from PostGIS, one spec per layer, derived from the element
catalogue (``twin.catalog``).

Each layer names its source, the properties a tile may carry (never a person), its zoom
range and a feature budget per zoom; SQL is assembled only from these specs, and z/x/y are
bound parameters. The tile and the layer's data version are read in one statement, so a
tile is always labelled with the version it was made from.

Tiles are cut in one of ``GRIDS``: Web Mercator (what deck.gl draws), or the CGCS2000
geographic grid of China's national map service (天地图 "c" tiles, EPSG:4490), as OGC API –
Tiles names them (TileMatrixSets, described by morecantile).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.catalog import CATALOG
from twin.catalog.model import Element, TileSpec
from twin.domain.access import Principal, row_filter
from twin.domain.summary import LOCAL_TZ  # the day a daily layer's version carries
from twin.errors import NotFound

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


@dataclass(frozen=True)
class Grid:
    """A tile matrix set tiles are cut in, as ``ST_TileEnvelope`` cuts it: the tile at
    ``(z, x, y)`` of the grid is ``ST_TileEnvelope(z + shift, x, y, bounds)`` in ``srid``, and
    has about the scale of a Web Mercator tile at zoom ``z + shift`` (which picks the layer's
    feature budget and simplification)."""

    id: str
    title: str
    srid: int
    bounds: str = ""  # ST_TileEnvelope's bounds argument (SQL), none for Web Mercator
    shift: int = 0
    # the stored WGS 84 numbers are the grid's own: PROJ's WGS 84 → CGCS2000 is a "ballpark"
    # transformation without offset, so a tile relabels the coordinates instead of
    # transforming every feature (a test holds PROJ to that)
    same_numbers: bool = False

    def project(self, geom: str) -> str:
        """SQL of ``geom`` (stored in EPSG:4326) in the grid's CRS."""
        if self.same_numbers:
            return f"ST_SetSRID({geom}, {self.srid})"
        return f"ST_Transform({geom}, {self.srid})"

    def size(self, z: int) -> tuple[int, int]:
        """(columns, rows) of the matrix at ``z``."""
        return 1 << (z + self.shift), 1 << z

    def zooms(self, spec: TileLayer) -> tuple[int, int]:
        """The layer's first and last matrix in this grid."""
        return max(spec.minzoom - self.shift, 0), spec.maxzoom - self.shift


# Web Mercator; and CGCS2000 geographic, 2 × 1 tiles of 180° at matrix 0 (天地图 level 1): the
# square -180..180 × -270..90 cut one level deeper, of which the rows north of -90° are used.
MERCATOR = Grid("WebMercatorQuad", "Google Maps Compatible for the World", 3857)
CGCS2000 = Grid("CGCS2000Quad", "CGCS2000 geographic quad (天地图 c tiles, level = matrix + 1)",
                4490, bounds=", ST_MakeEnvelope(-180, -270, 180, 90, 4490)", shift=1,
                same_numbers=True)
GRIDS = {g.id: g for g in (MERCATOR, CGCS2000)}


@functools.lru_cache(maxsize=len(GRIDS))
def tile_matrix_set(grid_id: str):
    """The grid as a morecantile TileMatrixSet (OGC 2D TMS 2.0), to describe it to clients."""
    import morecantile
    from pyproj import CRS

    if grid_id == MERCATOR.id:
        return morecantile.tms.get("WebMercatorQuad")
    grid = GRIDS[grid_id]
    return morecantile.TileMatrixSet.custom(
        [-180.0, -90.0, 180.0, 90.0], CRS.from_epsg(grid.srid), matrix_scale=[2, 1],
        id=grid.id, title=grid.title, minzoom=0, maxzoom=MAX_ZOOM - grid.shift)


@dataclass(frozen=True)
class TileLayer:
    """What one tile layer serves."""

    name: str
    title_zh: str
    title_en: str
    source: str                      # FROM clause, alias t, with t.geom in EPSG:4326
    properties: tuple[str, ...]      # SELECT expressions with aliases, from t
    versions: tuple[str, ...]        # layer_versions rows the content depends on
    minzoom: int
    maxzoom: int
    where: str = "true"
    order: str = "t.id"
    budget: dict[int, int] = field(default_factory=dict)   # max features per tile by zoom
    simplify: dict[int, float] = field(default_factory=dict)  # tolerance (°) by zoom
    geometry_type: str = "Polygon"
    mercator: str | None = None  # a stored EPSG:3857 copy of t.geom (column of t), if any
    kind: str = "geography"  # what twin.domain.access calls its data: decides who sees which rows
    daily: bool = False      # its properties depend on today: the version carries the day

    def budget_at(self, z: int) -> int:
        """The feature budget for zoom ``z`` (the nearest zoom at or below that names one)."""
        known = [k for k in self.budget if k <= z]
        return self.budget[max(known)] if known else 1_000_000

    def simplify_at(self, z: int) -> float:
        known = [k for k in self.simplify if k >= z]
        return self.simplify[min(known)] if known else 0.0


def _layer(element: Element, spec: TileSpec) -> TileLayer:
    """The tile layer of a catalogue entry's tile spec."""
    return TileLayer(
        name=spec.name, title_zh=spec.title_zh, title_en=spec.title_en,
        source=spec.source or f"{element.table} t",
        properties=tuple(p.select_item() for p in spec.properties),
        versions=spec.versions or (element.layer or element.table,),
        minzoom=spec.minzoom, maxzoom=spec.maxzoom, where=spec.where, order=spec.order,
        budget=dict(spec.budget), simplify=dict(spec.simplify),
        geometry_type=spec.geometry_type, mercator=spec.mercator, kind=element.kind,
        daily=spec.daily)


# Every tile layer, from the element catalogue (its order is the catalogue's).
LAYERS: dict[str, TileLayer] = {spec.name: _layer(e, spec) for e in CATALOG for spec in e.tiles}


def layer(name: str) -> TileLayer:
    """The spec of a tile layer, or NotFound listing the layers."""
    try:
        return LAYERS[name]
    except KeyError:
        raise NotFound(f"unknown tile layer {name!r}: one of {', '.join(LAYERS)}") from None


def property_names(spec: TileLayer) -> list[str]:
    """The names of the properties a tile's features carry."""
    return [p.split(" AS ")[-1].split(".")[-1] for p in spec.properties]


def matrix_limits(grid: Grid, first: int, last: int,
                  bounds: list[float]) -> list[dict[str, Any]]:
    """OGC tileMatrixSetLimits: the rows and columns of each matrix that cover ``bounds``
    (CRS84), so a client asks for no tile outside the twin."""
    tms = tile_matrix_set(grid.id)
    west, south, east, north = bounds
    limits = []
    for z in range(first, last + 1):
        top_left = tms.tile(west, north, z)
        bottom_right = tms.tile(east, south, z)
        limits.append({"tileMatrix": str(z), "minTileRow": top_left.y,
                       "maxTileRow": bottom_right.y, "minTileCol": top_left.x,
                       "maxTileCol": bottom_right.x})
    return limits


def tile_sql(spec: TileLayer, z: int, visible: str = "true", grid: Grid = MERCATOR) -> str:
    """The statement that returns (version, mvt) for one tile of ``spec`` at zoom ``z`` of
    ``grid`` (bound as ``:z`` = z + grid.shift, ``:x``, ``:y``); ``visible`` is the principal's
    row filter from twin.domain.access (its parameters bound)."""
    z += grid.shift
    tolerance = spec.simplify_at(z)
    geom = grid.project("t.geom")
    if spec.mercator and grid.srid == 3857 and not tolerance:
        geom = spec.mercator
    elif tolerance:
        geom = grid.project(f"ST_Simplify(t.geom, {tolerance!r}, true)")
    budget = spec.budget_at(z)
    # OFFSET 0 keeps the features a subquery of their own: on Citus, a tile's rows that come
    # from several shards otherwise reach ST_AsMVT as unnamed records ("no geometry column")
    limit = f"ORDER BY {spec.order} LIMIT {budget}" if budget < 1_000_000 else "OFFSET 0"
    props = ", ".join(spec.properties)
    versions = ", ".join(f"'{v}'" for v in spec.versions)
    day = f" || '-' || to_char(now() AT TIME ZONE '{LOCAL_TZ}', 'YYYYMMDD')" \
        if spec.daily else ""
    # Specs are code, not input: every identifier above comes from LAYERS.
    return f"""
        WITH features AS (
            SELECT ST_AsMVTGeom({geom}, ST_TileEnvelope(:z, :x, :y{grid.bounds}), {EXTENT},
                                {BUFFER}, true) AS geom, {props}
              FROM {spec.source}
             WHERE t.geom && ST_Transform(
                       ST_TileEnvelope(:z, :x, :y{grid.bounds}, margin => {BUFFER / EXTENT!r}),
                       4326)
               AND {spec.where}
               AND {visible}
             {limit}
        )
        SELECT (SELECT string_agg(version::text, '-' ORDER BY layer) FROM layer_versions
                 WHERE layer IN ({versions})){day} AS version,
               (SELECT ST_AsMVT(features, '{spec.name}', {EXTENT}, 'geom')
                  FROM features WHERE geom IS NOT NULL) AS mvt
    """  # noqa: S608


def check_tile(spec: TileLayer, z: int, x: int, y: int, grid: Grid = MERCATOR) -> None:
    """Raise ValueError (bad coordinates) or NotFound (outside the layer's zooms)."""
    if not 0 <= z <= MAX_ZOOM - grid.shift:
        raise ValueError(f"zoom {z} out of range 0–{MAX_ZOOM - grid.shift}")
    cols, rows = grid.size(z)
    if not (0 <= x < cols and 0 <= y < rows):
        raise ValueError(f"tile {z}/{x}/{y} does not exist: x must be in 0–{cols - 1} and "
                         f"y in 0–{rows - 1}")
    first, last = grid.zooms(spec)
    if not first <= z <= last:
        raise NotFound(f"layer {spec.name} has tiles from zoom {first} to {last}, not {z}")


def current_versions(engine: Engine, names: list[str] | set[str]) -> dict[str, str]:
    """The data versions of several tile layers, as they appear in tile URLs, in one query."""
    specs = [layer(n) for n in names]
    rows = sa.text("SELECT layer, version::text FROM layer_versions WHERE layer = ANY(:layers)")
    with engine.connect() as conn:
        found = dict(conn.execute(rows, {"layers": sorted({v for s in specs for v in s.versions})}
                                  ).all())
    day = dt.datetime.now(ZoneInfo(LOCAL_TZ)).strftime("-%Y%m%d")
    return {s.name: "-".join(found.get(v, "0") for v in sorted(s.versions))
            + (day if s.daily else "") for s in specs}


def current_version(engine: Engine, spec: TileLayer) -> str:
    """The data version of one layer, as it appears in tile URLs."""
    return current_versions(engine, [spec.name])[spec.name]


def render(engine: Engine, spec: TileLayer, z: int, x: int, y: int,
           principal: Principal, grid: Grid = MERCATOR) -> tuple[str, bytes]:
    """(version, MVT bytes) of one tile of ``grid`` as ``principal`` may see it, read under
    one snapshot."""
    check_tile(spec, z, x, y, grid)
    visible, params = row_filter(principal, spec.kind)
    statement = _compiled(spec.name, z, visible, grid.id)
    with engine.connect() as conn:
        # psycopg's binary results: the MVT comes as its bytes, not as the hex text bytea is
        # otherwise sent in (~1 ms less for a tile of 150 KB, measured on the town sample)
        with conn.connection.driver_connection.cursor(binary=True) as cur:
            cur.execute(statement, {"z": z + grid.shift, "x": x, "y": y, **params})
            version, mvt = cur.fetchone()
    return version or "0", bytes(mvt or b"")


@functools.lru_cache(maxsize=512)
def _compiled(layer_name: str, z: int, visible: str, grid_id: str) -> str:
    """The tile statement in psycopg's own placeholders (``%(z)s``), made once per layer,
    zoom, grid and shape of row filter."""
    from sqlalchemy.dialects import postgresql

    sql = tile_sql(LAYERS[layer_name], z, visible, GRIDS[grid_id])
    return sa.text(sql).compile(dialect=postgresql.psycopg.dialect()).string


class TileCache:
    """A thread-safe LRU of rendered tiles bounded by total bytes."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return data

    def put(self, key: tuple, data: bytes) -> None:
        if len(data) > self.max_bytes // 8:
            return  # one tile may not crowd out the rest
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)
