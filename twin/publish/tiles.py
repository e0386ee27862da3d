"""Vector tiles (MVT) straight from PostGIS, one spec per layer, derived from the element
catalogue (``twin.catalog``).

Each layer names its source, the properties a tile may carry (never a person), its zoom
range and a feature budget per zoom; SQL is assembled only from these specs, and z/x/y are
bound parameters. The tile and the layer's data version are read in one statement, so a
tile is always labelled with the version it was made from.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
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
        geometry_type=spec.geometry_type, kind=element.kind, daily=spec.daily)


# Every tile layer, from the element catalogue (its order is the catalogue's).
LAYERS: dict[str, TileLayer] = {spec.name: _layer(e, spec) for e in CATALOG for spec in e.tiles}


def layer(name: str) -> TileLayer:
    """The spec of a tile layer, or NotFound listing the layers."""
    try:
        return LAYERS[name]
    except KeyError:
        raise NotFound(f"unknown tile layer {name!r}: one of {', '.join(LAYERS)}") from None


def tile_sql(spec: TileLayer, z: int, visible: str = "true") -> str:
    """The statement that returns (version, mvt) for one tile of ``spec`` at zoom ``z``;
    ``visible`` is the principal's row filter from twin.domain.access (its parameters bound)."""
    tolerance = spec.simplify_at(z)
    geom = "ST_Transform(t.geom, 3857)"
    if tolerance:
        geom = f"ST_Transform(ST_Simplify(t.geom, {tolerance!r}, true), 3857)"
    budget = spec.budget_at(z)
    limit = f"ORDER BY {spec.order} LIMIT {budget}" if budget < 1_000_000 else ""
    props = ", ".join(spec.properties)
    versions = ", ".join(f"'{v}'" for v in spec.versions)
    day = f" || '-' || to_char(now() AT TIME ZONE '{LOCAL_TZ}', 'YYYYMMDD')" \
        if spec.daily else ""
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
                 WHERE layer IN ({versions})){day} AS version,
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
    day = dt.datetime.now(ZoneInfo(LOCAL_TZ)).strftime("-%Y%m%d")
    return {s.name: "-".join(found.get(v, "0") for v in sorted(s.versions))
            + (day if s.daily else "") for s in specs}


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
