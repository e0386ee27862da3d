"""法治 (rule of law): 桐解码 dispute mediation, matched mediators, sessions, the signed
agreement; community judges; public legal service places and their appointments.

A dispute is its own flow, linked to an event of the loop (category ``dispute``):

    applied → accepted → matched → mediating → agreed → confirm_requested → confirmed
         ╰──────────────┴─────────┴───────────┴→ litigation (诉讼引导, handed to a court)
    applied/accepted/matched/mediating → withdrawn; applied → rejected

Each move is appended to ``dispute_log`` (who, when, from, to, note) in the transaction
that makes it, with the event's own move: accepted takes the event on; agreed, litigation
and withdrawn resolve it; rejected rejects it. A dispute is *agreed* when the last party
signs the agreement through their own signed link; a signed agreement never changes (the
store refuses), and its SHA-256 verifies the PDF anyone holds.

The parties, the mediators and the judges are personal data: names and masked numbers are
shown to the officials of the dispute's units and to the parties themselves; what leaves
by tiles and OGC is the dispute's kind, status, place and times.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from twin.config import Settings
from twin.domain import agreement as doc
from twin.domain import links
from twin.domain import workflow as wf
from twin.domain.access import Principal, in_scope, may
from twin.domain.pii import PiiKey, mask_name, protect_id, protect_phone, typed_text
from twin.domain.units import in_unit
from twin.errors import NotFound, TwinError
from twin.i18n import t
from twin.store.schema import (
    agreement_signatures,
    agreements,
    dispute_log,
    dispute_parties,
    dispute_sessions,
    disputes,
    events,
    legal_appointments,
    legal_places,
    match_weights,
    town_of,
    units,
)

KINDS = ("neighbour", "family", "land", "homestead", "labour", "contract", "damage", "traffic",
         "property", "consumer", "other")
CHANNELS = ("resident", "official", "event")
STATUSES = ("applied", "accepted", "matched", "mediating", "agreed", "confirm_requested",
            "confirmed", "litigation", "withdrawn", "rejected")
OPEN = ("applied", "accepted", "matched", "mediating")
SETTLED = ("agreed", "confirm_requested", "confirmed")
ENDED = (*SETTLED, "litigation", "withdrawn")  # how the rates count: a dispute that ended
CLOSED = ("confirmed", "litigation", "withdrawn", "rejected")  # closed_at is set
# the moves an official makes (agreed comes from the last signature, not from a press)
MOVES: dict[str, tuple[str, ...]] = {
    "applied": ("accepted", "rejected", "withdrawn", "litigation"),
    "accepted": ("matched", "withdrawn", "litigation"),
    "matched": ("matched", "mediating", "withdrawn", "litigation"),
    "mediating": ("litigation", "withdrawn"),
    "agreed": ("confirm_requested",),
    "confirm_requested": ("confirmed",),
}
PLACE_KINDS = ("service_centre", "law_yard", "bench_court", "judge_station",
               "mediator_station")
SERVICES = ("consultation", "legal_aid", "notarisation", "appraisal", "mediation",
            "health_check")
MODES = ("in_person", "online")
WEIGHTS = ("expertise", "distance", "caseload", "success")
MAX_TEXT = 2000
BOOK_DAYS = 30            # how far ahead a resident may book
TZ = dt.timezone(dt.timedelta(hours=8))  # slots are in Beijing time
DISPUTE_CATEGORY = "dispute"


class LawError(TwinError):
    """A dispute, session, signature or booking that cannot be taken, with the reason."""


class SlotTaken(LawError):
    """The slot was booked by someone else first."""


def _text(value: str | None, what: str, *, required: bool = True,
          limit: int = MAX_TEXT) -> str | None:
    return typed_text(value, what, LawError, required=required, limit=limit)


def _allowed(conn: Connection, principal: Principal | None, unit_id: int, what: str) -> None:
    """A principal (None: the system, a party through their link) may act on a dispute only
    when its role handles the loop and the dispute lies in its units."""
    if principal is None:
        return
    if not (may(principal, "handle") and in_scope(conn, principal, unit_id)):
        raise LawError(f"{principal.name} may not act on {what}: outside their units, or "
                       "their role does not")


# --- signed links: the applicant's status page, each party's signing page, a booking -------
def token(settings: Settings, what: str, row_id: int) -> str:
    """``<id>.<mac>``: the id signed for one purpose (``dispute``, ``sign``, ``booking``)."""
    return f"{row_id}.{links.sign(settings, f'law-{what}:{row_id}'.encode())}"


def token_id(settings: Settings, what: str, value: str) -> int:
    """The id a token stands for, or NotFound (the same answer for every bad token)."""
    head, _, mac = (value or "").partition(".")
    if not head.isdigit() or len(head) > 18 or not hmac.compare_digest(
            links.sign(settings, f"law-{what}:{head}".encode()), mac):
        raise NotFound("no such link")
    return int(head)


# --- the flow -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartyIn:
    """A party as an applicant or an official enters them: numbers are kept as hash + mask."""

    name: str
    id_number: str | None = None
    phone: str | None = None


def _party_row(key: PiiKey, party: PartyIn, role: str) -> dict[str, Any]:
    name = (party.name or "").strip()
    if not name or len(name) > 40 or "\x00" in name:
        raise LawError(f"the {role}'s name is empty or longer than 40 characters")
    row: dict[str, Any] = {"role": role, "name": name, "id_hash": None, "id_masked": None,
                           "phone_hash": None, "phone_masked": None}
    try:
        if party.id_number:
            row["id_hash"], row["id_masked"] = protect_id(key, party.id_number)
        if party.phone:
            row["phone_hash"], row["phone_masked"] = protect_phone(key, party.phone)
    except ValueError as exc:
        raise LawError(f"the {role}'s {exc}") from None
    return row


def _log(conn: Connection, dispute_id: int, at: dt.datetime, actor: str, before: str | None,
         after: str, note: str | None = None) -> None:
    conn.execute(sa.insert(dispute_log).values(
        town_id=town_of(conn, disputes, dispute_id), dispute_id=dispute_id, at=at, actor=actor, from_status=before, to_status=after,
        note=_text(note, "the note", required=False)))


def village_point(engine: Engine | Connection, village: str) -> tuple[float, float]:
    """A point inside the village of that code (where an application without a point lies)."""
    with wf._read(engine) as conn:
        found = conn.execute(sa.select(
            sa.func.ST_X(sa.func.ST_PointOnSurface(units.c.geom)),
            sa.func.ST_Y(sa.func.ST_PointOnSurface(units.c.geom)))
            .where(units.c.code == (village or ""), units.c.level == "village")).one_or_none()
    if found is None:
        raise LawError(f"no village with code {village!r}")
    return found[0], found[1]


def apply(engine: Engine, key: PiiKey, *, kind: str, facts: str, applicant: PartyIn,
          respondent: PartyIn, channel: str, actor: str, lon: float | None = None,
          lat: float | None = None, village: str | None = None, claim: str | None = None,
          amount: float | None = None, online: bool = False, event_id: int | None = None,
          title: str | None = None, client_key: str | None = None,
          principal: Principal | None = None, now: dt.datetime | None = None) -> dict:
    """Apply for mediation (one-click on the phone, by an official, or from an event): the
    dispute, its two parties, its first log line and — unless it comes from an event — an
    event of the loop (category ``dispute``, source ``mediation``), in one transaction. A
    retried application (same ``client_key``) returns the first. Returns id and code."""
    if kind not in KINDS:
        raise LawError(f"kind of dispute is one of {', '.join(KINDS)}, not {kind!r}")
    if channel not in CHANNELS:
        raise LawError(f"channel is one of {', '.join(CHANNELS)}, not {channel!r}")
    if (channel == "event") != (event_id is not None):
        raise LawError("a dispute comes from an event exactly when its channel is 'event'")
    facts = _text(facts, "what happened")
    claim = _text(claim, "the request", required=False)
    title = _text(title, "the title", required=False, limit=60) or \
        f"{t('law.kind.' + kind)}：{facts.splitlines()[0][:24]}"
    if amount is not None and not 0 <= amount < 1e12:
        raise LawError("the amount in dispute is a sum of yuan, not negative")
    parties = [_party_row(key, applicant, "applicant"), _party_row(key, respondent,
                                                                   "respondent")]
    if parties[0].get("phone_hash") is None and channel == "resident":
        raise LawError("the applicant's phone number is needed to reach them")
    now = now or wf.now_utc()
    d = disputes.c
    with engine.begin() as conn:
        if client_key is not None:
            found = conn.execute(sa.select(d.id, d.code).where(d.client_key == client_key)
                                 ).mappings().one_or_none()
            if found is not None:
                return dict(found)
        if event_id is not None:
            source = conn.execute(sa.select(
                events.c.category, sa.func.ST_X(events.c.geom), sa.func.ST_Y(events.c.geom))
                .where(events.c.id == event_id)).one_or_none()
            if source is None:
                raise NotFound(f"no event with id {event_id}")
            if conn.execute(sa.select(d.code).where(d.event_id == event_id)).scalar():
                raise LawError(f"event {event_id} is already a dispute")
            lon, lat = source[1], source[2]
        elif lon is None or lat is None:
            lon, lat = village_point(conn, village or "")
        new_id = conn.execute(sa.select(sa.func.nextval(
            sa.func.pg_get_serial_sequence("disputes", "id")))).scalar()
        code = f"TJM{now.astimezone(TZ):%Y%m}-{new_id:05d}"
        try:
            row = conn.execute(sa.insert(disputes).values(
                id=new_id, code=code, kind=kind, title=title, facts=facts, claim=claim,
                amount=amount, channel=channel, online=online, status="applied",
                applied_at=now, client_key=client_key, actor=actor,
                geom=sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326))
                .returning(d.microgrid_id, d.town_id)).one()
        except sa.exc.IntegrityError as exc:  # the cell trigger: the point is in no unit
            message = getattr(exc.orig.diag, "message_primary", None) or str(exc.orig)
            raise LawError(f"{message}: check the place of the dispute") from None
        _allowed(conn, principal, row.microgrid_id, f"dispute {code}")
        if event_id is None:
            event = wf.report(conn, category=DISPUTE_CATEGORY, title=title, description=facts,
                              lon=lon, lat=lat, source="mediation", actor=actor, now=now)
            event_id = event.id
        conn.execute(sa.update(disputes).values(event_id=event_id).where(d.id == new_id))
        conn.execute(sa.insert(dispute_parties), [
            {**p, "town_id": row.town_id, "dispute_id": new_id} for p in parties])
        _log(conn, new_id, now, actor, None, "applied",
             {"resident": "桐解码一键申请", "official": "工作人员代为申请",
              "event": "由事件转为调解"}[channel])
    return {"id": new_id, "code": code}


def _locked(conn: Connection, dispute_id: int, version: int | None) -> Any:
    row = conn.execute(sa.select(disputes).where(disputes.c.id == dispute_id)
                       .with_for_update()).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no dispute with id {dispute_id}")
    if version is not None and row["version"] != version:
        raise wf.StaleVersion(f"dispute {row['code']} was changed by someone else (version "
                              f"{row['version']}, not {version}): reload it")
    return row


def _event_follows(conn: Connection, event_id: int | None, to: str, actor: str, note: str,
                   at: dt.datetime) -> None:
    """The linked event moves with the dispute: taken on when it is accepted, resolved when
    it is settled, handed to court or withdrawn, rejected when it is not taken."""
    if event_id is None:
        return
    event = wf.get_event(conn, event_id)
    if event.status in wf.DONE:
        return
    if to == "rejected":
        wf.reject(conn, event_id, note, actor=actor, expected_version=event.version, now=at)
        return
    if event.status not in ("handling", "warned"):
        event = wf.accept(conn, event_id, actor=actor, expected_version=event.version, now=at)
    if to in ("agreed", "litigation", "withdrawn"):
        wf.transition(conn, event_id, "resolved", actor=actor, expected_version=event.version,
                      note=note[:MAX_TEXT], now=at)


def _move(conn: Connection, row: Any, to: str, actor: str, at: dt.datetime,
          note: str | None, **values: Any) -> None:
    stamps = {"accepted": "accepted_at", "matched": "matched_at", "agreed": "agreed_at"}
    if to in stamps and row[stamps[to]] is None:
        values[stamps[to]] = at
    if to in CLOSED:
        values["closed_at"] = at
    conn.execute(sa.update(disputes).values(status=to, version=disputes.c.version + 1,
                                            **values).where(disputes.c.id == row["id"]))
    _log(conn, row["id"], at, actor, row["status"], to, note)
    follows = {"accepted": "受理", "agreed": "调解成功，协议已签署", "litigation": "调解不成，诉讼引导",
               "withdrawn": "申请人撤回", "rejected": "不予受理"}
    if to in follows:
        _event_follows(conn, row["event_id"], to, actor,
                       f"{row['code']} {follows[to]}" + (f"：{note}" if note else ""), at)


def move(engine: Engine, dispute_id: int, to: str, *, actor: str, note: str | None = None,
         version: int | None = None, court: str | None = None,
         principal: Principal | None = None, now: dt.datetime | None = None) -> str:
    """An official's move of a dispute (MOVES): accept, reject, hand to litigation (with the
    court it goes to), withdraw, request and record judicial confirmation. Returns the new
    status."""
    now = now or wf.now_utc()
    note = _text(note, "the note", required=False)
    with engine.begin() as conn:
        row = _locked(conn, dispute_id, version)
        _allowed(conn, principal, row["microgrid_id"], f"dispute {row['code']}")
        if to not in MOVES.get(row["status"], ()) or to == "matched":
            raise LawError(f"dispute {row['code']} is {row['status']}: it cannot go to {to}")
        values: dict[str, Any] = {}
        if to == "rejected" and not note:
            raise LawError("say why the application is not taken")
        if to == "litigation":
            values["handed_to"] = _text(court, "the court the case is handed to", limit=80)
        _move(conn, row, to, actor, now, note, **values)
    return to


# --- 智能匹配 ---------------------------------------------------------------------------------
_CANDIDATES = sa.text("""
WITH d AS MATERIALIZED (
    SELECT d.id, d.kind, ST_PointOnSurface(v.geom) AS at
      FROM disputes d JOIN units v ON v.town_id = d.town_id AND v.id = d.village_id WHERE d.id = :id
), w AS MATERIALIZED (
    SELECT * FROM match_weights ORDER BY id DESC LIMIT 1
), near AS MATERIALIZED (  -- the active mediators within three times the reach
    SELECT m.id, m.person_id, m.organization_id, m.expertise,
           ST_Distance(m.geom::geography, d.at::geography) / 1000.0 AS km
      FROM mediators m CROSS JOIN d CROSS JOIN w
     WHERE m.kind = 'mediator' AND m.active
       AND ST_DWithin(m.geom::geography, d.at::geography, w.reach_km * 3000)
), history AS MATERIALIZED (  -- their open cases and record, once for all of them
    SELECT x.mediator_id,
           count(*) FILTER (WHERE x.status IN ('matched', 'mediating')) AS open,
           count(*) FILTER (WHERE x.status IN ('agreed', 'confirm_requested', 'confirmed'))
               AS won,
           count(*) FILTER (WHERE x.status IN ('agreed', 'confirm_requested', 'confirmed',
                                               'litigation')) AS ended
      FROM disputes x WHERE x.mediator_id IN (SELECT id FROM near)
     GROUP BY x.mediator_id
), scored AS (
    SELECT n.id, n.person_id, n.organization_id, o.name AS organization, n.expertise, n.km,
           coalesce(h.open, 0) AS open, coalesce(h.won, 0) AS won,
           coalesce(h.ended, 0) AS ended,
           CASE WHEN d.kind = ANY (n.expertise) THEN 1.0
                WHEN 'general' = ANY (n.expertise) THEN 0.5 ELSE 0.0 END AS s_expertise,
           greatest(0.0, 1.0 - n.km / w.reach_km) AS s_distance,
           1.0 / (1.0 + coalesce(h.open, 0) / 2.0) AS s_caseload,
           (coalesce(h.won, 0) + 1.0) / (coalesce(h.ended, 0) + 2.0) AS s_success,
           w.expertise AS w_expertise, w.distance AS w_distance, w.caseload AS w_caseload,
           w.success AS w_success
      FROM near n CROSS JOIN d CROSS JOIN w
      LEFT JOIN history h ON h.mediator_id = n.id
      LEFT JOIN organizations o ON o.id = n.organization_id
)
SELECT s.*, p.name,
       (w_expertise * s_expertise + w_distance * s_distance + w_caseload * s_caseload
        + w_success * s_success) / (w_expertise + w_distance + w_caseload + w_success)
       AS score
  FROM scored s JOIN people p ON p.id = s.person_id
 ORDER BY score DESC, s.km, s.id
 LIMIT :limit""")


def candidates(engine: Engine | Connection, dispute_id: int, limit: int = 10) -> list[dict]:
    """The mediators ranked for a dispute (within three times the reach of its village):
    each with its score, the four parts of it and the facts behind them — the kind of
    dispute against their expertise, the distance from the village to their base, their
    open cases and their record — so an official sees why each ranks where it does."""
    with wf._read(engine) as conn:
        rows = conn.execute(_CANDIDATES, {"id": dispute_id, "limit": limit}).mappings().all()
    return [{**dict(r), "rank": i} for i, r in enumerate(rows, 1)]


def reasons(c: dict, kind: str) -> str:
    """Why a candidate ranks where it does, in the words an official reads."""
    skill = ("擅长" + t("law.kind." + kind) if c["s_expertise"] == 1.0 else
             "综合调解" if c["s_expertise"] else "不擅长此类")
    record = (f"成功{c['won']}/{c['ended']}件" if c["ended"] else "暂无结案记录")
    return f"{skill} · 距离{c['km']:.1f}公里 · 在办{c['open']}件 · {record}"


def weights(engine: Engine | Connection) -> dict:
    """The matching weights in force, and who set them when."""
    with wf._read(engine) as conn:
        return dict(conn.execute(sa.select(match_weights).order_by(match_weights.c.id.desc())
                                 .limit(1)).mappings().one())


def set_weights(engine: Engine, principal: Principal, *, expertise: float, distance: float,
                caseload: float, success: float, reach_km: float) -> dict:
    """An administrator changes the matching weights (a new row: the old stay as history)."""
    if principal.role != "admin":
        raise LawError(f"{principal.name} may not change the matching weights: an "
                       "administrator does")
    values = {"expertise": expertise, "distance": distance, "caseload": caseload,
              "success": success}
    if min(values.values()) < 0 or sum(values.values()) <= 0 or not 0 < reach_km <= 200:
        raise LawError("weights are not negative and not all zero; the reach is 0–200 km")
    with engine.begin() as conn:
        conn.execute(sa.insert(match_weights).values(**values, reach_km=reach_km,
                                                     set_by=principal.name))
    return weights(engine)


def match(engine: Engine, dispute_id: int, mediator_id: int, *, actor: str,
          override_reason: str | None = None, version: int | None = None,
          principal: Principal | None = None, now: dt.datetime | None = None) -> dict:
    """Confirm the team for a dispute: the mediator (and their organisation), and the
    community judge linked to the dispute's village. Choosing any but the first candidate
    needs a reason, which is logged. Returns the rank and score of the one chosen."""
    now = now or wf.now_utc()
    reason = _text(override_reason, "the reason", required=False, limit=200)
    with engine.begin() as conn:
        row = _locked(conn, dispute_id, version)
        _allowed(conn, principal, row["microgrid_id"], f"dispute {row['code']}")
        if "matched" not in MOVES.get(row["status"], ()):
            raise LawError(f"dispute {row['code']} is {row['status']}: accept it before a "
                           "team is matched")
        ranked = candidates(conn, dispute_id, limit=1000)
        chosen = next((c for c in ranked if c["id"] == mediator_id), None)
        if chosen is None:
            raise LawError(f"mediator {mediator_id} is not among the candidates of "
                           f"{row['code']} (inactive, or too far)")
        if chosen["rank"] > 1 and not reason:
            raise LawError(f"the team ranked {chosen['rank']}, not first: say why it is chosen")
        judge = conn.execute(sa.text("""
            SELECT j.id FROM mediators j JOIN units v ON v.code = ANY (j.villages)
             WHERE j.kind = 'judge' AND j.active AND v.id = :v ORDER BY j.id LIMIT 1"""),
            {"v": row["village_id"]}).scalar()
        note = (f"匹配第{chosen['rank']}名（{chosen['score']:.2f}）：{chosen['organization'] or ''}"
                f" · {reasons(chosen, row['kind'])}")
        if chosen["rank"] > 1:
            note += f"；改选理由：{reason}"
        _move(conn, row, "matched", actor, now, note, mediator_id=mediator_id,
              organization_id=chosen["organization_id"], judge_id=judge,
              match_rank=chosen["rank"], match_score=chosen["score"],
              override_reason=reason if chosen["rank"] > 1 else None)
    return {"rank": chosen["rank"], "score": chosen["score"], "judge_id": judge}


# --- sessions -----------------------------------------------------------------------------
def schedule(engine: Engine, dispute_id: int, *, at: dt.datetime, mode: str, actor: str,
             place: str | None = None, room: str | None = None,
             client_key: str | None = None, principal: Principal | None = None) -> int:
    """Schedule a mediation session: its time and its place, or the online room's name (the
    video meeting itself is held outside the twin). Returns the session's id."""
    if mode not in MODES:
        raise LawError(f"a session is held in person or online, not {mode!r}")
    place = _text(place, "the place", required=mode == "in_person", limit=120)
    room = _text(room, "the online room", required=mode == "online", limit=120)
    s = dispute_sessions.c
    with engine.begin() as conn:
        if client_key is not None:
            found = conn.execute(sa.select(s.id).where(s.client_key == client_key)).scalar()
            if found is not None:
                return found
        row = _locked(conn, dispute_id, None)
        _allowed(conn, principal, row["microgrid_id"], f"dispute {row['code']}")
        if row["status"] not in ("matched", "mediating"):
            raise LawError(f"dispute {row['code']} is {row['status']}: a session is held once "
                           "a team is matched")
        return conn.execute(sa.insert(dispute_sessions).values(
            town_id=row["town_id"], dispute_id=dispute_id, scheduled_at=at, mode=mode,
            place=place if mode == "in_person" else None,
            room=room if mode == "online" else None, client_key=client_key,
            actor=actor).returning(s.id)).scalar()


