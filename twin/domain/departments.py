"""The county's departments (县级部门), the owners of the large loop (大闭环): an event the town
cannot close climbs to the department of its category, or is dispatched to one, and is then
owned at the level ``county`` with that department's own time limit. The table
``departments`` (seeded by migration 0011 from twin.store.seed, editable) is the truth at
run time; the sample uses the seed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.store.schema import departments
from twin.store.seed import DEPARTMENT_OF_CATEGORY, DEPARTMENTS

__all__ = ["DEPARTMENTS", "DEPARTMENT_OF_CATEGORY", "all_departments"]

def all_departments(engine: Engine) -> list[Any]:
    """The departments events can be dispatched to: code, names and hours, by code."""
    d = departments.c
    with engine.connect() as conn:
        return conn.execute(sa.select(d.code, d.name_zh, d.name_en, d.hours)
                            .order_by(d.code)).all()
