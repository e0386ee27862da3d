"""One building of the twin with its households (the fifth level) and, for the roles that
may see them, its residents — masked, never in plain form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.access import Principal, may_see_residents
from twin.errors import NotFound
from twin.pii import mask_name

_BUILDING = sa.text("""
    SELECT b.id, b.code, b.use, b.floors, b.height_m, b.year_built,
           round(b.footprint_m2) AS footprint_m2, m.code AS microgrid_code, m.name AS microgrid,
           ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat
      FROM buildings b JOIN units m ON m.id = b.microgrid_id
     WHERE b.id = :id""")
_HOUSEHOLDS = sa.text("""
    SELECT h.id, h.code, h.address, count(p.id) AS residents
      FROM households h LEFT JOIN people p ON p.household_id = h.id
     WHERE h.building_id = :id GROUP BY h.id ORDER BY h.code""")
_RESIDENTS = sa.text("""
    SELECT p.household_id, p.name, p.sex, p.birth_date, p.relation, p.id_masked, p.phone_masked
      FROM people p JOIN households h ON h.id = p.household_id
     WHERE h.building_id = :id ORDER BY h.code, p.id""")


def building_detail(engine: Engine, building_id: int, principal: Principal,
                    today: dt.date | None = None) -> dict[str, Any]:
    """The building, its households, and ``residents`` — a list of masked people for a
    principal allowed to see the building's micro-grid, ``None`` for everyone else."""
    with engine.connect() as conn:
        row = conn.execute(_BUILDING, {"id": building_id}).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no building with id {building_id}")
        households = [dict(h) for h in conn.execute(_HOUSEHOLDS, {"id": building_id}).mappings()]
        residents = None
        if may_see_residents(principal, row["microgrid_code"]):
            today = today or dt.date.today()
            residents = [{
                "household_id": p["household_id"], "name": mask_name(p["name"]),
                "sex": p["sex"], "age": _age(p["birth_date"], today),
                "relation": p["relation"], "id_masked": p["id_masked"],
                "phone_masked": p["phone_masked"],
            } for p in conn.execute(_RESIDENTS, {"id": building_id}).mappings()]
    return {**dict(row), "households": households, "residents": residents}


def _age(born: dt.date | None, today: dt.date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
