"""What an element family is, once: its table, how private each column is, and how each
projection (tiles, OGC API, export, bulk load, import, Open311) shows it.

Everything is declared, nothing is reflected from the database: a column reaches a
projection only because an entry names it, so privacy stays explicit and reviewable. The
projections in ``twin.publish`` and ``twin.ingest`` are derived from these entries; the test
``tests/catalog`` proves that no personal column leaves by any of them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PUBLIC = "public"      # shown to every role that sees the element's kind
TEXT = "text"          # typed by people: null for a principal who may not read event_text
COUNT = "count"        # a count of people: published through twin.domain.access.counted
PRIVACY = (PUBLIC, TEXT, COUNT)


@dataclass(frozen=True)
class Prop:
    """One property as one projection shows it: the output name, the SQL expression over
    the projection's row ``t``, and how private it is."""

    name: str
    sql: str
    privacy: str = PUBLIC

    def __post_init__(self) -> None:
        if self.privacy not in PRIVACY:
            raise ValueError(f"unknown privacy {self.privacy!r} of property {self.name}")

    def select_item(self) -> str:
        """The property as a SELECT item: ``t.code`` when the expression is the column of
        that name, else ``expr AS name`` (TileJSON reads the field names from these)."""
        if re.fullmatch(rf"[a-z]+\.{re.escape(self.name)}", self.sql):
            return self.sql
        return f"{self.sql} AS {self.name}"


def col(name: str, alias: str = "t", privacy: str = PUBLIC) -> Prop:
    """A column shown as it is, under its own name."""
    return Prop(name, f"{alias}.{name}", privacy)


def cols(*names: str, alias: str = "t") -> tuple[Prop, ...]:
    """Columns shown as they are."""
    return tuple(col(n, alias) for n in names)


@dataclass(frozen=True)
class Columns:
    """Every column of the element's table, classified. ``personal`` columns are a person's
    data and leave only by the audited path; ``internal`` ones are bookkeeping that no
    projection shows; ``text`` ones are what people typed."""

    public: tuple[str, ...]
    text: tuple[str, ...] = ()
    internal: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()

    def all(self) -> set[str]:
        return {*self.public, *self.text, *self.internal, *self.personal}


@dataclass(frozen=True)
class TileSpec:
    """One vector tile layer of the element."""

    name: str
    title_zh: str
    title_en: str
    properties: tuple[Prop, ...]
    minzoom: int
    maxzoom: int
    source: str | None = None        # FROM clause, alias t; default "<table> t"
    versions: tuple[str, ...] | None = None  # layer_versions rows; default the element's
    where: str = "true"
    order: str = "t.id"
    budget: Mapping[int, int] = field(default_factory=dict)    # features per tile by zoom
    simplify: Mapping[int, float] = field(default_factory=dict)  # tolerance (°) by zoom
    geometry_type: str = "Polygon"
    # a stored Web Mercator copy of t.geom (a generated column): Web Mercator tiles at zooms
    # without simplification read it instead of projecting every feature of every tile
    mercator: str | None = None
    # properties that depend on today (visited in the last 30 days …): the layer's version,
    # and so its tile URLs and caches, also carry the local day
    daily: bool = False


@dataclass(frozen=True)
class OgcSpec:
    """One OGC API – Features collection of the element."""

    id: str
    title: str
    description: str
    properties: tuple[Prop, ...]
    filters: Mapping[str, str] = field(default_factory=dict)  # parameter → condition on :v
    table: str | None = None          # default the element's table
    where: str = "true"
    cells: bool = True                # the cell properties (micro-grid … town) follow
    geom: str = "t.geom"
    key: str = "t.id"
    order: str = "t.id"
    lookup: Callable[[str], tuple[str, dict[str, Any]] | None] | None = None
    bbox: str | None = None           # default: the envelope on t.geom
    temporal: str | None = None       # the timestamptz column ``datetime`` filters on
    extent_from: str | None = None    # FROM clause whose t.geom gives the spatial extent


