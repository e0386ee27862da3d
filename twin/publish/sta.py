"""OGC SensorThings API 1.1 (Part 1, Sensing) over the monitoring stations, their parameters
and readings, without any web framework.

The twin's tables map onto the standard's entities; nothing is copied:

===================  ==========================================  ===========================
entity set           rows                                        ``@iot.id``
===================  ==========================================  ===========================
Things               stations                                    the station's id
Locations            stations (where they stand)                 the station's id
FeaturesOfInterest   stations (what the readings are of)         the station's id
Sensors              the kinds of station (air, water, …)        the kind, e.g. ``'air'``
ObservedProperties   parameters (GB 3095 / GB 3838 limits)       the code, e.g. ``'pm25'``
Datastreams          each station × each parameter of its kind   ``'station:parameter'``
Observations         readings                                    ``'station:parameter:time'``
===================  ==========================================  ===========================

``$filter`` (OData, parsed by ``odata-query``) is turned into SQL here over a whitelist of
each entity's properties, every literal checked against the property's type and bound;
``$orderby`` names only those properties; ``$expand`` follows the entities' navigation
links; each entity's rows are those the reader may see (``twin.domain.access.row_filter``).
A new Observation is written and evaluated against its parameter's limits by
``twin.domain.monitor.ingest``, exactly as imported readings are, so a breach opens its warning.
"""

# ruff: noqa: S608 - SQL here is composed only from the ENTITIES below; every value a client
# sends is parsed first and then bound as a parameter.
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from twin.catalog.model import OBSERVATION_KEY, parse_observation_id, utc
from twin.domain.access import Principal, row_filter
from twin.errors import NotFound, TwinError

VERSION = "v1.1"
DEFAULT_TOP = 100
MAX_TOP = 10_000
MAX_OPTION_CHARS = 4_000
MAX_EXPAND_DEPTH = 2
OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
GEOJSON = "application/geo+json"
CONFORMANCE = (
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity",
)
# What each kind of station is, as a SensorThings Sensor (the kinds are code, not input).
SENSORS = {
    "air": ("环境空气质量自动监测站", "Ambient air quality monitor (HJ 193, HJ 653)"),
    "water": ("地表水水质自动监测站", "Surface water quality monitor (GB 3838-2002)"),
    "noise": ("声环境质量自动监测站", "Environmental noise monitor (GB 3096-2008)"),
    "water_level": ("水位站", "Water level gauge"),
    "visitors": ("客流计数器", "Visitor counter"),
}
_SENSOR_ROWS = ", ".join(f"('{k}', '{zh}', '{en}')" for k, (zh, en) in SENSORS.items())


class StaError(TwinError):
    """A SensorThings request the server cannot answer as asked (400)."""


class StaNotFound(NotFound):
    """A SensorThings path that names nothing (404)."""


@dataclass(frozen=True)
class Nav:
    """A navigation link: the target entity set, whether it holds many, and the condition on
    the target's rows (alias ``t``) in the parameters of the source row's keys."""

    target: str
    many: bool
    where: str


@dataclass(frozen=True)
class Field:
    """A property ``$filter`` and ``$orderby`` may name: its SQL over ``t`` and its type
    (``int``, ``float``, ``str`` or ``time``)."""

    sql: str
    type: str


@dataclass(frozen=True)
class EntitySet:
    name: str                         # the set's name: Things
    single: str                       # one of them: Thing
    source: str                       # FROM clause, alias t
    id_sql: str
    id_is_int: bool
    lookup: Callable[[Any], tuple[str, dict[str, Any]]]  # id → condition, keys
    properties: tuple[tuple[str, str], ...]              # name → SQL (JSON values)
    keys: tuple[tuple[str, str], ...]                    # parameter → SQL, for Nav.where
    fields: Mapping[str, Field]
    order: str
    navs: Mapping[str, Nav] = field(default_factory=dict)
    kind: str | None = "geography"  # twin.domain.access kind of its rows; None: not scoped


