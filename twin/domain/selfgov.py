"""自治 (self-governance): "一约两会三团" — each village's compact (村规民约), its councils
(百姓议事会, 乡贤参事会) and groups (百事服务团, 法律服务团, 道德评判团) — and the micro-governance
consultations they hold: a matter raised, placed on the map, consulted on in sittings with
minutes, decisions and votes, until it is done; and 文明啄木鸟, volunteers whose reports enter
the loop.

The loop and the points are joined here, each in the writer's one transaction:
- a sitting's decision may open an event (source ``council``) or resolve the event the
  matter came from;
- a decision on a matter a household raised earns that household the points of rule
  ``self.consult`` (once per matter);
- a volunteer's report is an event of source ``volunteer`` linked to its reporter; when it
  is resolved, the database awards rule ``self.woodpecker`` once (twin_report_points).
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from twin.domain import points
from twin.domain import workflow as wf
from twin.domain.access import Principal, in_scope, may
from twin.domain.pii import PiiKey, protect_id, typed_text
from twin.domain.units import in_unit
from twin.errors import NotFound, TwinError
from twin.store.schema import (
    compacts,
    consultation_sessions,
    consultations,
    events,
    organization_members,
    organizations,
    people,
    town_of,
    units,
    volunteer_reports,
)

# the councils and groups of "一约两会三团", as organizations.kind
COUNCILS = ("residents_council", "worthies_council", "service_group", "legal_group",
            "moral_group")
# Tongxiang's consultation brands (REFERENCE.md)
BRANDS = ("麻花议事", "平安贤话", "桂花树下来协商", "荷塘月色议事站")
RAISED_BY = ("resident", "council", "grid_worker", "party", "event")
STATUSES = ("raised", "consulting", "decided", "done", "dropped")
PROPOSAL_RULE = "self.consult"       # earned by the household whose matter was decided
WOODPECKER_RULE = "self.woodpecker"  # earned by a volunteer whose report was resolved
MAX_TEXT = 2000


class SelfGovError(TwinError):
    """A compact, matter or sitting that cannot be recorded, with the reason."""


def _text(value: str | None, what: str, *, required: bool = True) -> str | None:
    return typed_text(value, what, SelfGovError, required=required, limit=MAX_TEXT)


def _allowed(conn: sa.Connection, principal: Principal | None, unit_id: int, what: str) -> None:
    """A principal (None: the system, a script) may record for a unit only when its role
    handles the loop and the unit lies in its scope."""
    if principal is None:
        return
    if not (may(principal, "handle") and in_scope(conn, principal, unit_id)):
        raise SelfGovError(f"{principal.name} may not record {what} here: outside their "
                           "units, or their role does not")


# --- compacts ------------------------------------------------------------------------------
def adopt_compact(engine: Engine, unit_code: str, *, title: str, clauses: list[str],
                  adopted_on: dt.date, adopted_by: str, actor: str,
                  votes_for: int | None = None, votes_total: int | None = None,
                  kind: str = "village") -> int:
    """Adopt a new version of a village's compact (村规民约; ``kind='community'``: a 小区公约):
    the version in force ends on ``adopted_on`` and is never edited. Returns the version."""
    body = [c for c in (_text(c, "a clause", required=False) for c in clauses) if c]
    if not body:
        raise SelfGovError(f"compact of {unit_code}: it has no clauses")
    if kind not in ("village", "community"):
        raise SelfGovError(f"compact of {unit_code}: kind is village or community")
    if votes_for is not None and (votes_total is None or not 0 <= votes_for <= votes_total):
        raise SelfGovError(f"compact of {unit_code}: votes for must be between 0 and the "
                           "votes cast")
    c = compacts.c
    with engine.begin() as conn:
        unit = conn.execute(sa.select(units.c.id, units.c.level).where(
            units.c.code == unit_code).with_for_update()).one_or_none()  # one adopter at once
        if unit is None:
            raise NotFound(f"no unit {unit_code!r}")
        if unit.level != "village":
            raise SelfGovError(f"{unit_code} is a {unit.level}: a compact is a village's")
        last = conn.execute(sa.select(c.version, c.adopted_on).where(
            c.unit_id == unit.id).order_by(c.version.desc()).limit(1)).one_or_none()
        if last is not None and adopted_on < last.adopted_on:
            raise SelfGovError(f"compact of {unit_code}: version {last.version} was adopted "
                               f"on {last.adopted_on}, after {adopted_on}")
        conn.execute(sa.update(compacts).values(valid_to=adopted_on)
                     .where(c.unit_id == unit.id, c.valid_to.is_(None)))
        version = (last.version if last else 0) + 1
        conn.execute(sa.insert(compacts).values(
            town_id=town_of(conn, units, unit.id), unit_id=unit.id, version=version, kind=kind, title=_text(title, "the title"),
            clauses=body, adopted_on=adopted_on, adopted_by=_text(adopted_by, "the meeting"),
            votes_for=votes_for, votes_total=votes_total, changed_by=actor))
    return version


def compact_of(engine: Engine, unit: dict) -> dict | None:
    """The compact in force of a village, with how many versions it has had."""
    c = compacts.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(
            c.version, c.kind, c.title, c.clauses, c.adopted_on, c.adopted_by, c.votes_for,
            c.votes_total, sa.select(sa.func.count()).where(c.unit_id == unit["id"])
            .scalar_subquery().label("versions"))
            .where(c.unit_id == unit["id"], c.valid_to.is_(None))).mappings().one_or_none()
    return dict(row) if row else None


# --- consultations -------------------------------------------------------------------------
def raise_matter(engine: Engine, *, title: str, lon: float, lat: float, raised_by: str,
                 actor: str, brand: str | None = None, council_id: int | None = None,
                 household_id: int | None = None, event_id: int | None = None,
                 opened_on: dt.date | None = None, client_key: str | None = None,
                 principal: Principal | None = None) -> dict:
    """A matter for consultation (微治理协商项目) at a place: the micro-grid that holds the
    point owns it. A retried submission (same ``client_key``) returns the first one.
    Returns its id and code."""
    if raised_by not in RAISED_BY:
        raise SelfGovError(f"raised by one of {', '.join(RAISED_BY)}, not {raised_by!r}")
    title = _text(title, "the matter")
    opened_on = opened_on or wf.now_utc().date()
    k = consultations.c
    with engine.begin() as conn:
        if client_key is not None:
            found = conn.execute(sa.select(k.id, k.code).where(k.client_key == client_key)
                                 ).mappings().one_or_none()
            if found is not None:
                return dict(found)
        if council_id is not None and conn.execute(sa.select(organizations.c.kind).where(
                organizations.c.id == council_id)).scalar() not in COUNCILS:
            raise SelfGovError(f"organization {council_id} is not a council or group")
        new_id = conn.execute(sa.select(sa.func.nextval(
            sa.func.pg_get_serial_sequence("consultations", "id")))).scalar()
        code = f"YS{opened_on:%Y%m}-{new_id:05d}"
        try:
            microgrid = conn.execute(sa.insert(consultations).values(
                id=new_id, code=code, title=title, brand=brand,
                organization_id=council_id, raised_by=raised_by, household_id=household_id,
                event_id=event_id, status="raised", opened_on=opened_on,
                client_key=client_key, actor=actor,
                geom=sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326))
                .returning(k.microgrid_id)).scalar()
        except sa.exc.IntegrityError as exc:  # the cell trigger: the point is in no unit
            message = getattr(exc.orig.diag, "message_primary", None) or str(exc.orig)
            raise SelfGovError(f"{message}: check the coordinates (WGS84)") from None
        _allowed(conn, principal, microgrid, "a matter")  # refused: the insert is undone too
    return {"id": new_id, "code": code}


def hold_session(engine: Engine, consultation_id: int, *, held_at: dt.datetime,
                 attendees: int, minutes: str, actor: str, place: str | None = None,
                 decision: str | None = None, votes: tuple[int, int, int] | None = None,
                 opens: tuple[str, str] | None = None, resolves: int | None = None,
                 client_key: str | None = None, principal: Principal | None = None) -> dict:
    """Record a sitting of a matter (minutes; a decision and its vote — for, against,
    abstaining — when one was taken). A decision may open an event of the loop (``opens``:
    its category and title) or resolve one (``resolves``: the event's id); the household
    that raised the matter earns the proposal's points. All in one transaction: the
    sitting, the matter's status, the events and the points are written together or not at
    all. Returns the sitting's id, the event opened and the event resolved."""
    minutes = _text(minutes, "the minutes")
    decision = _text(decision, "the decision", required=False)
    if not 1 <= attendees <= 10_000:
        raise SelfGovError("attendees is a number from 1 to 10,000")
    if votes is not None:
        if decision is None:
            raise SelfGovError("a vote is taken on a decision: write the decision")
        if len(votes) != 3 or min(votes) < 0 or sum(votes) > attendees:
            raise SelfGovError(f"votes for, against and abstaining ({votes}) must be counts "
                               f"that add up to at most the {attendees} attending")
        if 2 * votes[0] <= attendees:
            raise SelfGovError(f"the vote did not carry ({votes[0]} of {attendees} attending "
                               "is not more than half): record the sitting without a decision")
    if (opens or resolves) and decision is None:
        raise SelfGovError("only a decision opens or resolves an event")
    k, s = consultations.c, consultation_sessions.c
    with engine.begin() as conn:
        if client_key is not None:
            found = conn.execute(sa.select(s.id, s.opens_event_id, s.closes_event_id).where(
                s.client_key == client_key)).one_or_none()
            if found is not None:
                return {"id": found.id, "opened": found.opens_event_id,
                        "resolved": found.closes_event_id}
        matter = conn.execute(sa.select(
            k.id, k.code, k.status, k.household_id, k.microgrid_id,
            sa.func.ST_X(k.geom).label("lon"),
            sa.func.ST_Y(k.geom).label("lat")).where(k.id == consultation_id)
            .with_for_update()).one_or_none()
        if matter is None:
            raise NotFound(f"no consultation with id {consultation_id}")
        _allowed(conn, principal, matter.microgrid_id, f"a sitting of {matter.code}")
        if matter.status in ("done", "dropped"):
            raise SelfGovError(f"consultation {matter.code} is {matter.status}: it holds no "
                               "more sittings")
        opened = None
        if opens is not None:
            category, title = opens
            opened = wf.report(conn, category=category, title=_text(title, "the event"),
                               description=decision, lon=matter.lon, lat=matter.lat,
                               source="council", actor=actor, now=held_at,
                               client_key=f"council:{client_key}" if client_key else None)
        if resolves is not None:
            _resolve(conn, resolves, actor, f"{matter.code} 议定：{decision}", held_at)
        session_id = conn.execute(pg_insert(consultation_sessions).values(
            town_id=town_of(conn, consultations, consultation_id),
            consultation_id=consultation_id, held_at=held_at, place=_text(
                place, "the place", required=False), attendees=attendees, minutes=minutes,
            decision=decision, votes_for=votes[0] if votes else None,
            votes_against=votes[1] if votes else None,
            votes_abstain=votes[2] if votes else None,
            opens_event_id=opened.id if opened else None, closes_event_id=resolves,
            client_key=client_key, actor=actor).returning(s.id)).scalar()
        conn.execute(sa.update(consultations).values(
            status="decided" if decision else sa.case(
                (k.status == "raised", "consulting"), else_=k.status))
            .where(k.id == consultation_id))
        if decision and matter.household_id is not None:
            rule = points.current_rules(conn).get(PROPOSAL_RULE)
            if rule is not None:
                points.post(conn, matter.household_id, rule.points, rule=rule,
                             source="council", actor=actor, source_ref=f"session:{session_id}",
                             client_key=f"council:{consultation_id}", at=held_at)
    return {"id": session_id, "opened": opened.id if opened else None, "resolved": resolves}


def _resolve(conn: sa.Connection, event_id: int, actor: str, note: str,
             at: dt.datetime) -> None:
    """An open event resolved by a decision: taken on (logged) if nobody has, then resolved."""
    event = wf.get_event(conn, event_id)
    if event.status in wf.DONE:
        raise SelfGovError(f"event {event.code} is already {event.status}")
    if event.status not in ("handling", "warned"):
        event = wf.accept(conn, event_id, actor=actor, expected_version=event.version, now=at)
    wf.transition(conn, event_id, "resolved", actor=actor, expected_version=event.version,
                  note=note[:MAX_TEXT], now=at)


def finish(engine: Engine, consultation_id: int, *, actor: str, matters_solved: int = 0,
           done_on: dt.date | None = None, dropped: bool = False,
           principal: Principal | None = None) -> str:
    """A decided matter carried out (``done``) with the livelihood matters it solved (民生实事),
    or any open matter dropped. Returns the status."""
    if matters_solved < 0 or (dropped and matters_solved):
        raise SelfGovError("matters solved is a count, and a dropped matter solved none")
    k = consultations.c
    status = "dropped" if dropped else "done"
    with engine.begin() as conn:
        row = conn.execute(sa.select(k.code, k.status, k.opened_on, k.microgrid_id).where(
            k.id == consultation_id).with_for_update()).one_or_none()
        if row is None:
            raise NotFound(f"no consultation with id {consultation_id}")
        _allowed(conn, principal, row.microgrid_id, f"the end of {row.code}")
        if row.status in ("done", "dropped"):
            raise SelfGovError(f"consultation {row.code} is already {row.status}")
        if not dropped and row.status != "decided":
            raise SelfGovError(f"consultation {row.code} is {row.status}: it is done once a "
                               "sitting has decided it")
        done_on = done_on or wf.now_utc().date()
        if done_on < row.opened_on:
            raise SelfGovError(f"consultation {row.code} opened on {row.opened_on}")
        conn.execute(sa.update(consultations).values(
            status=status, done_on=done_on if not dropped else None,
            matters_solved=matters_solved, actor=actor).where(k.id == consultation_id))
    return status


def matters(engine: Engine, unit: dict | None, limit: int = 50) -> list[dict]:
    """The consultations of a unit, newest first, with their sittings and decisions counted
    (what a council consults on is public: no person is named)."""
    f = in_unit(unit, "t")
    sql = f"""
    SELECT t.id, t.code, t.title, t.brand, t.status, t.matters_solved, t.opened_on, t.done_on,
           o.name AS council, count(s.id) AS sessions, count(s.decision) AS decisions,
           max(s.held_at) AS last_at
      FROM consultations t
      LEFT JOIN organizations o ON o.town_id = t.town_id AND o.id = t.organization_id
      LEFT JOIN consultation_sessions s ON s.town_id = t.town_id AND s.consultation_id = t.id
     WHERE {f}
     GROUP BY t.town_id, t.id, o.name ORDER BY t.opened_on DESC, t.id DESC LIMIT :limit"""  # noqa: S608
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), {
            "unit": unit["id"] if unit else None, "limit": limit}).mappings()]


