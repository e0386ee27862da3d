"""法治: a dispute goes its whole way (applied → accepted → matched → a session → the
agreement drafted, rendered and signed by both parties → agreed) with its event and log;
the matching ranks by the four weighted parts and says why, and an override needs a
reason; a signed agreement cannot change and its hash verifies the PDF; the PDF carries
ID numbers only masked; a dispute that is not settled goes to litigation; of two bookings
of one slot exactly one wins; measures agree with an independent count.

The module clears the sample's 法治 rows and builds its own small network, so what it
checks does not depend on the sample's draw."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
import sqlalchemy as sa

from twin.domain import law
from twin.domain import workflow as wf
from twin.domain.access import Principal
from twin.domain.pii import id_check_digit
from twin.errors import TwinError

AT = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)  # 10:00 in Tongxiang
PHONE = "13812345678"


def _id_number(seq: str) -> str:
    first = f"33048319850101{seq}"
    return first + id_check_digit(first)


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("law")


def _one(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


@pytest.fixture(scope="module")
def net(engine):
    """Three mediators of one committee at different distances and skills, and a judge
    linked to the first village; nothing else of 法治."""
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE legal_appointments, agreement_signatures, agreements, "
                             "dispute_sessions, dispute_log, dispute_parties, disputes, "
                             "mediators, legal_places CASCADE"))
        v = conn.execute(sa.text("""
            SELECT v.id, v.code, ST_X(ST_PointOnSurface(v.geom)) AS lon,
                   ST_Y(ST_PointOnSurface(v.geom)) AS lat
              FROM units v WHERE v.level = 'village' ORDER BY v.id LIMIT 1""")).one()
        org = conn.execute(sa.text("SELECT id FROM organizations WHERE kind = "
                                   "'mediation_committee' ORDER BY id LIMIT 1")).scalar()
        people = conn.execute(sa.text("SELECT id, name FROM people ORDER BY id LIMIT 4")).all()
        far = conn.execute(sa.text("""
            SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (
                SELECT ST_PointOnSurface(m.geom) AS p FROM units m WHERE m.level = 'microgrid'
            ) s ORDER BY ST_Distance(p, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) DESC
             LIMIT 1"""), {"lon": v.lon, "lat": v.lat}).one()
        # m1: neighbour disputes, at the village; m2: general, the farthest micro-grid;
        # m3: labour only, at the village
        made = []
        for (pid, _), kind, expertise, (lon, lat) in zip(
                people, ("mediator", "mediator", "mediator", "judge"),
                (["neighbour", "family"], ["general"], ["labour"], ["general"]),
                ((v.lon, v.lat), (far.lon, far.lat), (v.lon, v.lat), (v.lon, v.lat)),
                strict=True):
            made.append(conn.execute(sa.text("""
                INSERT INTO mediators (kind, person_id, organization_id, expertise, villages,
                                       since, geom)
                VALUES (:kind, :p, :org, :exp, :villages, DATE '2020-01-01',
                        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
                ON CONFLICT DO NOTHING RETURNING id"""),
                {"kind": kind, "p": pid, "org": org if kind == "mediator" else None,
                 "exp": expertise, "villages": [v.code] if kind == "judge" else [],
                 "lon": lon, "lat": lat}).scalar())
        conn.execute(sa.text("""
            INSERT INTO legal_places (code, kind, name, opening_hours, open_days, opens, closes,
                                      slot_minutes, services, serves, geom)
            VALUES ('LP-T1', 'service_centre', '测试村党群服务中心', '周一至周五 8:30–17:00',
                    '{1,2,3,4,5}', '08:30', '17:00', 30, '{consultation,legal_aid}',
                    ARRAY[:v], ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"""),
            {"v": v.code, "lon": v.lon, "lat": v.lat})
    return {"village": v, "mediators": made[:3], "judge": made[3],
            "names": [n for _, n in people]}


OFFICIAL = Principal("official", (), "t-official")  # scope checked in test_scope below


def _apply(engine, pii_key, net, kind="neighbour", **extra):
    return law.apply(
        engine, pii_key, kind=kind, facts=f"邻居在公共通道堆放杂物，多次协商未果，联系电话{PHONE}",
        claim="清理通道并赔偿损失", amount=5000, online=True, channel="resident",
        actor="resident:web", village=net["village"].code,
        applicant=law.PartyIn("张伟民", _id_number("123"), PHONE),
        respondent=law.PartyIn("李建国", None, "13900001111"), now=AT, **extra)


def test_a_dispute_goes_from_application_to_a_signed_agreement(engine, pii_key, net):
    made = _apply(engine, pii_key, net, client_key="k-1")
    assert _apply(engine, pii_key, net, client_key="k-1") == made  # a retry: the same one
    d = _one(engine, "SELECT * FROM disputes WHERE id = :i", i=made["id"])
    assert d.status == "applied" and PHONE not in d.facts and "138****5678" in d.facts
    event = wf.get_event(engine, d.event_id)
    assert event.status == "reported"

    law.move(engine, made["id"], "accepted", actor="t-official", now=AT)
    assert wf.get_event(engine, d.event_id).status == "handling"
    ranked = law.candidates(engine, made["id"])
    assert [c["id"] for c in ranked[:3]] == net["mediators"][:2] + [net["mediators"][2]] \
        or ranked[0]["id"] == net["mediators"][0]
    first = ranked[0]
    assert first["id"] == net["mediators"][0] and first["s_expertise"] == 1.0
    assert "擅长邻里纠纷" in law.reasons(first, "neighbour")
    second = next(c for c in ranked if c["id"] == net["mediators"][1])
    with pytest.raises(law.LawError, match="say why"):
        law.match(engine, made["id"], second["id"], actor="t-official")
    chosen = law.match(engine, made["id"], first["id"], actor="t-official", now=AT)
    assert chosen["rank"] == 1 and chosen["judge_id"] == net["judge"]

    session = law.schedule(engine, made["id"], at=AT + dt.timedelta(minutes=10),
                           mode="online", room="桐解码-在线调解室", actor="t-official")
    parties = [p["id"] for p in law.case(engine, made["id"], names=True)["parties"]]
    with pytest.raises(law.LawError, match="in mediation"):
        law.draft(engine, made["id"], ["一、赔偿"], actor="t-official")
    law.hold(engine, session, held_at=AT + dt.timedelta(minutes=12), present=parties,
             attendees=3, notes="双方同意调解", actor="t-official")
    terms = law.default_terms(engine, made["id"], now=AT)
    assert "5,000.00元" in terms[0]
    v1 = law.draft(engine, made["id"], terms, actor="t-official", now=AT)
    v2 = law.draft(engine, made["id"], [*terms, "费用各自承担。"], actor="t-official", now=AT)
    assert v2["version"] == 2 and v1["sha256"] != v2["sha256"]

    # the PDF: the template filled from the case; ID numbers only masked
    from pypdf import PdfReader

    current = law.current_agreement(engine, made["id"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(current["pdf"])).pages
                   ).replace("\x00", "")  # pypdf reads the CID font's text as UTF-16 units
    assert "人民调解协议书" in text and "张伟民" in text and "李建国" in text
    assert _id_number("123") not in text and "330483********1234"[:10] in text
    assert PHONE not in text

    applicant, respondent = parties
    with pytest.raises(law.LawError, match="redrafted"):
        law.sign(engine, applicant, sha256=v1["sha256"], typed_name="张伟民", consent=True)
    with pytest.raises(law.LawError, match="full name"):
        law.sign(engine, applicant, sha256=v2["sha256"], typed_name="张三", consent=True)
    with pytest.raises(law.LawError, match="tick"):
        law.sign(engine, applicant, sha256=v2["sha256"], typed_name="张伟民", consent=False)
    assert not law.sign(engine, applicant, sha256=v2["sha256"], typed_name="张 伟民",
                        consent=True, now=AT + dt.timedelta(minutes=20))["complete"]
    with pytest.raises(law.LawError, match="signed and cannot change"):
        law.draft(engine, made["id"], ["改写"], actor="t-official")
    done = law.sign(engine, respondent, sha256=v2["sha256"], typed_name="李建国", consent=True,
                    now=AT + dt.timedelta(minutes=25))
    assert done["complete"]
    d = _one(engine, "SELECT * FROM disputes WHERE id = :i", i=made["id"])
    assert d.status == "agreed" and d.agreed_at - d.applied_at == dt.timedelta(minutes=25)
    assert wf.get_event(engine, d.event_id).status == "resolved"

    # the store refuses to change what was signed, whoever asks
    for sql in ("UPDATE agreements SET terms = '[\"x\"]' WHERE dispute_id = :i",
                "DELETE FROM agreement_signatures WHERE party_id = :p",
                "DELETE FROM dispute_log WHERE dispute_id = :i"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(sql), {"i": made["id"], "p": applicant})

    checked = law.verify(engine, pdf=current["pdf"])
    assert checked["code"] == d.code and checked["complete"] and not checked["superseded"]
    assert [role for role, _ in checked["signatures"]] == ["applicant", "respondent"]
    assert law.verify(engine, pdf=current["pdf"] + b" ") is None
    assert law.verify(engine, sha256=v1["sha256"])["superseded"]

    law.move(engine, made["id"], "confirm_requested", actor="t-official")
    assert law.move(engine, made["id"], "confirmed", actor="t-official") == "confirmed"
    steps = [r["to_status"] for r in law.case(engine, made["id"], names=True)["log"]]
    assert steps[0] == "applied" and steps[-3:] == ["agreed", "confirm_requested", "confirmed"]


def test_a_dispute_not_settled_is_guided_to_litigation(engine, pii_key, net):
    made = _apply(engine, pii_key, net, kind="labour")
    law.move(engine, made["id"], "accepted", actor="t-official", now=AT)
    ranked = law.candidates(engine, made["id"])
    assert ranked[0]["id"] == net["mediators"][2]  # the labour mediator first
    other = ranked[1]
    with pytest.raises(law.LawError):
        law.move(engine, made["id"], "litigation", actor="t-official")  # no court named
    law.match(engine, made["id"], other["id"], actor="t-official", override_reason="当事人指定")
    row = _one(engine, "SELECT match_rank, override_reason, event_id FROM disputes "
                       "WHERE id = :i", i=made["id"])
    assert row.match_rank == 2 and row.override_reason == "当事人指定"
    law.move(engine, made["id"], "litigation", actor="t-official", court="桐乡市人民法院",
             note="双方分歧较大，引导诉讼")
    row = _one(engine, "SELECT status, handed_to, closed_at FROM disputes WHERE id = :i",
               i=made["id"])
    assert row.status == "litigation" and row.handed_to == "桐乡市人民法院" and row.closed_at
    assert wf.get_event(engine, _one(engine, "SELECT event_id FROM disputes WHERE id = :i",
                                     i=made["id"]).event_id).status == "resolved"
    with pytest.raises(law.LawError, match="cannot go"):
        law.move(engine, made["id"], "accepted", actor="t-official")


def test_an_official_acts_only_on_disputes_of_their_units(engine, pii_key, net):
    other = _one(engine, "SELECT code FROM units WHERE level = 'village' ORDER BY id DESC "
                         "LIMIT 1").code
    stranger = Principal("official", (other,), "t-other")
    made = _apply(engine, pii_key, net)
    if other != net["village"].code:
        with pytest.raises(law.LawError, match="outside their units"):
            law.move(engine, made["id"], "accepted", actor="t-other", principal=stranger)
    own = Principal("official", (net["village"].code,), "t-official")
    assert law.move(engine, made["id"], "accepted", actor="t-official", principal=own)
    planner = Principal("planner", (), "t-planner")
    with pytest.raises(law.LawError):
        law.move(engine, made["id"], "withdrawn", actor="t-planner", principal=planner)


def test_weights_are_an_administrator_s_and_change_the_ranking(engine, pii_key, net):
    made = _apply(engine, pii_key, net, kind="labour")
    with pytest.raises(law.LawError, match="administrator"):
        law.set_weights(engine, OFFICIAL, expertise=0, distance=1, caseload=0, success=0,
                        reach_km=15)
    admin = Principal("admin", (), "t-admin")
    try:
        law.set_weights(engine, admin, expertise=0, distance=1, caseload=0, success=0,
                        reach_km=15)
        by_distance = law.candidates(engine, made["id"])
        assert by_distance[0]["km"] == min(c["km"] for c in by_distance)
        assert by_distance[0]["id"] != net["mediators"][2]  # the labour one is not nearest
    finally:
        law.set_weights(engine, admin, expertise=0.4, distance=0.25, caseload=0.15,
                        success=0.2, reach_km=15)
    assert law.weights(engine)["set_by"] == "t-admin"


def _next_open_slot(engine) -> dt.datetime:
    row = law.place(engine, "LP-T1")
    day = (wf.now_utc() + dt.timedelta(days=1)).astimezone(law.TZ).date()
    while not law.slots(row, day):
        day += dt.timedelta(days=1)
    return law.slots(row, day)[3]


def test_of_two_bookings_of_one_slot_exactly_one_wins(engine, pii_key, net):
    at = _next_open_slot(engine)
    barrier = threading.Barrier(4)
    results: list[object] = []

    def book(n: int) -> None:
        barrier.wait()
        try:
            results.append(law.book(engine, pii_key, "LP-T1", service="legal_aid",
                                    starts_at=at, name=f"王{n}明", phone=PHONE))
        except law.SlotTaken as exc:
            results.append(exc)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1 and len(results) == 4
    assert at not in law.free_slots(engine, law.place(engine, "LP-T1"), at.astimezone(
        law.TZ).date())
    stored = _one(engine, "SELECT name_masked, phone_masked, phone_hash FROM "
                          "legal_appointments WHERE id = :i", i=won[0]["id"])
    assert stored.name_masked[1] == "*" and stored.phone_masked == "138****5678"
    law.cancel(engine, won[0]["id"])  # cancelled: the slot is free again
    assert law.book(engine, pii_key, "LP-T1", service="legal_aid", starts_at=at, name="赵六")
    with pytest.raises(law.LawError, match="does not offer"):
        law.book(engine, pii_key, "LP-T1", service="notarisation", starts_at=at, name="赵六")
    with pytest.raises(law.LawError, match="not a slot"):
        law.book(engine, pii_key, "LP-T1", service="legal_aid",
                 starts_at=at + dt.timedelta(minutes=7), name="赵六")


def test_measures_agree_with_an_independent_count(engine, net):
    start, end = AT - dt.timedelta(days=1), AT + dt.timedelta(days=1)
    m = law.measures(engine, None, start, end)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT status, agreed_at - applied_at AS took FROM disputes "
            "WHERE applied_at >= :s AND applied_at < :e"), {"s": start, "e": end}).all()
    settled = [r for r in rows if r.status in law.SETTLED]
    ended = [r for r in rows if r.status in law.ENDED]
    assert m["disputes"] == len(rows) and m["settled"] == len(settled)
    assert m["prelitigation_pct"] == pytest.approx(100 * len(settled) / len(ended))
    assert m["median_minutes"] == pytest.approx(25.0)
    assert m["mediators"] == 3 and m["judges"] == 1 and m["judged_villages"] == 1
    gaps = law.coverage_gaps(engine, None, reach_km=0.5)
    assert all(g["km"] > 0.5 for g in gaps)


def test_bad_input_is_refused_with_the_field_named(engine, pii_key, net):
    with pytest.raises(TwinError, match="kind of dispute"):
        _apply(engine, pii_key, net, kind="war")
    with pytest.raises(law.LawError, match="applicant's"):
        law.apply(engine, pii_key, kind="family", facts="x", channel="resident", actor="r",
                  village=net["village"].code, applicant=law.PartyIn("甲", "123", PHONE),
                  respondent=law.PartyIn("乙"))
    with pytest.raises(law.LawError, match="phone number is needed"):
        law.apply(engine, pii_key, kind="family", facts="x", channel="resident", actor="r",
                  village=net["village"].code, applicant=law.PartyIn("甲"),
                  respondent=law.PartyIn("乙"))