def _by_station(station: Any) -> tuple[str, dict[str, Any]]:
    return "t.id = :station", {"station": station}


_DATASTREAM_ID = re.compile(r"([0-9]{1,18}):([a-z0-9_]{1,40})")


def _by_datastream(text: Any) -> tuple[str, dict[str, Any]]:
    m = _DATASTREAM_ID.fullmatch(str(text))
    if not m:
        raise StaNotFound(f"no Datastream {str(text)[:60]!r}: ids are 'station:parameter'")
    return ("t.id = :station AND t.parameter = :parameter",
            {"station": int(m[1]), "parameter": m[2]})


def observation_id(station: int, parameter: str, at: dt.datetime) -> str:
    return f"{station}:{parameter}:{at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _by_observation(text: Any) -> tuple[str, dict[str, Any]]:
    try:
        found = parse_observation_id(str(text))
    except ValueError as exc:
        raise StaNotFound(f"no Observation: {exc}") from None
    if found is None:
        raise StaNotFound(f"no Observation {str(text)[:60]!r}: ids are "
                          "'station:parameter:YYYYMMDDTHHMMSSZ'")
    return ("t.station_id = :station AND t.parameter = :parameter AND t.observed_at = :at",
            dict(zip(("station", "parameter", "at"), found, strict=True)))


_STATION_FIELDS = {"id": Field("t.id", "int"), "name": Field("t.name", "str"),
                   "description": Field("t.code", "str"),
                   "properties/code": Field("t.code", "str"),
                   "properties/kind": Field("t.kind", "str")}
_GEOMETRY = "ST_AsGeoJSON(t.geom, 8)::json"
_DATASTREAM_KEY = "(t.station_id || ':' || t.parameter)"

