"""Monitor → warn: one warning per station-and-parameter episode, opened once, closed once
after the readings recover, on the sample's history and on readings as they arrive."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from twin.domain import monitor


@pytest.fixture(scope="module")
def engine(sample_db):
    """A database of its own (these tests write), holding the village sample."""
    return sample_db("monitor")


def _episodes_by_pandas(sample, limits: pd.DataFrame) -> int:
    """Breaches grouped into episodes: a new one starts after a gap of recover_hours."""
    obs = sample.observations.join(limits, on="parameter")
    over = obs[(obs["value"] > obs["warn_above"]) | (obs["value"] < obs["warn_below"])]
    n = 0
    for _, g in over.sort_values("observed_at").groupby(["station_id", "parameter"]):
        gaps = g["observed_at"].diff() >= pd.to_timedelta(g["recover_hours"], unit="h")
        n += 1 + int(gaps.sum())
    return n


def test_the_sample_history_opens_one_warning_per_episode(engine, village_sample):
    with engine.connect() as conn:
        limits = pd.read_sql(sa.text(
            "SELECT code, warn_above, warn_below, recover_hours FROM parameters"),
            conn).set_index("code")
    result = monitor.evaluate_all(engine)
    expected = _episodes_by_pandas(village_sample, limits)
    assert result["opened"] == expected > 0
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT w.closed_at, e.status, e.source, e.owner_level,
                   (SELECT count(*) FROM event_log l WHERE l.event_id = e.id) AS steps
              FROM warning_episodes w JOIN events e ON e.id = w.event_id""")).all()
    assert len(rows) == expected
    assert all(r.source == "sensor" and r.owner_level == "microgrid" for r in rows)
    for r in rows:  # closed ones resolved by the monitor, open ones still warned
        assert (r.status, r.steps) == (("resolved", 2) if r.closed_at else ("warned", 1))
    assert monitor.evaluate_all(engine) == {"opened": 0, "updated": 0, "closed": 0}


def test_readings_as_they_arrive(engine, village_sample):
    station = village_sample.stations[village_sample.stations["kind"] == "water_level"].iloc[0]
    sid = int(station["id"])
    t0 = village_sample.observations["observed_at"].max().to_pydatetime() + dt.timedelta(
        days=2)

    def readings(hours, value):
        return [(sid, "water_level", t0 + dt.timedelta(hours=h), value) for h in hours]

    def episodes():
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT w.id, w.breaches, w.worst, w.closed_at, e.status FROM warning_episodes w "
                "JOIN events e ON e.id = w.event_id WHERE w.station_id = :s "
                "AND w.first_breach_at >= :t0 ORDER BY w.id"), {"s": sid, "t0": t0}).all()

    assert monitor.ingest(engine, readings([0, 1], 1.6))["opened"] == 0  # below 2.8 m
    first = monitor.ingest(engine, readings([2], 3.1))
    assert first["opened"] == 1
    assert monitor.ingest(engine, readings([3, 4], 3.4))["opened"] == 0  # the same episode
    (ep,) = episodes()
    assert (ep.breaches, ep.worst, ep.closed_at, ep.status) == (3, 3.4, None, "warned")
    assert monitor.ingest(engine, readings([5, 6], 2.0))["closed"] == 0  # not long enough
    closed = monitor.ingest(engine, readings([7, 8], 2.0))  # 3 h after the last breach
    assert closed["closed"] == 1
    (ep,) = episodes()
    assert ep.closed_at == t0 + dt.timedelta(hours=7) and ep.status == "resolved"
    assert monitor.ingest(engine, readings([20], 3.0))["opened"] == 1  # a new episode
    assert [e.status for e in episodes()] == ["resolved", "warned"]


def test_a_warning_someone_handles_stays_with_them(engine, village_sample):
    from twin.domain import workflow as wf

    station = village_sample.stations[village_sample.stations["kind"] == "noise"].iloc[0]
    sid = int(station["id"])
    t0 = village_sample.observations["observed_at"].max().to_pydatetime() + dt.timedelta(
        days=5)
    monitor.ingest(engine, [(sid, "noise", t0, 85.0)])
    with engine.connect() as conn:
        event_id = conn.execute(sa.text(
            "SELECT event_id FROM warning_episodes WHERE station_id = :s AND closed_at IS NULL"),
            {"s": sid}).scalar()
    e = wf.get_event(engine, event_id)
    wf.transition(engine, event_id, "dispatched", actor="镇环保办", expected_version=e.version)
    monitor.ingest(engine, [(sid, "noise", t0 + dt.timedelta(hours=h), 50.0) for h in (1, 4)])
    assert wf.get_event(engine, event_id).status == "dispatched"


def test_a_warning_code_keeps_every_digit_of_a_long_id(engine, village_sample):
    """Ids past seven digits (a city's: county × 10^8) stay whole in the code: truncated,
    two warnings shared one code and the second was refused."""
    station = village_sample.stations[village_sample.stations["kind"] == "water_level"].iloc[0]
    t0 = village_sample.observations["observed_at"].max().to_pydatetime() + dt.timedelta(
        days=40)
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('events', 'id'), "
                             "400000316)"))
    for k in range(2):  # two episodes, apart by more than the recovery
        got = monitor.ingest(engine, [(int(station["id"]), "water_level",
                                       t0 + dt.timedelta(days=k), 3.2)])
        assert got["opened"] == 1
    with engine.connect() as conn:
        codes = conn.execute(sa.text(
            "SELECT code FROM events WHERE id > 400000316 ORDER BY id")).scalars().all()
    assert [c.split("-")[1] for c in codes] == ["400000317", "400000318"]