def hold(engine: Engine, session_id: int, *, held_at: dt.datetime, present: list[int],
         attendees: int, actor: str, notes: str | None = None,
         principal: Principal | None = None) -> None:
    """Record that a session was held: when, which parties attended, how many in all, the
    notes. The first session held puts the dispute into mediation."""
    notes = _text(notes, "the notes", required=False)
    if not 1 <= attendees <= 500:
        raise LawError("attendees is a number from 1 to 500")
    s = dispute_sessions.c
    with engine.begin() as conn:
        session = conn.execute(sa.select(s.dispute_id, s.held_at).where(s.id == session_id)
                               .with_for_update()).one_or_none()
        if session is None:
            raise NotFound(f"no session with id {session_id}")
        if session.held_at is not None:
            raise LawError("this session was already recorded as held")
        row = _locked(conn, session.dispute_id, None)
        _allowed(conn, principal, row["microgrid_id"], f"dispute {row['code']}")
        if row["status"] not in ("matched", "mediating"):
            raise LawError(f"dispute {row['code']} is {row['status']}")
        parties = set(conn.execute(sa.select(dispute_parties.c.id).where(
            dispute_parties.c.dispute_id == row["id"])).scalars())
        if not set(present) <= parties:
            raise LawError("those present must be parties of this dispute")
        if len(present) > attendees:
            raise LawError("attendees counts everyone there: at least the parties present")
        conn.execute(sa.update(dispute_sessions).values(
            held_at=held_at, present=sorted(present), attendees=attendees, notes=notes)
            .where(s.id == session_id))
        if row["status"] == "matched":
            _move(conn, row, "mediating", actor, held_at, "首次调解会议已召开")


