"""CQL2 filters (OGC API – Features Part 3) over a collection's queryables, as SQL whose every
literal is a bound parameter.

``cql2`` (the Rust parser tipg uses) reads ``cql2-text`` or ``cql2-json`` and hands the filter
back as cql2-json; this module walks that tree. It writes SQL only from the collection's own
expressions (the queryables: its published properties, typed by the database, and its
geometry) and a fixed table of operators; a value a client sends is checked against the
queryable's type and bound. Its own cql2 to-SQL writer is not used: it writes literals into
the SQL text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from twin.domain.summary import LOCAL_TZ
from twin.errors import TwinError

MAX_FILTER_CHARS = 20_000
MAX_LIST = 1_000  # values of one IN
LANGS = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"  # the queryable name of a collection's geometry ("geom" also read)

COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
REVERSED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SPATIAL = {"s_intersects": "ST_Intersects({a}, {b})", "s_disjoint": "NOT ST_Intersects({a}, {b})",
           "s_within": "ST_Within({a}, {b})", "s_contains": "ST_Contains({a}, {b})",
           "s_equals": "ST_Equals({a}, {b})", "s_touches": "ST_Touches({a}, {b})",
           "s_overlaps": "ST_Overlaps({a}, {b})", "s_crosses": "ST_Crosses({a}, {b})"}
TEMPORAL = ("t_after", "t_before", "t_during", "t_equals", "t_intersects")
SUPPORTED = ("and, or, not, =, <>, <, <=, >, >=, like, in, between, is null, "
             + ", ".join(SPATIAL) + ", " + ", ".join(TEMPORAL))


class FilterError(TwinError):
    """A filter that cannot be read or does not fit the collection's queryables."""


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name: its SQL over the row ``t`` and its JSON type
    (``integer``, ``number``, ``string``, ``boolean``, ``date-time``, ``date``, ``geometry``)."""

    name: str
    sql: str
    type: str


def parse(text: str, lang: str | None) -> dict:
    """The filter as a cql2-json tree (FilterError naming what is wrong)."""
    import cql2

    lang = (lang or "cql2-text").lower()
    if lang not in LANGS:
        raise FilterError(f"filter-lang {lang!r} is not supported: use {' or '.join(LANGS)}")
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"filter longer than {MAX_FILTER_CHARS} characters")
    try:
        expr = cql2.parse_text(text) if lang == "cql2-text" else cql2.parse_json(text)
        return expr.to_json()
    except (ValueError, cql2.ParseError, cql2.ValidationError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise FilterError(f"filter is not valid {lang}: {reason}") from None


@dataclass
class _Writer:
    queryables: Mapping[str, Queryable]
    srid: int  # of geometries written in the filter (filter-crs)
    flipped: bool  # whether they come latitude / northing first
    params: dict[str, Any]

    def bind(self, value: Any) -> str:
        name = f"cql_{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    # --- conditions -----------------------------------------------------------------
    def condition(self, node: Any) -> str:
        if isinstance(node, bool):
            return "true" if node else "false"
        if not isinstance(node, dict) or "op" not in node:
            raise FilterError("a filter is made of conditions (comparisons, functions, "
                              "and/or/not)")
        op, args = str(node["op"]).lower(), node.get("args") or []
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.condition(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.condition(self._one(op, args))})"
        if op in COMPARISONS:
            return self._compare(op, args)
        if op == "like":
            q, pattern = self._property_and(op, args, 2)
            if q.type != "string" or not isinstance(pattern, str):
                raise FilterError(f"LIKE compares a text property with a text pattern "
                                  f"({q.name} is {q.type})")
            return f"({q.sql} LIKE {self.bind(pattern)})"
        if op == "in":
            q, values = self._property_and(op, args, 2)
            if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST:
                raise FilterError(f"IN takes a list of 1 to {MAX_LIST} values")
            return f"({q.sql} IN ({', '.join(self.value(v, q) for v in values)}))"
        if op == "between":
            if len(args) != 3:
                raise FilterError("BETWEEN takes a property and two values")
            q = self.property(args[0])
            return f"({q.sql} BETWEEN {self.value(args[1], q)} AND {self.value(args[2], q)})"
        if op == "isnull":
            return f"({self.property(self._one(op, args)).sql} IS NULL)"
        if op in SPATIAL:
            q, geometry = self._property_and(op, args, 2)
            if q.type != "geometry":
                raise FilterError(f"{op.upper()} takes the geometry, not {q.name}")
            return "(" + SPATIAL[op].format(a=q.sql, b=self.geometry(geometry)) + ")"
        if op in TEMPORAL:
            return self._temporal(op, args)
        raise FilterError(f"filter operator {op!r} is not supported (supported: {SUPPORTED})")

    def _one(self, op: str, args: list) -> Any:
        if len(args) != 1:
            raise FilterError(f"{op.upper()} takes one argument")
        return args[0]

    def _property_and(self, op: str, args: list, n: int) -> tuple[Queryable, Any]:
        if len(args) != n:
            raise FilterError(f"{op.upper()} takes {n} arguments")
        return self.property(args[0]), args[1]

    def _compare(self, op: str, args: list) -> str:
        if len(args) != 2:
            raise FilterError(f"{op} compares two things")
        left, right = args
        if not _is_property(left) and _is_property(right):  # 3 < floors
            left, right, op = right, left, REVERSED[op]
        q = self.property(left)
        if q.type == "geometry":
            raise FilterError("compare geometries with the S_ functions")
        return f"({q.sql} {COMPARISONS[op]} {self.value(right, q)})"

    def _temporal(self, op: str, args: list) -> str:
        q, when = self._property_and(op, args, 2)
        if q.type != "date-time":
            raise FilterError(f"{op.upper()} takes a time property ({q.name} is {q.type})")
        lo, hi, hi_open = self.span(when)
        below = "<" if hi_open else "<="
        if op == "t_after":  # after the whole of it
            return f"({q.sql} {'>=' if hi_open else '>'} {self.bind(hi)})" if hi else "false"
        if op == "t_before":
            return f"({q.sql} < {self.bind(lo)})" if lo is not None else "false"
        if op == "t_equals":
            if lo != hi:
                raise FilterError("T_EQUALS takes a TIMESTAMP")
            return f"({q.sql} = {self.bind(lo)})"
        # t_intersects, t_during: inside the instant, day or interval
        parts = ([f"{q.sql} >= {self.bind(lo)}"] if lo is not None else []) + \
                ([f"{q.sql} {below} {self.bind(hi)}"] if hi is not None else [])
        return "(" + " AND ".join(parts or ["true"]) + ")"

    # --- operands -------------------------------------------------------------------
    def property(self, node: Any) -> Queryable:
        if isinstance(node, dict) and "op" in node:
            raise FilterError(f"{str(node['op']).upper()[:20]}(…) is not supported here: "
                              "name a property")
        if not _is_property(node):
            raise FilterError("expected a property name here")
        name = str(node["property"])
        q = self.queryables.get("geometry" if name == "geom" else name)
        if q is None:
            raise FilterError(f"{name[:40]!r} is not a queryable of this collection (see "
                              f"its /queryables: {', '.join(sorted(self.queryables))})")
        return q

    def value(self, node: Any, q: Queryable) -> str:
        """A literal checked against the queryable's type, bound."""
        if q.type in ("integer", "number"):
            if isinstance(node, bool) or not isinstance(node, int | float) \
                    or not math.isfinite(node):
                raise FilterError(f"{q.name} is a number: compare it with a number")
            if q.type == "integer" and float(node).is_integer():
                node = int(node)
            return self.bind(node)
        if q.type == "string":
            if not isinstance(node, str):
                raise FilterError(f"{q.name} is text: compare it with a 'quoted' value")
            return self.bind(node)
        if q.type == "boolean":
            if not isinstance(node, bool):
                raise FilterError(f"{q.name} is true or false")
            return self.bind(node)
        if q.type == "date":
            if not (isinstance(node, dict) and "date" in node):
                raise FilterError(f"{q.name} is a date: compare it with DATE('…')")
            return self.bind(_date(node["date"]))
        if not (isinstance(node, dict) and "timestamp" in node):
            raise FilterError(f"{q.name} is a time: compare it with TIMESTAMP('…'), or use "
                              "T_INTERSECTS with a DATE or an INTERVAL")
        return self.bind(_timestamp(node["timestamp"]))

    def span(self, node: Any) -> tuple[dt.datetime | None, dt.datetime | None, bool]:
        """(first instant, last instant, whether the last is excluded) of a TIMESTAMP, a
        DATE (a local day, as the county lives it) or an INTERVAL (None: an open end)."""
        if isinstance(node, dict) and "timestamp" in node:
            t = _timestamp(node["timestamp"])
            return t, t, False
        if isinstance(node, dict) and "date" in node:
            day = _day(node["date"])
            return day, day + dt.timedelta(days=1), True
        if isinstance(node, dict) and "interval" in node and len(node["interval"]) == 2:
            first, last = (e.get("timestamp") or e.get("date") if isinstance(e, dict) else e
                           for e in node["interval"])
            lo = None if first == ".." else (_day(first) if _is_date(first)
                                             else _timestamp(first))
            if last == "..":
                return lo, None, False
            if _is_date(last):
                return lo, _day(last) + dt.timedelta(days=1), True
            return lo, _timestamp(last), False
        raise FilterError("expected TIMESTAMP('…'), DATE('…') or INTERVAL('…', '…')")

    def geometry(self, node: Any) -> str:
        """A geometry literal (WKT in cql2-text, GeoJSON in cql2-json, or BBOX) in the
        twin's CRS84, from filter-crs."""
        import shapely.geometry

        if isinstance(node, dict) and "bbox" in node:
            box = node["bbox"]
            if len(box) not in (4, 6) or not all(isinstance(v, int | float) for v in box):
                raise FilterError("BBOX takes 4 (or 6) numbers")
            x0, y0, x1, y1 = box if len(box) == 4 else (box[0], box[1], box[3], box[4])
            node = shapely.geometry.mapping(shapely.geometry.box(x0, y0, x1, y1))
        if not isinstance(node, dict) or "type" not in node:
            raise FilterError("expected a geometry (WKT, GeoJSON or BBOX) here")
        try:
            shape = shapely.geometry.shape(node)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            raise FilterError(f"the filter's geometry cannot be read: {exc}") from None
        if shape.is_empty or not all(math.isfinite(v) for v in shape.bounds):
            raise FilterError("the filter's geometry is empty or not finite")
        geom = f"ST_SetSRID(ST_GeomFromGeoJSON({self.bind(json.dumps(node))}), {self.srid})"
        if self.flipped:
            geom = f"ST_FlipCoordinates({geom})"
        return geom if self.srid == 4326 else f"ST_Transform({geom}, 4326)"


def _is_property(node: Any) -> bool:
    return isinstance(node, dict) and "property" in node


def _timestamp(text: Any) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FilterError(f"TIMESTAMP({str(text)[:40]!r}) is not an RFC 3339 time") from None
    if t.tzinfo is None:
        raise FilterError(f"TIMESTAMP({text!r}) needs its offset (Z or +08:00)")
    return t


def _is_date(text: Any) -> bool:
    return isinstance(text, str) and len(text) == 10


def _day(text: Any) -> dt.datetime:
    """The first instant of a local day."""
    return dt.datetime.combine(_date(text), dt.time(), ZoneInfo(LOCAL_TZ))


def _date(text: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise FilterError(f"DATE({str(text)[:40]!r}) is not a date") from None


def to_sql(tree: dict, queryables: Mapping[str, Queryable], srid: int = 4326,
           flipped: bool = False) -> tuple[str, dict[str, Any]]:
    """(SQL condition, bound values) of a parsed filter over ``queryables``; geometry
    literals are in the CRS ``srid`` (axes swapped when ``flipped``)."""
    writer = _Writer(queryables, srid, flipped, {})
    return writer.condition(tree), writer.params
