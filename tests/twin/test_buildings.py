"""A building for everyone, its households (addresses) for the officials and grid workers of
its unit, its residents only masked and only for the officials of its unit who say why (the
checks live in twin.domain.access)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from twin.domain.access import ANONYMOUS, Principal
from twin.domain.buildings import building_detail
from twin.domain.pii import mask_name
from twin.errors import NotFound


def _busiest_building(engine) -> tuple[int, str]:
    with engine.connect() as conn:
        return conn.execute(sa.text("""
            SELECT h.building_id, m.code FROM households h
              JOIN people p ON p.household_id = h.id JOIN units m ON m.id = h.microgrid_id
             GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1""")).one()


def test_households_only_in_scope_and_counts_for_everyone(sample_engine, village_sample):
    building_id, microgrid = _busiest_building(sample_engine)
    households = village_sample.households[village_sample.households["building_id"] ==
                                           building_id]
    people = village_sample.people["household_id"].isin(households["id"]).sum()
    for outside in (ANONYMOUS, Principal("planner", (), "p"), Principal("admin", (), "a"),
                    Principal("field", ("no-such-unit",), "f")):
        detail = building_detail(sample_engine, building_id, outside, purpose="curious")
        assert detail["households"] is None and detail["residents"] is None
        assert not detail["residents_allowed"]
        assert detail["household_count"] == len(households)
        assert detail["resident_count"] == (people if people >= 5 else None)
    worker = building_detail(sample_engine, building_id, Principal("field", (microgrid,), "f"))
    assert sorted(h["code"] for h in worker["households"]) == sorted(households["code"])
    assert worker["residents"] is None and not worker["residents_allowed"]


@pytest.fixture(scope="module")
def audited(sample_db):
    return sample_db("buildings")


def test_only_scoped_officials_see_residents_with_a_purpose_and_it_is_audited(
        audited, village_sample):
    building_id, microgrid = _busiest_building(audited)
    people = village_sample.people
    hh_ids = village_sample.households.loc[
        village_sample.households["building_id"] == building_id, "id"]
    plain = people[people["household_id"].isin(hh_ids)]
    units = village_sample.units.set_index("code")
    village = units.loc[microgrid]
    while village["level"] != "village":
        village = village_sample.units.set_index("id").loc[village["parent_id"]]
    official = Principal("official", (village["code"],), "cun.zhuren")
    asked = building_detail(audited, building_id, official)
    assert asked["residents_allowed"] and asked["residents"] is None  # no purpose, no view
    residents = building_detail(audited, building_id, official, purpose="入户走访")["residents"]
    assert sorted(r["name"] for r in residents) == sorted(plain["name"])
    assert all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", r["id_masked"]) for r in residents
               if r["id_masked"])
    with audited.connect() as conn:
        log = conn.execute(sa.text("SELECT actor, action, unit_code, purpose, detail FROM "
                                   "audit_log ORDER BY id DESC LIMIT 1")).one()
    assert tuple(log[:4]) == ("cun.zhuren", "view_residents", microgrid, "入户走访")
    assert log.detail == {"residents": len(plain)}
    by_id = village_sample.units.set_index("id")
    grid = by_id.loc[units.loc[microgrid, "parent_id"], "code"]
    other = village_sample.units[(village_sample.units.level == "grid")
                                 & (village_sample.units.code != grid)].code.iloc[0]
    for who in (Principal("admin", (), "admin"), Principal("planner", (), "p"),
                Principal("screen", (), "s"), Principal("field", (microgrid,), "f"),
                Principal("official", (other,), "elsewhere")):
        got = building_detail(audited, building_id, who, purpose="入户走访")
        assert got["residents"] is None and not got["residents_allowed"], who


def test_unknown_building(sample_engine):
    with pytest.raises(NotFound, match="no building with id 0"):
        building_detail(sample_engine, 0, ANONYMOUS)


@pytest.mark.parametrize(("name", "masked"), [("张", "张"), ("张三", "张*"), ("李小龙", "李*龙"),
                                              ("欧阳娜娜", "欧**娜")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_a_clicked_element_leads_to_the_unit_that_holds_it(sample_engine, village_sample):
    from twin.domain.units import unit_of_element

    units = village_sample.units.set_index("id")
    with sample_engine.connect() as conn:
        event_id, grid_id, town_id = conn.execute(sa.text(
            "SELECT id, grid_id, town_id FROM events ORDER BY id LIMIT 1")).one()
    assert unit_of_element(sample_engine, "events", event_id, "grid") == units.code[grid_id]
    assert unit_of_element(sample_engine, "events", event_id, "town") == units.code[town_id]
    assert unit_of_element(sample_engine, "events", 10**9, "town") is None
    with pytest.raises(ValueError, match="unknown element table 'people'"):
        unit_of_element(sample_engine, "people", 1, "town")