def sessions_of(engine: Engine, dispute_id: int) -> list[dict]:
    s = dispute_sessions.c
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(
            s.id, s.scheduled_at, s.held_at, s.mode, s.place, s.room, s.present, s.attendees,
            s.notes).where(s.dispute_id == dispute_id).order_by(s.scheduled_at, s.id))
            .mappings()]


# --- the agreement ----------------------------------------------------------------------------
def _case(conn: Connection, row: Any, terms: list[str], version: int,
          at: dt.datetime) -> doc.Case:
    parties = conn.execute(sa.select(dispute_parties).where(
        dispute_parties.c.dispute_id == row["id"]).order_by(dispute_parties.c.id)).mappings()
    team = conn.execute(sa.text("""
        SELECT o.name AS organization, p.name AS mediator FROM mediators m
          JOIN people p ON p.town_id = m.town_id AND p.id = m.person_id
          LEFT JOIN organizations o ON o.town_id = m.town_id AND o.id = m.organization_id
         WHERE m.id = :m"""),
        {"m": row["mediator_id"]}).mappings().one()
    return doc.Case(
        code=row["code"], version=version, kind=t("law.kind." + row["kind"]), facts=row["facts"],
        claim=row["claim"], organization=team["organization"] or "人民调解委员会",
        mediator=team["mediator"], terms=tuple(terms), drafted_at=at, online=row["online"],
        parties=tuple(doc.Party("申请人" if p["role"] == "applicant" else "被申请人", p["name"],
                                p["id_masked"], p["phone_masked"]) for p in parties))


