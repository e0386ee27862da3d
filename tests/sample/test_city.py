"""The city sample: counties generated one at a time, written side by side in one twin."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import SAMPLE_END
from twin.runtime.cli import write_city
from twin.sample.city import COUNTIES, ID_STRIDE, counties
from twin.sample.generate import SampleError


@pytest.fixture(scope="module")
def city(db_factory, pii_key):
    """Three village-scale counties written as one city."""
    engine = db_factory("city")
    made = []
    counts, first = write_city(engine, pii_key, seed=3, end=SAMPLE_END, n=3, base="village",
                               report=made.append)
    assert first is made[0]
    return engine, made, counts


def test_each_county_is_its_own_land_ids_and_codes(city):
    engine, made, counts = city
    assert len(made) == 3
    assert counts["people"] == sum(len(c.people) for c in made)
    bounds = [c.units.total_bounds for c in made]
    for i, a in enumerate(bounds):  # side by side, never touching
        for b in bounds[i + 1:]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]
    with engine.connect() as conn:
        by_county = conn.execute(sa.text(
            "SELECT id / :s AS county, left(code, 6) AS code, count(*) FROM units "
            "GROUP BY 1, 2 ORDER BY 1"), {"s": ID_STRIDE}).all()
        assert [(k, code) for k, code, _ in by_county] == [
            (k, COUNTIES[k][0]) for k in range(3)]
        towns = conn.execute(sa.text(
            "SELECT name FROM units WHERE level = 'town' ORDER BY id")).scalars().all()
        assert towns[1].startswith(COUNTIES[1][1]) and towns[2].startswith(COUNTIES[2][1])
        # every event's and building's cell is in its own county (cells follow geometry)
        stray = conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM events WHERE id / :s <> town_id / :s) "
            "+ (SELECT count(*) FROM buildings WHERE id / :s <> microgrid_id / :s) "
            "+ (SELECT count(*) FROM people WHERE id / :s <> town_id / :s)"),
            {"s": ID_STRIDE}).scalar()
        assert stray == 0
        assert conn.execute(sa.text(
            "SELECT count(DISTINCT code) = count(*) FROM events")).scalar()


def test_derived_rows_cover_the_whole_city(city):
    engine, made, _ = city
    with engine.connect() as conn:
        grids = conn.execute(sa.text(
            "SELECT count(DISTINCT town_id / :s) FROM party_coverage"),
            {"s": ID_STRIDE}).scalar()
    assert grids == 3


def test_a_city_has_one_to_five_counties():
    with pytest.raises(SampleError, match="1 to 5 counties"):
        next(counties(0, end=SAMPLE_END, n=6))
