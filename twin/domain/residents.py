"""群众 (residents): report a problem without an account, follow it by a signed link, rate
the result and reopen it within a stated time.

A report is an event of source ``resident`` like any Open311 service request; what the
reporter typed is scrubbed of ID and phone numbers before it is stored (workflow.report),
photos lose their metadata (links.clean_photo), and nothing names the reporter. The status
link (``/api/report/s/<token>``) is the event's id signed with the installation's link key:
whoever holds it sees that one event in plain words — no one's names, no notes but the
reason of a refusal — and may rate and reopen it.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.config import Settings
from twin.domain import links
from twin.domain import workflow as wf
from twin.errors import NotFound, TwinError
from twin.i18n import t
from twin.store.schema import event_categories, event_log, events, units

REPORTER = "resident:web"  # the actor of what a reporter does (no name is kept)
REOPEN_DAYS = 7  # a reporter may reopen within this many days of the resolution
MAX_PHOTOS = 3
MAX_TEXT = 1000
TITLE_CHARS = 40
# the steps of the loop a reporter is told about, in the order they happen
SHOWN = ("reported", "triaged", "dispatched", "handling", "escalated", "resolved", "closed",
         "reopened", "rejected", "duplicate")


class ReportError(TwinError):
    """A report, a rating or a reopening that cannot be taken: ``key`` names the reason in
    the catalog (twin.i18n), so the reporter reads it in their language."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values
        super().__init__(t(key, "en").format(**values))


def status_token(settings: Settings, event_id: int) -> str:
    """The signed part of a reporter's status link."""
    return f"{event_id}.{links.sign(settings, f'status:{event_id}'.encode())}"


def event_of(settings: Settings, token: str) -> int:
    """The event a status token stands for, or NotFound (the same for every bad token)."""
    head, _, mac = (token or "").partition(".")
    if not head.isdigit() or len(head) > 18 or not hmac.compare_digest(
            links.sign(settings, f"status:{head}".encode()), mac):
        raise NotFound("no such report")
    return int(head)


def report(engine: Engine, settings: Settings, *, category: str, text: str,
           lon: float | None, lat: float | None, village: str | None = None,
           photos: list[bytes] = (), client_key: str | None = None,
           now: dt.datetime | None = None) -> tuple[wf.Event, str]:
    """File a resident's report at a point (or, without one, in the village named by its
    code) with up to MAX_PHOTOS photos; returns the event and its status token. Every photo
    is checked before anything is written; a retried submission (the same ``client_key``)
    gives back the first report."""
    text = (text or "").strip()
    if not text:
        raise ReportError("resident.err.empty")
    if len(text) > MAX_TEXT:
        raise ReportError("resident.err.long", n=MAX_TEXT)
    photos = [p for p in photos if p]
    if len(photos) > MAX_PHOTOS:
        raise ReportError("resident.err.photos", n=MAX_PHOTOS)
    try:
        cleaned = [links.clean_photo(p) for p in photos]
    except links.PhotoError:
        raise ReportError("resident.err.photo") from None
    if lon is None or lat is None:
        lon, lat = _village_point(engine, village)
    title = text.splitlines()[0][:TITLE_CHARS]
    try:
        event = wf.report(engine, category=category, title=title, description=text, lon=lon,
                          lat=lat, source="resident", actor=REPORTER,
                          client_key=f"resident:{client_key}" if client_key else None,
                          now=now)
    except wf.WorkflowError:  # an unknown category, or a place outside every micro-grid
        raise ReportError("resident.err.where") from None
    for photo in cleaned:
        links.store_photo(engine, settings, event.id, photo, REPORTER, now)
    return event, status_token(settings, event.id)


def _village_point(engine: Engine, village: str | None) -> tuple[float, float]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(
            sa.func.ST_X(sa.func.ST_PointOnSurface(units.c.geom)),
            sa.func.ST_Y(sa.func.ST_PointOnSurface(units.c.geom)))
            .where(units.c.code == (village or ""), units.c.level == "village")).one_or_none()
    if found is None:
        raise ReportError("resident.err.place")
    return found[0], found[1]


