"""A building's households for everyone, its residents only masked and only for roles that
may see them (the check lives in twin.access)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from twin.access import ANONYMOUS, Principal
from twin.buildings import building_detail
from twin.errors import NotFound
from twin.pii import mask_name


def _busiest_building(engine) -> tuple[int, str]:
    with engine.connect() as conn:
        return conn.execute(sa.text("""
            SELECT h.building_id, m.code FROM households h
              JOIN people p ON p.household_id = h.id JOIN units m ON m.id = h.microgrid_id
             GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1""")).one()


def test_anonymous_sees_households_but_no_resident(sample_engine, village_sample):
    building_id, _ = _busiest_building(sample_engine)
    detail = building_detail(sample_engine, building_id, ANONYMOUS)
    households = village_sample.households[village_sample.households["building_id"] ==
                                           building_id]
    assert sorted(h["code"] for h in detail["households"]) == sorted(households["code"])
    assert detail["residents"] is None


def test_allowed_roles_see_residents_masked(sample_engine, village_sample):
    building_id, microgrid = _busiest_building(sample_engine)
    people = village_sample.people
    hh_ids = village_sample.households.loc[
        village_sample.households["building_id"] == building_id, "id"]
    plain = people[people["household_id"].isin(hh_ids)]
    for who in (Principal("admin"), Principal("official", (microgrid[:9],))):
        residents = building_detail(sample_engine, building_id, who)["residents"]
        assert len(residents) == len(plain)
        shown = " ".join(str(v) for r in residents for v in r.values())
        for name in plain["name"]:
            assert name not in shown or len(name) == 1
        assert sorted(r["name"] for r in residents) == sorted(plain["name"].map(mask_name))
        assert all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", r["id_masked"]) for r in residents
                   if r["id_masked"])
    elsewhere = Principal("official", ("330483999",))
    assert building_detail(sample_engine, building_id, elsewhere)["residents"] is None


def test_unknown_building(sample_engine):
    with pytest.raises(NotFound, match="no building with id 0"):
        building_detail(sample_engine, 0, ANONYMOUS)


@pytest.mark.parametrize(("name", "masked"), [("张", "张"), ("张三", "张*"), ("李小龙", "李*龙"),
                                              ("欧阳娜娜", "欧**娜")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_a_clicked_element_leads_to_the_unit_that_holds_it(sample_engine, village_sample):
    from twin.units import unit_of_element

    units = village_sample.units.set_index("id")
    with sample_engine.connect() as conn:
        event_id, grid_id, town_id = conn.execute(sa.text(
            "SELECT id, grid_id, town_id FROM events ORDER BY id LIMIT 1")).one()
    assert unit_of_element(sample_engine, "events", event_id, "grid") == units.code[grid_id]
    assert unit_of_element(sample_engine, "events", event_id, "town") == units.code[town_id]
    assert unit_of_element(sample_engine, "events", 10**9, "town") is None
    with pytest.raises(ValueError, match="unknown element table 'people'"):
        unit_of_element(sample_engine, "people", 1, "town")