def default_terms(engine: Engine, dispute_id: int, now: dt.datetime | None = None) -> list[str]:
    """The template's terms for a dispute, filled from its amount."""
    with engine.connect() as conn:
        amount = conn.execute(sa.select(disputes.c.amount).where(
            disputes.c.id == dispute_id)).scalar()
    due = ((now or wf.now_utc()).astimezone(TZ) + dt.timedelta(days=15)).date()
    return doc.default_terms(float(amount) if amount else None, due)


def draft(engine: Engine, dispute_id: int, terms: list[str], *, actor: str,
          principal: Principal | None = None, now: dt.datetime | None = None) -> dict:
    """Draft (or redraft, while nobody has signed) the agreement of a dispute in mediation:
    the template filled from the case and ``terms``, rendered to PDF, kept with its SHA-256.
    Returns the version and the hash."""
    now = (now or wf.now_utc()).replace(microsecond=0)
    clean = [t for t in (_text(t, "a term", required=False, limit=500) for t in terms) if t]
    if not clean:
        raise LawError("the agreement has no terms")
    a = agreements.c
    with engine.begin() as conn:
        row = _locked(conn, dispute_id, None)
        _allowed(conn, principal, row["microgrid_id"], f"dispute {row['code']}")
        if row["status"] != "mediating":
            raise LawError(f"dispute {row['code']} is {row['status']}: an agreement is drafted "
                           "in mediation, after a session was held")
        version = (conn.execute(sa.select(sa.func.max(a.version)).where(
            a.dispute_id == dispute_id)).scalar() or 0) + 1
        pdf = doc.render(_case(conn, row, clean, version, now))
        digest = doc.sha256(pdf)
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(agreements).values(
                    town_id=row["town_id"], dispute_id=dispute_id, version=version, terms=clean, pdf=pdf, sha256=digest,
                    drafted_at=now, drafted_by=actor))
        except sa.exc.DBAPIError as exc:  # twin_agreement_guard: someone has signed
            raise LawError(f"the agreement of {row['code']} is signed and cannot change") \
                from exc
        _log(conn, dispute_id, now, actor, row["status"], row["status"],
             f"拟定调解协议第{version}稿，SHA-256 {digest[:16]}…")
    return {"version": version, "sha256": digest}


