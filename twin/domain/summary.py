"""Roll-ups: counts and KPIs of any unit at any level, in one SQL round trip."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain.access import Principal, row_filter
from twin.domain.units import in_unit
from twin.domain.workflow import LOOPS, OPEN
from twin.errors import NotFound

LOCAL_TZ = "Asia/Shanghai"  # days are local days, as on every report

_ROLLUP = sa.text(
    "SELECT u.id, u.level, u.code, u.name, u.area_m2, twin_rollup(CAST(:id AS bigint)) AS stats "
    "FROM (SELECT CAST(:id AS bigint) AS q) q "
    "LEFT JOIN units u ON u.id = q.q"
)


def rollup(engine: Engine, unit_id: int | None = None) -> dict[str, Any]:
    """The six-element summary of a unit (``None`` = the whole county).

    Keys: residents, elderly, households, buildings, floor_area_m2, land_parcels,
    land_area_m2_by_use, facilities, facilities_by_kind, stations, stations_in_alarm,
    organizations, events, events_open, events_closed, events_overdue, child_units,
    plus the unit's id, level, code, name and area_m2.
    """
    with engine.connect() as conn:
        row = conn.execute(_ROLLUP, {"id": unit_id}).mappings().one()
    if row["stats"] is None:
        raise NotFound(f"no unit with id {unit_id}")
    unit = {k: row[k] for k in ("id", "level", "code", "name", "area_m2")}
    if unit_id is None:
        unit.update(level="county", name=None, code=None)
    return {**unit, **row["stats"]}


def unit_by_code(engine: Engine, code: str) -> int:
    """The id of the unit with this official code."""
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT id FROM units WHERE code = :c"), {"c": code}).scalar()
    if found is None:
        raise NotFound(f"no unit with code {code!r}")
    return found


def data_period(engine: Engine) -> tuple[Any, Any] | None:
    """The first and last time the twin knows of: event reports and observations (None when
    it holds neither)."""
    with engine.connect() as conn:
        lo, hi = conn.execute(sa.text("""
            SELECT least((SELECT min(reported_at) FROM events),
                         (SELECT min(observed_at) FROM observations)),
                   greatest((SELECT max(reported_at) FROM events),
                            (SELECT max(observed_at) FROM observations))""")).one()
    return None if lo is None else (lo, hi)


OPEN_STATUSES = OPEN  # the loop's open statuses, one list (twin.domain.workflow)


def event_counts(engine: Engine, unit: dict[str, Any] | None, start: Any,
                 end: Any) -> pd.DataFrame:
    """Events reported in [start, end) inside the unit, per category: reported, still
    open, closed on time (before their deadline) and late."""
    sql = f"""
        SELECT c.code AS category, c.name_zh, c.name_en, count(e.id) AS reported,
               count(e.id) FILTER (WHERE e.status = ANY(:open)) AS open,
               count(e.id) FILTER (WHERE e.resolved_at <= e.deadline_at) AS on_time,
               count(e.id) FILTER (WHERE e.resolved_at > e.deadline_at) AS late
          FROM event_categories c
          LEFT JOIN events e ON e.category = c.code AND {in_unit(unit, 'e')}
                            AND e.reported_at >= :start AND e.reported_at < :end
         GROUP BY 1, 2, 3 ORDER BY reported DESC, category
    """  # noqa: S608 - the only interpolation is a column from CELL_COLUMNS
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn, params={
            "unit": unit["id"] if unit else None, "start": start, "end": end,
            "open": list(OPEN_STATUSES)})


def events_daily(engine: Engine, unit: dict[str, Any] | None, start: Any,
                 end: Any) -> pd.DataFrame:
    """Per local day in [start, end): events reported and events resolved in the unit."""
    sql = f"""
        WITH r AS (SELECT (reported_at AT TIME ZONE :tz)::date AS day, count(*) AS n
                     FROM events e WHERE {in_unit(unit, 'e')}
                      AND reported_at >= :start AND reported_at < :end GROUP BY 1),
             d AS (SELECT (resolved_at AT TIME ZONE :tz)::date AS day, count(*) AS n
                     FROM events e WHERE {in_unit(unit, 'e')}
                      AND resolved_at >= :start AND resolved_at < :end GROUP BY 1)
        SELECT coalesce(r.day, d.day) AS day, coalesce(r.n, 0) AS reported,
               coalesce(d.n, 0) AS resolved
          FROM r FULL JOIN d ON d.day = r.day ORDER BY 1
    """  # noqa: S608 - the only interpolation is a column from CELL_COLUMNS
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn, params={
            "unit": unit["id"] if unit else None, "start": start, "end": end,
            "tz": LOCAL_TZ})


# Heat-map cells: events counted per ~200 m cell.
HEAT_CELL_DEG = 0.002
HEAT_CLASSES = 6


def event_heat(engine: Engine, start: Any, end: Any,
               principal: Principal) -> list[dict[str, Any]]:
    """Where the events ``principal`` sees were reported in [start, end): ``{"p": [lon,
    lat], "w": count, "c": class}`` per ~200 m cell, ``c`` from 1 to HEAT_CLASSES relative to
    the busiest cell of the period (no event detail leaves the server)."""
    visible, params = row_filter(principal, "events")
    sql = sa.text(f"""
        SELECT round(ST_X(c)::numeric, 4)::float8, round(ST_Y(c)::numeric, 4)::float8, n,
               greatest(1, ceil(:classes * n::float8 / max(n) OVER ()))::int
          FROM (SELECT ST_SnapToGrid(t.geom, :cell) AS c, count(*) AS n FROM events t
                 WHERE t.reported_at >= :start AND t.reported_at < :end AND {visible}
                 GROUP BY 1) g
         ORDER BY 1, 2""")  # noqa: S608 - the condition comes from twin.domain.access
    with engine.connect() as conn:
        rows = conn.execute(sql, {"cell": HEAT_CELL_DEG, "classes": HEAT_CLASSES,
                                  "start": start, "end": end, **params}).all()
    return [{"p": [x, y], "w": n, "c": c} for x, y, n, c in rows]


# The map's open events: a small live working set, sent whole (one cached request, no tiles).
OPEN_EVENTS_LIMIT = 50_000


def open_events_geojson(engine: Engine, principal: Principal) -> str:
    """The open events ``principal`` sees as GeoJSON FeatureCollection text (newest first,
    at most OPEN_EVENTS_LIMIT) with id, code, category, status, owner level, escalations and
    ``reported_at`` in epoch seconds. Built by PostGIS, sent as it comes."""
    visible, params = row_filter(principal, "events")
    sql = sa.text(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
                   coalesce(json_agg(json_build_object(
                       'type', 'Feature',
                       'geometry', ST_AsGeoJSON(geom, 6)::json,
                       'properties', json_build_object(
                           'id', id, 'code', code, 'category', category, 'status', status,
                           'owner_level', owner_level, 'escalations', escalations,
                           'reported_at', extract(epoch FROM reported_at)::bigint))
                   ORDER BY reported_at DESC, id), '[]'::json))::text
          FROM (SELECT * FROM events t WHERE t.status = ANY(:open) AND {visible}
                 ORDER BY t.reported_at DESC, t.id LIMIT :limit) e""")  # noqa: S608
    with engine.connect() as conn:
        return conn.execute(sql, {"open": list(OPEN_STATUSES), "limit": OPEN_EVENTS_LIMIT,
                                  **params}).scalar()