def sessions_of(engine: Engine, consultation_id: int) -> list[dict]:
    """A matter's sittings in order: minutes, decision, vote, events opened or resolved."""
    s = consultation_sessions.c
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(
            s.id, s.held_at, s.place, s.attendees, s.minutes, s.decision, s.votes_for,
            s.votes_against, s.votes_abstain, s.opens_event_id, s.closes_event_id)
            .where(s.consultation_id == consultation_id).order_by(s.held_at, s.id)).mappings()]


# --- 文明啄木鸟 ------------------------------------------------------------------------------
def volunteer_by_id(engine: Engine, key: PiiKey, id_number: str) -> int:
    """The resident with this ID-card number (compared as its keyed hash) if they serve in a
    volunteer team; SelfGovError otherwise, never quoting the number."""
    try:
        digest, _ = protect_id(key, id_number)
    except ValueError:
        raise SelfGovError("the ID-card number is not a valid one") from None
    with engine.connect() as conn:
        found = conn.execute(sa.text("""
            SELECT p.id FROM people p
             WHERE p.id_hash = :h AND EXISTS (
                SELECT 1 FROM organization_members m JOIN organizations o
                    ON o.town_id = m.town_id AND o.id = m.organization_id
                       AND o.kind = 'volunteer_team'
                 WHERE m.town_id = p.town_id AND m.person_id = p.id)"""), {"h": digest}).scalar()
    if found is None:
        raise SelfGovError("no volunteer of the twin has this ID-card number")
    return found