ENTITIES: dict[str, EntitySet] = {e.name: e for e in (
    EntitySet(
        name="Things", single="Thing", source="stations t", id_sql="t.id", id_is_int=True,
        lookup=_by_station,
        properties=(("name", "t.name"), ("description", "t.code"),
                    ("properties", "json_build_object('code', t.code, 'kind', t.kind)")),
        keys=(("station", "t.id"),), fields=_STATION_FIELDS, order="t.id",
        navs={"Locations": Nav("Locations", True, "t.id = :station"),
              "Datastreams": Nav("Datastreams", True, "t.id = :station")}),
    EntitySet(
        name="Locations", single="Location", source="stations t", id_sql="t.id",
        id_is_int=True, lookup=_by_station,
        properties=(("name", "t.name"), ("description", "t.code"),
                    ("encodingType", f"'{GEOJSON}'"), ("location", _GEOMETRY)),
        keys=(("station", "t.id"),), fields=_STATION_FIELDS, order="t.id",
        navs={"Things": Nav("Things", True, "t.id = :station")}),
    EntitySet(
        name="FeaturesOfInterest", single="FeatureOfInterest", source="stations t",
        id_sql="t.id", id_is_int=True, lookup=_by_station,
        properties=(("name", "t.name"), ("description", "t.code"),
                    ("encodingType", f"'{GEOJSON}'"), ("feature", _GEOMETRY)),
        keys=(("station", "t.id"),), fields=_STATION_FIELDS, order="t.id",
        navs={"Observations": Nav("Observations", True, "t.station_id = :station")}),
    EntitySet(
        name="Sensors", single="Sensor",
        source=f"(SELECT k.* FROM (VALUES {_SENSOR_ROWS}) k (kind, name, description) "
               "WHERE k.kind IN (SELECT DISTINCT kind FROM stations)) t",
        id_sql="t.kind", id_is_int=False,
        lookup=lambda kind: ("t.kind = :kind", {"kind": str(kind)}),
        properties=(("name", "t.name"), ("description", "t.description"),
                    ("encodingType", "'text/plain'"), ("metadata", "t.description")),
        keys=(("kind", "t.kind"),),
        fields={"id": Field("t.kind", "str"), "name": Field("t.name", "str")}, order="t.kind",
        navs={"Datastreams": Nav("Datastreams", True, "t.kind = :kind")}, kind=None),
    EntitySet(
        name="ObservedProperties", single="ObservedProperty", source="parameters t",
        id_sql="t.code", id_is_int=False,
        lookup=lambda code: ("t.code = :parameter", {"parameter": str(code)}),
        properties=(("name", "t.name_zh"), ("description", "t.name_en"),
                    ("definition", "coalesce(t.standard, t.code)"),
                    ("properties", "json_build_object('unit', t.unit, 'kind', t.kind, "
                                   "'warn_above', t.warn_above, 'warn_below', t.warn_below)")),
        keys=(("parameter", "t.code"),),
        fields={"id": Field("t.code", "str"), "name": Field("t.name_zh", "str"),
                "description": Field("t.name_en", "str")}, order="t.code",
        navs={"Datastreams": Nav("Datastreams", True, "t.parameter = :parameter")}, kind=None),
    EntitySet(
        name="Datastreams", single="Datastream",
        source="(SELECT s.*, s.id AS station_id, p.code AS parameter, p.name_zh AS param_name, "
               "p.unit FROM stations s JOIN parameters p ON p.kind = s.kind) t",
        id_sql=_DATASTREAM_KEY, id_is_int=False, lookup=_by_datastream,
        properties=(
            ("name", "t.name || ' ' || t.param_name"),
            ("description", "t.code || ' ' || t.parameter"),
            ("observationType", f"'{OM_MEASUREMENT}'"),
            ("unitOfMeasurement", "json_build_object('name', t.unit, 'symbol', t.unit, "
                                  "'definition', null)"),
            ("observedArea", _GEOMETRY),
            ("phenomenonTime", "(SELECT {lo} || '/' || {hi} FROM (SELECT min(o.observed_at) "
                               "AS lo, max(o.observed_at) AS hi FROM observations o WHERE "
                               "o.station_id = t.id AND o.parameter = t.parameter) r)".format(
                                   lo=utc("r.lo"), hi=utc("r.hi")))),
        keys=(("station", "t.id"), ("parameter", "t.parameter"), ("kind", "t.kind")),
        fields={"id": Field(_DATASTREAM_KEY, "str"), "name": Field("t.name", "str"),
                "Thing/id": Field("t.id", "int"),
                "ObservedProperty/id": Field("t.parameter", "str"),
                "Sensor/id": Field("t.kind", "str")},
        order="t.id, t.parameter",
        navs={"Thing": Nav("Things", False, "t.id = :station"),
              "Sensor": Nav("Sensors", False, "t.kind = :kind"),
              "ObservedProperty": Nav("ObservedProperties", False, "t.code = :parameter"),
              "Observations": Nav("Observations", True,
                                  "t.station_id = :station AND t.parameter = :parameter")}),
    EntitySet(
        name="Observations", single="Observation", source="observations t",
        id_sql=OBSERVATION_KEY,
        id_is_int=False, lookup=_by_observation,
        properties=(("phenomenonTime", utc("t.observed_at")),
                    ("resultTime", utc("t.observed_at")), ("result", "t.value")),
        keys=(("station", "t.station_id"), ("parameter", "t.parameter")),
        fields={"result": Field("t.value", "float"),
                "phenomenonTime": Field("t.observed_at", "time"),
                "resultTime": Field("t.observed_at", "time"),
                "Datastream/id": Field(_DATASTREAM_KEY, "str"),
                "Datastream/Thing/id": Field("t.station_id", "int"),
                "Datastream/ObservedProperty/id": Field("t.parameter", "str"),
                "FeatureOfInterest/id": Field("t.station_id", "int")},
        order="t.station_id, t.parameter, t.observed_at",
        navs={"Datastream": Nav("Datastreams", False,
                                "t.id = :station AND t.parameter = :parameter"),
              "FeatureOfInterest": Nav("FeaturesOfInterest", False, "t.id = :station")}),
)}