# --- the loop's measures: one definition each ---------------------------------------------
# Counts over the events reported in a period (rows ``e``); every rate is one count over
# another, a percentage with one decimal, None when there is nothing to rate. Rejected and
# duplicate reports are left out of the rates. The map's charts, the big screen and the API
# (/api/measures.json) all read these.
COUNTS = {
    "reported": "count(*)",
    "valid": "count(*) FILTER (WHERE e.status NOT IN ('rejected', 'duplicate'))",
    "resolved": "count(*) FILTER (WHERE e.resolved_at IS NOT NULL)",
    "on_time": "count(*) FILTER (WHERE e.resolved_at <= e.deadline_at)",
    "escalated": "count(*) FILTER (WHERE e.escalations > 0)",
    "in_grid": "count(*) FILTER (WHERE e.resolved_at IS NOT NULL "
               "AND e.owner_level IN ('microgrid', 'grid'))",
    "to_county": "count(*) FILTER (WHERE e.owner_level = 'county')",
    "rated": "count(e.satisfaction)",
}
VALUES = {  # measures that are not counts: hours report → resolution, mean rating 1–5
    "median_hours": "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
                    "e.resolved_at - e.reported_at) / 3600)",
    "satisfaction": "avg(e.satisfaction)",
}
RATES = {  # rate → (part, whole)
    "resolution_rate": ("resolved", "valid"),   # 办结率
    "on_time_rate": ("on_time", "resolved"),    # 按时办结率
    "escalation_rate": ("escalated", "valid"),  # 上报率
    "within_grid": ("in_grid", "resolved"),     # 小事不出格: resolved in the grid
}
ROUND = {"median_hours": 1, "satisfaction": 2}
# which loop an event's owner makes (workflow.LOOPS), as SQL over e.owner_level
LOOP_OF = "CASE " + " ".join(
    f"WHEN e.owner_level IN ({', '.join(repr(v) for v in levels)}) THEN '{loop}'"
    for loop, levels in LOOPS.items()) + " END"


