"""The one place that decides what a principal may see and do.

Roles (issue 7): **admin** runs the installation (accounts, imports, exports, the audit
log) and sees no residents; **official** is scoped to one or more units and everything
below them, and sees the residents there — names in full, ID-card and phone numbers
masked — after giving a purpose that goes into the audit log; **planner** sees all units
and no personal data; **field** (网格员) is scoped to grids, or through a signed link to
one event, and works the events there; **screen** shows the big screen's measures.
Anonymous visitors see the sign-in page and nothing else.

The UI, the API (tiles, OGC, Open311, heat), exports and field pages all ask here. Scope
is decided in the database by the unit hierarchy (``units.town_id/village_id/grid_id``),
not by code prefixes, so imported codes need not nest.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

ROLES = ("anonymous", "admin", "official", "planner", "field", "screen")
# What each role may do, besides seeing the aggregated twin (every signed-in role).
ACTIONS: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "admin": frozenset({"map", "import", "export", "accounts", "audit", "report", "links"}),
    "official": frozenset({"map", "export", "residents", "report", "handle", "links"}),
    "planner": frozenset({"map", "export"}),
    "field": frozenset({"map", "report", "handle"}),
    "screen": frozenset({"screen"}),
}
READ_API = frozenset({"map", "screen"})  # tiles, OGC, heat, imagery, Open311 reads


@dataclass(frozen=True)
class Principal:
    """Who is asking: a role, for scoped roles the unit codes they are scoped to, and the
    name that goes into logs (an account's user name, ``link:<id>`` for a field link)."""

    role: str = "anonymous"
    scope: tuple[str, ...] = ()
    name: str = "anonymous"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @property
    def signed_in(self) -> bool:
        return self.role != "anonymous"


ANONYMOUS = Principal()


def may(principal: Principal, action: str) -> bool:
    """Whether the principal's role allows ``action`` at all (scope is checked apart)."""
    return action in ACTIONS[principal.role]


def may_read_api(principal: Principal) -> bool:
    """Tiles, OGC collections, heat, imagery and Open311 reads: every signed-in role."""
    return bool(ACTIONS[principal.role] & READ_API)


_IN_SCOPE = sa.text("""
    SELECT EXISTS (
        SELECT 1 FROM units m JOIN units s ON s.id IN (m.id, m.grid_id, m.village_id, m.town_id)
         WHERE m.id = :unit AND s.code = ANY(:scope))""")


def in_scope(conn: Connection, principal: Principal, unit_id: int) -> bool:
    """Whether the unit (any level) lies in one of the principal's scope units."""
    if not principal.scope:
        return False
    return bool(conn.execute(_IN_SCOPE, {"unit": unit_id,
                                         "scope": list(principal.scope)}).scalar())


def may_see_residents(conn: Connection, principal: Principal, unit_id: int) -> bool:
    """Residents (names, masked ID and phone numbers) of a unit: officials scoped to it
    only. Admins, planners, field staff and screens see counts."""
    return may(principal, "residents") and in_scope(conn, principal, unit_id)


def audit(conn: Connection, principal: Principal, action: str, obj: str, *,
          unit_code: str | None = None, purpose: str | None = None,
          detail: dict | None = None) -> None:
    """One line of the personal-data audit log, in the caller's transaction."""
    import json

    conn.execute(sa.text(
        "INSERT INTO audit_log (actor, action, object, unit_code, purpose, detail) "
        "VALUES (:a, :act, :o, :u, :p, CAST(:d AS jsonb))"),
        {"a": principal.name, "act": action, "o": obj, "u": unit_code, "p": purpose,
         "d": json.dumps(detail or {}, ensure_ascii=False)})
