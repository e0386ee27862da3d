"""Monitor → warn: readings are checked against their parameter's limits as they arrive
(defaults from GB 3095-2012 and GB 3838-2002 in ``parameters``, editable there). A breach
opens one warning event per station and parameter episode — not one per reading — and the
episode, with the event it opened, closes by itself once readings have stayed within the
limits for the parameter's ``recover_hours``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from twin.domain.workflow import now_utc
from twin.store import writes

ACTOR = "system:monitor"
READING = ("station_id", "parameter", "observed_at", "value")
# The event category a breach of each station kind opens.
CATEGORY = {"air": "environment", "water": "environment", "noise": "environment",
            "water_level": "flood"}

_BREACHES = sa.text("""
    SELECT o.station_id, o.parameter, o.observed_at, o.value, s.kind, s.name, s.code, s.town_id,
           p.name_zh, p.unit, coalesce(p.warn_above, p.warn_below) AS limit_value,
           make_interval(secs => 3600 * p.recover_hours) AS recover
      FROM observations o
      JOIN parameters p ON p.code = o.parameter
      JOIN stations s ON s.town_id = o.town_id AND s.id = o.station_id
     WHERE (o.value > p.warn_above OR o.value < p.warn_below)
       AND o.observed_at >= :since AND o.observed_at <= :until
     ORDER BY o.observed_at, o.station_id, o.parameter""")


def ingest(engine: Engine, rows: Iterable[tuple[int, str, dt.datetime, float]]) -> dict:
    """Write readings ``(station_id, parameter, observed_at, value)`` and evaluate them, in
    one transaction; returns what the evaluation did."""
    rows = list(rows)
    if not rows:
        return {"readings": 0, "opened": 0, "updated": 0, "closed": 0}
    with engine.begin() as conn:
        writes.one_connection_per_node(conn)
        readings = pd.DataFrame(rows, columns=list(READING))
        # on Citus each reading is given its station's cell (its town routes it)
        cells = writes.with_cells(conn, "observations", readings)
        columns = [*READING, *(c for c in writes.CELL if c in cells)]
        if len(columns) > len(READING):
            rows = [(*r, *map(int, c)) for r, c in
                    zip(rows, cells[list(writes.CELL)].itertuples(index=False), strict=True)]
        raw = conn.connection.driver_connection
        with raw.cursor().copy(  # column names: READING and writes.CELL only
                f"COPY observations ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        writes.readings_added(conn, readings)
        times = [r[2] for r in rows]
        result = evaluate(conn, min(times), max(times))
    return {"readings": len(rows), **result}


def evaluate(conn: Connection, since: dt.datetime, until: dt.datetime) -> dict:
    """Open or extend episodes for the breaches observed in [since, until], then close
    those whose readings have recovered. Idempotent for readings already evaluated."""
    opened = updated = closed = 0
    for b in conn.execute(_BREACHES, {"since": since, "until": until}).mappings():
        episode = conn.execute(sa.text(  # the station's town: one shard on Citus
            "SELECT id, last_breach_at FROM warning_episodes WHERE town_id = :town "
            "AND station_id = :s AND parameter = :p AND closed_at IS NULL FOR UPDATE"),
            {"town": b["town_id"], "s": b["station_id"], "p": b["parameter"]}).one_or_none()
        if episode is not None and b["observed_at"] - episode.last_breach_at >= b["recover"]:
            # the readings between were within limits long enough: that episode is over
            closed += _close(conn, b["town_id"], episode.id,
                             episode.last_breach_at + b["recover"])
            episode = None
        if episode is not None:
            if b["observed_at"] > episode.last_breach_at:
                conn.execute(sa.text(
                    "UPDATE warning_episodes SET last_breach_at = :t, breaches = breaches + 1, "
                    "worst = CASE WHEN :above THEN greatest(worst, :v) ELSE least(worst, :v) "
                    "END WHERE town_id = :town AND id = :id"),
                    {"t": b["observed_at"], "v": b["value"], "id": episode.id,
                     "town": b["town_id"], "above": b["value"] > b["limit_value"]})
                updated += 1
            continue
        if _already_evaluated(conn, b):
            continue
        event_id = _open_warning(conn, b)
        conn.execute(sa.text(
            "INSERT INTO warning_episodes (town_id, station_id, parameter, event_id, "
            "first_breach_at, last_breach_at, worst) SELECT town_id, :s, :p, :e, :t, :t, :v "
            "FROM stations WHERE town_id = :town AND id = :s"),
            {"s": b["station_id"], "p": b["parameter"], "e": event_id, "t": b["observed_at"],
             "v": b["value"], "town": b["town_id"]})
        opened += 1
    return {"opened": opened, "updated": updated, "closed": closed + _close_recovered(conn)}


def _already_evaluated(conn: Connection, b) -> bool:
    """A breach inside a closed episode's span was seen before (re-evaluation)."""
    return conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM warning_episodes WHERE town_id = :town "
        "AND station_id = :s AND parameter = :p "
        "AND :t BETWEEN first_breach_at AND last_breach_at)"),
        {"town": b["town_id"], "s": b["station_id"], "p": b["parameter"],
         "t": b["observed_at"]}).scalar()


