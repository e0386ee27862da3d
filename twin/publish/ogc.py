"""OGC API – Features (Part 1 Core, Part 2 CRS by reference, Part 3 CQL2 filters) over the
twin store, without any web framework.

``COLLECTIONS`` is what is published, derived from the element catalogue (``twin.catalog``):
each collection names its source table, the whitelist of properties (output name → SQL
expression over the row alias ``t``), its temporal column and its filterable properties.
SQL identifiers and expressions come only from the catalogue; everything a client sends is
parsed here and reaches the database as bound parameters.

Features are built as GeoJSON by PostGIS (``ST_AsGeoJSON`` + ``json_agg``), so a page of
ten thousand features costs one query and no Python loop over rows. The twin stores CRS84;
``crs`` asks for the features in CGCS2000 (``CRSS``), transformed by PostGIS in the same
query, in the axis order of the CRS's authority (EPSG: latitude or northing first).
``filter`` (CQL2, :mod:`twin.publish.cql`) runs over the collection's queryables: its published
properties, typed by the database, and its geometry.
"""

# ruff: noqa: S608 - SQL here is composed only from the COLLECTIONS derived from the catalogue;
# every value a client sends is parsed first and then bound as a parameter.
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from twin.catalog import CATALOG
from twin.catalog.model import (
    BBOX_ON_GEOM,
    CELL_PROPERTIES,
    TEXT,
    Element,
    OgcSpec,
    int_key,
    utc,
)
from twin.domain.access import NONE, Principal, row_filter, sees
from twin.errors import TwinError
from twin.publish import cql

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Crs:
    """A CRS served: its URI, PostGIS SRID, whether its authority's axis order is the
    reverse of x/y (latitude or northing first), and the decimals a coordinate keeps."""

    uri: str
    srid: int
    flipped: bool
    digits: int


def _epsg(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


# CRS84 as stored (8 decimals ≈ 1 mm), and CGCS2000, in which national rules put official data:
# geographic (EPSG:4490), and 3-degree Gauss–Krüger for the county's meridian, 120°E, without
# (EPSG:4549) and with (EPSG:4528, zone 40) the zone number in the false easting (0.1 mm).
CRSS = {c.uri: c for c in (Crs(CRS84, 4326, False, 8), Crs(_epsg(4490), 4490, True, 8),
                           Crs(_epsg(4549), 4549, True, 4), Crs(_epsg(4528), 4528, True, 4))}
STORAGE = CRSS[CRS84]
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)
# Query parameters every items request may carry; the rest must be a collection's filters.
ITEM_PARAMETERS = frozenset({"bbox", "datetime", "limit", "offset", "f", "lang", "crs", "bbox-crs",
                             "filter", "filter-lang", "filter-crs"})
FORMATS = frozenset({"json", "geojson", "html"})


class InvalidParameter(TwinError):
    """A query parameter of an OGC request is unknown, malformed or out of range."""


@dataclass(frozen=True)
class Collection:
    """One published collection: where its rows come from and what of them is shown."""

    id: str
    title: str  # Chinese
    description: str  # English
    table: str  # the source table, aliased ``t``
    properties: Mapping[str, str]  # output name → SQL expression over ``t``
    where: str = "true"  # a fixed condition of the collection (never client text)
    geom: str = "t.geom"
    key: str = "t.id"  # the feature id
    order: str = "t.id"  # a stable order for paging
    lookup: Callable[[str], tuple[str, dict[str, Any]] | None] = int_key
    bbox: str = BBOX_ON_GEOM
    temporal: str | None = None  # the timestamptz column ``datetime`` filters on
    filters: Mapping[str, str] = field(default_factory=dict)  # parameter → condition on :v
    extent_from: str | None = None  # FROM clause whose ``t.geom`` gives the spatial extent
    kind: str = "geography"  # what twin.domain.access calls its rows: decides who sees which
    text: frozenset[str] = frozenset()  # properties people typed (twin.domain.access event_text)
    tiles: str | None = None  # the tile layer of the same name and element (OGC API – Tiles)


def _collection(element: Element, spec: OgcSpec) -> Collection:
    """The collection of a catalogue entry's OGC spec."""
    properties = (*spec.properties, *(CELL_PROPERTIES if spec.cells else ()))
    return Collection(
        id=spec.id, title=spec.title, description=spec.description,
        table=spec.table or element.table, properties={p.name: p.sql for p in properties},
        where=spec.where, geom=spec.geom, key=spec.key, order=spec.order,
        lookup=spec.lookup or int_key, bbox=spec.bbox or BBOX_ON_GEOM, temporal=spec.temporal,
        filters=dict(spec.filters), extent_from=spec.extent_from, kind=element.kind,
        text=frozenset(p.name for p in properties if p.privacy == TEXT),
        tiles=spec.id if any(t.name == spec.id for t in element.tiles) else None)