def woodpecker_report(engine: Engine, person_id: int, *, category: str, title: str,
                      lon: float, lat: float, actor: str, description: str | None = None,
                      client_key: str | None = None,
                      principal: Principal | None = None) -> wf.Event:
    """A volunteer's report (随手拍): an event of source ``volunteer`` and who reported it,
    in one transaction. The reporter must serve in a volunteer team, and a principal who
    records it for them must hold the place; a retried submission returns the first
    event."""
    with engine.begin() as conn:
        reporter = conn.execute(sa.select(
            people.c.household_id, sa.func.min(organizations.c.id).label("team"))
            .join(organization_members, sa.and_(
                organization_members.c.town_id == people.c.town_id,
                organization_members.c.person_id == people.c.id))
            .join(organizations, sa.and_(
                organizations.c.town_id == organization_members.c.town_id,
                organizations.c.id == organization_members.c.organization_id,
                organizations.c.kind == "volunteer_team"))
            .where(people.c.id == person_id).group_by(people.c.household_id)).one_or_none()
        if reporter is None:
            raise SelfGovError(f"person {person_id} serves in no volunteer team")
        if reporter.household_id is None:
            raise SelfGovError(f"person {person_id} belongs to no household")
        event = wf.report(conn, category=category, title=title, lon=lon, lat=lat,
                          source="volunteer", actor=actor, description=description,
                          client_key=client_key)
        _allowed(conn, principal, conn.execute(sa.text(
            "SELECT microgrid_id FROM events WHERE id = :e"), {"e": event.id}).scalar(),
            "a report")
        conn.execute(pg_insert(volunteer_reports).values(
            town_id=town_of(conn, events, event.id), event_id=event.id, person_id=person_id, household_id=reporter.household_id,
            organization_id=reporter.team).on_conflict_do_nothing())
    return event