# --- query options ---------------------------------------------------------------------------
@dataclass
class Options:
    """The query options of one entity set's request (or of one ``$expand``)."""

    where: str = "true"
    params: dict[str, Any] = field(default_factory=dict)
    order: str = ""
    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    select: tuple[str, ...] | None = None
    expand: dict[str, Options] = field(default_factory=dict)


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _integer(name: str, text: str, top: int) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text.strip()) or int(text) > top:
        raise StaError(f"{name} must be an integer from 0 to {top}")
    return int(text)


def parse_options(entity: EntitySet, params: Mapping[str, str], depth: int = 0,
                  prefix: str = "o") -> Options:
    """``$filter``, ``$orderby``, ``$top``, ``$skip``, ``$count``, ``$select`` and ``$expand``
    of a request on ``entity`` (names without ``$`` are for the server's own use: refused)."""
    opts = Options()
    for name, value in params.items():
        if len(value) > MAX_OPTION_CHARS:
            raise StaError(f"{name} is longer than {MAX_OPTION_CHARS} characters")
        if name == "$filter":
            opts.where, opts.params = filter_sql(entity, value, prefix)
        elif name == "$orderby":
            opts.order = _order(entity, value)
        elif name == "$top":
            opts.top = _integer("$top", value, MAX_TOP)
        elif name == "$skip":
            opts.skip = _integer("$skip", value, 10**9)
        elif name == "$count":
            if value not in ("true", "false"):
                raise StaError("$count must be true or false")
            opts.count = value == "true"
        elif name == "$select":
            known = {"id", *(p for p, _ in entity.properties), *entity.navs}
            chosen = tuple(_split(value, ","))
            if unknown := [c for c in chosen if c not in known]:
                raise StaError(f"$select: {entity.name} has no {unknown[0][:40]!r} (one of "
                               f"{', '.join(sorted(known))})")
            opts.select = chosen
        elif name == "$expand":
            opts.expand = _expand(entity, value, depth, prefix)
        elif name not in ("$resultFormat",) and name.startswith("$"):
            raise StaError(f"unsupported query option {name[:40]!r}")
    return opts


def _expand(entity: EntitySet, text: str, depth: int, prefix: str) -> dict[str, Options]:
    if depth >= MAX_EXPAND_DEPTH:
        raise StaError(f"$expand goes at most {MAX_EXPAND_DEPTH} levels deep")
    out: dict[str, Options] = {}
    for n, item in enumerate(_split(text, ",")):
        m = re.fullmatch(r"([A-Za-z]+)(?:/([A-Za-z/]+))?(?:\((.*)\))?", item, re.S)
        if not m or m[1] not in entity.navs:
            raise StaError(f"$expand: {entity.name} has no navigation link "
                           f"{item.split('(')[0][:40]!r} (one of {', '.join(entity.navs)})")
        target = ENTITIES[entity.navs[m[1]].target]
        inner: dict[str, str] = {}
        for option in _split(m[3] or "", ";"):
            key, _, value = option.partition("=")
            inner[key.strip()] = value.strip()
        if m[2]:  # Datastreams/Observations: the same as Datastreams($expand=Observations)
            inner["$expand"] = ",".join(filter(None, (m[2], inner.get("$expand"))))
        out[m[1]] = parse_options(target, inner, depth + 1, f"{prefix}{n}")
    return out


def _order(entity: EntitySet, text: str) -> str:
    terms = []
    for term in _split(text, ","):
        name, _, direction = term.partition(" ")
        direction = direction.strip().lower() or "asc"
        if name not in entity.fields or direction not in ("asc", "desc"):
            raise StaError(f"$orderby: {term[:40]!r} is not one of {', '.join(entity.fields)} "
                           "followed by asc or desc")
        terms.append(f"{entity.fields[name].sql} {direction.upper()}")
    return ", ".join(terms)