def current_agreement(engine: Engine | Connection, dispute_id: int) -> dict | None:
    """The latest version of a dispute's agreement (with its PDF) and who has signed it."""
    a, s = agreements.c, agreement_signatures.c
    with wf._read(engine) as conn:
        row = conn.execute(sa.select(a.id, a.version, a.terms, a.pdf, a.sha256, a.drafted_at)
                           .where(a.dispute_id == dispute_id).order_by(a.version.desc())
                           .limit(1)).mappings().one_or_none()
        if row is None:
            return None
        signed = conn.execute(sa.select(s.party_id, s.signed_at).where(
            s.agreement_id == row["id"])).all()
    return {**dict(row), "pdf": bytes(row["pdf"]), "signed": {p: at for p, at in signed}}


def party(engine: Engine, party_id: int) -> dict:
    """A party (for their own signing page): their name, role and dispute."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(
            dispute_parties.c.id, dispute_parties.c.role, dispute_parties.c.name,
            dispute_parties.c.dispute_id, disputes.c.code, disputes.c.kind, disputes.c.status)
            .join(disputes, sa.and_(disputes.c.town_id == dispute_parties.c.town_id,
                                    disputes.c.id == dispute_parties.c.dispute_id))
            .where(dispute_parties.c.id == party_id)).mappings().one_or_none()
    if row is None:
        raise NotFound("no such party")
    return dict(row)


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def sign(engine: Engine, party_id: int, *, sha256: str, typed_name: str, consent: bool,
         now: dt.datetime | None = None) -> dict:
    """A party signs the agreement they read (``sha256``: the hash of the version shown to
    them) by typing their name and ticking consent. The last signature settles the dispute
    (agreed; its event resolved). Returns whether the agreement is now signed by all."""
    now = now or wf.now_utc()
    if not consent:
        raise LawError("tick that you have read and agree to the agreement")
    with engine.begin() as conn:
        who = conn.execute(sa.select(dispute_parties).where(dispute_parties.c.id == party_id)
                           ).mappings().one_or_none()
        if who is None:
            raise NotFound("no such party")
        row = _locked(conn, who["dispute_id"], None)
        current = current_agreement(conn, row["id"])
        if current is None:
            raise LawError("there is no agreement to sign yet")
        if current["sha256"] != sha256:
            raise LawError("the agreement was redrafted after you opened it: read it again")
        if party_id in current["signed"]:
            raise LawError("you have signed this agreement already")
        if row["status"] != "mediating":
            raise LawError(f"dispute {row['code']} is {row['status']}: nothing to sign")
        if not _same_name(typed_name or "", who["name"]):
            raise LawError("type your full name as the agreement gives it")
        conn.execute(sa.insert(agreement_signatures).values(
            town_id=row["town_id"], agreement_id=current["id"], party_id=party_id, typed_name=who["name"],
            consent=True, sha256=sha256, signed_at=now))
        everyone = set(conn.execute(sa.select(dispute_parties.c.id).where(
            dispute_parties.c.dispute_id == row["id"])).scalars())
        done = everyone <= {*current["signed"], party_id}
        role = "申请人" if who["role"] == "applicant" else "被申请人"
        _log(conn, row["id"], now, f"party:{party_id}", row["status"],
             "agreed" if done else row["status"], f"{role}在线签署协议第{current['version']}稿")
        if done:
            _move_agreed(conn, row, now)
    return {"complete": done, "version": current["version"]}


def _move_agreed(conn: Connection, row: Any, at: dt.datetime) -> None:
    conn.execute(sa.update(disputes).values(status="agreed", agreed_at=at,
                                            version=disputes.c.version + 1)
                 .where(disputes.c.id == row["id"]))
    _event_follows(conn, row["event_id"], "agreed", "mediation",
                   f"{row['code']} 调解成功，协议已由各方签署", at)


def verify(engine: Engine, *, pdf: bytes | None = None, sha256: str | None = None) -> dict | None:
    """Whether a file (or a hash) is an agreement the twin holds: the dispute's code, the
    version, when it was drafted and when each side signed — no names. None: not ours."""
    if pdf is not None:
        sha256 = doc.sha256(pdf)
    sha256 = (sha256 or "").strip().lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.select(
            agreements.c.id, agreements.c.version, agreements.c.drafted_at,
            agreements.c.dispute_id, disputes.c.code, disputes.c.status)
            .join(disputes, sa.and_(disputes.c.town_id == agreements.c.town_id,
                                    disputes.c.id == agreements.c.dispute_id))
            .where(agreements.c.sha256 == sha256)).mappings().one_or_none()
        if row is None:
            return None
        signed = conn.execute(sa.select(dispute_parties.c.role, agreement_signatures.c.signed_at)
                              .join(dispute_parties, sa.and_(
                                  dispute_parties.c.town_id == agreement_signatures.c.town_id,
                                  dispute_parties.c.id == agreement_signatures.c.party_id))
                              .where(agreement_signatures.c.agreement_id == row["id"])
                              .order_by(agreement_signatures.c.signed_at)).all()
        parties = conn.execute(sa.select(sa.func.count()).where(
            dispute_parties.c.dispute_id == row["dispute_id"])).scalar()
        latest = conn.execute(sa.select(sa.func.max(agreements.c.version)).where(
            agreements.c.dispute_id == row["dispute_id"])).scalar()
    return {"sha256": sha256, "code": row["code"], "version": row["version"],
            "drafted_at": row["drafted_at"], "status": row["status"],
            "signatures": [(role, at) for role, at in signed], "parties": parties,
            "complete": len(signed) == parties, "superseded": latest != row["version"]}


# --- reading disputes -------------------------------------------------------------------------
def disputes_in(engine: Engine, unit: dict | None, *, statuses: tuple[str, ...] | None = None,
                limit: int = 200) -> list[dict]:
    """The disputes of a unit, the newest first (no party is named)."""
    f = in_unit(unit, "d")
    where = " AND d.status = ANY(:statuses)" if statuses else ""
    sql = f"""
    SELECT d.id, d.code, d.kind, d.title, d.status, d.channel, d.online, d.applied_at,
           d.agreed_at, d.closed_at, d.version, o.name AS organization
      FROM disputes d
      LEFT JOIN organizations o ON o.town_id = d.town_id AND o.id = d.organization_id
     WHERE {f}{where}
     ORDER BY d.applied_at DESC, d.id DESC LIMIT :limit"""  # noqa: S608
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), {
            "unit": unit["id"] if unit else None, "statuses": list(statuses or ()),
            "limit": limit}).mappings()]


def case(engine: Engine, dispute_id: int, *, names: bool) -> dict:
    """A dispute as its handler (``names``: an official of its units) or its applicant (the
    parties' names masked) sees it: the record, parties, team, log and sessions."""
    with engine.connect() as conn:
        row = conn.execute(sa.text("""
            SELECT d.*, o.name AS organization, mp.name AS mediator, jp.name AS judge,
                   v.name AS village, t.name AS town
              FROM disputes d
              LEFT JOIN organizations o ON o.town_id = d.town_id AND o.id = d.organization_id
              LEFT JOIN mediators m ON m.town_id = d.town_id AND m.id = d.mediator_id
              LEFT JOIN people mp ON mp.town_id = m.town_id AND mp.id = m.person_id
              LEFT JOIN mediators j ON j.town_id = d.town_id AND j.id = d.judge_id
              LEFT JOIN people jp ON jp.town_id = j.town_id AND jp.id = j.person_id
              JOIN units v ON v.id = d.village_id JOIN units t ON t.id = d.town_id
             WHERE d.id = :id"""), {"id": dispute_id}).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no dispute with id {dispute_id}")
        parties = [dict(p) for p in conn.execute(sa.select(
            dispute_parties.c.id, dispute_parties.c.role, dispute_parties.c.name,
            dispute_parties.c.id_masked, dispute_parties.c.phone_masked)
            .where(dispute_parties.c.dispute_id == dispute_id)
            .order_by(dispute_parties.c.id)).mappings()]
        log = [dict(r) for r in conn.execute(sa.select(
            dispute_log.c.at, dispute_log.c.actor, dispute_log.c.from_status,
            dispute_log.c.to_status, dispute_log.c.note)
            .where(dispute_log.c.dispute_id == dispute_id)
            .order_by(dispute_log.c.at, dispute_log.c.id)).mappings()]
    out = {k: v for k, v in dict(row).items() if k != "geom"}
    if not names:
        for p in parties:
            p["name"] = mask_name(p["name"])
        for k in ("mediator", "judge"):
            out[k] = mask_name(out[k]) if out[k] else None
        log = [{k: v for k, v in r.items() if k != "actor"} for r in log]
    return {**out, "parties": parties, "log": log}


def villages_of(engine: Engine, town_id: int) -> list[dict]:
    """The villages of a town (where an official of the town takes an application)."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(units.c.code, units.c.name).where(
            units.c.level == "village", units.c.parent_id == town_id)
            .order_by(units.c.name)).mappings()]


def dispute_events(engine: Engine, principal: Principal, limit: int = 100) -> list[dict]:
    """Open events of category ``dispute`` in the principal's units that are no dispute yet:
    what an official may turn into a mediation case."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("""
            SELECT e.id, e.code, e.title, e.reported_at FROM events e
             WHERE e.category = 'dispute' AND e.status = ANY(:open)
               AND NOT EXISTS (SELECT 1 FROM disputes d
                                WHERE d.town_id = e.town_id AND d.event_id = e.id)
               AND EXISTS (SELECT 1 FROM units u WHERE u.town_id = e.town_id
                             AND u.code = ANY(:scope)
                             AND u.id IN (e.town_id, e.village_id, e.grid_id, e.microgrid_id))
             ORDER BY e.reported_at DESC LIMIT :limit"""),
            {"open": list(wf.OPEN), "scope": list(principal.scope), "limit": limit}).mappings()]


# --- measures -------------------------------------------------------------------------------
_MEASURES = """
WITH d AS (
    SELECT d.* FROM disputes d
     WHERE {f} AND d.applied_at >= :start AND d.applied_at < :end
), mediated AS (  -- those with a session held (not correlated: on Citus, d is computed first)
    SELECT DISTINCT s.dispute_id AS id FROM dispute_sessions s
     WHERE s.held_at IS NOT NULL AND s.dispute_id IN (SELECT id FROM d)
)
SELECT count(*) AS disputes,
       count(*) FILTER (WHERE status = ANY(:settled)) AS settled,
       count(*) FILTER (WHERE status = ANY(:ended)) AS ended,
       count(*) FILTER (WHERE status = 'litigation') AS litigation,
       count(*) FILTER (WHERE status = ANY(:open)) AS open,
       count(*) FILTER (WHERE id IN (SELECT id FROM mediated)
                          AND status = ANY(:ended)) AS mediated,
       count(*) FILTER (WHERE id IN (SELECT id FROM mediated)
                          AND status = ANY(:settled)) AS mediated_settled,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM agreed_at - applied_at))
           FILTER (WHERE agreed_at IS NOT NULL) / 60 AS median_minutes,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM agreed_at - applied_at))
           FILTER (WHERE agreed_at IS NOT NULL) / 60 AS p90_minutes,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM agreed_at - applied_at))
           FILTER (WHERE agreed_at IS NOT NULL AND online) / 60 AS online_median_minutes,
       count(*) FILTER (WHERE online AND status = ANY(:settled)) AS online_settled,
       (SELECT coalesce(jsonb_object_agg(kind, n), '{{}}') FROM (
            SELECT kind, count(*) AS n FROM d GROUP BY kind) k) AS by_kind,
       (SELECT coalesce(jsonb_object_agg(status, n), '{{}}') FROM (
            SELECT status, count(*) AS n FROM d GROUP BY status) s) AS by_status,
       (SELECT count(*) FROM dispute_parties p WHERE p.dispute_id IN (SELECT id FROM d))
           AS parties
  FROM d"""


def measures(engine: Engine, unit: dict | None, start: dt.datetime, end: dt.datetime) -> dict:
    """The board's measures of a unit in a period: disputes by kind and status, the success
    rate (settled of those mediated), the pre-litigation rate (settled of those that
    ended), the time from application to agreement (median, p90; online), and the
    network — mediators, judges, places, the villages each judge is linked to, and the
    appointments of the period."""
    f = in_unit(unit, "d")
    params = {"unit": unit["id"] if unit else None, "start": start, "end": end,
              "settled": list(SETTLED), "ended": list(ENDED), "open": list(OPEN)}
    fm = in_unit(unit, "m")
    fp = in_unit(unit, "p")
    with engine.connect() as conn:
        row = dict(conn.execute(sa.text(_MEASURES.format(f=f)), params).mappings().one())
        network = dict(conn.execute(sa.text(f"""
            SELECT (SELECT count(*) FROM mediators m WHERE m.kind = 'mediator' AND m.active
                       AND {fm}) AS mediators,
                   (SELECT count(*) FROM mediators m WHERE m.kind = 'judge' AND m.active
                       AND {fm}) AS judges,
                   (SELECT count(DISTINCT v) FROM mediators m, unnest(m.villages) v
                     WHERE m.kind = 'judge' AND m.active AND {fm}) AS judged_villages,
                   (SELECT count(DISTINCT m.organization_id) FROM mediators m
                     WHERE m.kind = 'mediator' AND m.active AND {fm}) AS organizations,
                   (SELECT count(*) FROM legal_places p WHERE {fp}) AS places,
                   (SELECT count(*) FROM legal_appointments a JOIN legal_places p
                        ON p.town_id = a.town_id AND p.id = a.place_id
                     WHERE {fp} AND a.starts_at >= :start AND a.starts_at < :end
                       AND a.status <> 'cancelled') AS appointments"""),  # noqa: S608
            params).mappings().one())
    mediated, ended = row["mediated"], row["ended"]
    return {**row, **network,
            "success_pct": 100.0 * row["mediated_settled"] / mediated if mediated else None,
            "prelitigation_pct": 100.0 * row["settled"] / ended if ended else None}


def caseloads(engine: Engine, unit: dict | None, limit: int = 30) -> list[dict]:
    """Each mediator's open cases and record (the unit's mediators, busiest first); their
    names are for the officials of the unit only — callers decide (``names``)."""
    f = in_unit(unit, "m")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"""
            SELECT m.id, p.name, o.name AS organization, m.expertise,
                   count(d.id) FILTER (WHERE d.status IN ('matched', 'mediating')) AS open,
                   count(d.id) FILTER (WHERE d.status = ANY(:settled)) AS settled,
                   count(d.id) AS cases
              FROM mediators m JOIN people p ON p.town_id = m.town_id AND p.id = m.person_id
              LEFT JOIN organizations o ON o.town_id = m.town_id AND o.id = m.organization_id
              LEFT JOIN disputes d ON d.town_id = m.town_id AND d.mediator_id = m.id
             WHERE m.kind = 'mediator' AND m.active AND {f}
             GROUP BY m.town_id, m.id, p.name, o.name
             ORDER BY open DESC, cases DESC, m.id LIMIT :limit"""),  # noqa: S608
            {"unit": unit["id"] if unit else None, "settled": list(SETTLED),
             "limit": limit}).mappings()]


def coverage_gaps(engine: Engine, unit: dict | None, reach_km: float | None = None) -> list[dict]:
    """The villages farther than ``reach_km`` (default: the matching reach) from every
    active mediator's base: where mediation does not reach."""
    reach = reach_km or weights(engine)["reach_km"]
    f = in_unit(unit, "v")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"""
            SELECT v.code, v.name, n.km FROM units v
             CROSS JOIN LATERAL (
                SELECT ST_Distance(m.geom::geography, ST_PointOnSurface(v.geom)::geography)
                       / 1000.0 AS km
                  FROM mediators m WHERE m.kind = 'mediator' AND m.active
                 ORDER BY m.geom <-> ST_PointOnSurface(v.geom) LIMIT 1) n
             WHERE v.level = 'village' AND {f.replace('v.village_id', 'v.id')}
               AND n.km > :reach ORDER BY n.km DESC"""),  # noqa: S608
            {"unit": unit["id"] if unit else None, "reach": reach}).mappings()]