def _open_warning(conn: Connection, b) -> int:
    """A warning event at the station, owned by its micro-grid, with that level's deadline."""
    category = CATEGORY.get(b["kind"], "environment")
    title = f"{b['name']}{b['name_zh']}超标：{b['value']:g} {b['unit']}（限值 {b['limit_value']:g}）"
    row = conn.execute(sa.text("""
        WITH id AS (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id)
        INSERT INTO events (id, code, category, title, status, owner_level, source,
                            reported_at, deadline_at, client_key, geom, microgrid_id, grid_id,
                            village_id, town_id)
        SELECT id.id, 'W' || to_char(:t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
                      || lpad(id.id::text, greatest(7, length(id.id::text)), '0'),
               :category, :title, 'warned', 'microgrid', 'sensor', :t,
               :t + make_interval(secs => 3600 * coalesce((SELECT hours FROM event_deadlines
                   WHERE category = :category AND level = 'microgrid'), 24)),
               'warning:' || :station || ':' || :parameter || ':' || :tkey,
               s.geom, s.microgrid_id, s.grid_id, s.village_id, s.town_id
          FROM id, stations s WHERE s.town_id = :town AND s.id = :station
        RETURNING id, town_id"""),
        {"t": b["observed_at"], "category": category, "title": title,
         "station": b["station_id"], "parameter": b["parameter"], "town": b["town_id"],
         "tkey": b["observed_at"].isoformat()}).one()
    conn.execute(sa.text(
        "INSERT INTO event_log (town_id, event_id, at, actor, from_status, to_status, note) "
        "VALUES (:town, :e, :t, :actor, NULL, 'warned', :note)"),
        {"town": row.town_id, "e": row.id, "t": b["observed_at"], "actor": ACTOR,
         "note": f"{b['code']} {b['parameter']} = {b['value']:g}"})
    writes.added(conn, "events", [row.id])  # on Citus: the counters and the version
    return row.id


# Closing an episode resolves its warning if nobody picked it up yet (one a person is
# handling stays with that person).
_RESOLVE = """
    resolved AS (
        UPDATE events e SET status = 'resolved', resolved_at = done.closed_at,
                            version = e.version + 1
          FROM done WHERE e.town_id = :town AND e.id = done.event_id AND e.status = 'warned'
        RETURNING e.id, e.town_id, done.closed_at)
    INSERT INTO event_log (town_id, event_id, at, actor, from_status, to_status, note)
    SELECT town_id, id, closed_at, 'system:monitor', 'warned', 'resolved', '读数已恢复正常'
      FROM resolved
    RETURNING event_id"""
# Each statement stays in one town (one shard on Citus, where a modifying CTE over every
# shard is refused), as the escalation sweep does.
_CLOSE_ONE = sa.text("""
    WITH done AS (
        UPDATE warning_episodes SET closed_at = :at
         WHERE town_id = :town AND id = :id AND closed_at IS NULL
        RETURNING event_id, closed_at),""" + _RESOLVE)  # noqa: S608 - constants only
_CLOSE_RECOVERED = sa.text("""
    WITH due AS (  -- computed in a SELECT: Citus takes no time arithmetic in an UPDATE's SET
        SELECT w.id, w.last_breach_at + make_interval(secs => 3600 * p.recover_hours) AS at
          FROM warning_episodes w JOIN parameters p ON p.code = w.parameter
         WHERE w.town_id = :town AND w.closed_at IS NULL
           AND EXISTS (SELECT 1 FROM observations o
                        WHERE o.town_id = w.town_id AND o.station_id = w.station_id
                          AND o.parameter = w.parameter
                          AND o.observed_at >= w.last_breach_at
                                               + make_interval(secs => 3600 * p.recover_hours))),
    done AS (
        UPDATE warning_episodes w SET closed_at = due.at
          FROM due WHERE w.town_id = :town AND w.id = due.id
        RETURNING w.event_id, w.closed_at),""" + _RESOLVE)  # noqa: S608 - constants only


def _resolve(conn: Connection, statement: sa.TextClause, params: dict) -> None:
    """Run a closing statement; on Citus also what its events' counter and version triggers
    do on one node (the town's open episodes' events: their old contribution out first)."""
    events = conn.execute(sa.text(
        "SELECT event_id FROM warning_episodes WHERE town_id = :town AND closed_at IS NULL"),
        params).scalars().all() if writes.distributed(conn) else []
    writes.count_rows(conn, "events", events, -1)
    if conn.execute(statement, params).all():
        writes.bump(conn, "events")
    writes.count_rows(conn, "events", events)


def _close(conn: Connection, town: int, episode_id: int, at: dt.datetime) -> int:
    _resolve(conn, _CLOSE_ONE, {"town": town, "id": episode_id, "at": at})
    return 1


def _close_recovered(conn: Connection) -> int:
    """Close the open episodes with a reading at least ``recover_hours`` after their last
    breach (and no breach since: that would have extended them), town by town."""
    towns = conn.execute(sa.text(
        "SELECT town_id, count(*) FROM warning_episodes WHERE closed_at IS NULL "
        "GROUP BY town_id ORDER BY town_id")).all()
    for town, _ in towns:
        _resolve(conn, _CLOSE_RECOVERED, {"town": town})
    after = conn.execute(sa.text(
        "SELECT count(*) FROM warning_episodes WHERE closed_at IS NULL")).scalar()
    return sum(n for _, n in towns) - after


def evaluate_all(engine: Engine, now: dt.datetime | None = None) -> dict:
    """Evaluate every reading the twin holds (after a sample or an import is loaded)."""
    with engine.begin() as conn:
        lo, hi = conn.execute(sa.text(
            "SELECT min(observed_at), max(observed_at) FROM observations")).one()
        if lo is None:
            return {"opened": 0, "updated": 0, "closed": 0}
        return evaluate(conn, lo, min(hi, now or now_utc()))