# Every collection, from the element catalogue (its order is the catalogue's).
COLLECTIONS: dict[str, Collection] = {spec.id: _collection(e, spec) for e in CATALOG
                                      for spec in e.ogc}


# --- parsing what the client sent ---------------------------------------------------------
def get_collection(collection_id: str) -> Collection | None:
    """The collection of that id, or None."""
    return COLLECTIONS.get(collection_id)


def visible_collections(principal: Principal) -> list[Collection]:
    """The collections of which the principal sees any row."""
    return [c for c in COLLECTIONS.values() if sees(principal, c.kind) != NONE]


def check_format(f: str | None) -> None:
    """Accept ``f`` when it asks for JSON or HTML (the encodings served)."""
    if f is not None and f.lower() not in FORMATS:
        raise InvalidParameter(f"unsupported format f={f!r}: use f=json or f=html")


def parse_crs(text: str, name: str = "crs") -> Crs:
    """One of ``CRSS`` by its URI (``<…>`` around it allowed, as Part 2 writes it)."""
    crs = CRSS.get(text.strip().strip("<>"))
    if crs is None:
        raise InvalidParameter(f"{name} {text[:80]!r} is not served: use one of "
                               + ", ".join(CRSS))
    return crs


@functools.lru_cache(maxsize=len(CRSS))
def _to_crs84(srid: int):
    """The transformer from a served CRS to CRS84, in the authorities' axis orders (made
    once per CRS: building one costs more than transforming a box)."""
    from pyproj import Transformer

    return Transformer.from_crs(f"EPSG:{srid}", "OGC:CRS84")


def bbox_to_crs84(box: tuple[float, float, float, float],
                  crs: Crs) -> tuple[float, float, float, float]:
    """A ``bbox`` given in ``crs`` (its axis order) as the CRS84 box that covers it."""
    if crs is STORAGE:
        return box
    x0, y0, x1, y1 = _to_crs84(crs.srid).transform_bounds(*box, densify_pts=21)
    if not all(math.isfinite(n) for n in (x0, y0, x1, y1)):
        raise InvalidParameter(f"bbox lies outside the area of {crs.uri}")
    return x0, y0, x1, y1


