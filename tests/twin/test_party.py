"""党建统领: a visit and the event its finding opens are written together or not at all;
leaders, links and the board's figures agree with independent counts; the leader's link
opens the leader's page only; the cadres' structure is for the unit's officials only."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import SAMPLE_END
from twin.domain import links, party
from twin.domain.access import Principal
from twin.domain.links import LinkError
from twin.domain.summary import rollup
from twin.domain.workflow import WorkflowError

PHONE = "13812345678"


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("party")


@pytest.fixture(scope="module")
def home(engine):
    """A household, the leader who serves it, its micro-grid, and another leader."""
    with engine.connect() as conn:
        row = conn.execute(sa.text("""
            SELECT k.household_id, k.leader_id, h.microgrid_id,
                   (SELECT l.id FROM microgrid_leaders l WHERE l.id <> k.leader_id
                     ORDER BY l.id LIMIT 1) AS other
              FROM household_links k JOIN households h ON h.id = k.household_id
             ORDER BY k.household_id LIMIT 1""")).mappings().one()
    return dict(row)


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_a_visit_with_a_finding_opens_an_event_owned_by_the_micro_grid(engine, home):
    visit_id, event = party.record_visit(
        engine, household_id=home["household_id"], leader_id=home["leader_id"],
        visitor=f"leader:{home['leader_id']}", kind="day_night",
        heard=f"楼道灯坏了，联系电话{PHONE}", finding="public_facility", client_key="v-1")
    assert event is not None
    with engine.connect() as conn:
        e = conn.execute(sa.text(
            "SELECT microgrid_id, owner_level, source, status, description FROM events "
            "WHERE id = :id"), {"id": event.id}).mappings().one()
        v = conn.execute(sa.text("SELECT event_id, heard, microgrid_id FROM visits "
                                 "WHERE id = :id"), {"id": visit_id}).mappings().one()
        logged = conn.execute(sa.text("SELECT actor FROM event_log WHERE event_id = :id"),
                              {"id": event.id}).scalars().all()
    assert (e["microgrid_id"], e["owner_level"], e["source"], e["status"]) == (
        home["microgrid_id"], "microgrid", "visit", "reported")
    assert v["event_id"] == event.id and v["microgrid_id"] == home["microgrid_id"]
    assert PHONE not in v["heard"] and PHONE not in e["description"]  # scrubbed
    assert logged == [f"leader:{home['leader_id']}"]


def test_a_visit_is_written_once_however_often_it_is_sent(engine, home):
    args = dict(household_id=home["household_id"], leader_id=home["leader_id"],
                visitor="leader:x", kind="patrol", heard="反映路灯", finding="public_facility",
                client_key="v-twice")
    first = party.record_visit(engine, **args)
    second = party.record_visit(engine, **args)
    assert first[0] == second[0] and first[1].id == second[1].id
    assert _count(engine, "SELECT count(*) FROM visits WHERE client_key = 'v-twice'") == 1
    assert _count(engine, "SELECT count(*) FROM events WHERE client_key = 'visit:v-twice'") == 1


def test_the_visit_and_its_event_are_written_together_or_not_at_all(engine, home,
                                                                    monkeypatch):
    visits = "SELECT count(*) FROM visits"
    events = "SELECT count(*) FROM events"
    before = (_count(engine, visits), _count(engine, events))
    with pytest.raises(WorkflowError):  # the event cannot be made: no visit either
        party.record_visit(engine, household_id=home["household_id"],
                           leader_id=home["leader_id"], visitor="leader:x", kind="patrol",
                           heard="有情况", finding="no_such_category", client_key="v-fail")
    assert (_count(engine, visits), _count(engine, events)) == before
    # the visit's row fails after the event was made: the event is undone with it
    def failing_insert(table):
        raise sa.exc.DBAPIError("INSERT INTO visits", {}, RuntimeError("disk full"))

    monkeypatch.setattr(party, "pg_insert", failing_insert)
    with pytest.raises(sa.exc.DBAPIError):
        party.record_visit(engine, household_id=home["household_id"],
                           leader_id=home["leader_id"], visitor="leader:x", kind="patrol",
                           heard="有情况", finding="sanitation", client_key="v-late")
    assert (_count(engine, visits), _count(engine, events)) == before


def test_a_leader_visits_only_their_own_households(engine, home):
    with pytest.raises(party.VisitError, match="not linked"):
        party.record_visit(engine, household_id=home["household_id"],
                           leader_id=home["other"], visitor="leader:y", kind="patrol")
    with pytest.raises(party.VisitError, match="unknown kind"):
        party.record_visit(engine, household_id=home["household_id"], visitor="x",
                           kind="coffee")
    with pytest.raises(party.VisitError, match="needs the words"):
        party.record_visit(engine, household_id=home["household_id"], visitor="x",
                           kind="patrol", finding="sanitation")


def test_leaders_and_links_agree_with_an_independent_count(engine):
    with engine.connect() as conn:
        counts = conn.execute(sa.text("""
            SELECT (SELECT count(*) FROM microgrid_leaders WHERE relieved_on IS NULL),
                   (SELECT count(*) FROM microgrid_leaders
                     WHERE relieved_on IS NULL AND party_member),
                   (SELECT count(*) FROM household_links),
                   (SELECT count(*) FROM households),
                   (SELECT count(DISTINCT microgrid_id) FROM households)""")).one()
        # every micro-grid with homes has exactly one serving leader, who lives there
        unled = conn.execute(sa.text("""
            SELECT count(*) FROM (SELECT DISTINCT microgrid_id FROM households) h
             WHERE NOT EXISTS (SELECT 1 FROM microgrid_leaders l
                                WHERE l.microgrid_id = h.microgrid_id)""")).scalar()
        elsewhere = conn.execute(sa.text("""
            SELECT count(*) FROM microgrid_leaders l JOIN people p ON p.id = l.person_id
             WHERE p.microgrid_id <> l.microgrid_id""")).scalar()
    m = party.measures(engine, None)
    assert (m["leaders"], m["leaders_party"], m["households_linked"], m["households"],
            m["microgrids_inhabited"]) == tuple(counts)
    assert m["linked_pct"] == 100.0 and unled == 0 and elsewhere == 0
    assert m["party_orgs"] > 0 and m["party_members"] > 0 and m["cadres"] > 0


def test_the_figures_of_a_unit_are_its_own(engine):
    with engine.connect() as conn:
        village = conn.execute(sa.text(
            "SELECT id FROM units WHERE level = 'village' ORDER BY id LIMIT 1")).scalar()
        want = conn.execute(sa.text(
            "SELECT count(*) FROM microgrid_leaders WHERE village_id = :v"),
            {"v": village}).scalar()
    unit = rollup(engine, village)
    assert party.measures(engine, unit)["leaders"] == want
    table = party.coverage_by_child(engine, unit)
    assert table["grids"].sum() == unit["grids"]
    assert table["grids_party"].sum() == unit["grids_party"]


def test_visits_of_the_last_30_days(engine):
    # the sample's own last 30 days: its timeline ends at SAMPLE_END, so a window ending
    # today would hold fewer of its visits each day (and only this module's from December)
    now = SAMPLE_END
    want = _count(engine, "SELECT count(*) FROM visits WHERE visited_at > :t",
                  t=now - dt.timedelta(days=30))
    got = party.visit_measures(engine, None, now)
    assert got["visits_30d"] == want > 0
    assert 0 < got["visited_30d_pct"] <= 100


def test_a_leaders_link_opens_the_leaders_page_only(engine, settings, home):
    token = links.create(engine, settings, "leader", home["leader_id"], "t-official")
    assert links.verify(engine, settings, token, scopes=("leader",)).scope_id == \
        home["leader_id"]
    with pytest.raises(LinkError, match="another page"):
        links.verify(engine, settings, token)  # not as a field link to events or a grid
    grid = _count(engine, "SELECT grid_id FROM households WHERE id = :h",
                  h=home["household_id"])
    grid_link = links.create(engine, settings, "grid", grid, "t-official")
    with pytest.raises(LinkError, match="another page"):
        links.verify(engine, settings, grid_link, scopes=("leader",))
    page = party.leader_page(engine, home["leader_id"])
    assert home["household_id"] in {h["id"] for h in page.households}
    assert all("name" not in h for h in page.households)


def test_the_cadres_structure_is_for_the_units_officials_only(engine):
    with engine.connect() as conn:
        village = conn.execute(sa.text(
            "SELECT id, code FROM units WHERE level = 'village' ORDER BY id LIMIT 1")).one()
        other = conn.execute(sa.text(
            "SELECT code FROM units WHERE level = 'grid' AND village_id <> :v LIMIT 1"),
            {"v": village.id}).scalar()
        serving = conn.execute(sa.text(
            "SELECT count(*) FROM cadres WHERE village_id = :v AND post <> 'reserve'"),
            {"v": village.id}).scalar()
    unit = rollup(engine, village.id)
    official = Principal("official", (village.code,), "o")
    got = party.cadre_structure(engine, official, unit)
    assert got is not None and int(got["serving"].sum()) == serving
    ages = [c for c in got.columns if c.startswith("age_")]
    assert int(got[ages].sum(axis=1).sum()) == serving
    for who in (Principal("planner", (), "p"), Principal("screen", (), "s"),
                Principal("official", (other,), "elsewhere"), Principal("admin", (), "a")):
        assert party.cadre_structure(engine, who, unit) is None, who.role
