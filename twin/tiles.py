"""Vector tiles (MVT) straight from PostGIS, one spec per layer.

Each layer names its source, the properties a tile may carry (never a person), its zoom
range and a feature budget per zoom; SQL is assembled only from these specs, and z/x/y are
bound parameters. The tile and the layer's data version are read in one statement, so a
tile is always labelled with the version it was made from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.access import Principal, counted, row_filter
from twin.errors import NotFound
from twin.workflow import OPEN

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


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
    kind: str = "geography"  # what twin.access calls its data: decides who sees which rows

    def budget_at(self, z: int) -> int:
        """The feature budget for zoom ``z`` (the nearest zoom at or below that names one)."""
        known = [k for k in self.budget if k <= z]
        return self.budget[max(known)] if known else 1_000_000

    def simplify_at(self, z: int) -> float:
        known = [k for k in self.simplify if k >= z]
        return self.simplify[min(known)] if known else 0.0


def _units(level: str, name: str, zh: str, en: str, minz: int, maxz: int) -> TileLayer:
    return TileLayer(
        name=name, title_zh=zh, title_en=en,
        source="units t",
        where=f"t.level = '{level}'",
        properties=("t.id", "t.code", "t.name", "t.level", "round(t.area_m2) AS area_m2"),
        versions=("units",), minzoom=minz, maxzoom=maxz,
        simplify={8: 2e-4, 10: 1e-4, 12: 2e-5},
    )


LAYERS: dict[str, TileLayer] = {layer.name: layer for layer in (
    _units("town", "towns", "镇（街道）", "Towns", 6, 16),
    _units("village", "villages", "村（社区）", "Villages", 8, 16),
    _units("grid", "grids", "网格", "Grids", 10, 16),
    _units("microgrid", "microgrids", "微网格", "Micro-grids", 12, 16),
    TileLayer(
        name="buildings", title_zh="房屋", title_en="Buildings",
        source="buildings t",
        # Small, repeated values only: a unique code per feature would double the tile.
        properties=("t.id", "t.use", "t.floors",
                    "round(t.height_m::numeric, 1)::float8 AS height_m"),
        versions=("buildings",), minzoom=12, maxzoom=16,
        order="t.footprint_m2 DESC, t.id",
        budget={12: 5000, 13: 8000},
    ),
    TileLayer(
        name="land", title_zh="土地", title_en="Land use",
        source="land_parcels t",
        properties=("t.id", "t.use_class", "round(t.area_m2) AS area_m2"),
        versions=("land",), minzoom=11, maxzoom=16,
        order="t.area_m2 DESC, t.id",
        budget={11: 4000, 13: 8000},
        simplify={11: 5e-5, 12: 2e-5, 13: 1e-5},
    ),
    TileLayer(
        name="facilities", title_zh="设施与兴趣点", title_en="Facilities and POIs",
        source="facilities t",
        properties=("t.id", "t.kind", "t.name"),
        versions=("facilities",), minzoom=12, maxzoom=16, geometry_type="Point",
    ),
    TileLayer(
        name="stations", title_zh="监测站", title_en="Monitoring stations",
        source="""stations t LEFT JOIN LATERAL (
            SELECT jsonb_object_agg(l.parameter, l.value)::text AS latest,
                   max(l.observed_at) AS observed_at,
                   bool_or(l.value > p.warn_above OR l.value < p.warn_below) AS alarm,
                   max(twin_iaqi(l.parameter, l.value)) AS aqi,
                   max(twin_water_class(l.parameter, l.value)) AS water_class
              FROM station_latest l JOIN parameters p ON p.code = l.parameter
             WHERE l.station_id = t.id) r ON true""",
        properties=("t.id", "t.code", "t.kind", "t.name", "r.latest",
                    "to_char(r.observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI\"Z\"') "
                    "AS observed_at", "coalesce(r.alarm, false) AS alarm", "r.aqi",
                    "twin_grade(t.kind, r.aqi, r.water_class) AS grade"),
        versions=("stations", "observations"), minzoom=6, maxzoom=16, geometry_type="Point",
    ),
    TileLayer(
        name="routes", title_zh="游览线路", title_en="Tourist routes",
        source="routes t",
        properties=("t.id", "t.code", "t.kind", "t.name", "round(t.length_m) AS length_m"),
        versions=("routes",), minzoom=10, maxzoom=16, geometry_type="LineString",
    ),
    TileLayer(
        # Open events only: the map shows what still needs handling (closed ones are
        # history, counted in the KPIs and drawn by the heat layer from /api/heat).
        name="events", title_zh="在办事件", title_en="Open events",
        source="events t",
        where="t.status IN (" + ", ".join(f"'{s}'" for s in OPEN) + ")",
        properties=("t.id", "t.code", "t.category", "t.status", "t.owner_level",
                    "t.source", "extract(epoch FROM t.reported_at)::bigint AS reported_at",
                    "t.escalations"),
        versions=("events",), minzoom=8, maxzoom=16, geometry_type="Point",
        order="t.reported_at DESC, t.id", kind="events",
        budget={8: 3000, 12: 10000},
    ),
    TileLayer(
        name="organizations", title_zh="组织", title_en="Organizations",
        source="organizations t",
        properties=("t.id", "t.kind", "t.name", "t.members"),
        versions=("organizations",), minzoom=10, maxzoom=16, geometry_type="Point",
    ),
    TileLayer(
        # Residents only as counts per building: never a person in a tile, and a count
        # below twin.access.MIN_COUNT is null ("fewer than five").
        name="residents", title_zh="居民（按房屋汇总）", title_en="Residents per building",
        source="""buildings t CROSS JOIN LATERAL (
            SELECT count(*) AS residents,
                   count(*) FILTER (WHERE p.tags @> '{elderly}') AS elderly
              FROM households h JOIN people p ON p.household_id = h.id
             WHERE h.building_id = t.id) r""",
        where="r.residents > 0",
        properties=("t.id AS building_id", f"{counted('r.residents')} AS residents",
                    f"{counted('r.elderly', complement='r.residents')} AS elderly"),
        versions=("people", "households", "buildings"), minzoom=14, maxzoom=16,
        kind="resident_counts",
    ),
)}


def layer(name: str) -> TileLayer:
    """The spec of a tile layer, or NotFound listing the layers."""
    try:
        return LAYERS[name]
    except KeyError:
        raise NotFound(f"unknown tile layer {name!r}: one of {', '.join(LAYERS)}") from None


def tile_sql(spec: TileLayer, z: int, visible: str = "true") -> str:
    """The statement that returns (version, mvt) for one tile of ``spec`` at zoom ``z``;
    ``visible`` is the principal's row filter from twin.access (its parameters bound)."""
    tolerance = spec.simplify_at(z)
    geom = "ST_Transform(t.geom, 3857)"
    if tolerance:
        geom = f"ST_Transform(ST_Simplify(t.geom, {tolerance!r}, true), 3857)"
    budget = spec.budget_at(z)
    limit = f"ORDER BY {spec.order} LIMIT {budget}" if budget < 1_000_000 else ""
    props = ", ".join(spec.properties)
    versions = ", ".join(f"'{v}'" for v in spec.versions)
    # Specs are code, not input: every identifier above comes from LAYERS.
    return f"""
        WITH features AS (
            SELECT ST_AsMVTGeom({geom}, ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true)
                   AS geom, {props}
              FROM {spec.source}
             WHERE t.geom && ST_Transform(
                       ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT!r}), 4326)
               AND {spec.where}
               AND {visible}
             {limit}
        )
        SELECT (SELECT string_agg(version::text, '-' ORDER BY layer) FROM layer_versions
                 WHERE layer IN ({versions})) AS version,
               (SELECT ST_AsMVT(features, '{spec.name}', {EXTENT}, 'geom')
                  FROM features WHERE geom IS NOT NULL) AS mvt
    """  # noqa: S608