# --- $filter ---------------------------------------------------------------------------------
_COMPARE = {"Eq": "=", "NotEq": "<>", "Lt": "<", "LtE": "<=", "Gt": ">", "GtE": ">="}
_FLIP = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_LIKE = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}


def filter_sql(entity: EntitySet, text: str, prefix: str = "o") -> tuple[str, dict[str, Any]]:
    """The SQL condition of an OData ``$filter`` on ``entity`` and its bound parameters."""
    from odata_query.exceptions import ODataException
    from odata_query.grammar import ODataLexer, ODataParser

    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
    except ODataException as exc:
        raise StaError(f"$filter: {exc}") from None
    params: dict[str, Any] = {}
    return _node(entity, tree, params, prefix), params


def _path(node: Any) -> str | None:
    """``a/b/c`` of an identifier or attribute chain; None for anything else."""
    from odata_query import ast

    if isinstance(node, ast.Identifier):
        return node.name
    if isinstance(node, ast.Attribute):
        owner = _path(node.owner)
        return owner and f"{owner}/{node.attr}"
    return None


def _value(f: Field, name: str, node: Any) -> Any:
    """The Python value of a literal, checked against the property's type."""
    from odata_query import ast

    if isinstance(node, ast.Null):
        return None
    if f.type == "int" and isinstance(node, ast.Integer):
        return int(node.val)
    if f.type == "float" and isinstance(node, ast.Integer | ast.Float):
        number = float(node.val)
        if math.isfinite(number):
            return number
    if f.type == "str" and isinstance(node, ast.String):
        return node.val
    if f.type == "time" and isinstance(node, ast.DateTime | ast.Date):
        try:
            at = dt.datetime.fromisoformat(node.val)
        except ValueError:
            raise StaError(f"$filter: {node.val[:40]!r} is not a valid date or time") from None
        return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    wanted = {"int": "an integer", "float": "a number", "str": "a quoted string",
              "time": "a date-time such as 2026-10-01T00:00:00Z"}[f.type]
    raise StaError(f"$filter: {name} takes {wanted}")


def _node(entity: EntitySet, node: Any, params: dict[str, Any], prefix: str) -> str:
    from odata_query import ast

    def bind(value: Any) -> str:
        key = f"{prefix}_{len(params)}"
        params[key] = value
        return f":{key}"

    def field_of(n: Any) -> tuple[str, Field] | None:
        name = _path(n)
        if name is None:
            return None
        if name not in entity.fields:
            raise StaError(f"$filter: {entity.name} cannot be filtered on {name[:40]!r} (one of "
                           f"{', '.join(entity.fields)})")
        return name, entity.fields[name]

    if isinstance(node, ast.BoolOp):
        op = "AND" if isinstance(node.op, ast.And) else "OR"
        return (f"({_node(entity, node.left, params, prefix)} {op} "
                f"{_node(entity, node.right, params, prefix)})")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"(NOT {_node(entity, node.operand, params, prefix)})"
    if isinstance(node, ast.Compare):
        op_name = type(node.comparator).__name__
        left, right = field_of(node.left), field_of(node.right)
        if op_name == "In" and left and isinstance(node.right, ast.List):
            name, f = left
            values = [_value(f, name, v) for v in node.right.val]
            if None in values or not values:
                raise StaError(f"$filter: {name} in (…) takes values, not null")
            return f"{f.sql} = ANY({bind(values)})"
        if op_name in _COMPARE and (left is None) != (right is None):
            op = _COMPARE[op_name]
            (name, f), literal = (left, node.right) if left else (right, node.left)
            if not left:
                op = _FLIP[op]
            value = _value(f, name, literal)
            if value is None:
                if op not in ("=", "<>"):
                    raise StaError(f"$filter: {name} can be compared with null by eq or ne only")
                return f"({f.sql} IS {'NOT ' if op == '<>' else ''}NULL)"
            return f"({f.sql} {op} {bind(value)})"
        raise StaError("$filter: a comparison takes one property and one value")
    if isinstance(node, ast.Call) and node.func.name in _LIKE and len(node.args) == 2:
        found = field_of(node.args[0])
        if found is None or found[1].type != "str" or not isinstance(node.args[1], ast.String):
            raise StaError(f"$filter: {node.func.name}(property, 'text') takes a text property")
        escaped = re.sub(r"([\\%_])", r"\\\1", node.args[1].val)
        return f"({found[1].sql} LIKE {bind(_LIKE[node.func.name].format(escaped))})"
    raise StaError("$filter: only eq, ne, gt, ge, lt, le, in, and, or, not, contains, "
                   "startswith and endswith are supported")