@dataclass(frozen=True)
class Status:
    """What a reporter sees of their report."""

    code: str
    category: str
    category_en: str
    status: str
    version: int
    reported_at: dt.datetime
    resolved_at: dt.datetime | None
    satisfaction: int | None
    place: str
    text: str  # what the reporter wrote, as stored (scrubbed)
    steps: list[tuple[dt.datetime, str]]
    reason: str | None  # why it was refused, if it was

    def may_rate(self) -> bool:
        return self.status in ("resolved", "closed")

    def reopen_until(self) -> dt.datetime | None:
        """Until when the reporter may reopen it (None: not now)."""
        if self.status not in ("resolved", "closed") or self.resolved_at is None:
            return None
        return self.resolved_at + dt.timedelta(days=REOPEN_DAYS)


def status(engine: Engine, event_id: int) -> Status:
    """The report as its reporter follows it: its steps in plain words and when."""
    village = units.alias("v")
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(events.c.code, events.c.category, event_categories.c.name_zh,
                      event_categories.c.name_en, events.c.status, events.c.version,
                      events.c.reported_at, events.c.resolved_at, events.c.satisfaction,
                      events.c.description, village.c.name.label("place"))
            .join(event_categories, event_categories.c.code == events.c.category)
            .join(village, sa.and_(village.c.town_id == events.c.town_id,
                                   village.c.id == events.c.village_id), isouter=True)
            .where(events.c.id == event_id)).mappings().one_or_none()
        if row is None:
            raise NotFound("no such report")
        log = conn.execute(
            sa.select(event_log.c.at, event_log.c.to_status, event_log.c.note)
            .where(event_log.c.event_id == event_id, event_log.c.to_status.in_(SHOWN))
            .order_by(event_log.c.at, event_log.c.id)).all()
    steps: list[tuple[dt.datetime, str]] = []
    for at, to, _ in log:
        if not steps or steps[-1][1] != to:  # one line per step, not per note
            steps.append((at, to))
    reason = next((note for _, to, note in reversed(log) if to == "rejected"), None)
    return Status(row["code"], row["name_zh"], row["name_en"], row["status"], row["version"],
                  row["reported_at"], row["resolved_at"], row["satisfaction"],
                  row["place"] or "", row["description"] or "", steps, reason)


def rate(engine: Engine, event_id: int, score: int, version: int,
         now: dt.datetime | None = None) -> wf.Event:
    """The reporter's rating (1–5) of a resolved or closed report."""
    return wf.rate(engine, event_id, score, actor=REPORTER, expected_version=version, now=now)


def reopen(engine: Engine, event_id: int, reason: str, version: int,
           now: dt.datetime | None = None) -> wf.Event:
    """The reporter says the problem is not solved: the report is reopened, with the reason,
    within REOPEN_DAYS of its resolution."""
    now = now or wf.now_utc()
    reason = (reason or "").strip()
    if not reason:
        raise ReportError("resident.err.reason")
    until = status(engine, event_id).reopen_until()
    if until is None:
        raise ReportError("resident.err.not_resolved")
    if now > until:
        raise ReportError("resident.err.too_late", days=REOPEN_DAYS)
    return wf.transition(engine, event_id, "reopened", actor=REPORTER,
                         expected_version=version, note=reason[:MAX_TEXT], now=now)


def places(engine: Engine) -> list[dict[str, Any]]:
    """The villages to choose from, by town, with their outline as SVG path data (x = lon,
    y = −lat; simplified to ~30 m), for the report page's map."""
    town = units.alias("t")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(units.c.code, units.c.name, town.c.name.label("town"),
                      sa.func.ST_AsSVG(sa.func.ST_SimplifyPreserveTopology(units.c.geom,
                                                                             0.0003), 0, 5)
                      .label("svg"))
            .join(town, sa.and_(town.c.town_id == units.c.town_id, town.c.id == units.c.town_id),
                  isouter=True)
            .where(units.c.level == "village")
            .order_by(town.c.name, units.c.name)).mappings().all()
    return [dict(r) for r in rows]


def categories(engine: Engine) -> list[Any]:
    """The kinds of problem a resident may report (the event categories), in code order."""
    c = event_categories.c
    with engine.connect() as conn:
        return conn.execute(sa.select(c.code, c.name_zh, c.name_en).order_by(c.code)).all()