def check_tile(spec: TileLayer, z: int, x: int, y: int) -> None:
    """Raise ValueError (bad coordinates) or NotFound (outside the layer's zooms)."""
    if not 0 <= z <= MAX_ZOOM:
        raise ValueError(f"zoom {z} out of range 0–{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise ValueError(f"tile {z}/{x}/{y} does not exist: x and y must be in 0–{n - 1}")
    if not spec.minzoom <= z <= spec.maxzoom:
        raise NotFound(f"layer {spec.name} has tiles from zoom {spec.minzoom} to "
                       f"{spec.maxzoom}, not {z}")


def current_versions(engine: Engine, names: list[str] | set[str]) -> dict[str, str]:
    """The data versions of several tile layers, as they appear in tile URLs, in one query."""
    specs = [layer(n) for n in names]
    rows = sa.text("SELECT layer, version::text FROM layer_versions WHERE layer = ANY(:layers)")
    with engine.connect() as conn:
        found = dict(conn.execute(rows, {"layers": sorted({v for s in specs for v in s.versions})}
                                  ).all())
    return {s.name: "-".join(found.get(v, "0") for v in sorted(s.versions)) for s in specs}


def current_version(engine: Engine, spec: TileLayer) -> str:
    """The data version of one layer, as it appears in tile URLs."""
    return current_versions(engine, [spec.name])[spec.name]


def render(engine: Engine, spec: TileLayer, z: int, x: int, y: int,
           principal: Principal) -> tuple[str, bytes]:
    """(version, MVT bytes) of one tile as ``principal`` may see it, read under one
    snapshot."""
    check_tile(spec, z, x, y)
    visible, params = row_filter(principal, spec.kind)
    with engine.connect() as conn:
        row = conn.execute(sa.text(tile_sql(spec, z, visible)),
                           {"z": z, "x": x, "y": y, **params}).one()
    return row.version or "0", bytes(row.mvt or b"")


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
