"""What the cell, counter and version triggers do on one node, done by the writer on Citus.

``twin cluster distribute`` drops those triggers (docs/scaling.md "Triggers on Citus"): on a
worker's shard a trigger cannot look up another distributed table, read a statement's
transition table or write a reference table, and a row must know its town before Citus can
route it. So a writer, on a distributed twin only, in its own transaction on the coordinator:

- finds the cell of a point first (:func:`cell_at`, the lookup of ``twin_assign_cell``) and
  writes the row with it;
- adds its rows' contributions to ``unit_counts`` (:func:`add_counts`, what
  ``twin_unit_counts`` adds: the row's micro-grid, grid, village, town and the county's 0);
- bumps the versions of the layers it changed (:func:`bump`, ``twin_bump_version``).

On one node all three return at once (the triggers did the work): a writer calls them the
same way everywhere.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

CELL = ("microgrid_id", "grid_id", "village_id", "town_id")

_distributed: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def distributed(conn: Connection) -> bool:
    """Whether the twin's tables are spread over Citus workers (asked once per engine: the
    distribution is a one-time step, taken with the server stopped)."""
    engine = conn.engine
    if engine not in _distributed:
        citus = conn.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()
        _distributed[engine] = bool(citus and conn.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = "
            "'public.events'::regclass)")).scalar())
    return _distributed[engine]


def cell_at(conn: Connection, lon: float, lat: float) -> dict | None:
    """The cell (micro-grid, grid, village, town) holding a point, as ``twin_assign_cell``
    finds it; None outside every micro-grid."""
    row = conn.execute(sa.text(
        "SELECT id AS microgrid_id, grid_id, village_id, town_id FROM units "
        "WHERE level = 'microgrid' AND geom && ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) "
        "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
        "ORDER BY id LIMIT 1"), {"lon": lon, "lat": lat}).mappings().one_or_none()
    return dict(row) if row else None


def add_counts(conn: Connection, family: str, cell: Mapping, deltas: Mapping[str, float],
               ) -> None:
    """On Citus: add ``deltas`` (measure → change) to the cell's units and the county's."""
    changed = {m: float(v) for m, v in deltas.items() if v}
    if not changed or not distributed(conn):
        return
    units = [0, *(cell[c] for c in reversed(CELL) if cell.get(c) is not None)]
    conn.execute(sa.text(
        "INSERT INTO unit_counts AS c (unit_id, family, measure, value) "
        "SELECT u, :family, m.measure, m.value FROM unnest(CAST(:units AS bigint[])) AS u "
        "CROSS JOIN unnest(CAST(:measures AS text[]), CAST(:values AS float8[])) "
        "AS m (measure, value) ORDER BY u, m.measure "
        "ON CONFLICT (unit_id, measure) DO UPDATE SET value = c.value + EXCLUDED.value"),
        {"family": family, "units": units, "measures": list(changed),
         "values": list(changed.values())})


def bump(conn: Connection, *layers: str) -> None:
    """On Citus: the layers' versions move on (their cached tiles go stale)."""
    if layers and distributed(conn):
        conn.execute(sa.text(
            "UPDATE layer_versions SET version = version + 1, changed_at = now() "
            "WHERE layer = ANY(:layers)"), {"layers": list(layers)})
