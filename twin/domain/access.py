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

ROLES = ("anonymous", "admin", "official", "planner", "field", "screen", "public")
# Roles no account has: nobody signed in, and the opt-in public reader of Open311
# (TWIN_OPEN311_PUBLIC_READ: category, status, dates, a coarse place, the scrubbed words).
PSEUDO_ROLES = ("anonymous", "public")
# What each role may do, besides seeing the aggregated twin (every signed-in role).
ACTIONS: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "admin": frozenset({"map", "import", "export", "accounts", "audit", "report", "links"}),
    "official": frozenset({"map", "export", "residents", "report", "handle", "links"}),
    "planner": frozenset({"map", "export"}),
    "field": frozenset({"map", "report", "handle"}),
    "screen": frozenset({"screen"}),
    "public": frozenset(),
}
READ_API = frozenset({"map", "screen"})  # tiles, heat, imagery (the map's own reads)
# The moves of the governance loop each role makes (in its scope): officials run the loop,
# grid workers take events, work them and hand them up.
MOVES: dict[str, frozenset[str]] = {
    "official": frozenset({"accept", "triage", "dispatch", "resolve", "escalate", "hand_back",
                           "close", "reopen", "reject", "merge"}),
    "field": frozenset({"accept", "resolve", "escalate"}),
}

# --- what each role sees, in and out of its scope ------------------------------------------
# The kinds of data the twin publishes. ``geography``: units, buildings, land, facilities,
# routes, stations and their readings, organizations (public objects); ``events``: event
# records (category, status, place, times); ``event_text``: what people typed into them
# (titles, descriptions, notes); ``households``: household codes and addresses;
# ``resident_counts``: residents counted per building or micro-grid (never a person, small
# counts suppressed: MIN_COUNT); ``residents``: names and masked numbers (the audited path).
KINDS = ("geography", "events", "event_text", "households", "resident_counts", "residents")
ALL, SCOPE, NONE = "all", "scope", "none"  # every unit · the principal's units only · nothing
SEES: dict[str, dict[str, str]] = {
    "anonymous": dict.fromkeys(KINDS, NONE),
    "admin": {"geography": ALL, "events": ALL, "event_text": ALL, "households": NONE,
              "resident_counts": ALL, "residents": NONE},
    "official": {"geography": ALL, "events": SCOPE, "event_text": SCOPE, "households": SCOPE,
                 "resident_counts": ALL, "residents": SCOPE},
    "planner": {"geography": ALL, "events": ALL, "event_text": NONE, "households": NONE,
                "resident_counts": ALL, "residents": NONE},
    "field": {"geography": ALL, "events": SCOPE, "event_text": SCOPE, "households": SCOPE,
              "resident_counts": ALL, "residents": NONE},
    # a wall shows aggregates: the map's public layers, event points without words, heat
    "screen": {"geography": ALL, "events": ALL, "event_text": NONE, "households": NONE,
               "resident_counts": NONE, "residents": NONE},
    # Open311's public read, when switched on: every request, its words scrubbed of ID and
    # phone numbers as stored; the read model coarsens its place (twin.publish.open311)
    "public": {"geography": NONE, "events": ALL, "event_text": ALL, "households": NONE,
               "resident_counts": NONE, "residents": NONE},
}
# The channels a role may use at all. The wall uses the big screen's own reads only.
CHANNELS = ("tiles", "heat", "open_events", "raster", "ogc", "open311", "export")
USES: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "admin": frozenset(CHANNELS),
    "official": frozenset(CHANNELS),
    "planner": frozenset(CHANNELS),
    "field": frozenset(CHANNELS) - {"export"},
    "screen": frozenset({"tiles", "heat", "open_events", "raster"}),
    "public": frozenset({"open311"}),
}
# Counts of people below this are published as null ("fewer than MIN_COUNT") to everyone
# in tiles, OGC and exports (k-anonymity, k = 5): a count of one is a person.
MIN_COUNT = 5


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
        return self.role not in PSEUDO_ROLES


ANONYMOUS = Principal()
PUBLIC = Principal("public", (), "open311:public")


def may(principal: Principal, action: str) -> bool:
    """Whether the principal's role allows ``action`` at all (scope is checked apart)."""
    return action in ACTIONS[principal.role]