# --- legal service places and appointments ----------------------------------------------------
def places(engine: Engine, *, service: str | None = None, village: str | None = None) -> list[dict]:
    """The public legal service places (offering ``service``; serving ``village``), by town."""
    p = legal_places.c
    town = units.alias("t")
    q = (sa.select(p.id, p.code, p.kind, p.name, p.opening_hours, p.services, p.serves,
                   p.slot_minutes, town.c.name.label("town"))
         .join(town, sa.and_(town.c.town_id == p.town_id, town.c.id == p.town_id)).order_by(town.c.name, p.kind, p.name))
    if service:
        q = q.where(p.services.any(service))
    if village:
        q = q.where(p.serves.any(village))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def place(engine: Engine, code: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.select(legal_places).where(legal_places.c.code == code)
                           ).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no legal service place {code!r}")
    return {k: v for k, v in dict(row).items() if k != "geom"}


def slots(place_row: dict, day: dt.date) -> list[dt.datetime]:
    """The starts of a place's appointment slots on a day (Beijing time), if it is open."""
    if day.isoweekday() not in place_row["open_days"]:
        return []
    out, at = [], dt.datetime.combine(day, place_row["opens"], TZ)
    end = dt.datetime.combine(day, place_row["closes"], TZ)
    step = dt.timedelta(minutes=place_row["slot_minutes"])
    while at + step <= end:
        out.append(at)
        at += step
    return out