def _measures(row: Any) -> dict[str, Any]:
    """One row of COUNTS and VALUES as the measures: the counts, the rates, the values."""
    out = {k: int(row[k] or 0) for k in COUNTS}
    for rate, (part, whole) in RATES.items():
        out[rate] = round(100 * out[part] / out[whole], 1) if out[whole] else None
    for key, digits in ROUND.items():
        out[key] = None if row[key] is None else round(float(row[key]), digits)
    return out


def _select(group: str | None = None) -> str:
    items = [f"{sql} AS {name}" for name, sql in {**COUNTS, **VALUES}.items()]
    return ", ".join(([f"{group} AS grp"] if group else []) + items)


def loop_measures(engine: Engine, unit: dict[str, Any] | None, start: Any,
                  end: Any) -> dict[str, Any]:
    """How the loop did for events reported in [start, end) inside the unit: the counts
    (reported, resolved, …), the rates (办结率, on time, escalated, within the grid), the
    median handling time (hours) and the mean satisfaction (1–5); and the same per loop
    (``loops``: small = micro-grid and grid, medium = village and town, large = the county's
    departments), by the level that owns each event."""
    where = f"{in_unit(unit, 'e')} AND e.reported_at >= :start AND e.reported_at < :end"
    params = {"unit": unit["id"] if unit else None, "start": start, "end": end}
    with engine.connect() as conn:
        total = conn.execute(sa.text(
            f"SELECT {_select()} FROM events e WHERE {where}"), params).mappings().one()  # noqa: S608
        loops = {r["grp"]: _measures(r) for r in conn.execute(sa.text(
            f"SELECT {_select(LOOP_OF)} FROM events e WHERE {where} GROUP BY 1"),  # noqa: S608
            params).mappings()}
    empty = _measures(dict.fromkeys([*COUNTS, *VALUES]))
    return {**_measures(total), "loops": {k: loops.get(k, empty) for k in LOOPS}}


def loop_trend(engine: Engine, unit: dict[str, Any] | None, start: Any,
               end: Any) -> pd.DataFrame:
    """Per local week in [start, end): reported, and the resolution and on-time rates (%),
    by the same definitions as loop_measures."""
    sql = f"""
        SELECT date_trunc('week', e.reported_at AT TIME ZONE :tz)::date AS grp, {_select()}
          FROM events e
         WHERE {in_unit(unit, 'e')} AND e.reported_at >= :start AND e.reported_at < :end
         GROUP BY 1 ORDER BY 1
    """  # noqa: S608 - the only interpolations are the definitions above and a cell column
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), {"unit": unit["id"] if unit else None,
                                           "start": start, "end": end, "tz": LOCAL_TZ})
        weeks = [{"week": r["grp"], **_measures(r)} for r in rows.mappings()]
    return pd.DataFrame(weeks, columns=["week", "reported", "resolution_rate", "on_time_rate"])


# The wall's ticker: what just happened to the loop. Only moves that call for attention
# (reported, warned, escalated for being overdue), as category, village and time: no
# event text, which the wall's role does not see.
TICKER_MOVES = ("reported", "warned", "escalated")


def ticker(engine: Engine, principal: Principal, unit: dict[str, Any] | None,
           limit: int = 12, after: int = 0) -> list[dict[str, Any]]:
    """The latest ``limit`` alerting moves of events in ``unit`` that ``principal`` sees,
    newest first (``after``: only moves logged after that log id)."""
    visible, params = row_filter(principal, "events", "e")
    sql = sa.text(f"""
        SELECT l.id, l.at, l.to_status AS move, e.code, c.name_zh, c.name_en,
               coalesce(v.name, '') AS village,
               ST_X(e.geom)::float8 AS lon, ST_Y(e.geom)::float8 AS lat
          FROM event_log l
          JOIN events e ON e.town_id = l.town_id AND e.id = l.event_id
          JOIN event_categories c ON c.code = e.category
          LEFT JOIN units v ON v.town_id = e.town_id AND v.id = e.village_id
         WHERE l.to_status = ANY(:moves) AND l.id > :after
           AND {in_unit(unit, 'e')} AND {visible}
         ORDER BY l.id DESC LIMIT :limit""")  # noqa: S608 - conditions from in_unit/access
    with engine.connect() as conn:
        rows = conn.execute(sql, {"moves": list(TICKER_MOVES), "after": after,
                                  "limit": limit, "unit": unit["id"] if unit else None,
                                  **params}).mappings().all()
    return [dict(r) for r in rows]