def may_move(principal: Principal, move: str) -> bool:
    """Whether the principal's role makes this move of the loop (scope is checked apart)."""
    return move in MOVES.get(principal.role, frozenset())


def may_read_api(principal: Principal) -> bool:
    """Tiles, OGC collections, heat, imagery and Open311 reads: every signed-in role."""
    return bool(ACTIONS[principal.role] & READ_API)


def uses(principal: Principal, channel: str) -> bool:
    """Whether the principal's role may use a channel (``CHANNELS``) at all."""
    return channel in USES[principal.role]


def sees(principal: Principal, kind: str) -> str:
    """``ALL``, ``SCOPE`` or ``NONE``: how much of a kind of data (``KINDS``) the principal's
    role sees. ``SCOPE`` without scope units (a field link) is nothing."""
    level = SEES[principal.role][kind]
    return NONE if level == SCOPE and not principal.scope else level


CELL_COLUMNS = ("microgrid_id", "grid_id", "village_id", "town_id")


def row_filter(principal: Principal, kind: str, alias: str = "t") -> tuple[str, dict]:
    """A SQL condition keeping the rows of ``alias`` (an element table with the cell columns
    ``microgrid_id … town_id``) that the principal may see of ``kind``, and its parameters.
    Scope is decided here and applied by the database on every path: tiles, OGC, Open311,
    heat, the open events, panels and exports all call this."""
    level = sees(principal, kind)
    if level == ALL:
        return "true", {}
    if level == NONE:
        return "false", {}
    units = "ARRAY(SELECT s.id FROM units s WHERE s.code = ANY(:scope_codes))"
    return ("(" + " OR ".join(f"{alias}.{c} = ANY({units})" for c in CELL_COLUMNS) + ")",
            {"scope_codes": list(principal.scope)})


def view_key(principal: Principal, kind: str) -> str:
    """What a cached answer of ``kind`` depends on for this principal: the same key means the
    same rows (``all`` for everyone who sees everything)."""
    level = sees(principal, kind)
    return "scope:" + ",".join(sorted(principal.scope)) if level == SCOPE else level


def counted(expr: str, *, complement: str | None = None) -> str:
    """SQL publishing a count of people only when it is zero or at least MIN_COUNT (else
    NULL: "fewer than five"). With ``complement`` (the total it is part of), the rest must
    reach MIN_COUNT too, or the count would say that everyone in the total shares a trait."""
    rest = f" AND ({complement}) - ({expr}) >= {MIN_COUNT}" if complement else ""
    return f"CASE WHEN (({expr}) = 0 OR ({expr}) >= {MIN_COUNT}){rest} THEN ({expr}) END"


PEOPLE_COUNTS = ("residents", "elderly", "households")  # roll-up keys that count people


def published(summary: dict) -> dict:
    """A roll-up with its counts of people below MIN_COUNT (1 to 4) as None, as the map's
    panels and the wall show them: a unit can be as small as a micro-grid."""
    return {k: (None if k in PEOPLE_COUNTS and 0 < v < MIN_COUNT else v)
            for k, v in summary.items()}


_IN_SCOPE = sa.text("""
    SELECT EXISTS (
        SELECT 1 FROM units m
          JOIN units s ON s.town_id = m.town_id
                      AND s.id IN (m.id, m.grid_id, m.village_id, m.town_id)
         WHERE m.id = :unit AND s.code = ANY(:scope))""")


def in_scope(conn: Connection, principal: Principal, unit_id: int) -> bool:
    """Whether the unit (any level) lies in one of the principal's scope units."""
    if not principal.scope:
        return False
    return bool(conn.execute(_IN_SCOPE, {"unit": unit_id,
                                         "scope": list(principal.scope)}).scalar())


def sees_in(conn: Connection, principal: Principal, kind: str, unit_id: int) -> bool:
    """Whether the principal sees ``kind`` in one unit (any level): one row's answer of
    :func:`row_filter`."""
    level = sees(principal, kind)
    return level == ALL or (level == SCOPE and in_scope(conn, principal, unit_id))


def may_see_residents(conn: Connection, principal: Principal, unit_id: int) -> bool:
    """Residents (names, masked ID and phone numbers) of a unit: officials scoped to it
    only. Admins, planners, field staff and screens see counts."""
    return may(principal, "residents") and sees_in(conn, principal, "residents", unit_id)


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