def free_slots(engine: Engine, place_row: dict, day: dt.date,
               now: dt.datetime | None = None) -> list[dt.datetime]:
    """The slots of a day still free (not booked, not past)."""
    now = now or wf.now_utc()
    every = [s for s in slots(place_row, day) if s > now]
    if not every:
        return []
    a = legal_appointments.c
    with engine.connect() as conn:
        taken = set(conn.execute(sa.select(a.starts_at).where(
            a.place_id == place_row["id"], a.status != "cancelled",
            a.starts_at >= every[0], a.starts_at <= every[-1])).scalars())
    return [s for s in every if s not in taken]


def book(engine: Engine, key: PiiKey, place_code: str, *, service: str,
         starts_at: dt.datetime, name: str, phone: str | None = None, note: str | None = None,
         client_key: str | None = None, now: dt.datetime | None = None) -> dict:
    """Book a slot at a place for a service. Of two bookings of one slot, exactly one is
    written (the store's unique slot index); the other gets SlotTaken. The name is kept
    masked and the phone as hash and mask. Returns the booking's id and code."""
    now = now or wf.now_utc()
    row = place(engine, place_code)
    if service not in row["services"]:
        raise LawError(f"{row['name']} does not offer {service}")
    if starts_at not in slots(row, starts_at.astimezone(TZ).date()):
        raise LawError(f"{starts_at.astimezone(TZ):%Y-%m-%d %H:%M} is not a slot of "
                       f"{row['name']} ({row['opening_hours']})")
    if not now < starts_at <= now + dt.timedelta(days=BOOK_DAYS + 1):
        raise LawError(f"book a slot from now to {BOOK_DAYS} days ahead")
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise LawError("your name is empty or longer than 40 characters")
    values: dict[str, Any] = {"name_masked": mask_name(name)}
    if phone:
        try:
            values["phone_hash"], values["phone_masked"] = protect_phone(key, phone)
        except ValueError as exc:
            raise LawError(f"the phone: {exc}") from None
    a = legal_appointments.c
    try:
        with engine.begin() as conn:
            if client_key is not None:
                found = conn.execute(sa.select(a.id, a.code).where(a.client_key == client_key)
                                     ).mappings().one_or_none()
                if found is not None:
                    return dict(found)
            new_id = conn.execute(sa.select(sa.func.nextval(
                sa.func.pg_get_serial_sequence("legal_appointments", "id")))).scalar()
            code = f"YY{starts_at.astimezone(TZ):%m%d}-{new_id:05d}"
            conn.execute(sa.insert(legal_appointments).values(
                id=new_id, code=code, town_id=row["town_id"], place_id=row["id"],
                service=service,
                starts_at=starts_at, status="booked", note=_text(note, "the note",
                                                                 required=False, limit=500),
                booked_at=now, client_key=client_key, **values))
    except sa.exc.IntegrityError as exc:
        if "legal_appointments_slot" in str(exc.orig):
            raise SlotTaken(f"{starts_at.astimezone(TZ):%m-%d %H:%M} at {row['name']} was just "
                            "booked by someone else: choose another time") from None
        raise
    return {"id": new_id, "code": code}


