"""自治: a compact's versions are history; a sitting, its decision's events and the raiser's
points are written together or not at all, and once across retries; a vote that did not
carry decides nothing; a woodpecker's resolved report earns points once; the figures agree
with an independent count; the bank's file holds only consenting households, hash-keyed,
and who serves on a council or raised a matter never leaves by a projection."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
import sqlalchemy as sa

from twin.domain import points, selfgov
from twin.domain import workflow as wf
from twin.domain.access import Principal
from twin.errors import TwinError

AT = dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC)
PHONE = "13812345678"


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("selfgov")


def _one(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def _village(engine):
    return _one(engine, "SELECT id, code, level FROM units WHERE level = 'village' "
                        "ORDER BY id LIMIT 1")


def _matter(engine, **extra) -> dict:
    """A new matter at a micro-grid of the first village, raised by its first household."""
    home = _one(engine, "SELECT h.id, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat FROM households h "
                        "ORDER BY h.id LIMIT 1")
    council = _one(engine, "SELECT id FROM organizations WHERE kind = 'residents_council' "
                           "ORDER BY id LIMIT 1").id
    return selfgov.raise_matter(
        engine, title=f"门前路灯不亮，联系人{PHONE}", lon=home.lon, lat=home.lat,
        raised_by="resident", household_id=home.id, council_id=council, brand="麻花议事",
        actor="t-official", **extra) | {"household": home.id}


def test_the_sample_has_every_village_s_compact_councils_matters_and_woodpeckers(engine):
    villages, compacts, councils, chaired = _one(engine, """
        SELECT (SELECT count(*) FROM units WHERE level = 'village'),
               (SELECT count(*) FROM compacts WHERE valid_to IS NULL),
               (SELECT count(*) FROM organizations
                 WHERE kind IN ('residents_council', 'worthies_council', 'service_group',
                                'legal_group', 'moral_group')),
               (SELECT count(*) FROM organization_members WHERE role = 'chair')""")
    assert compacts == villages and councils == 5 * villages and chaired >= councils
    sessions, decided = _one(engine, """
        SELECT count(*), count(*) FILTER (WHERE t.status IN ('decided', 'done')
                                          AND s.decision IS NOT NULL)
          FROM consultation_sessions s JOIN consultations t ON t.id = s.consultation_id""")
    assert sessions >= selfgov_sessions_min(engine) and decided >= 1
    reports, linked, credited = _one(engine, """
        SELECT (SELECT count(*) FROM events WHERE source = 'volunteer'),
               (SELECT count(*) FROM volunteer_reports),
               (SELECT count(*) FROM points_ledger WHERE client_key LIKE 'report:%')""")
    solved = _one(engine, "SELECT count(*) FROM events e JOIN volunteer_reports v "
                          "ON v.event_id = e.id WHERE e.status IN ('resolved', 'closed')")[0]
    assert reports > 0 and linked == reports and credited == solved
    assert points.ledger_faults(engine) == []


def selfgov_sessions_min(engine) -> int:
    from twin.sample.selfgov import SESSIONS

    return SESSIONS[0] * _one(engine, "SELECT count(*) FROM consultations")[0]


def test_a_compact_s_versions_are_history(engine):
    village = _village(engine)
    first = selfgov.compact_of(engine, dict(village._mapping))
    version = selfgov.adopt_compact(
        engine, village.code, title="村规民约（2026年修订）",
        clauses=[*selfgov.clauses(first), f"新增条款，举报电话{PHONE}"],
        adopted_on=dt.date(2026, 11, 1), adopted_by="村民代表会议", votes_for=50,
        votes_total=60, actor="t-official")
    now = selfgov.compact_of(engine, dict(village._mapping))
    assert version == first["version"] + 1 == now["version"]
    assert now["versions"] == first["versions"] + 1
    assert PHONE not in selfgov.clauses(now)[-1] and "138****5678" in selfgov.clauses(now)[-1]
    old = _one(engine, "SELECT valid_to, clauses FROM compacts WHERE unit_id = :u AND "
                       "version = :v", u=village.id, v=first["version"])
    assert old.valid_to == dt.date(2026, 11, 1) and old.clauses == selfgov.clauses(first)
    for sql in ("UPDATE compacts SET title = 'x' WHERE unit_id = :u AND version = :v",
                "UPDATE compacts SET valid_to = NULL WHERE unit_id = :u AND version = :v",
                "DELETE FROM compacts WHERE unit_id = :u AND version = :v"):
        with pytest.raises(sa.exc.DBAPIError, match="adopted history"), engine.begin() as c:
            c.execute(sa.text(sql), {"u": village.id, "v": first["version"]})
    with pytest.raises(TwinError, match="adopted on"):
        selfgov.adopt_compact(engine, village.code, title="倒签", clauses=["x"],
                              adopted_on=dt.date(2020, 1, 1), adopted_by="村民代表会议",
                              actor="t-official")


def test_a_decision_opens_an_event_and_earns_the_raiser_points_once(engine):
    points.set_rule(engine, selfgov.PROPOSAL_RULE, board="self", name_zh="协商议事提出建议",
                    name_en="A proposal in a consultation", points=10, evidence="record",
                    actor="t-admin")
    matter = _matter(engine)
    stored = _one(engine, "SELECT title, status FROM consultations WHERE id = :i",
                  i=matter["id"])
    assert PHONE not in stored.title and stored.status == "raised"
    before = points.balance_of(engine, matter["household"])
    first = selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=20,
                                 minutes="听取意见，现场查看", actor="t-official")
    assert first["opened"] is None
    decided = [selfgov.hold_session(
        engine, matter["id"], held_at=AT + dt.timedelta(days=7), attendees=25,
        minutes="表决", decision="同意维修路灯，由村委会负责", votes=(21, 2, 2),
        opens=("public_facility", "维修门前路灯"), actor="t-official", client_key="sit-1")
        for _ in range(3)]
    assert decided[0] == decided[1] == decided[2] and decided[0]["opened"]
    event = _one(engine, "SELECT source, status, category FROM events WHERE id = :i",
                 i=decided[0]["opened"])
    assert tuple(event) == ("council", "reported", "public_facility")
    assert _one(engine, "SELECT status FROM consultations WHERE id = :i",
                i=matter["id"]).status == "decided"
    assert _one(engine, "SELECT count(*) FROM consultation_sessions WHERE consultation_id = :i",
                i=matter["id"])[0] == 2
    # a second decision on the same matter earns nothing more
    selfgov.hold_session(engine, matter["id"], held_at=AT + dt.timedelta(days=14),
                         attendees=15, minutes="补充决议", decision="同步更换节能灯具",
                         actor="t-official")
    assert points.balance_of(engine, matter["household"]) == before + 10
    assert selfgov.finish(engine, matter["id"], actor="t-official", matters_solved=2,
                          done_on=dt.date(2026, 11, 30)) == "done"
    with pytest.raises(TwinError, match="done"):
        selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=5, minutes="x",
                             actor="t-official")
    assert points.ledger_faults(engine) == []


def test_a_sitting_and_its_events_are_written_together_or_not_at_all(engine):
    matter = _matter(engine)

    def written() -> tuple:
        return tuple(_one(engine, """
            SELECT (SELECT count(*) FROM consultation_sessions WHERE consultation_id = :i),
                   (SELECT status FROM consultations WHERE id = :i),
                   (SELECT count(*) FROM events),
                   (SELECT count(*) FROM points_ledger)""", i=matter["id"]))

    before = written()
    with pytest.raises(TwinError, match="unknown event category"):
        selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=20, minutes="表决",
                             decision="同意", votes=(15, 3, 2), opens=("no_such", "x"),
                             actor="t-official")
    with pytest.raises(TwinError, match="did not carry"):
        selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=30, minutes="表决",
                             decision="同意", votes=(15, 10, 5), actor="t-official")
    with pytest.raises(TwinError, match="at most"):
        selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=10, minutes="表决",
                             decision="同意", votes=(9, 2, 0), actor="t-official")
    with pytest.raises(TwinError, match="only a decision"):
        selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=10, minutes="讨论",
                             opens=("public_facility", "x"), actor="t-official")
    assert written() == before


def test_a_decision_resolves_the_event_the_matter_came_from(engine):
    home = _one(engine, "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM households "
                        "ORDER BY id LIMIT 1 OFFSET 5")
    event = wf.report(engine, category="traffic", title="村道停车混乱", lon=home.lon,
                      lat=home.lat, source="resident", actor="t-field")
    matter = selfgov.raise_matter(engine, title="村道停车秩序", lon=home.lon, lat=home.lat,
                                  raised_by="event", event_id=event.id, actor="t-official")
    selfgov.hold_session(engine, matter["id"], held_at=AT, attendees=18, minutes="表决",
                         decision="划定停车位，村民轮流劝导", votes=(16, 1, 1),
                         resolves=event.id, actor="t-official")
    after = wf.get_event(engine, event.id)
    assert after.status == "resolved"
    with engine.connect() as conn:
        steps = list(conn.execute(sa.text(
            "SELECT to_status FROM event_log WHERE event_id = :e ORDER BY id"),
            {"e": event.id}).scalars())
    assert steps[0] == "reported" and steps[-1] == "resolved" and "handling" in steps


def test_a_woodpecker_s_resolved_report_earns_points_once(engine):
    points.set_rule(engine, selfgov.WOODPECKER_RULE, board="self", name_zh="文明啄木鸟随手拍",
                    name_en="A woodpecker's report resolved", points=5, evidence="photo",
                    actor="t-admin")
    volunteer = _one(engine, """
        SELECT m.person_id, p.household_id, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
          FROM organization_members m
          JOIN organizations o ON o.id = m.organization_id AND o.kind = 'volunteer_team'
          JOIN people p ON p.id = m.person_id JOIN households h ON h.id = p.household_id
         ORDER BY m.person_id LIMIT 1""")
    outsider = _one(engine, """
        SELECT p.id FROM people p WHERE NOT EXISTS (
            SELECT 1 FROM organization_members m WHERE m.person_id = p.id) ORDER BY p.id
         LIMIT 1""").id
    with pytest.raises(TwinError, match="no volunteer team"):
        selfgov.woodpecker_report(engine, outsider, category="environment", title="垃圾",
                                  lon=volunteer.lon, lat=volunteer.lat, actor="t-field")
    before = points.balance_of(engine, volunteer.household_id)
    event = selfgov.woodpecker_report(
        engine, volunteer.person_id, category="environment", title="河边有人倾倒建筑垃圾",
        lon=volunteer.lon, lat=volunteer.lat, actor="woodpecker", client_key="wp-1")
    again = selfgov.woodpecker_report(
        engine, volunteer.person_id, category="environment", title="河边有人倾倒建筑垃圾",
        lon=volunteer.lon, lat=volunteer.lat, actor="woodpecker", client_key="wp-1")
    assert again.id == event.id
    assert _one(engine, "SELECT source FROM events WHERE id = :i", i=event.id).source == \
        "volunteer"
    assert points.balance_of(engine, volunteer.household_id) == before  # not yet resolved
    event = wf.accept(engine, event.id, actor="t-field", expected_version=event.version)
    event = wf.transition(engine, event.id, "resolved", actor="t-field",
                          expected_version=event.version)
    assert points.balance_of(engine, volunteer.household_id) == before + 5
    event = wf.transition(engine, event.id, "reopened", actor="t-field",
                          expected_version=event.version)
    event = wf.accept(engine, event.id, actor="t-field", expected_version=event.version)
    wf.transition(engine, event.id, "resolved", actor="t-field",
                  expected_version=event.version)
    assert points.balance_of(engine, volunteer.household_id) == before + 5  # once
    assert points.ledger_faults(engine) == []


def test_the_figures_agree_with_an_independent_count(engine):
    village = dict(_village(engine)._mapping)
    start, end = dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    m = selfgov.measures(engine, village, start, end)
    counted = _one(engine, """
        SELECT (SELECT count(*) FROM consultations WHERE village_id = :v),
               (SELECT count(*) FROM consultation_sessions s JOIN consultations t
                   ON t.id = s.consultation_id WHERE t.village_id = :v),
               (SELECT coalesce(sum(matters_solved), 0) FROM consultations
                 WHERE village_id = :v AND status = 'done'),
               (SELECT count(*) FROM events WHERE source = 'volunteer' AND village_id = :v),
               (SELECT count(*) FROM events WHERE source = 'volunteer' AND village_id = :v
                   AND status IN ('resolved', 'closed'))""", v=village["id"])
    assert (m["matters_total"], m["sessions"], m["matters_solved"], m["reports"],
            m["reports_solved"]) == tuple(counted)
    assert m["compacts"] == m["villages"] == 1
    county = selfgov.measures(engine, None, start, end)
    assert county["matters_total"] >= m["matters_total"]


def test_the_bank_s_file_holds_consenting_households_by_hash_key_only(engine):
    with engine.connect() as conn:
        homes = conn.execute(sa.text("""
            SELECT hc.household_id, h.code, hc.level FROM household_credit hc
              JOIN households h ON h.id = hc.household_id
             WHERE hc.level IS NOT NULL ORDER BY hc.household_id LIMIT 3""")).all()
        village = conn.execute(sa.text(
            "SELECT v.code FROM households h JOIN units v ON v.id = h.village_id "
            "WHERE h.id = :h"), {"h": homes[0].household_id}).scalar()
    assert len(homes) == 3
    for home in homes:
        points.consent(engine, home.household_id, actor="t-clerk")
    points.consent(engine, homes[2].household_id, actor="t-clerk", withdraw=True)
    key = b"k" * 32
    official = Principal("official", (village,), "t-official")
    rows = points.bank_export(engine, official, key=key, purpose="批量授信")
    assert [r["key"] for r in rows] == [
        hmac.new(key, h.code.encode(), hashlib.sha256).hexdigest() for h in homes[:2]]
    assert [r["level"] for r in rows] == [h.level for h in homes[:2]]
    assert set(rows[0]) == set(points.BANK_FIELDS) and rows[0]["village_code"] == village
    text = repr(rows)
    assert all(h.code not in text for h in homes)
    other = Principal("official", ("no-such-unit",), "t-other")
    assert points.bank_export(engine, other, key=key, purpose="x") == []
    for role in ("admin", "planner", "screen"):  # roles that see no household
        with pytest.raises(TwinError, match="sees no households"):
            points.bank_export(engine, Principal(role, (), f"t-{role}"), key=key,
                               purpose="x")
    with pytest.raises(TwinError, match="purpose"):
        points.bank_export(engine, official, key=key, purpose=" ")
    assert _one(engine, "SELECT count(*) FROM audit_log WHERE action = 'credit_export'")[0] == 2


def test_who_serves_or_raised_a_matter_never_leaves_by_the_map(engine):
    """The councils' and matters' tiles carry places, kinds and counts: no member, no
    household, for any role; the screen gets the matters' places only as any map does."""
    import mapbox_vector_tile
    import morecantile

    from twin.publish.tiles import layer, render

    lon, lat = _one(engine, "SELECT ST_X(geom), ST_Y(geom) FROM consultations ORDER BY id "
                            "LIMIT 1")
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 12)
    for name, allowed in (("consultations", {"id", "name", "code", "brand", "status",
                                             "raised_by", "matters_solved", "sessions",
                                             "council", "opened_on"}),
                          ("councils", {"id", "kind", "name", "members"})):
        for role in ("admin", "official", "planner", "field"):
            _, data = render(engine, layer(name), 12, tile.x, tile.y,
                             Principal(role, (), f"t-{role}"))
            decoded = mapbox_vector_tile.decode(data)
            props = [f["properties"] for lyr in decoded.values() for f in lyr["features"]]
            assert all(set(p) <= allowed for p in props), (name, role)
            if role == "admin":
                assert props, name
