"""Roll-ups: counts and KPIs of any unit at any level, in one SQL round trip."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.errors import NotFound

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


def events_period(engine: Engine) -> tuple[Any, Any] | None:
    """The first and last report time of the twin's events (None when there are none)."""
    with engine.connect() as conn:
        lo, hi = conn.execute(sa.text("SELECT min(reported_at), max(reported_at) FROM events")).one()
    return None if lo is None else (lo, hi)