def booking(engine: Engine, booking_id: int) -> dict:
    """A booking as its holder sees it."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(
            legal_appointments.c.id, legal_appointments.c.code, legal_appointments.c.service,
            legal_appointments.c.starts_at, legal_appointments.c.status,
            legal_appointments.c.name_masked, legal_places.c.name.label("place"),
            legal_places.c.opening_hours, legal_places.c.code.label("place_code"))
            .join(legal_places, sa.and_(legal_places.c.town_id == legal_appointments.c.town_id,
                                        legal_places.c.id == legal_appointments.c.place_id))
            .where(legal_appointments.c.id == booking_id)).mappings().one_or_none()
    if row is None:
        raise NotFound("no such booking")
    return dict(row)


def cancel(engine: Engine, booking_id: int) -> None:
    """The holder cancels a booking not yet begun (the slot is free again)."""
    a = legal_appointments.c
    with engine.begin() as conn:
        done = conn.execute(sa.update(legal_appointments).values(status="cancelled").where(
            a.id == booking_id, a.status == "booked", a.starts_at > wf.now_utc())).rowcount
    if not done:
        raise LawError("this booking cannot be cancelled (already cancelled, or past)")


def appointments(engine: Engine, unit: dict | None, day: dt.date) -> list[dict]:
    """A day's appointments at the places of a unit (whom to expect: masked)."""
    f = in_unit(unit, "p")
    start = dt.datetime.combine(day, dt.time(0), TZ)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"""
            SELECT a.id, a.code, a.service, a.starts_at, a.status, a.name_masked,
                   a.phone_masked, p.name AS place
              FROM legal_appointments a
              JOIN legal_places p ON p.town_id = a.town_id AND p.id = a.place_id
             WHERE {f} AND a.starts_at >= :start AND a.starts_at < :end
             ORDER BY a.starts_at, p.name"""),  # noqa: S608
            {"unit": unit["id"] if unit else None, "start": start,
             "end": start + dt.timedelta(days=1)}).mappings()]


def mark(engine: Engine, booking_id: int, status: str, *, principal: Principal) -> None:
    """Staff record whether the resident came (attended, missed)."""
    if status not in ("attended", "missed"):
        raise LawError("a booking is marked attended or missed")
    a = legal_appointments.c
    with engine.begin() as conn:
        row = conn.execute(sa.select(legal_places.c.microgrid_id).join(
            legal_appointments, legal_appointments.c.place_id == legal_places.c.id)
            .where(a.id == booking_id)).one_or_none()
        if row is None:
            raise NotFound(f"no booking {booking_id}")
        _allowed(conn, principal, row.microgrid_id, "a booking")
        conn.execute(sa.update(legal_appointments).values(status=status).where(
            a.id == booking_id, a.status == "booked"))

