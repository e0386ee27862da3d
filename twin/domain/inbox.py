"""The event centre's read model (事件中心): the events a principal sees, filtered and in
the order they need attention — overdue first, then by deadline — with what the list and
an event's page show. Scope and the words people typed follow twin.domain.access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain import workflow as wf
from twin.domain.access import ALL, NONE, Principal, may_move, row_filter, sees
from twin.domain.workflow import OPEN, Event, WorkflowError, now_utc
from twin.errors import NotFound
from twin.store.schema import event_categories, event_log, event_photos, events, units

INBOX_ROWS = 500  # the list shows the most urgent; the count says how many match


@dataclass(frozen=True)
class InboxFilter:
    """What the list is narrowed to (empty = no condition)."""

    statuses: tuple[str, ...] = OPEN
    categories: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    overdue: bool = False
    since: dt.datetime | None = None
    search: str = ""  # an event code, or words of the title (where the principal reads them)


@dataclass
class Inbox:
    """The rows shown (at most INBOX_ROWS) and how many match in all."""

    rows: pd.DataFrame
    matched: int
    overdue: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _conditions(principal: Principal, f: InboxFilter, now: dt.datetime) -> list[Any]:
    visible, params = row_filter(principal, "events", "events")
    where: list[Any] = [sa.text(visible).bindparams(**params)]
    if f.statuses:
        where.append(events.c.status.in_(f.statuses))
    if f.categories:
        where.append(events.c.category.in_(f.categories))
    if f.levels:
        where.append(events.c.owner_level.in_(f.levels))
    if f.sources:
        where.append(events.c.source.in_(f.sources))
    if f.overdue:
        where += [events.c.deadline_at < now, events.c.status.in_(OPEN)]
    if f.since is not None:
        where.append(events.c.reported_at >= f.since)
    words = f.search.strip()
    if words:
        like = "%" + words.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        match = [events.c.code == words]
        if sees(principal, "event_text") != NONE:
            match.append(events.c.title.ilike(like))
        where.append(sa.or_(*match))
    return where


def inbox(engine: Engine, principal: Principal, f: InboxFilter = InboxFilter(),
          now: dt.datetime | None = None) -> Inbox:
    """The events ``principal`` sees that ``f`` keeps, the most urgent first: overdue open
    events, then by deadline, then the newest.

    The first INBOX_ROWS are chosen on ``events`` alone, then joined to their names. For
    open events "overdue first, then by deadline" is the deadline's order itself, which the
    partial index on open deadlines walks and stops after INBOX_ROWS (a town of 20,000 open
    events: 95 ms sorting them all → a few ms, scripts/bench_centre.py)."""
    now = now or now_utc()
    where = _conditions(principal, f, now)
    overdue = sa.and_(events.c.status.in_(OPEN), events.c.deadline_at < now)
    text_shown = sees(principal, "event_text") != NONE
    urgency = [events.c.deadline_at.asc().nulls_last()]
    if not f.statuses or not set(f.statuses) <= set(OPEN):
        urgency.insert(0, overdue.desc())
    first = (sa.select(
        events.c.id, events.c.code, events.c.category,
        (events.c.title if text_shown else sa.null()).label("title"),
        events.c.status, events.c.owner_level, events.c.source, events.c.reported_at,
        events.c.deadline_at, events.c.assignee, events.c.version, events.c.escalations,
        events.c.department, overdue.label("overdue"), events.c.microgrid_id,
        sa.func.ST_X(events.c.geom).label("lon"), sa.func.ST_Y(events.c.geom).label("lat"))
        .where(*where)
        .order_by(*urgency, events.c.reported_at.desc(), events.c.id)
        .limit(INBOX_ROWS).subquery("first"))
    m = units.alias("m")
    shown = [c for c in first.c if c.name != "microgrid_id"]
    query = (sa.select(*shown[:3], event_categories.c.name_zh, event_categories.c.name_en,
                       *shown[3:], m.c.name.label("microgrid"))
             .join_from(first, m, m.c.id == first.c.microgrid_id)
             .join(event_categories, event_categories.c.code == first.c.category)
             .order_by(first.c.overdue.desc(), first.c.deadline_at.asc().nulls_last(),
                       first.c.reported_at.desc(), first.c.id))
    counts = (sa.select(events.c.status, sa.func.count().label("n"),
                        sa.func.count().filter(overdue).label("late"))
              .where(*where).group_by(events.c.status))
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(query).mappings().all(),
                            columns=[c.name for c in query.selected_columns])
        by_status = {r.status: (r.n, r.late) for r in conn.execute(counts)}
    return Inbox(rows, sum(n for n, _ in by_status.values()),
                 sum(late for _, late in by_status.values()),
                 {s: n for s, (n, _) in by_status.items()})


def area_bbox(engine: Engine, principal: Principal) -> list[float] | None:
    """The lon/lat extent of the units whose events ``principal`` sees (the towns when it
    sees every unit); None when it sees none."""
    kept = (units.c.level == "town" if sees(principal, "events") == ALL
            else units.c.code.in_(principal.scope))
    box = sa.func.ST_Extent(units.c.geom)
    with engine.connect() as conn:
        row = conn.execute(sa.select(sa.func.ST_XMin(box), sa.func.ST_YMin(box),
                                     sa.func.ST_XMax(box), sa.func.ST_YMax(box))
                           .where(kept)).one()
    return None if row[0] is None else [float(v) for v in row]


def event_page(engine: Engine, principal: Principal, event: int | str) -> dict[str, Any] | None:
    """One event as its page shows it — place, owner, deadline, what was typed (where the
    principal reads it), its log and its photos — or None when the principal may not see
    it (the same answer as for no such event). ``event`` is its id or its code."""
    visible, params = row_filter(principal, "events", "events")
    m = units.alias("m")
    text_shown = sees(principal, "event_text") != NONE
    query = (sa.select(
        events.c.id, events.c.code, events.c.category, event_categories.c.name_zh,
        (events.c.title if text_shown else sa.null()).label("title"),
        (events.c.description if text_shown else sa.null()).label("description"),
        events.c.status, events.c.owner_level, events.c.source, events.c.reported_at,
        events.c.deadline_at, events.c.resolved_at, events.c.closed_at, events.c.assignee,
        events.c.satisfaction, events.c.version, events.c.escalations, events.c.duplicate_of,
        events.c.grid_id, events.c.department, sa.func.ST_X(events.c.geom).label("lon"), sa.func.ST_Y(events.c.geom).label("lat"),
        m.c.name.label("microgrid"))
        .join_from(events, m, m.c.id == events.c.microgrid_id)
        .join(event_categories, event_categories.c.code == events.c.category)
        .where(events.c.id == event if isinstance(event, int) else events.c.code == event,
               sa.text(visible).bindparams(**params)))
    log = event_log.c
    with engine.connect() as conn:
        row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return None
        event_id = row["id"]
        history = [dict(r) for r in conn.execute(
            sa.select(log.at, log.actor, log.from_status, log.to_status,
                      (log.note if text_shown else sa.null()).label("note"))
            .where(log.event_id == event_id).order_by(log.at, log.id)).mappings()]
        photos = [dict(r) for r in conn.execute(
            sa.select(event_photos.c.sha256, event_photos.c.width, event_photos.c.height,
                      event_photos.c.actor, event_photos.c.at)
            .where(event_photos.c.event_id == event_id).order_by(event_photos.c.at))
            .mappings()]
    return {**dict(row), "history": history, "photos": photos}


# --- the moves, as the event centre makes them -----------------------------------------------
class Refused(WorkflowError):
    """A move the principal's role does not make, or on an event outside its scope."""


