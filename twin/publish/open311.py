"""The Open311 GeoReport v2 read model: an event as a service request, derived from the
events entry of the catalogue (``twin.catalog.events``), with the rows and words each
principal may see. The router (``twin.api.open311``) parses requests and answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from twin.catalog import element
from twin.catalog.model import TEXT
from twin.domain.access import NONE, Principal, row_filter, sees
from twin.domain.workflow import DONE, OPEN

MAX_RESULTS = 1000
# the spec's two statuses; the loop's own is in extended_attributes
OPEN311_STATUS = {s: "open" for s in OPEN} | {s: "closed" for s in DONE}
_FROM = """
      FROM events e
      JOIN event_categories c ON c.code = e.category
      JOIN units m ON m.town_id = e.town_id AND m.id = e.microgrid_id"""


@dataclass(frozen=True)
class RequestQuery:
    """Which service requests: by id (overrides the rest), or by period, services and
    statuses (open/closed)."""

    codes: list[str] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    services: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def _select(principal: Principal) -> str:
    """The read model's SELECT list; what people typed is null for a principal who may not
    read it (twin.domain.access event_text)."""
    hidden = sees(principal, "event_text") == NONE
    return ", ".join(f"NULL AS {p.name}" if hidden and p.privacy == TEXT else p.select_item()
                     for p in element("events").open311)


def find(conn: Connection, principal: Principal, q: RequestQuery) -> list[dict[str, Any]]:
    """The service requests ``q`` names that ``principal`` may see, newest first, at most
    MAX_RESULTS, in the spec's shape."""
    visible, params = row_filter(principal, "events", "e")
    where, params = [visible], {**params, "limit": MAX_RESULTS}
    if q.codes is not None:
        where.append("e.code = ANY(:codes)")
        params["codes"] = q.codes
    else:
        where.append("e.reported_at >= :start AND e.reported_at <= :end")
        params.update(start=q.start, end=q.end)
        if q.services:
            where.append("e.category = ANY(:services)")
            params["services"] = q.services
        if q.statuses:
            where.append("e.status = ANY(:statuses)")
            params["statuses"] = [s for s, o in OPEN311_STATUS.items() if o in q.statuses]
    sql = (f"SELECT {_select(principal)} {_FROM} WHERE {' AND '.join(where)} "  # noqa: S608
           "ORDER BY e.reported_at DESC, e.id LIMIT :limit")
    coarse = principal.role == "public"
    return [as_request(r, coarse) for r in conn.execute(sa.text(sql), params)]


def one(conn: Connection, principal: Principal, code: str) -> dict[str, Any] | None:
    """One service request by its id (the event code), or None when there is none the
    principal may see (the same answer for both: ids outside a scope cannot be probed)."""
    found = find(conn, principal, RequestQuery(codes=[code]))
    return found[0] if found else None


COARSE_DEGREES = 3  # decimals of a public request's place: ~100 m, not a doorstep


def as_request(r: Any, coarse: bool = False) -> dict[str, Any]:
    """A row of the read model as a GeoReport v2 service request; ``coarse`` (the public
    read) rounds the place to ~100 m and names no micro-grid."""
    digits = COARSE_DEGREES if coarse else 6
    return {
        "service_request_id": r.code,
        "status": OPEN311_STATUS.get(r.status, "open"),
        "status_notes": None,
        "service_name": r.name_zh,
        "service_code": r.category,
        "description": r.description or r.title,
        "agency_responsible": None if coarse else f"{r.microgrid}（{r.owner_level}）",
        "service_notice": None,
        "requested_datetime": r.reported_at.isoformat(),
        "updated_datetime": r.updated.isoformat() if r.updated else None,
        "expected_datetime": r.deadline_at.isoformat() if r.deadline_at else None,
        "address": None if coarse else r.microgrid,
        "address_id": None,
        "zipcode": None,
        "lat": round(r.lat, digits),
        "long": round(r.lon, digits),
        "media_url": None,
        "extended_attributes": {"status": r.status, "owner_level": r.owner_level},
    }
