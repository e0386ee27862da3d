"""What the cell, counter and version triggers do on one node, done by the writer on Citus.

``twin cluster distribute`` drops those triggers (docs/scaling.md "Triggers on Citus"): on a
worker's shard a trigger cannot look up another distributed table, read a statement's
transition table or write a reference table, and a row must know its town before Citus can
route it. So a writer, on a distributed twin only, in its own transaction on the coordinator:

- finds the cell of a point first (:func:`cell_at`, the lookup of ``twin_assign_cell``) and
  writes the row with it;
- adds its rows' contributions to ``unit_counts`` (:func:`count_rows`, with the expression
  ``twin_unit_counts`` is given for the table: into the row's micro-grid, grid, village,
  town and the county's 0), and takes an updated row's old contribution away first;
- bumps the versions of the layers it changed (:func:`bump`, ``twin_bump_version``).

On one node all three return at once (the triggers did the work): a writer calls them the
same way everywhere. A bulk write (``twin.ingest.load.copy_frame``: imports, samples) does the
same for many rows: :func:`with_cells` before the COPY, :func:`added` after it, from the
triggers' own definitions (``sql/triggers/<table>.sql``: which tables take their cell from
their geometry, what each row adds to which counters, which layer it belongs to).
"""

from __future__ import annotations

import re
import weakref
from functools import cache

import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from twin.errors import LoadError
from twin.store import sqlfiles
from twin.store.distribution import is_distributed

CELL = ("microgrid_id", "grid_id", "village_id", "town_id")

_distributed: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def distributed(conn: Connection) -> bool:
    """Whether the twin's tables are spread over Citus workers (asked once per engine: the
    distribution is a one-time step, taken with the server stopped)."""
    engine = conn.engine
    if engine not in _distributed:
        _distributed[engine] = is_distributed(conn)
    return _distributed[engine]


def one_connection_per_node(conn: Connection) -> None:
    """On Citus, for the rest of this transaction: one connection per worker. A COPY spreads
    over several connections to a worker, and a query over several shards after it in the
    same transaction is then refused ("placements that were modified over multiple
    connections"); a write that reads what it wrote (an import, readings evaluated) says so
    first."""
    if distributed(conn):
        conn.execute(sa.text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))


def cell_at(conn: Connection, lon: float, lat: float) -> dict | None:
    """The cell (micro-grid, grid, village, town) holding a point, as ``twin_assign_cell``
    finds it; None outside every micro-grid."""
    found = conn.execute(_CELLS, {"wkb": [shapely.to_wkb(shapely.Point(lon, lat))]}
                         ).mappings().all()
    return {c: min(found, key=lambda r: r["microgrid_id"])[c] for c in CELL} if found else None


def bump(conn: Connection, *layers: str) -> None:
    """On Citus: the layers' versions move on (their cached tiles go stale)."""
    if layers and distributed(conn):
        conn.execute(sa.text(
            "UPDATE layer_versions SET version = version + 1, changed_at = now() "
            "WHERE layer = ANY(:layers)"), {"layers": list(layers)})


# --- bulk writes ----------------------------------------------------------------------------
@cache
def triggers_calling(function: str) -> dict[str, tuple[str, ...]]:
    """table → the arguments its trigger calling ``function`` passes, from the definition
    files (the first such trigger of each table: its insert, update and delete ones pass the
    same)."""
    found: dict[str, tuple[str, ...]] = {}
    call = re.compile(rf" ON public\.(\w+) .*EXECUTE FUNCTION {function}\((.*)\);$")
    for path in sqlfiles.files():
        for line in sqlfiles.read(path).splitlines():
            if (m := call.search(line)) and m.group(1) not in found:
                found[m.group(1)] = tuple(a.replace("''", "'") for a in
                                          re.findall(r"'((?:[^']|'')*)'", m.group(2)))
    return found


_CELLS = sa.text("""
    WITH p AS MATERIALIZED (
        SELECT i, CASE WHEN ST_Dimension(g) = 0 THEN g ELSE ST_PointOnSurface(g) END AS pt
          FROM (SELECT ST_GeomFromWKB(w, 4326) AS g, i
                  FROM unnest(CAST(:wkb AS bytea[])) WITH ORDINALITY AS t (w, i)) s)
    SELECT p.i, u.id AS microgrid_id, u.grid_id, u.village_id, u.town_id
      FROM p JOIN units u ON u.level = 'microgrid' AND u.geom && p.pt
       AND ST_Intersects(u.geom, p.pt)""")


# Trigger functions that copy a row's cell from the row it names: (its column, that table).
_FROM_PARENT = {"twin_cell_from_household": ("household_id", "households"),
                "twin_cell_from_station": ("station_id", "stations")}


