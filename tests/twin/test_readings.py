"""National grades (AQI, GB 3838 classes) in SQL, and the period queries behind the side
charts, checked against the standard's own breakpoints and against pandas on the sample."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from twin.domain.access import Principal
from twin.domain.environment import breaches, daily_grades, daily_visitors
from twin.domain.summary import event_counts, event_heat, events_daily

CHINA = "Asia/Shanghai"
IAQI = [0, 50, 100, 150, 200, 300, 400, 500]
# HJ 633-2012 breakpoints (REFERENCE.md), the test's own copy.
BREAKPOINTS = {"pm25": [0, 35, 75, 115, 150, 250, 350, 500],
               "pm10": [0, 50, 150, 250, 350, 420, 500, 600],
               "no2": [0, 40, 80, 180, 280, 565, 750, 940],
               "o3": [0, 160, 200, 300, 400, 800, 1000, 1200]}


def iaqi(parameter: str, value: float) -> int:
    bp = BREAKPOINTS[parameter]
    if value >= bp[-1]:
        return 500
    i = int(np.searchsorted(bp, value, side="right")) - 1
    return int(np.ceil((IAQI[i + 1] - IAQI[i]) * (value - bp[i]) / (bp[i + 1] - bp[i])
                       + IAQI[i]))


@pytest.mark.parametrize(("parameter", "value", "expected"), [
    ("pm25", 0, 0), ("pm25", 35, 50), ("pm25", 75, 100), ("pm25", 80, 107),
    ("pm25", 115, 150), ("pm25", 500, 500), ("pm25", 900, 500), ("pm10", 150, 100),
    ("no2", 80, 100), ("o3", 160, 50), ("o3", 170, 63), ("co", 4, 100), ("noise", 60, None),
])
def test_iaqi_follows_the_breakpoints(sample_engine, parameter, value, expected):
    with sample_engine.connect() as conn:
        got = conn.execute(sa.text("SELECT twin_iaqi(:p, :v)"), {"p": parameter, "v": value})
        assert got.scalar() == expected


@pytest.mark.parametrize(("aqi", "category"), [(0, 1), (50, 1), (51, 2), (100, 2), (101, 3),
                                               (200, 4), (201, 5), (300, 5), (301, 6)])
def test_aqi_categories(sample_engine, aqi, category):
    with sample_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT twin_aqi_category(:a)"), {"a": aqi}).scalar() == (
            category)


@pytest.mark.parametrize(("parameter", "value", "klass"), [
    ("do", 7.5, 1), ("do", 7.4, 2), ("do", 5.0, 3), ("do", 4.99, 4), ("do", 2.0, 5),
    ("do", 1.9, 6), ("nh3n", 0.15, 1), ("nh3n", 1.0, 3), ("nh3n", 1.01, 4), ("nh3n", 2.5, 6),
    ("tp", 0.2, 3), ("codmn", 15, 5), ("cod", 15, 1), ("bod5", 4, 3), ("pm25", 30, None),
])
def test_water_classes_of_gb3838(sample_engine, parameter, value, klass):
    with sample_engine.connect() as conn:
        got = conn.execute(sa.text("SELECT twin_water_class(:p, :v)"),
                           {"p": parameter, "v": value}).scalar()
    assert got == klass


def _observations(sample) -> pd.DataFrame:
    obs = sample.observations.merge(
        sample.stations[["id", "name", "kind"]], left_on="station_id", right_on="id")
    obs["day"] = obs["observed_at"].dt.tz_convert(CHINA).dt.date
    return obs


def _period(sample) -> tuple[dt.datetime, dt.datetime]:
    end = sample.observations["observed_at"].max().to_pydatetime() + dt.timedelta(hours=1)
    return end - dt.timedelta(days=10), end


def test_daily_aqi_matches_an_independent_computation(sample_engine, village_sample):
    start, end = _period(village_sample)
    got = daily_grades(sample_engine, None, start, end)
    obs = _observations(village_sample)
    obs = obs[(obs["kind"] == "air") & (obs["observed_at"] >= start)
              & (obs["observed_at"] < end)]
    means = obs.groupby(["name", "day", "parameter"])["value"].agg(["mean", "max"])
    expected = {}
    for (name, day, parameter), row in means.iterrows():
        value = row["max"] if parameter == "o3" else row["mean"]
        key = (name, day)
        expected[key] = max(expected.get(key, 0), iaqi(parameter, value))
    air = got[got["kind"] == "air"]
    assert len(air) == len(expected) > 0
    for row in air.itertuples():
        assert row.aqi == expected[(row.station, row.day)], (row.station, row.day)
        assert 1 <= row.category <= 6


def test_breaches_match_readings_beyond_their_limits(sample_engine, village_sample):
    start, end = _period(village_sample)
    with sample_engine.connect() as conn:
        limits = pd.read_sql(sa.text("SELECT code, warn_above, warn_below FROM parameters"),
                             conn).set_index("code")
    obs = _observations(village_sample)
    obs = obs[(obs["observed_at"] >= start) & (obs["observed_at"] < end)].join(
        limits, on="parameter")
    over = obs[(obs["value"] > obs["warn_above"]) | (obs["value"] < obs["warn_below"])]
    expected = over.groupby(["day", "name", "parameter"]).size()
    got = breaches(sample_engine, None, start, end, limit=10_000)
    assert len(expected) > 0  # the sample has real breaches
    assert got.set_index(["day", "station", "parameter"])["hours"].sort_index().to_dict() == (
        expected.sort_index().to_dict())
    assert list(got["day"]) == sorted(got["day"], reverse=True)


def test_daily_visitors_and_unit_scope(sample_engine, village_sample):
    start, end = _period(village_sample)
    got = daily_visitors(sample_engine, None, start, end)
    obs = _observations(village_sample)
    obs = obs[(obs["kind"] == "visitors") & (obs["observed_at"] >= start)
              & (obs["observed_at"] < end)]
    assert got["visitors"].sum() == obs["value"].sum() > 0
    town = village_sample.units[village_sample.units["level"] == "town"].iloc[0]
    with sample_engine.connect() as conn:
        elsewhere = conn.execute(sa.text("SELECT max(id) + 1 FROM units")).scalar()
    inside = daily_visitors(sample_engine, {"level": "town", "id": int(town["id"])}, start, end)
    assert inside["visitors"].sum() == got["visitors"].sum()
    assert daily_visitors(sample_engine, {"level": "town", "id": elsewhere}, start, end).empty


def test_event_counts_daily_and_heat_agree_with_the_events(sample_engine, village_sample):
    events = village_sample.events
    start = events["reported_at"].min().to_pydatetime()
    end = events["reported_at"].max().to_pydatetime() + dt.timedelta(seconds=1)
    counts = event_counts(sample_engine, None, start, end)
    assert counts["reported"].sum() == len(events)
    assert counts.set_index("category")["reported"][lambda s: s > 0].to_dict() == (
        events["category"].value_counts().to_dict())
    daily = events_daily(sample_engine, None, start, end)
    assert daily["reported"].sum() == len(events)
    resolved = events["resolved_at"].dropna()
    assert daily["resolved"].sum() == ((resolved >= start) & (resolved < end)).sum()
    cells = event_heat(sample_engine, start, end, Principal("planner"))
    assert sum(c["w"] for c in cells) == len(events)
    assert {c["c"] for c in cells} <= set(range(1, 7)) and max(c["c"] for c in cells) == 6


def test_loop_measures_agree_with_the_events(sample_engine, village_sample):
    from twin.domain.summary import loop_measures, loop_trend

    events = village_sample.events
    start = events["reported_at"].min().to_pydatetime()
    end = events["reported_at"].max().to_pydatetime() + dt.timedelta(seconds=1)
    m = loop_measures(sample_engine, None, start, end)
    valid = events[~events["status"].isin(["rejected", "duplicate"])]
    resolved = events[events["resolved_at"].notna()]
    assert m["reported"] == len(events)
    assert m["resolution_rate"] == round(100 * len(resolved) / len(valid), 1)
    on_time = (resolved["resolved_at"] <= resolved["deadline_at"]).sum()
    assert m["on_time_rate"] == round(100 * on_time / len(resolved), 1)
    hours = (resolved["resolved_at"] - resolved["reported_at"]).dt.total_seconds() / 3600
    assert m["median_hours"] == pytest.approx(round(float(np.median(hours)), 1), abs=0.05)
    in_grid = resolved["owner_level"].isin(["microgrid", "grid"]).sum()
    assert m["within_grid"] == round(100 * in_grid / len(resolved), 1)
    assert m["satisfaction"] == pytest.approx(events["satisfaction"].mean(), abs=0.005)
    trend = loop_trend(sample_engine, None, start, end)
    assert trend["reported"].sum() == len(events)
    empty = loop_measures(sample_engine, None, end, end + dt.timedelta(days=1))
    assert empty["reported"] == 0 and empty["resolution_rate"] is None


def test_the_walls_ticker_shows_the_latest_alerting_moves_in_scope(sample_engine,
                                                                    village_sample):
    """The cockpit's ticker: reports, warnings and overdue escalations, newest first, with
    no event text, inside the unit and the viewer's scope (twin.domain.access)."""
    from twin.domain.access import ANONYMOUS
    from twin.domain.summary import TICKER_MOVES, ticker

    wall = ticker(sample_engine, Principal("screen", (), "wall"), None, limit=20)
    assert len(wall) == 20 and {i["move"] for i in wall} <= set(TICKER_MOVES)
    assert [i["id"] for i in wall] == sorted((i["id"] for i in wall), reverse=True)
    assert all("title" not in i and "description" not in i for i in wall)
    with sample_engine.connect() as conn:
        latest = conn.execute(sa.text(
            "SELECT max(id) FROM event_log WHERE to_status = ANY(:m)"),
            {"m": list(TICKER_MOVES)}).scalar()
    assert wall[0]["id"] == latest
    assert ticker(sample_engine, Principal("screen", (), "wall"), None, after=latest) == []
    # an official of one village sees only that village's; no one signed in sees nothing
    village = village_sample.units[village_sample.units["level"] == "village"].iloc[0]
    official = Principal("official", (village["code"],), "o")
    theirs = ticker(sample_engine, official, None, limit=50)
    assert theirs and {i["village"] for i in theirs} == {village["name"]}
    with sample_engine.connect() as conn:
        unit_id = conn.execute(sa.text("SELECT id FROM units WHERE code = :c"),
                               {"c": village["code"]}).scalar()
    in_unit = ticker(sample_engine, Principal("screen", (), "wall"),
                     {"id": unit_id, "level": "village"}, limit=50)
    assert [i["id"] for i in in_unit] == [i["id"] for i in theirs]
    assert ticker(sample_engine, ANONYMOUS, None) == []