# --- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What a resource path names: rows of an entity set under a condition, one or many."""

    entity: EntitySet
    where: str
    params: dict[str, Any]
    single: bool


def parse_id(entity: EntitySet, text: str) -> Any:
    if entity.id_is_int:
        if not re.fullmatch(r"[0-9]{1,18}", text):
            raise StaNotFound(f"no {entity.single} ({text[:40]}): its ids are integers")
        return int(text)
    if not (len(text) >= 2 and text[0] == text[-1] == "'"):
        raise StaNotFound(f"no {entity.single} ({text[:40]}): its ids are quoted strings")
    return text[1:-1].replace("''", "'")


def _keys(conn: Connection, target: Target, principal: Principal) -> dict[str, Any]:
    """The navigation keys of the one row a path names (StaNotFound when it names none)."""
    e = target.entity
    visible, vparams = _visible(e, principal)
    row = conn.execute(sa.text(
        f"SELECT {', '.join(f'{sql} AS {k}' for k, sql in e.keys)} FROM {e.source} "
        f"WHERE {target.where} AND {visible} LIMIT 1"),
        {**target.params, **vparams}).mappings().one_or_none()
    if row is None:
        raise StaNotFound(f"no such {e.single}")
    return dict(row)


def _visible(entity: EntitySet, principal: Principal) -> tuple[str, dict[str, Any]]:
    return ("true", {}) if entity.kind is None else row_filter(principal, entity.kind)