def _parent_cells(conn: Connection, table: str, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The cells of rows that take theirs from the household, station or unit they name
    (``twin_cell_from_*``), one row per frame row; None for a table of another kind."""
    by_unit = triggers_calling("twin_cell_from_unit").get(table)
    kind = next((f for f in _FROM_PARENT if table in triggers_calling(f)), None)
    if kind is not None:
        column, parent = _FROM_PARENT[kind]
        sql = f"SELECT id, {', '.join(CELL)}, NULL AS level FROM {parent} WHERE id = ANY(:ids)"  # noqa: S608, E501
    elif by_unit is not None:
        column, parent = by_unit[0], "units"
        sql = ("SELECT id, CASE WHEN level = 'microgrid' THEN id END AS microgrid_id, grid_id, "
               "village_id, town_id, level FROM units WHERE id = ANY(:ids)")
    else:
        return None
    named = frame[column].astype("int64")
    found = pd.DataFrame(conn.execute(sa.text(sql), {"ids": named.unique().tolist()})
                         .mappings().all(), columns=["id", *CELL, "level"]).set_index("id")
    cells = found.reindex(named.to_numpy())
    wrong = cells["town_id"].isna()
    if by_unit is not None and len(by_unit) > 1:  # the unit must be of this level
        wrong |= cells["level"] != by_unit[1]
    if wrong.any():
        i = int(wrong.to_numpy().argmax())
        what = "which does not exist" if pd.isna(cells["town_id"].iloc[i]) else \
            f"a {cells['level'].iloc[i]}, where a {by_unit[1]} is wanted"
        raise LoadError(f"{table}: row {frame.iloc[i].get('id', i + 1)} names "
                        f"{parent.rstrip('s')} {named.iloc[i]}, {what}")
    return cells


def _geometry_cells(conn: Connection, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The cells holding rows' points, one row per frame row, as ``twin_assign_cell`` finds
    them (the lowest micro-grid id holding the point); a row outside every micro-grid stops
    the write with its code."""
    found = pd.DataFrame(conn.execute(_CELLS, {"wkb": list(shapely.to_wkb(
        frame["geom"].to_numpy(object)))}).mappings().all(), columns=["i", *CELL])
    cells = found.sort_values(["i", "microgrid_id"]).drop_duplicates("i").set_index("i")
    cells = cells.reindex(range(1, len(frame) + 1))
    if cells["town_id"].isna().any():
        row = frame.iloc[int(cells["town_id"].isna().to_numpy().argmax())]
        raise LoadError(f"{table}: row {row.get('code', row.get('id', '?'))} lies outside every "
                        "micro-grid")
    return cells


def with_cells(conn: Connection, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """On Citus, the rows given the cells their table's trigger gives them on one node: from
    their geometry, or from the household, station or unit they name."""
    if "town_id" in frame or frame.empty or not distributed(conn):
        return frame
    if table in triggers_calling("twin_assign_cell"):
        cells = _geometry_cells(conn, table, frame)
    elif (cells := _parent_cells(conn, table, frame)) is None:
        return frame
    return frame.assign(**{c: cells[c].astype("Int64").to_numpy() for c in CELL})


def count_rows(conn: Connection, table: str, ids: list[int], sign: int = 1) -> None:
    """On Citus: add (``sign`` 1) or take away (-1) what the rows with ``ids`` contribute to
    the counters of their cells and the county (before and after an update: both)."""
    counts = triggers_calling("twin_unit_counts").get(table)
    if not counts or not ids or not distributed(conn):
        return
    # the contribution is the trigger's own expression, from our definition file
    conn.execute(sa.text(f"""
        INSERT INTO unit_counts AS c (unit_id, family, measure, value)
        SELECT u.unit_id, :family, m.measure, :sign * sum(m.value)
          FROM (SELECT * FROM {table} WHERE id = ANY(:ids)) r
         CROSS JOIN LATERAL ({counts[0]}) AS m (measure, value)
         CROSS JOIN LATERAL unnest(ARRAY[0, r.town_id, r.village_id, r.grid_id,
                                         r.microgrid_id]) AS u (unit_id)
         GROUP BY u.unit_id, m.measure
        HAVING sum(m.value) <> 0
         ORDER BY u.unit_id, m.measure
        ON CONFLICT (unit_id, measure) DO UPDATE SET value = c.value + EXCLUDED.value"""),  # noqa: S608, E501 (table and expression: our trigger files')
        {"family": table, "ids": list(ids), "sign": sign})


def added(conn: Connection, table: str, ids: list[int]) -> None:
    """On Citus, after rows with ``ids`` were written into ``table``: what they add to the
    counters, and their layer's new version."""
    if not ids or not distributed(conn):
        return
    count_rows(conn, table, ids)
    bump(conn, *triggers_calling("twin_bump_version").get(table, ()))


def readings_added(conn: Connection, readings: pd.DataFrame) -> None:
    """On Citus, after readings (station_id, parameter, observed_at, value) were written:
    each station's latest reading of each parameter, and the layers' new versions (what
    ``twin_station_latest`` and the version trigger do on one node)."""
    if readings.empty or not distributed(conn):
        return
    latest = readings.sort_values("observed_at").drop_duplicates(
        ["station_id", "parameter"], keep="last")
    conn.execute(sa.text("""
        INSERT INTO station_latest (town_id, station_id, parameter, observed_at, value)
        SELECT s.town_id, k.station_id, k.parameter, k.observed_at, k.value
          FROM unnest(CAST(:s AS bigint[]), CAST(:p AS text[]), CAST(:t AS timestamptz[]),
                      CAST(:v AS float8[])) AS k (station_id, parameter, observed_at, value)
          JOIN stations s ON s.id = k.station_id
        ON CONFLICT (town_id, station_id, parameter) DO UPDATE
           SET observed_at = EXCLUDED.observed_at, value = EXCLUDED.value
         WHERE station_latest.observed_at <= EXCLUDED.observed_at"""),
        {"s": latest["station_id"].astype("int64").tolist(),
         "p": latest["parameter"].tolist(),
         "t": [pd.Timestamp(t).to_pydatetime() for t in latest["observed_at"]],
         "v": latest["value"].astype(float).tolist()})
    bump(conn, *triggers_calling("twin_bump_version").get("observations", ()))