def parse_bbox(text: str, crs: Crs = STORAGE) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` (CRS84; 6 numbers = with heights, which are ignored),
    or the lower and upper corners in ``crs``'s axis order (``bbox-crs``); as CRS84."""
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter("bbox must be 4 (or 6) comma-separated numbers")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter("bbox must be 4 (or 6) comma-separated numbers") from None
    if not all(math.isfinite(n) for n in nums):
        raise InvalidParameter("bbox numbers must be finite")
    x0, y0, x1, y1 = nums if len(nums) == 4 else (nums[0], nums[1], nums[3], nums[4])
    if crs is not STORAGE:
        if not (x0 <= x1 and y0 <= y1):
            raise InvalidParameter("bbox must be the lower corner, then the upper one")
        return bbox_to_crs84((x0, y0, x1, y1), crs)
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidParameter("bbox must be minLon,minLat,maxLon,maxLat within -180..180, "
                               "-90..90, min not above max")
    return x0, y0, x1, y1


_DATE = r"\d{4}-\d{2}-\d{2}"
_INSTANT = re.compile(rf"({_DATE})(?:[Tt ](\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d{{1,6}})?)"
                      r"([Zz]|[+-]\d{2}:\d{2}))?")


@dataclass(frozen=True)
class TimeFilter:
    """``lo <= t`` and ``t <= hi`` (``t < hi`` when ``hi_open``); None = open end."""

    lo: dt.datetime | None
    hi: dt.datetime | None
    hi_open: bool = False


def _instant(text: str) -> tuple[dt.datetime, dt.datetime, bool]:
    """(first instant, last instant, whether the last is excluded) of an RFC 3339 value."""
    m = _INSTANT.fullmatch(text)
    if not m:
        raise InvalidParameter(f"datetime {text!r} is not RFC 3339 (e.g. 2026-10-01T00:00:00Z)")
    try:
        if m[2] is None:  # a whole day, in UTC
            day = dt.datetime.fromisoformat(m[1]).replace(tzinfo=dt.UTC)
            return day, day + dt.timedelta(days=1), True
        at = dt.datetime.fromisoformat(f"{m[1]}T{m[2]}{m[3].upper()}")
    except ValueError:
        raise InvalidParameter(f"datetime {text!r} is not a valid date or time") from None
    return at, at, False


def parse_datetime(text: str) -> TimeFilter:
    """An RFC 3339 instant, or an interval ``start/end`` whose ends may be ``..`` (open)."""
    parts = text.split("/")
    if len(parts) == 1:
        lo, hi, hi_open = _instant(text)
        return TimeFilter(lo, hi, hi_open)
    if len(parts) != 2:
        raise InvalidParameter("datetime must be an instant or an interval start/end")
    start, end = (p.strip() for p in parts)
    lo = None if start in ("..", "") else _instant(start)[0]
    hi, hi_open = (None, False) if end in ("..", "") else _instant(end)[1:]
    if lo is not None and hi is not None and lo > hi:
        raise InvalidParameter("datetime interval ends before it starts")
    return TimeFilter(lo, hi, hi_open)


def parse_limit(text: str | None) -> int:
    """The page size, 1..MAX_LIMIT (default DEFAULT_LIMIT)."""
    if text is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,9}", text) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidParameter(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(text)


def parse_offset(text: str | None) -> int:
    """The number of features to skip, 0 or more."""
    if text is None:
        return 0
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise InvalidParameter("offset must be a non-negative integer")
    return int(text)


@dataclass(frozen=True)
class ItemsQuery:
    """A validated items request of one collection."""

    collection: Collection
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    time: TimeFilter | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    crs: Crs = STORAGE
    cql: dict | None = None  # a CQL2 filter, as cql2-json
    filter_crs: Crs = STORAGE


def parse_items_query(collection: Collection, params: Mapping[str, list[str]]) -> ItemsQuery:
    """Validate the query parameters of an items request (each name → its values)."""
    for name, values in params.items():
        if name not in ITEM_PARAMETERS and name not in collection.filters:
            known = ", ".join(sorted(ITEM_PARAMETERS | set(collection.filters)))
            raise InvalidParameter(
                f"unknown query parameter {name[:40]!r} for {collection.id} (known: {known})")
        if len(values) != 1:
            raise InvalidParameter(f"query parameter {name!r} given more than once")
    one = {name: values[0] for name, values in params.items()}
    check_format(one.get("f"))
    crs = parse_crs(one["crs"]) if "crs" in one else STORAGE
    bbox_crs = parse_crs(one["bbox-crs"], "bbox-crs") if "bbox-crs" in one else STORAGE
    if "bbox-crs" in one and "bbox" not in one:
        raise InvalidParameter("bbox-crs given without a bbox")
    tree = None
    if "filter" in one:
        try:
            tree = cql.parse(one["filter"], one.get("filter-lang"))
        except cql.FilterError as exc:
            raise InvalidParameter(str(exc)) from None
    else:
        for name in ("filter-lang", "filter-crs"):
            if name in one:
                raise InvalidParameter(f"{name} given without a filter")
    filter_crs = parse_crs(one["filter-crs"], "filter-crs") if "filter-crs" in one else STORAGE
    time = None
    if "datetime" in one:
        if collection.temporal is None:
            raise InvalidParameter(f"collection {collection.id} has no time: datetime not "
                                   "supported")
        time = parse_datetime(one["datetime"])
    return ItemsQuery(
        collection=collection,
        limit=parse_limit(one.get("limit")),
        offset=parse_offset(one.get("offset")),
        bbox=parse_bbox(one["bbox"], bbox_crs) if "bbox" in one else None,
        time=time,
        filters={k: v for k, v in one.items() if k in collection.filters},
        crs=crs,
        cql=tree,
        filter_crs=filter_crs,
    )


# --- queryables -------------------------------------------------------------------------
_JSON_TYPES = {20: "integer", 21: "integer", 23: "integer", 700: "number", 701: "number",
               1700: "number", 25: "string", 1043: "string", 1042: "string", 19: "string",
               16: "boolean", 1184: "date-time", 1114: "date-time", 1082: "date"}
_QUERYABLES: dict[str, dict[str, cql.Queryable]] = {}


def queryables(conn: Connection, c: Collection) -> dict[str, cql.Queryable]:
    """What a filter on ``c`` may name: its published properties of a scalar type (as the
    database types them; times published as RFC 3339 text are filtered as the times they
    are), and its geometry. Never what people typed. Learnt once per collection."""
    known = _QUERYABLES.get(c.id)
    if known is not None:
        return known
    names = [n for n in c.properties if n not in c.text]
    columns = ", ".join(f"{c.properties[n]} AS c{i}" for i, n in enumerate(names))
    result = conn.execute(sa.text(f"SELECT {columns} FROM {c.table} t WHERE false"))
    types = [col.type_code for col in result.cursor.description]
    result.close()
    found = {cql.GEOMETRY: cql.Queryable(cql.GEOMETRY, c.geom, "geometry")}
    for name, oid in zip(names, types, strict=True):
        sql = c.properties[name]
        if sql == utc(f"t.{name}"):  # an RFC 3339 rendering of a timestamptz column
            found[name] = cql.Queryable(name, f"t.{name}", "date-time")
        elif oid in _JSON_TYPES:
            found[name] = cql.Queryable(name, sql, _JSON_TYPES[oid])
    _QUERYABLES[c.id] = found
    return found


_SCHEMA_TYPES = {"date-time": {"type": "string", "format": "date-time"},
                 "date": {"type": "string", "format": "date"},
                 "geometry": {"format": "geometry-any", "x-ogc-role": "primary-geometry"}}


def queryables_document(conn: Connection, c: Collection) -> dict[str, Any]:
    """The JSON Schema of ``c``'s queryables (``/queryables``)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": c.title,
        "properties": {q.name: {"title": q.name,
                                **_SCHEMA_TYPES.get(q.type, {"type": q.type})}
                       for q in queryables(conn, c).values()},
        "additionalProperties": False,
    }


# --- building and running the SQL ---------------------------------------------------------
def _where(q: ItemsQuery, principal: Principal,
           known: Mapping[str, cql.Queryable] | None = None) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (from the collection's own SQL and twin.domain.access only) and its bound
    values; ``known``: the collection's queryables, when the query has a CQL2 filter."""
    c = q.collection
    visible, params = row_filter(principal, c.kind)
    clauses = [c.where, visible]
    if q.cql is not None:
        try:
            condition, values = cql.to_sql(q.cql, known or {}, q.filter_crs.srid,
                                           q.filter_crs.flipped)
        except cql.FilterError as exc:
            raise InvalidParameter(str(exc)) from None
        clauses.append(condition)
        params.update(values)
    if q.bbox is not None:
        clauses.append(c.bbox)
        params.update(zip(("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"), q.bbox, strict=True))
    if q.time is not None and c.temporal is not None:
        if q.time.lo is not None:
            clauses.append(f"{c.temporal} >= :time_lo")
            params["time_lo"] = q.time.lo
        if q.time.hi is not None:
            clauses.append(f"{c.temporal} {'<' if q.time.hi_open else '<='} :time_hi")
            params["time_hi"] = q.time.hi
    for name, value in q.filters.items():
        # the name is a key of the collection's whitelist, so a safe bind name
        clauses.append(c.filters[name].replace(":v", f":filter_{name}"))
        params[f"filter_{name}"] = value
    return " AND ".join(f"({x})" for x in clauses), params


def _geometry_sql(c: Collection, crs: Crs) -> str:
    """The GeoJSON geometry of the row ``t`` in ``crs`` (SRID and digits from ``CRSS``)."""
    geom = c.geom if crs is STORAGE else f"ST_Transform({c.geom}, {crs.srid})"
    if crs.flipped:
        geom = f"ST_FlipCoordinates({geom})"
    return f"ST_AsGeoJSON({geom}, {crs.digits})::json"


def _feature_sql(c: Collection, principal: Principal, crs: Crs = STORAGE) -> str:
    """A json_build_object of one Feature of the row ``t``; what people typed is null for a
    principal who may not read it."""
    hidden = c.text if sees(principal, "event_text") == NONE else frozenset()
    props = ", ".join(f"'{name}', {'NULL' if name in hidden else expr}"
                      for name, expr in c.properties.items())
    return (f"json_build_object('type', 'Feature', 'id', {c.key}, "
            f"'geometry', {_geometry_sql(c, crs)}, "
            f"'properties', json_build_object({props}))")


@dataclass(frozen=True)
class Page:
    """One page of features: the JSON array as text, and the counts."""

    features_json: str
    number_matched: int
    number_returned: int


def fetch_page(conn: Connection, q: ItemsQuery, principal: Principal) -> Page:
    """The features of one page that the principal may see, and the number matched by the
    same filter, in one query."""
    c = q.collection
    where, params = _where(q, principal, queryables(conn, c) if q.cql is not None else None)
    # Each Feature is built in the page's own query, beside its sort keys: on Citus that
    # query runs on the shards, where a feature's lookups (its unit, its parent) are local.
    terms = [term.strip().split(" ") for term in c.order.split(",")]
    keys = ", ".join(f"{t[0]} AS _o{i}" for i, t in enumerate(terms))
    order = ", ".join(" ".join([f"p._o{i}", *t[1:]]) for i, t in enumerate(terms))
    sql = (
        f"SELECT (SELECT count(*) FROM {c.table} t WHERE {where}) AS matched, "
        f"count(*) AS returned, "
        f"coalesce(json_agg(p.feature ORDER BY {order})::text, '[]') AS features "
        f"FROM (SELECT {_feature_sql(c, principal, q.crs)} AS feature, {keys} "
        f"FROM {c.table} t WHERE {where} ORDER BY {c.order} "
        f"LIMIT :limit OFFSET :offset) p"
    )
    row = conn.execute(sa.text(sql), {**params, "limit": q.limit, "offset": q.offset}).one()
    return Page(row.features, row.matched, row.returned)


def fetch_feature(conn: Connection, c: Collection, fid: str, principal: Principal,
                  crs: Crs = STORAGE) -> str | None:
    """One Feature as GeoJSON text, or None when there is no such feature (or none the
    principal may see: the same answer, so ids outside a scope cannot be probed)."""
    try:
        lookup = c.lookup(fid)
    except ValueError as exc:  # an id of the right shape that cannot be
        raise InvalidParameter(str(exc)) from None
    if lookup is None:
        return None
    cond, params = lookup
    visible, scope = row_filter(principal, c.kind)
    sql = (f"SELECT {_feature_sql(c, principal, crs)}::text FROM {c.table} t "
           f"WHERE ({c.where}) AND ({cond}) AND {visible}")
    return conn.execute(sa.text(sql), {**params, **scope}).scalar()


@dataclass(frozen=True)
class Extent:
    """A collection's spatial (CRS84) and temporal (UTC) extent."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[str | None, str | None] | None


def _extent(conn: Connection, c: Collection) -> Extent:
    source = c.extent_from or f"{c.table} t WHERE {c.where}"
    row = conn.execute(sa.text(
        "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 "
        f"FROM (SELECT ST_Extent(t.geom) AS e FROM {source}) s"
    )).one()
    bbox = None if row.x0 is None else (row.x0, row.y0, row.x1, row.y1)
    interval = None
    if c.temporal is not None:
        span = conn.execute(sa.text(
            f"SELECT {utc(f'min({c.temporal})')} AS lo, {utc(f'max({c.temporal})')} AS hi "
            f"FROM {c.table} t WHERE {c.where}"
        )).one()
        interval = (span.lo, span.hi)
    return Extent(bbox, interval)


class ExtentCache:
    """Extents of the collections, recomputed only when a layer's data version changes."""

    def __init__(self) -> None:
        self._versions: tuple | None = None
        self._extents: dict[str, Extent] = {}

    def get(self, conn: Connection, collections: list[Collection]) -> dict[str, Extent]:
        """The extents of ``collections`` (a dict replaced whole, so safe across threads)."""
        versions = tuple(conn.execute(sa.text(
            "SELECT layer, version FROM layer_versions ORDER BY layer")).all())
        extents = self._extents if versions == self._versions else {}
        missing = [c for c in collections if c.id not in extents]
        if missing:
            extents = {**extents, **{c.id: _extent(conn, c) for c in missing}}
            self._extents, self._versions = extents, versions
        return {c.id: extents[c.id] for c in collections}


def collection_document(c: Collection, extent: Extent, links: list[dict]) -> dict[str, Any]:
    """The metadata of one collection (``/collections/{id}``)."""
    doc: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": list(CRSS), "storageCrs": STORAGE.uri, "links": links,
        "extent": {"spatial": {"bbox": [list(extent.bbox)] if extent.bbox else [],
                               "crs": CRS84}},
    }
    if extent.interval is not None:
        doc["extent"]["temporal"] = {"interval": [list(extent.interval)],
                                     "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return doc


def feature_collection_json(meta: Mapping[str, Any], features_json: str) -> str:
    """A FeatureCollection document: ``meta`` plus the features array built by the database."""
    head = json.dumps({"type": "FeatureCollection", **meta}, ensure_ascii=False)
    return f'{head[:-1]}, "features": {features_json}}}'
