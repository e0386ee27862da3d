"""The event loop: legal and illegal moves, optimistic concurrency, idempotent submissions,
escalation with an injected clock, and two sweeps at once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from twin.domain import workflow as wf

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def engine(sample_db):
    """A database of its own (these tests write), holding the village sample."""
    return sample_db("workflow")


@pytest.fixture
def point(village_sample):
    micro = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[0]
    p = micro.geometry.representative_point()
    return p.x, p.y


def _new(engine, point, category="sanitation", **kw) -> wf.Event:
    return wf.report(engine, category=category, title="河道漂浮垃圾", lon=point[0],
                     lat=point[1], source="grid_worker", actor="网格员 A", now=T0, **kw)


def _log(engine, event_id):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT actor, from_status, to_status, note FROM event_log WHERE event_id = :e "
            "ORDER BY id"), {"e": event_id}).all()


def test_a_report_is_owned_by_its_micro_grid_with_a_deadline(engine, point, village_sample):
    event = _new(engine, point)
    assert (event.status, event.owner_level, event.version) == ("reported", "microgrid", 1)
    assert event.deadline_at == T0 + dt.timedelta(hours=24)
    urgent = _new(engine, point, category="fire")
    assert urgent.deadline_at == T0 + dt.timedelta(hours=12)  # urgent categories: half
    with engine.connect() as conn:
        cell = conn.execute(sa.text("SELECT u.code FROM events e JOIN units u "
                                    "ON u.id = e.microgrid_id WHERE e.id = :id"),
                            {"id": event.id}).scalar()
    assert cell == village_sample.units[village_sample.units["level"] == "microgrid"].iloc[
        0]["code"]
    assert _log(engine, event.id) == [("网格员 A", None, "reported", None)]


def test_the_whole_loop_and_its_log(engine, point):
    e = _new(engine, point)
    for status in ("triaged", "dispatched", "handling", "resolved"):
        e = wf.transition(engine, e.id, status, actor="网格员 A", expected_version=e.version,
                          now=T0 + dt.timedelta(hours=1))
    e = wf.transition(engine, e.id, "closed", actor="居民回访", expected_version=e.version,
                      satisfaction=5, now=T0 + dt.timedelta(hours=2))
    assert (e.status, e.version) == ("closed", 6)
    steps = [(f, t) for _, f, t, _ in _log(engine, e.id)]
    assert steps == [(None, "reported"), ("reported", "triaged"), ("triaged", "dispatched"),
                     ("dispatched", "handling"), ("handling", "resolved"),
                     ("resolved", "closed")]
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT resolved_at, closed_at, satisfaction FROM events "
                                   "WHERE id = :id"), {"id": e.id}).one()
    assert row == (T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2), 5)


@pytest.mark.parametrize("start", list(wf.TRANSITIONS))
def test_every_move_legal_and_illegal(engine, point, start):
    statuses = list(wf.TRANSITIONS)
    for target in statuses:
        e = _new(engine, point)
        with engine.begin() as conn:  # put the event in the starting state directly
            conn.execute(sa.text("UPDATE events SET status = :s WHERE id = :id"),
                         {"s": start, "id": e.id})
        if target in wf.TRANSITIONS[start]:
            moved = wf.transition(engine, e.id, target, actor="t", expected_version=e.version)
            assert moved.status == target and moved.version == e.version + 1
        else:
            with pytest.raises(wf.IllegalTransition, match=f"is {start}: it can go to"):
                wf.transition(engine, e.id, target, actor="t", expected_version=e.version)
            assert wf.get_event(engine, e.id).status == start  # nothing written


def test_a_stale_version_is_refused_not_overwritten(engine, point):
    e = _new(engine, point)
    first = wf.transition(engine, e.id, "triaged", actor="A", expected_version=e.version)
    with pytest.raises(wf.StaleVersion, match="changed by someone else .*reload it"):
        wf.transition(engine, e.id, "rejected", actor="B", expected_version=e.version)
    assert wf.get_event(engine, e.id) == first


def test_two_concurrent_updates_one_wins(engine, point):
    e = _new(engine, point)
    results: list[object] = []
    barrier = threading.Barrier(2)

    def move(target: str) -> None:
        barrier.wait()
        try:
            results.append(wf.transition(engine, e.id, target, actor=target,
                                         expected_version=e.version))
        except wf.WorkflowError as exc:
            results.append(exc)

    threads = [threading.Thread(target=move, args=(s,)) for s in ("triaged", "rejected")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    won = [r for r in results if isinstance(r, wf.Event)]
    lost = [r for r in results if isinstance(r, wf.StaleVersion)]
    assert len(won) == 1 and len(lost) == 1
    assert wf.get_event(engine, e.id).status == won[0].status
    assert len(_log(engine, e.id)) == 2


def test_a_retried_submission_makes_one_event(engine, point):
    first = _new(engine, point, client_key="phone-7f3a-0001")
    again = _new(engine, point, client_key="phone-7f3a-0001")
    assert again == first
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events WHERE client_key = :k"),
                            {"k": "phone-7f3a-0001"}).scalar() == 1


def test_overdue_events_climb_one_level_at_a_time(engine, point):
    e = _new(engine, point)
    wf.sweep(engine, now=T0 + dt.timedelta(hours=23))
    assert wf.get_event(engine, e.id).owner_level == "microgrid"  # not yet due
    wf.sweep(engine, now=T0 + dt.timedelta(hours=25))
    up = wf.get_event(engine, e.id)
    assert (up.status, up.owner_level, up.escalations) == ("escalated", "grid", 1)
    assert up.deadline_at == T0 + dt.timedelta(hours=25 + 48)
    assert wf.sweep(engine, now=T0 + dt.timedelta(hours=25)) == 0  # idempotent
    # then the village, the town, and the county department of its category (环境卫生 →
    # 综合行政执法局, 120 h), which is the top: the large loop
    for hours, level in ((25 + 49, "village"), (25 + 49 + 73, "town"),
                         (25 + 49 + 73 + 121, "county"), (5000, "county")):
        wf.sweep(engine, now=T0 + dt.timedelta(hours=hours))
        assert wf.get_event(engine, e.id).owner_level == level
    assert wf.get_event(engine, e.id).escalations == 4
    with engine.connect() as conn:
        department, deadline = conn.execute(sa.text(
            "SELECT department, deadline_at FROM events WHERE id = :e"), {"e": e.id}).one()
    assert department == "enforcement"
    assert deadline == T0 + dt.timedelta(hours=25 + 49 + 73 + 121 + 120)
    notes = [n for a, _, _, n in _log(engine, e.id) if a == "system:escalation"]
    assert notes == ["overdue: microgrid → grid", "overdue: grid → village",
                     "overdue: village → town", "overdue: town → enforcement"]


def test_two_sweeps_at_once_escalate_each_event_once(engine, point):
    events = [_new(engine, point) for _ in range(20)]
    later = T0 + dt.timedelta(days=30)
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        counts.append(wf.sweep(engine, now=later))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for e in events:
        assert wf.get_event(engine, e.id).escalations == 1
    assert sum(counts) >= len(events)


def test_manual_escalation_and_hand_back(engine, point):
    e = _new(engine, point)
    up = wf.escalate(engine, e.id, actor="网格长", expected_version=e.version, note="需村协调")
    assert (up.status, up.owner_level, up.escalations) == ("escalated", "grid", 1)
    back = wf.hand_back(engine, e.id, actor="村干部", expected_version=up.version)
    assert (back.status, back.owner_level) == ("dispatched", "microgrid")
    with pytest.raises(wf.IllegalTransition, match="micro-grid already"):
        wf.hand_back(engine, e.id, actor="x", expected_version=back.version)
    done = wf.transition(engine, e.id, "handling", actor="x", expected_version=back.version)
    done = wf.transition(engine, e.id, "resolved", actor="x", expected_version=done.version)
    with pytest.raises(wf.IllegalTransition, match="only an open event"):
        wf.escalate(engine, e.id, actor="x", expected_version=done.version)


def test_reopening_gives_the_micro_grid_a_fresh_deadline(engine, point):
    e = _new(engine, point)
    for status in ("dispatched", "handling", "resolved"):
        e = wf.transition(engine, e.id, status, actor="x", expected_version=e.version, now=T0)
    later = T0 + dt.timedelta(days=3)
    e = wf.transition(engine, e.id, "reopened", actor="居民", expected_version=e.version,
                      note="问题复发", now=later)
    assert (e.status, e.owner_level) == ("reopened", "microgrid")
    assert e.deadline_at == later + dt.timedelta(hours=24)


def test_bad_input_is_refused_with_the_reason(engine, point):
    with pytest.raises(wf.WorkflowError, match="unknown event category 'ufo'"):
        _new(engine, point, category="ufo")
    e = _new(engine, point)
    with pytest.raises(wf.WorkflowError, match="satisfaction is a score from 1 to 5"):
        wf.transition(engine, e.id, "triaged", actor="x", expected_version=e.version,
                      satisfaction=9)


def test_accept_walks_the_legal_moves_and_notes_keep_the_status(engine, point):
    e = _new(engine, point)
    taken = wf.accept(engine, e.id, actor="link:1", expected_version=e.version)
    assert taken.status == "handling"
    assert [(f, t) for _, f, t, _ in _log(engine, e.id)][-2:] == [
        ("reported", "dispatched"), ("dispatched", "handling")]
    wf.add_note(engine, e.id, actor="link:1", note="已到现场，正在打捞")
    assert _log(engine, e.id)[-1] == ("link:1", "handling", "handling", "已到现场，正在打捞")
    with pytest.raises(wf.IllegalTransition, match="cannot be accepted"):
        wf.accept(engine, e.id, actor="link:1", expected_version=taken.version)
    with pytest.raises(wf.WorkflowError, match="the note is empty"):
        wf.add_note(engine, e.id, actor="x", note="  ")


def test_the_server_sweeper_escalates_overdue_events_by_itself(engine, point):
    import time

    from twin.runtime.scheduler import Sweeper

    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    e = wf.report(engine, category="dispute", title="邻里纠纷", lon=point[0], lat=point[1],
                  source="hotline", actor="12345", now=past)
    sweeper = Sweeper(engine, interval=0.1)
    sweeper.start()
    try:
        deadline = time.monotonic() + 20
        while wf.get_event(engine, e.id).owner_level == "microgrid":
            assert time.monotonic() < deadline, "the sweeper did not escalate"
            time.sleep(0.1)
    finally:
        sweeper.stop()
        sweeper.join(timeout=10)
    assert wf.get_event(engine, e.id).owner_level == "grid" and sweeper.rounds >= 1


def test_the_counters_follow_every_move(engine):
    """After all the moves above (run last in this module), the per-unit counters still
    equal a recount: an update skips only rows whose contribution did not change."""
    with engine.connect() as conn:
        kept = dict(conn.execute(sa.text(
            "SELECT unit_id, value FROM unit_counts WHERE measure = 'events_open' "
            "AND value <> 0")).all())
        recount = dict(conn.execute(sa.text("""
            SELECT u, count(*) FROM events e
             CROSS JOIN LATERAL unnest(ARRAY[0, e.town_id, e.village_id, e.grid_id,
                                             e.microgrid_id]) AS u
             WHERE e.status IN ('reported', 'triaged', 'warned', 'dispatched', 'handling',
                                'escalated', 'reopened')
             GROUP BY u""")).all())
    assert kept == recount and kept[0] > 0