def act(engine: Engine, principal: Principal, event_id: int, move: str, *,
        expected_version: int, to: str = "", department: str | None = None,
        reason: str = "", into: str = "", satisfaction: int | None = None,
        now: dt.datetime | None = None) -> Event:
    """Make ``move`` on an event for ``principal``: refused unless its role makes that move
    (twin.domain.access) and the event is in its scope; the loop then checks the move is
    legal from the event's status, and that nobody changed it since ``expected_version``
    (StaleVersion: said to the person, never overwritten)."""
    if move not in wf.MOVES or not may_move(principal, move):
        raise Refused(f"the role {principal.role} does not {move.replace('_', ' ')} events")
    visible, params = row_filter(principal, "events", "events")
    with engine.connect() as conn:
        row = conn.execute(sa.select(events.c.status, events.c.owner_level, events.c.code)
                           .where(events.c.id == event_id,
                                  sa.text(visible).bindparams(**params))).one_or_none()
    if row is None:
        raise NotFound(f"no event with id {event_id} in your area")
    if move not in wf.legal_moves(row.status, row.owner_level):
        raise wf.IllegalTransition(f"event {row.code} is {row.status} at the {row.owner_level} "
                                   f"level: the loop does not allow {move!r} now")
    kw = {"actor": principal.name, "expected_version": expected_version, "now": now}
    if move == "accept":
        return wf.accept(engine, event_id, **kw)
    if move == "dispatch":
        return wf.dispatch(engine, event_id, to, department=department, **kw)
    if move == "escalate":
        return wf.escalate(engine, event_id, **kw)
    if move == "hand_back":
        return wf.hand_back(engine, event_id, **kw)
    if move == "reject":
        return wf.reject(engine, event_id, reason, **kw)
    if move == "merge":
        return wf.merge(engine, event_id, into, **kw)
    to_status = {"triage": "triaged", "resolve": "resolved", "close": "closed",
                 "reopen": "reopened"}[move]
    return wf.transition(engine, event_id, to_status, satisfaction=satisfaction, **kw)


def act_many(engine: Engine, principal: Principal, chosen: list[tuple[int, int]], move: str,
             **kw: Any) -> tuple[int, list[str]]:
    """The same move on many events, each (id, version) on its own: returns how many moved
    and, for the rest, why not (a refusal of one does not stop the others)."""
    done, why = 0, []
    for event_id, version in chosen:
        try:
            act(engine, principal, event_id, move, expected_version=version, **kw)
            done += 1
        except (WorkflowError, NotFound) as exc:
            why.append(str(exc))
    return done, why
