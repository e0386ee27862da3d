"""The event centre's model: the events of a principal's units, the most urgent first, and
every move of the loop as its role makes it — in scope, legal from the status, and never
over someone else's change."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from twin.domain import workflow as wf
from twin.domain.access import Principal
from twin.domain.inbox import InboxFilter, Refused, act, act_many, event_page, inbox
from twin.errors import NotFound

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("inbox")


@pytest.fixture(scope="module")
def places(engine):
    """Two grids, and a point in a micro-grid of each."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT DISTINCT ON (g.code) g.code, ST_X(ST_PointOnSurface(m.geom)), "
            "ST_Y(ST_PointOnSurface(m.geom)) FROM units m JOIN units g ON g.id = m.grid_id "
            "WHERE m.level = 'microgrid' ORDER BY g.code, m.code LIMIT 2")).all()
    return [(code, (x, y)) for code, x, y in rows]


def _report(engine, where, title="路灯不亮", category="public_facility", now=T0):
    return wf.report(engine, category=category, title=title, lon=where[0], lat=where[1],
                     source="resident", actor="居民", now=now)


def _official(places, i=0):
    return Principal("official", (places[i][0],), f"official-{i}")


def test_the_inbox_holds_the_units_events_most_urgent_first(engine, places):
    late = _report(engine, places[0][1], "逾期未办", now=T0 - dt.timedelta(days=5))
    fresh = _report(engine, places[0][1], "刚刚上报")
    other = _report(engine, places[1][1], "别的网格的事")
    now = T0 + dt.timedelta(hours=1)
    found = inbox(engine, _official(places), InboxFilter(since=T0 - dt.timedelta(days=30)),
                  now=now)
    ids = list(found.rows["id"])
    assert late.id in ids and fresh.id in ids and other.id not in ids
    assert ids.index(late.id) < ids.index(fresh.id)  # overdue first
    assert found.rows.loc[found.rows["id"] == late.id, "overdue"].item()
    assert found.matched >= 2 and found.overdue >= 1
    only_late = inbox(engine, _official(places), InboxFilter(overdue=True), now=now)
    assert fresh.id not in set(only_late.rows["id"])
    by_code = inbox(engine, _official(places), InboxFilter(search=fresh.code), now=now)
    assert list(by_code.rows["id"]) == [fresh.id]
    planner = inbox(engine, Principal("planner", (), "p"), InboxFilter(search=fresh.code))
    assert planner.rows["title"].isna().all()  # a planner reads no typed text


def test_an_event_page_is_found_by_id_or_code_only_in_scope(engine, places):
    e = _report(engine, places[0][1], "井盖缺失")
    page = event_page(engine, _official(places), e.code)
    assert page["id"] == e.id and page["title"] == "井盖缺失"
    assert [h["to_status"] for h in page["history"]] == ["reported"]
    assert event_page(engine, _official(places, 1), e.id) is None


def test_the_whole_loop_from_the_event_centre(engine, places):
    boss, worker = _official(places), Principal("field", (places[0][0],), "grid-worker")
    e = _report(engine, places[0][1])
    e = act(engine, boss, e.id, "dispatch", expected_version=e.version, to="网格综合执法队")
    e = act(engine, worker, e.id, "accept", expected_version=e.version)
    e = act(engine, worker, e.id, "resolve", expected_version=e.version)
    e = act(engine, boss, e.id, "reopen", expected_version=e.version)
    e = act(engine, worker, e.id, "accept", expected_version=e.version)
    e = act(engine, worker, e.id, "resolve", expected_version=e.version)
    e = act(engine, boss, e.id, "close", expected_version=e.version, satisfaction=4)
    page = event_page(engine, boss, e.id)
    assert (page["status"], page["assignee"], page["satisfaction"]) == ("closed", "网格综合执法队", 4)
    steps = [(h["actor"], h["to_status"]) for h in page["history"]]
    assert steps[:3] == [("居民", "reported"), ("official-0", "dispatched"),
                         ("grid-worker", "handling")]
    assert steps[-1] == ("official-0", "closed")
    assert ("official-0", "reopened") in steps


def test_moves_are_refused_by_role_scope_status_and_version(engine, places):
    boss, worker = _official(places), Principal("field", (places[0][0],), "grid-worker")
    e = _report(engine, places[0][1])
    with pytest.raises(Refused):
        act(engine, worker, e.id, "dispatch", expected_version=e.version, to="x")
    with pytest.raises(Refused):
        act(engine, Principal("planner", (), "p"), e.id, "accept", expected_version=e.version)
    with pytest.raises(NotFound):
        act(engine, _official(places, 1), e.id, "accept", expected_version=e.version)
    with pytest.raises(wf.IllegalTransition):
        act(engine, boss, e.id, "close", expected_version=e.version)
    with pytest.raises(wf.WorkflowError, match="reason"):
        act(engine, boss, e.id, "reject", expected_version=e.version, reason="  ")
    moved = act(engine, boss, e.id, "triage", expected_version=e.version)
    with pytest.raises(wf.StaleVersion):  # someone else's change is said, not overwritten
        act(engine, worker, e.id, "accept", expected_version=e.version)
    assert wf.get_event(engine, e.id).version == moved.version


