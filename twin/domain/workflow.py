"""The governance loop of an event: monitor → warn → dispose → feedback.

Every change is one transaction that checks the move is legal, checks the caller saw the
latest version (optimistic concurrency), and appends to the event log (who, when, from,
to, note). Events past their deadline climb to the level above by themselves
(:func:`sweep`); a submission carrying a client key is made once however often it is
retried. Time comes in as an argument, so tests and the scheduler share one clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from twin.domain.pii import scrub_text
from twin.domain.units import LEVELS as UNIT_LEVELS
from twin.errors import NotFound, TwinError
from twin.store.schema import (
    departments,
    event_categories,
    event_deadlines,
    event_log,
    events,
)
from twin.store.seed import DEPARTMENT_OF_CATEGORY, DEPARTMENTS
from twin.store.writes import CELL, added, bump, cell_at, count_rows, distributed

# Owners, lowest first ("小事不出格"): the units' levels, then the county's departments.
LEVELS = (*reversed(UNIT_LEVELS), "county")
# The three loops (小、中、大闭环) the owners make: handled inside the micro-grid or grid,
# by the village or town, or by a county department.
LOOPS = {"small": ("microgrid", "grid"), "medium": ("village", "town"), "large": ("county",)}
OPEN = ("reported", "triaged", "warned", "dispatched", "handling", "escalated", "reopened")
DONE = ("resolved", "closed", "rejected", "duplicate")
# The legal moves. Escalation is its own operation (it also moves the owner up a level).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("triaged", "warned", "dispatched", "rejected", "duplicate"),
    "warned": ("triaged", "dispatched", "resolved", "rejected", "duplicate"),
    "triaged": ("dispatched", "rejected", "duplicate"),
    "dispatched": ("handling", "triaged"),
    "handling": ("resolved",),
    "escalated": ("triaged", "dispatched", "handling", "rejected", "duplicate"),
    "reopened": ("triaged", "dispatched", "handling"),
    "resolved": ("closed", "reopened"),
    "closed": ("reopened",),
    "rejected": (),
    "duplicate": (),
}
SOURCES = ("grid_worker", "resident", "sensor", "hotline", "inspection", "open311", "platform",
           "visit", "volunteer", "council", "mediation")
# Hours an owning level has to handle an event before it climbs ("小事不出格": the micro-grid
# first); urgent categories get half. The defaults of the editable event_deadlines table.
LEVEL_HOURS = {"microgrid": 24, "grid": 48, "village": 72, "town": 120}  # county: the dept's
URGENT = ("fire", "safety", "flood", "environment")


def default_hours(category: str, level: str) -> float:
    """The default hours of a category at a level (event_deadlines starts from these; at
    the county, the seeded hours of the category's department)."""
    if level == "county":
        return float(DEPARTMENTS[DEPARTMENT_OF_CATEGORY[category]][2])
    return LEVEL_HOURS[level] * (0.5 if category in URGENT else 1.0)


class WorkflowError(TwinError):
    """A move the loop does not allow."""


class IllegalTransition(WorkflowError):
    """The event cannot go from its status to the one asked for."""


class StaleVersion(WorkflowError):
    """The caller changed an event from an old version: someone else changed it since."""


@contextmanager
def _tx(bind: Engine | Connection) -> Iterator[Connection]:
    """A transaction of its own on an engine; on a connection (a caller's transaction, e.g.
    a change from the platform applied with its inbox row) a savepoint inside it."""
    if isinstance(bind, Connection):
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin() as conn:
            yield conn


@contextmanager
def _read(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as conn:
            yield conn


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Event:
    id: int
    code: str
    status: str
    owner_level: str
    version: int
    deadline_at: dt.datetime | None
    escalations: int


_EVENT_COLUMNS = (events.c.id, events.c.code, events.c.status, events.c.owner_level,
                  events.c.version, events.c.deadline_at, events.c.escalations)


def _event(row: Any) -> Event:
    return Event(**{k: row[k] for k in Event.__dataclass_fields__})


def get_event(engine: Engine, event_id: int) -> Event:
    with _read(engine) as conn:
        row = conn.execute(sa.select(*_EVENT_COLUMNS).where(events.c.id == event_id)
                           ).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no event with id {event_id}")
    return _event(row)


def _deadline(conn: Connection, category: str, level: str, start: dt.datetime,
              department: str | None = None) -> dt.datetime:
    """When an owner at ``level`` must have handled the event: the category's hours at that
    level, or at the county the department's own hours."""
    if level == "county":
        hours = conn.execute(sa.select(departments.c.hours).where(
            departments.c.code == department)).scalar()
    else:
        hours = conn.execute(sa.select(event_deadlines.c.hours).where(
            event_deadlines.c.category == category, event_deadlines.c.level == level)).scalar()
    return start + dt.timedelta(hours=float(hours if hours is not None else 72))


def _log(conn: Connection, event_id: int, at: dt.datetime, actor: str, before: str | None,
         after: str, note: str | None, client_key: str | None = None, *,
         town: int | None = None) -> bool:
    """Append one move to the event's log; the note is scrubbed of ID and phone numbers.
    With a ``client_key`` an entry already written under it is not written again (False)."""
    note = scrub_text(note)
    row = sa.select(events.c.town_id, sa.literal(event_id, sa.BigInteger),
                    sa.literal(at, sa.DateTime(timezone=True)), sa.literal(actor),
                    sa.literal(before, sa.Text), sa.literal(after), sa.literal(note, sa.Text),
                    sa.literal(client_key, sa.Text)).where(events.c.id == event_id)
    if town is not None:  # one shard on Citus
        row = row.where(events.c.town_id == town)
    insert = pg_insert(event_log).from_select(  # the event's town, from the event's row
        ["town_id", "event_id", "at", "actor", "from_status", "to_status", "note",
         "client_key"], row)
    if client_key is not None:
        keys = [event_log.c.event_id, event_log.c.client_key]
        insert = insert.on_conflict_do_nothing(
            index_elements=[event_log.c.town_id, *keys] if distributed(conn) else keys,
            index_where=event_log.c.client_key.isnot(None))
    # rows returned, not rowcount: Citus reports 0 for an INSERT … SELECT it routed
    written = len(conn.execute(insert.returning(event_log.c.id)).all()) == 1
    if written:
        bump(conn, "events")
    return written


def report(engine: Engine, *, category: str, title: str, lon: float, lat: float,
           source: str, actor: str, description: str | None = None,
           client_key: str | None = None, now: dt.datetime | None = None) -> Event:
    """A new event at a point, owned by the micro-grid that holds it, with that level's
    deadline. With a ``client_key`` a retried submission returns the first one's event.
    ID-card and phone numbers in the title and description are masked before storing."""
    now = now or now_utc()
    if "\x00" in f"{title}{description}":
        raise WorkflowError("the text holds a NUL character")
    title, description = scrub_text(title), scrub_text(description)
    if source not in SOURCES:
        raise WorkflowError(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    with _tx(engine) as conn:
        by_key = sa.select(*_EVENT_COLUMNS).where(events.c.client_key == client_key)
        if client_key is not None:
            found = conn.execute(by_key).mappings().one_or_none()
            if found is not None:
                return _event(found)
        if conn.execute(sa.select(event_categories.c.code).where(
                event_categories.c.code == category)).scalar() is None:
            raise WorkflowError(f"unknown event category {category!r}")
        cell: dict = {}
        if distributed(conn):  # on Citus the row must know its town before it is routed
            cell = cell_at(conn, lon, lat) or {}
            if not cell:
                raise WorkflowError(f"events: the point POINT({lon:.6f} {lat:.6f}) lies outside "
                                    "every micro-grid: check the coordinates (WGS84)")
        event_id = conn.execute(sa.select(sa.func.nextval(
            sa.func.pg_get_serial_sequence("events", "id")))).scalar()
        insert = pg_insert(events).values(**cell,
            id=event_id, code=f"E{now:%Y%m%d}-{event_id:07d}", category=category, title=title,
            description=description, status="reported", owner_level="microgrid",
            source=source, reported_at=now, client_key=client_key,
            deadline_at=_deadline(conn, category, "microgrid", now),
            geom=sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326),
        ).on_conflict_do_nothing(index_elements=[  # codes and keys are per town on Citus
            *([events.c.town_id] if cell else []), events.c.client_key]).returning(
            *_EVENT_COLUMNS)
        try:
            row = conn.execute(insert).mappings().one_or_none()
        except sa.exc.IntegrityError as exc:  # the cell trigger says where it is not
            message = getattr(exc.orig.diag, "message_primary", None) or str(exc.orig)
            raise WorkflowError(f"{message}: check the coordinates (WGS84)") from None
        if row is None:  # the same key was submitted concurrently and won
            return _event(conn.execute(by_key).mappings().one())
        added(conn, "events", [row["id"]])
        _log(conn, row["id"], now, actor, None, "reported", description,
             town=cell.get("town_id"))
        return _event(row)


def _change(conn: Connection, current: Any, values: dict[str, Any]) -> Event:
    """UPDATE the event ``_current`` locked with ``values``, if it is still at the version
    read then; the version moves on (and, on Citus, the counters: the row's old contribution
    out, its new one in)."""
    count_rows(conn, "events", [current["id"]], -1)
    row = conn.execute(
        sa.update(events).values(**values, version=events.c.version + 1)
        .where(events.c.town_id == current["town_id"], events.c.id == current["id"],
               events.c.version == current["version"])
        .returning(*_EVENT_COLUMNS)).mappings().one_or_none()
    if row is None:
        raise _stale(current["code"], current["version"] + 1, current["version"])
    count_rows(conn, "events", [current["id"]])
    return _event(row)


def _stale(code: str, version: int, expected: int) -> StaleVersion:
    return StaleVersion(f"event {code} was changed by someone else (now version {version}, "
                        f"yours was {expected}): reload it and try again")


def _current(conn: Connection, event_id: int, expected_version: int) -> Any:
    """The event, locked for this transaction, if it is still at ``expected_version``. On
    Citus its town is read first: a row lock is taken on one shard only."""
    where = [events.c.id == event_id]
    if distributed(conn):
        town = conn.execute(sa.select(events.c.town_id).where(*where)).scalar()
        where.append(events.c.town_id == town)
    row = conn.execute(
        sa.select(*_EVENT_COLUMNS[:5], events.c.category, *(events.c[c] for c in CELL))
        .where(*where).with_for_update()).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no event with id {event_id}")
    if row["version"] != expected_version:
        raise _stale(row["code"], row["version"], expected_version)
    return row


def transition(engine: Engine, event_id: int, to_status: str, *, actor: str,
               expected_version: int, note: str | None = None,
               satisfaction: int | None = None, now: dt.datetime | None = None,
               assignee: str | None = None, duplicate_of: int | None = None) -> Event:
    """Move an event to ``to_status`` if the loop allows it and nobody changed it since
    ``expected_version``. Resolving stamps ``resolved_at``; closing (the feedback) stamps
    ``closed_at`` and may carry the resident's ``satisfaction`` (1–5); reopening gives the
    micro-grid a fresh deadline."""
    now = now or now_utc()
    with _tx(engine) as conn:
        row = _current(conn, event_id, expected_version)
        before = row["status"]
        if to_status not in TRANSITIONS.get(before, ()):
            allowed = ", ".join(TRANSITIONS.get(before, ())) or "nothing (it is final)"
            raise IllegalTransition(
                f"event {row['code']} is {before}: it can go to {allowed}, not {to_status}")
        if satisfaction is not None and not (to_status == "closed" and 1 <= satisfaction <= 5):
            raise WorkflowError("satisfaction is a score from 1 to 5 given when closing")
        values: dict[str, Any] = {"status": to_status}
        if assignee is not None:
            values["assignee"] = assignee
        if duplicate_of is not None:
            values["duplicate_of"] = duplicate_of
        if to_status == "resolved":
            values["resolved_at"] = now
        elif to_status == "closed":
            values.update(closed_at=now, satisfaction=satisfaction)
        elif to_status == "reopened":
            values.update(resolved_at=None, closed_at=None, owner_level="microgrid",
                          department=None,
                          deadline_at=_deadline(conn, row["category"], "microgrid", now))
        event = _change(conn, row, values)
        _log(conn, event_id, now, actor, before, to_status, note, town=row["town_id"])
        return event


def rate(engine: Engine, event_id: int, score: int, *, actor: str, expected_version: int,
         now: dt.datetime | None = None) -> Event:
    """回访评价: the reporter's score (1–5) of how the matter was handled. A resolved event
    is closed with it; a closed one keeps the newer score; the log says which."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise WorkflowError("a rating is a whole score from 1 to 5")
    now = now or now_utc()
    with _tx(engine) as conn:
        row = _current(conn, event_id, expected_version)
        if row["status"] == "closed":
            event = _change(conn, row, {"satisfaction": score})
            _log(conn, event_id, now, actor, "closed", "closed", f"群众评价{score}星",
                 town=row["town_id"])
            return event
    if row["status"] != "resolved":
        raise IllegalTransition(f"event {row['code']} is {row['status']}: it is rated once "
                                "it is resolved")
    return transition(engine, event_id, "closed", actor=actor,
                      expected_version=expected_version, satisfaction=score,
                      note=f"群众评价{score}星", now=now)


def escalate(engine: Engine, event_id: int, *, actor: str, expected_version: int,
             note: str | None = None, now: dt.datetime | None = None) -> Event:
    """Hand an open event up to the level above (by hand), with that level's deadline."""
    return _move_owner(engine, event_id, +1, actor, expected_version, note, now)


def hand_back(engine: Engine, event_id: int, *, actor: str, expected_version: int,
              note: str | None = None, now: dt.datetime | None = None) -> Event:
    """Give an escalated event back to the level below, to be dispatched there."""
    return _move_owner(engine, event_id, -1, actor, expected_version, note, now)


def _move_owner(engine: Engine, event_id: int, step: int, actor: str, expected_version: int,
                note: str | None, now: dt.datetime | None) -> Event:
    now = now or now_utc()
    with _tx(engine) as conn:
        row = _current(conn, event_id, expected_version)
        if row["status"] not in OPEN:
            raise IllegalTransition(f"event {row['code']} is {row['status']}: only an open "
                                    "event changes hands")
        i = LEVELS.index(row["owner_level"]) + step
        if not 0 <= i < len(LEVELS):
            where = ("a county department, the highest level" if step > 0
                     else "the micro-grid already")
            raise IllegalTransition(f"event {row['code']} is with {where}")
        level = LEVELS[i]
        department = None
        if level == "county":  # the large loop: the department of the event's category
            department = conn.execute(sa.select(event_categories.c.department).where(
                event_categories.c.code == row["category"])).scalar()
            if department is None:
                raise IllegalTransition(f"event {row['code']}: its category has no county "
                                        "department to climb to: dispatch it to one")
        after = "escalated" if step > 0 else "dispatched"
        values = {"status": after, "owner_level": level, "department": department,
                  "deadline_at": _deadline(conn, row["category"], level, now, department)}
        if step > 0:
            values["escalations"] = events.c.escalations + 1
        event = _change(conn, row, values)
        _log(conn, event_id, now, actor, row["status"], after,
             note or f"{'→' if step > 0 else '←'} {department or level}", town=row["town_id"])
        return event


# One set-based statement per town: every open event of the town past its deadline below
# the county moves up one level with that level's deadline (from the town: to its
# category's department, with the department's hours), and its move is logged. A second
# sweep at the same moment finds nothing (the new deadlines are in the future); two sweeps
# at once are kept apart by an advisory lock, and row locks re-check each event before it
# moves. Town by town, each statement stays on one shard on Citus, where row locks on a
# query over every shard are refused (docs/scaling.md).
SWEEP_LOCK = 0x7477_696E  # "twin"
_SWEEP = sa.text("""
    WITH due AS (
        SELECT e.id, e.status, e.owner_level, e.category,
               CASE e.owner_level WHEN 'microgrid' THEN 'grid' WHEN 'grid' THEN 'village'
                                  WHEN 'village' THEN 'town' ELSE 'county' END AS next_level
          FROM events e
         WHERE e.town_id = :town AND e.status = ANY(:open) AND e.deadline_at < :now
           AND e.owner_level <> 'county'
           AND (e.owner_level <> 'town' OR EXISTS (
                SELECT 1 FROM event_categories c
                 WHERE c.code = e.category AND c.department IS NOT NULL))
         ORDER BY e.deadline_at
         LIMIT :batch
           FOR UPDATE SKIP LOCKED),
    moved AS (
        UPDATE events e
           SET status = 'escalated', owner_level = due.next_level,
               department = CASE WHEN due.next_level = 'county' THEN c.department END,
               escalations = e.escalations + 1, version = e.version + 1,
               deadline_at = :now + make_interval(secs => 3600 * coalesce(
                   CASE WHEN due.next_level = 'county' THEN dp.hours ELSE d.hours END, 72))
          FROM due
          JOIN event_categories c ON c.code = due.category
          LEFT JOIN departments dp ON dp.code = c.department
          LEFT JOIN event_deadlines d ON d.level = due.next_level AND d.category = due.category
         WHERE e.town_id = :town AND e.id = due.id
        RETURNING e.id, e.town_id, due.status AS before, due.owner_level AS from_level,
                  coalesce(e.department, due.next_level) AS to_owner)
    INSERT INTO event_log (town_id, event_id, at, actor, from_status, to_status, note)
    SELECT town_id, id, :now, 'system:escalation', before, 'escalated',
           'overdue: ' || from_level || ' → ' || to_owner
      FROM moved
    RETURNING event_id""")


def sweep(engine: Engine, now: dt.datetime | None = None, batch: int = 50_000) -> int:
    """Escalate every overdue open event one level; returns how many moved (0 when another
    sweep holds the lock). Safe to run as often as wanted, from any number of processes."""
    now = now or now_utc()
    moved = 0
    with _tx(engine) as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                            {"k": SWEEP_LOCK}).scalar():
            return 0
        towns = conn.execute(sa.text(  # the towns with something due (the open index)
            "SELECT DISTINCT town_id FROM events WHERE status = ANY(:open) "
            "AND deadline_at < :now AND owner_level <> 'county' ORDER BY 1"),
            {"open": list(OPEN), "now": now}).scalars().all()
        for town in towns:
            while True:
                n = len(conn.execute(_SWEEP, {"now": now, "batch": batch, "town": town,
                                              "open": list(OPEN)}).all())
                moved += n
                if n < batch:
                    break
        if moved:
            bump(conn, "events")  # on Citus: the log's version trigger is not there
    return moved


# Accepting an event takes it, through the legal moves, to "handling" by the acceptor.
_TO_HANDLING = {"reported": ("dispatched", "handling"), "warned": ("dispatched", "handling"),
                "triaged": ("dispatched", "handling"), "escalated": ("dispatched", "handling"),
                "reopened": ("dispatched", "handling"), "dispatched": ("handling",)}


def accept(engine: Engine, event_id: int, *, actor: str, expected_version: int,
           now: dt.datetime | None = None) -> Event:
    """The person in the field takes the event: it moves on to ``handling``, each step
    logged; refused if it is not open or someone changed it since ``expected_version``."""
    event = get_event(engine, event_id)
    steps = _TO_HANDLING.get(event.status)
    if steps is None:
        raise IllegalTransition(f"event {event.code} is {event.status}: it cannot be accepted")
    if event.version != expected_version:
        raise _stale(event.code, event.version, expected_version)
    for status in steps:
        event = transition(engine, event_id, status, actor=actor,
                           expected_version=event.version, note="接单" if status == "handling"
                           else None, now=now)
    return event


def add_note(engine: Engine, event_id: int, *, actor: str, note: str,
             now: dt.datetime | None = None, client_key: str | None = None) -> bool:
    """A note in the event's log (the status stays as it is). With a ``client_key`` a
    retried submission is written once; returns whether this one was written."""
    note = (note or "").strip()
    if not note:
        raise WorkflowError("the note is empty")
    if "\x00" in note:
        raise WorkflowError("the note holds a NUL character")
    if len(note) > 2000:
        raise WorkflowError("a note holds at most 2,000 characters")
    event = get_event(engine, event_id)
    with _tx(engine) as conn:
        return _log(conn, event_id, now or now_utc(), actor, event.status, event.status, note,
                    client_key)


# --- the event centre's moves (officials; grid workers accept, note and resolve) -----------
MOVES = ("accept", "triage", "dispatch", "resolve", "escalate", "hand_back", "close",
         "reopen", "reject", "merge")


def legal_moves(status: str, owner_level: str) -> tuple[str, ...]:
    """The moves the loop allows an event in ``status`` owned at ``owner_level`` (who may
    make them is twin.domain.access.may_move)."""
    allowed = set(TRANSITIONS.get(status, ()))
    found = {"accept": status in _TO_HANDLING, "triage": "triaged" in allowed,
             "dispatch": "dispatched" in allowed, "resolve": "resolved" in allowed,
             "close": "closed" in allowed, "reopen": "reopened" in allowed,
             "reject": "rejected" in allowed, "merge": "duplicate" in allowed,
             "escalate": status in OPEN and owner_level != LEVELS[-1],
             "hand_back": status in OPEN and owner_level != LEVELS[0]}
    return tuple(m for m in MOVES if found[m])


def dispatch(engine: Engine, event_id: int, to: str = "", *, actor: str,
             expected_version: int, department: str | None = None,
             now: dt.datetime | None = None) -> Event:
    """派单: send an event to whoever will handle it — a unit or a person named in ``to``, or
    a county ``department`` (the large loop: owned at the county with the department's
    hours) — and log it."""
    to = (to or "").strip()
    if department:
        now = now or now_utc()
        with _tx(engine) as conn:
            row = _current(conn, event_id, expected_version)
            if "dispatched" not in TRANSITIONS.get(row["status"], ()):
                raise IllegalTransition(f"event {row['code']} is {row['status']}: it cannot "
                                        "be dispatched now")
            name = conn.execute(sa.select(departments.c.name_zh).where(
                departments.c.code == department)).scalar()
            if name is None:
                raise WorkflowError(f"no county department {department!r}")
            event = _change(conn, row, {
                "status": "dispatched", "owner_level": "county", "department": department,
                "assignee": name,
                "deadline_at": _deadline(conn, row["category"], "county", now, department)})
            _log(conn, event_id, now, actor, row["status"], "dispatched", f"派单至{name}",
                 town=row["town_id"])
            return event
    if not to or len(to) > 100:
        raise WorkflowError("say to whom the event is dispatched (at most 100 characters)")
    return transition(engine, event_id, "dispatched", actor=actor,
                      expected_version=expected_version, note=f"派单至{to}", assignee=to,
                      now=now)


def reject(engine: Engine, event_id: int, reason: str, *, actor: str, expected_version: int,
           now: dt.datetime | None = None) -> Event:
    """不予受理: refuse an event, with the reason the reporter will read."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("a rejection needs its reason")
    return transition(engine, event_id, "rejected", actor=actor,
                      expected_version=expected_version, note=reason[:500], now=now)


def merge(engine: Engine, event_id: int, into_code: str, *, actor: str,
          expected_version: int, now: dt.datetime | None = None) -> Event:
    """合并: the event repeats another (its code ``into_code``); it becomes a duplicate of
    that one, and that one's log says so."""
    now = now or now_utc()
    with _read(engine) as conn:
        target = conn.execute(sa.select(events.c.id, events.c.code, events.c.status)
                              .where(events.c.code == (into_code or "").strip())).one_or_none()
    if target is None:
        raise WorkflowError(f"no event with code {into_code!r} to merge onto")
    if target.id == event_id:
        raise WorkflowError("an event cannot be merged onto itself")
    event = transition(engine, event_id, "duplicate", actor=actor,
                       expected_version=expected_version, note=f"合并至{target.code}",
                       duplicate_of=target.id, now=now)
    with _tx(engine) as conn:
        _log(conn, target.id, now, actor, target.status, target.status,
             f"合并了重复事件{event.code}")
    return event