def resolve(conn: Connection, path: str, principal: Principal) -> Target:
    """The rows a resource path (``Things``, ``Things(1)/Datastreams``, …) names."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise StaNotFound("no entity set named")
    target: Target | None = None
    for segment in segments:
        m = re.fullmatch(r"([A-Za-z]+)(?:\((.{1,200})\))?", segment)
        if not m:
            raise StaNotFound(f"{segment[:60]!r} is not an entity set or navigation link")
        name, key = m[1], m[2]
        if target is None:
            if name not in ENTITIES:
                raise StaNotFound(f"no entity set {name!r}: one of {', '.join(ENTITIES)}")
            entity = ENTITIES[name]
            where, params, single = "true", {}, False
        else:
            if not target.single or name not in target.entity.navs:
                raise StaNotFound(f"{target.entity.name} has no navigation link {name!r}"
                                  if name not in target.entity.navs else
                                  f"name one {target.entity.single} before {name}")
            nav = target.entity.navs[name]
            entity = ENTITIES[nav.target]
            where, params, single = nav.where, _keys(conn, target, principal), not nav.many
        if key is not None:
            if single:
                raise StaNotFound(f"{name} is one {entity.single}: it takes no id")
            cond, found = entity.lookup(parse_id(entity, key))
            where, params, single = f"({where}) AND {cond}", {**params, **found}, True
        target = Target(entity, where, params, single)
    return target


def fetch(conn: Connection, target: Target, opts: Options,
          principal: Principal) -> tuple[list[dict[str, Any]], int | None, bool]:
    """(rows, the count when asked, whether more rows follow) of a target under options;
    each row is its id, its properties and its navigation keys (``_keys``)."""
    e = target.entity
    visible, vparams = _visible(e, principal)
    params = {**target.params, **opts.params, **vparams}
    where = f"({target.where}) AND ({opts.where}) AND {visible}"
    props = ", ".join(f"{sql} AS p{i}" for i, (_, sql) in enumerate(e.properties))
    keys = ", ".join(f"{sql} AS k{i}" for i, (_, sql) in enumerate(e.keys))
    order = ", ".join(filter(None, (opts.order, e.order)))
    rows = conn.execute(sa.text(
        f"SELECT {e.id_sql} AS id, {props}, {keys} FROM {e.source} WHERE {where} "
        f"ORDER BY {order} LIMIT :top OFFSET :skip"),
        {**params, "top": opts.top + 1, "skip": opts.skip}).all()
    count = None
    if opts.count:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {e.source} WHERE {where}"),
                             params).scalar_one()
    out = []
    for row in rows[:opts.top]:
        item = {"id": row.id, **{name: row[i + 1] for i, (name, _) in enumerate(e.properties)}}
        base = 1 + len(e.properties)
        item["_keys"] = {k: row[base + i] for i, (k, _) in enumerate(e.keys)}
        out.append(item)
    return out, count, opts.top > 0 and len(rows) > opts.top


def expand(conn: Connection, entity: EntitySet, rows: list[dict[str, Any]],
           opts: Options, principal: Principal) -> None:
    """Put each expanded navigation link's entities into each row (one query per row and
    link: pages are small and the links are indexed)."""
    for name, inner in opts.expand.items():
        nav = entity.navs[name]
        target_set = ENTITIES[nav.target]
        for row in rows:
            target = Target(target_set, nav.where, row["_keys"], not nav.many)
            found, count, more = fetch(conn, target, inner, principal)
            expand(conn, target_set, found, inner, principal)
            row[name] = (found, count, more, inner) if nav.many else \
                (found[0] if found else None)


# --- creating observations -------------------------------------------------------------------
@dataclass(frozen=True)
class NewObservation:
    station: int
    parameter: str
    at: dt.datetime
    value: float

    @property
    def id(self) -> str:
        return observation_id(self.station, self.parameter, self.at)


def parse_observation(conn: Connection, body: Any, datastream: Any | None,
                      now: dt.datetime) -> NewObservation:
    """A new Observation from its JSON: ``result`` (a number), ``phenomenonTime`` (an instant
    with its offset, kept to the second; now when absent) and its Datastream (by
    ``@iot.id`` in the body, or the path's)."""
    if not isinstance(body, dict):
        raise StaError("an Observation is a JSON object")
    result = body.get("result")
    if isinstance(result, bool) or not isinstance(result, int | float) \
            or not math.isfinite(result):
        raise StaError("result must be a number (the reading in the parameter's unit)")
    link = body.get("Datastream")
    if datastream is None:
        if not isinstance(link, dict) or "@iot.id" not in link:
            raise StaError("an Observation needs its Datastream: {\"Datastream\": "
                           "{\"@iot.id\": \"station:parameter\"}}")
        datastream = link["@iot.id"]
    elif isinstance(link, dict) and link.get("@iot.id", datastream) != datastream:
        raise StaError("the body names another Datastream than the path")
    cond, keys = _by_datastream(datastream)
    ds = ENTITIES["Datastreams"]
    if conn.execute(sa.text(f"SELECT 1 FROM {ds.source} WHERE {cond}"), keys).first() is None:
        raise StaNotFound(f"no Datastream {str(datastream)[:60]!r}")
    at = now
    if body.get("phenomenonTime") is not None:
        text = body["phenomenonTime"]
        try:
            if not isinstance(text, str) or "/" in text:
                raise ValueError
            at = dt.datetime.fromisoformat(text)
        except ValueError:
            raise StaError("phenomenonTime must be an instant such as "
                           "2026-10-01T08:00:00+08:00") from None
        if at.tzinfo is None:
            raise StaError("phenomenonTime needs its offset from UTC (Z or +08:00)")
    if at > now + dt.timedelta(minutes=10):
        raise StaError("phenomenonTime lies in the future")
    return NewObservation(keys["station"], keys["parameter"],
                          at.astimezone(dt.UTC).replace(microsecond=0), float(result))