def test_reject_with_a_reason_and_merge_a_duplicate(engine, places):
    boss = _official(places)
    first, again, wrong = (_report(engine, places[0][1], t) for t in ("垃圾堆放", "垃圾堆放", "x"))
    act(engine, boss, wrong.id, "reject", expected_version=wrong.version, reason="不属于本网格事务")
    act(engine, boss, again.id, "merge", expected_version=again.version, into=first.code)
    with pytest.raises(wf.WorkflowError, match="itself"):
        act(engine, boss, first.id, "merge", expected_version=first.version, into=first.code)
    rejected, merged, target = (event_page(engine, boss, e.id) for e in (wrong, again, first))
    assert rejected["status"] == "rejected"
    assert rejected["history"][-1]["note"] == "不属于本网格事务"  # the reporter reads it
    assert (merged["status"], merged["duplicate_of"]) == ("duplicate", first.id)
    assert target["history"][-1]["note"] == f"合并了重复事件{again.code}"


def test_many_at_once_each_on_its_own(engine, places):
    boss = _official(places)
    mine = [_report(engine, places[0][1]) for _ in range(3)]
    theirs = _report(engine, places[1][1])
    stale = (mine[2].id, mine[2].version - 1)
    chosen = [(e.id, e.version) for e in mine[:2]] + [stale, (theirs.id, theirs.version)]
    done, why = act_many(engine, boss, chosen, "dispatch", to="镇综合执法队")
    assert done == 2 and len(why) == 2
    assert wf.get_event(engine, theirs.id).status == "reported"


def test_a_retried_note_is_written_once(engine, places):
    e = _report(engine, places[0][1])
    for _ in range(3):
        wf.add_note(engine, e.id, actor="网格员", note="已到现场", client_key="phone-1:note-7")
    assert not wf.add_note(engine, e.id, actor="网格员", note="已到现场",
                           client_key="phone-1:note-7")
    wf.add_note(engine, e.id, actor="网格员", note="已到现场")  # no key: a new note
    with engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT count(*) FROM event_log WHERE event_id = :e "
                                     "AND note = '已到现场'"), {"e": e.id}).scalar()
    assert notes == 2


def test_the_legal_moves_follow_the_status_and_the_level():
    assert set(wf.legal_moves("reported", "microgrid")) == {
        "accept", "triage", "dispatch", "escalate", "reject", "merge"}
    assert "hand_back" in wf.legal_moves("escalated", "grid")
    assert "escalate" in wf.legal_moves("escalated", "town")  # to its county department
    assert "escalate" not in wf.legal_moves("escalated", "county")
    assert set(wf.legal_moves("resolved", "grid")) == {"close", "reopen"}
    assert wf.legal_moves("closed", "grid") == ("reopen",)
    assert wf.legal_moves("duplicate", "grid") == ()


def test_the_large_loop_a_department_event_and_an_escalation_to_one(engine, places):
    """派单 to a county department, and an event that climbs from the micro-grid to the
    department of its category: both owned at the county, and both counted in the large
    loop's measures."""
    from twin.domain.summary import loop_measures

    boss = _official(places)
    day = T0 + dt.timedelta(days=40)  # a period of its own
    sent = _report(engine, places[0][1], "河道排污", category="environment", now=day)
    sent = act(engine, boss, sent.id, "triage", expected_version=sent.version, now=day)
    sent = act(engine, boss, sent.id, "dispatch", expected_version=sent.version,
               department="environment", now=day)
    page = event_page(engine, boss, sent.id)
    assert (page["owner_level"], page["department"], page["assignee"]) == (
        "county", "environment", "生态环境分局")
    assert page["deadline_at"] == day + dt.timedelta(hours=72)  # the department's hours
    climbed = _report(engine, places[0][1], "违建", category="illegal_construction", now=day)
    for _ in range(4):  # micro-grid → grid → village → town → the department
        climbed = act(engine, boss, climbed.id, "escalate", expected_version=climbed.version,
                      now=day)
    assert climbed.owner_level == "county"
    assert event_page(engine, boss, climbed.id)["department"] == "enforcement"
    with pytest.raises(wf.IllegalTransition):
        act(engine, boss, climbed.id, "escalate", expected_version=climbed.version, now=day)
    back = act(engine, boss, climbed.id, "hand_back", expected_version=climbed.version,
               now=day)
    assert back.owner_level == "town" and event_page(engine, boss, back.id)["department"] is None
    back = act(engine, boss, back.id, "escalate", expected_version=back.version, now=day)
    measures = loop_measures(engine, None, day - dt.timedelta(hours=1),
                             day + dt.timedelta(hours=1))
    assert measures["loops"]["large"]["reported"] == 2 == measures["to_county"]
    assert measures["loops"]["small"]["reported"] == measures["loops"]["medium"][
        "reported"] == 0
