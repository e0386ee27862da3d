"""One building of the twin: what it is (everyone who reads the map), its households (the
fifth level: codes, addresses, residents per household) for the officials and grid workers
scoped to it, and, for the officials scoped to it who give a purpose, its residents: names,
and ID-card and phone numbers masked (only masks are stored). Every such view is written
to the audit log. Anyone else sees how many households it holds and how many people live
there, a count below five shown as "fewer than five"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain.access import MIN_COUNT, Principal, audit, may_see_residents, sees_in
from twin.errors import NotFound

_BUILDING = sa.text("""
    SELECT b.id, b.code, b.use, b.floors, b.height_m, b.year_built,
           round(b.footprint_m2) AS footprint_m2, m.id AS microgrid_id,
           m.code AS microgrid_code, m.name AS microgrid,
           ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat
      FROM buildings b JOIN units m ON m.town_id = b.town_id AND m.id = b.microgrid_id
     WHERE b.id = :id""")
_HOUSEHOLDS = sa.text("""
    SELECT h.id, h.code, h.address, count(p.id) AS residents
      FROM households h LEFT JOIN people p ON p.town_id = h.town_id AND p.household_id = h.id
     WHERE h.building_id = :id GROUP BY h.town_id, h.id ORDER BY h.code""")
_RESIDENTS = sa.text("""
    SELECT p.household_id, p.name, p.sex, p.birth_date, p.relation, p.id_masked, p.phone_masked
      FROM people p JOIN households h ON h.town_id = p.town_id AND h.id = p.household_id
     WHERE h.building_id = :id ORDER BY h.code, p.id""")


def building_detail(engine: Engine, building_id: int, principal: Principal,
                    purpose: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """The building, its number of households and of residents (None when fewer than
    MIN_COUNT), and ``households`` (code, address, residents) when the principal sees the
    households there, else None. ``residents_allowed`` says whether the principal may see its
    residents; ``residents`` lists them only when allowed and a ``purpose`` (why-field) is
    given — the view is then audited in the same transaction — else None."""
    with engine.begin() as conn:
        row = conn.execute(_BUILDING, {"id": building_id}).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no building with id {building_id}")
        found = [dict(h) for h in conn.execute(_HOUSEHOLDS, {"id": building_id}).mappings()]
        shown = sees_in(conn, principal, "households", row["microgrid_id"])
        households = found if shown else None
        people = sum(h["residents"] for h in found)
        allowed = may_see_residents(conn, principal, row["microgrid_id"])
        residents = None
        purpose = (purpose or "").strip()
        if allowed and purpose:
            today = today or dt.date.today()
            residents = [{
                "household_id": p["household_id"], "name": p["name"],
                "sex": p["sex"], "age": _age(p["birth_date"], today),
                "relation": p["relation"], "id_masked": p["id_masked"],
                "phone_masked": p["phone_masked"],
            } for p in conn.execute(_RESIDENTS, {"id": building_id}).mappings()]
            audit(conn, principal, "view_residents", f"building:{row['code']}",
                  unit_code=row["microgrid_code"], purpose=purpose[:500],
                  detail={"residents": len(residents)})
    return {**dict(row), "household_count": len(found),
            "resident_count": people if people >= MIN_COUNT else None,
            "households": households, "residents_allowed": allowed, "residents": residents}


def _age(born: dt.date | None, today: dt.date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