@dataclass(frozen=True)
class ExportSpec:
    """The element as an export layer: ``SELECT <properties>, t.geom FROM <source>``."""

    name: str
    properties: tuple[Prop, ...]
    source: str | None = None         # default "<table> t"
    group_by: str = ""
    unit_where: str | None = None     # how the rows of one unit are found (default: cells)


@dataclass(frozen=True)
class Element:
    """An element family of the twin, described once."""

    name: str
    table: str
    kind: str                         # twin.domain.access kind of its rows
    columns: Columns
    layer: str | None = None          # its layer_versions row (default: the table's name)
    tiles: tuple[TileSpec, ...] = ()
    ogc: tuple[OgcSpec, ...] = ()
    export: ExportSpec | None = None
    load: tuple[str, ...] = ()        # bulk load (COPY) column order
    sample: str | None = None         # the sample twin's attribute holding its rows
    # (column, parent table): a child whose town is its parent's (0020); the bulk load
    # takes ``town_id`` from the parent rows when the frame does not give it
    follows: tuple[str, str] | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # import names
    open311: tuple[Prop, ...] = ()    # the Open311 read model (events)


# --- lookups of a feature by its id ----------------------------------------------------------
def int_key(fid: str) -> tuple[str, dict[str, Any]] | None:
    """Lookup of a feature by its integer id (None: cannot be one)."""
    if not re.fullmatch(r"[0-9]{1,18}", fid):
        return None
    return "t.id = :fid", {"fid": int(fid)}


# An observation's id, in the OGC collection and in SensorThings: station:parameter:UTC time.
OBSERVATION_KEY = ("t.station_id || ':' || t.parameter || ':' || "
                   """to_char(t.observed_at AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')""")
_OBSERVATION_ID = re.compile(r"([0-9]{1,18}):([a-z0-9_]{1,40}):([0-9]{8}T[0-9]{6}Z)")


def parse_observation_id(fid: str) -> tuple[int, str, dt.datetime] | None:
    """(station id, parameter, time) of an ``OBSERVATION_KEY``; None when it is not shaped as
    one, ValueError for a time that cannot be."""
    m = _OBSERVATION_ID.fullmatch(fid)
    if not m:
        return None
    try:
        at = dt.datetime.strptime(m[3], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(f"observation id {fid!r}: {m[3]} is not a valid UTC time "
                         "(YYYYMMDDTHHMMSSZ)") from None
    return int(m[1]), m[2], at


def observation_key(fid: str) -> tuple[str, dict[str, Any]] | None:
    """Lookup of an observation by ``station_id:parameter:YYYYMMDDTHHMMSSZ``; ValueError for
    a time that cannot be."""
    found = parse_observation_id(fid)
    if found is None:
        return None
    return ("t.station_id = :fid_s AND t.parameter = :fid_p AND t.observed_at = :fid_t",
            dict(zip(("fid_s", "fid_p", "fid_t"), found, strict=True)))


# --- SQL pieces several entries use -----------------------------------------------------------
ENVELOPE = "ST_MakeEnvelope(:bbox_x0, :bbox_y0, :bbox_x1, :bbox_y1, 4326)"
BBOX_ON_GEOM = f"t.geom && {ENVELOPE} AND ST_Intersects(t.geom, {ENVELOPE})"


def utc(column: str) -> str:
    """SQL rendering a timestamptz column as RFC 3339 in UTC (independent of the session)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def unit_code(column: str) -> str:
    """SQL giving the code of the unit whose id is in ``column`` (a unit of the row ``t``'s
    town: the lookup stays on its shard when the units are distributed by town)."""
    return f"(SELECT u.code FROM units u WHERE u.town_id = t.town_id AND u.id = {column})"


def unit_count(measure: str) -> str:
    """A counter of the unit ``t`` from ``unit_counts`` (kept by triggers)."""
    return (f"(SELECT coalesce(sum(c.value), 0)::bigint FROM unit_counts c "
            f"WHERE c.unit_id = t.id AND c.measure = '{measure}')")


CELLS = ("microgrid_id", "grid_id", "village_id", "town_id")  # every element row's cell
CELL_PROPERTIES = (Prop("microgrid_code", unit_code("t.microgrid_id")),
                   *cols(*CELLS))