# --- figures -------------------------------------------------------------------------------
def measures(engine: Engine, unit: dict | None, start: dt.datetime,
             end: dt.datetime) -> dict:
    """自治's figures of a unit (None = the county): villages with a compact in force, the
    councils and groups and their members, the consultations by status, the livelihood
    matters solved, the sittings and decisions in the period, and the 文明啄木鸟 channel —
    reports in the period and the share of them solved. Aggregates only."""
    f = in_unit(unit, "t")
    village = ("true" if unit is None else
               "false" if unit["level"] in ("grid", "microgrid") else
               "t.id = :unit" if unit["level"] == "village" else "t.parent_id = :unit")
    sql = f"""
    SELECT
      (SELECT count(*) FROM units t WHERE t.level = 'village' AND {village}) AS villages,
      (SELECT count(*) FROM compacts c JOIN units t ON t.town_id = c.town_id AND t.id = c.unit_id
        WHERE c.valid_to IS NULL AND {village}) AS compacts,
      (SELECT coalesce(jsonb_object_agg(kind, n), '{{}}') FROM (
          SELECT t.kind, count(*) AS n FROM organizations t
           WHERE t.kind = ANY(:councils) AND {f} GROUP BY t.kind) s) AS councils,
      (SELECT count(DISTINCT m.person_id) FROM organization_members m
         JOIN organizations t ON t.town_id = m.town_id AND t.id = m.organization_id
        WHERE t.kind = ANY(:councils) AND {f}) AS council_members,
      (SELECT coalesce(jsonb_object_agg(status, n), '{{}}') FROM (
          SELECT t.status, count(*) AS n FROM consultations t WHERE {f}
           GROUP BY t.status) s) AS matters,
      (SELECT coalesce(sum(t.matters_solved), 0)::int FROM consultations t
        WHERE t.status = 'done' AND {f}) AS matters_solved,
      (SELECT count(*) FROM consultation_sessions s JOIN consultations t
           ON t.town_id = s.town_id AND t.id = s.consultation_id WHERE {f}) AS sessions,
      (SELECT count(*) FROM consultation_sessions s JOIN consultations t
           ON t.town_id = s.town_id AND t.id = s.consultation_id
        WHERE s.held_at >= :start AND s.held_at < :end AND {f}) AS sessions_period,
      (SELECT count(*) FROM consultation_sessions s JOIN consultations t
           ON t.town_id = s.town_id AND t.id = s.consultation_id
        WHERE s.decision IS NOT NULL AND {f}) AS decisions,
      (SELECT count(*) FROM events t WHERE t.source = 'volunteer'
          AND t.reported_at >= :start AND t.reported_at < :end AND {f}) AS reports,
      (SELECT count(*) FROM events t WHERE t.source = 'volunteer'
          AND t.status IN ('resolved', 'closed')
          AND t.reported_at >= :start AND t.reported_at < :end AND {f}) AS reports_solved,
      (SELECT count(DISTINCT m.person_id) FROM organization_members m
         JOIN organizations o ON o.town_id = m.town_id AND o.id = m.organization_id
                             AND o.kind = 'volunteer_team'
         JOIN units u ON u.town_id = o.town_id AND u.id = o.unit_id
                     AND u.level = 'town'  -- a town's team: 文明啄木鸟
         JOIN people t ON t.town_id = m.town_id AND t.id = m.person_id  -- who live in the unit
        WHERE {f}) AS woodpeckers
    """  # noqa: S608 - the unit's column comes from CELL_COLUMNS only (in_unit)
    with engine.connect() as conn:
        row = dict(conn.execute(sa.text(sql), {
            "unit": unit["id"] if unit else None, "start": start, "end": end,
            "councils": list(COUNCILS)}).mappings().one())
    row["matters_total"] = sum(row["matters"].values())
    row["reports_pct"] = (round(100.0 * row["reports_solved"] / row["reports"], 1)
                          if row["reports"] else None)
    return row


def clauses(compact: dict) -> list[str]:
    """A compact's clauses in order."""
    body = compact["clauses"]
    return list(json.loads(body) if isinstance(body, str) else body)


def place_of(engine: Engine, unit_code: str) -> tuple[float, float]:
    """A point inside a unit (where a matter is placed when no point is given)."""
    with engine.connect() as conn:
        found = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM units "
            "WHERE code = :c) s"), {"c": unit_code}).one_or_none()
    if found is None:
        raise NotFound(f"no unit {unit_code!r}")
    return float(found[0]), float(found[1])
