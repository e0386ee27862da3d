"""三治工作台 as its users work it, through the real Streamlit page: a village official raises
a matter, records a sitting whose decision (carried by a vote) opens an event, and closes
the matter; at a household of the village they award points with a reason and an approver,
redeem at the shop and record consent; a grid worker finds no household outside the grid;
a planner has no such page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PII_KEY, account_scope, app_as
from twin.domain import points
from twin.domain.pii import id_check_digit
from twin.i18n import t


@pytest.fixture(scope="module")
def engine(accounts_db):
    return accounts_db("boards_desk")


def _widget(items, label: str):
    return next(w for w in items if w.label == label)


def _choose(at, label: str, shown: str) -> None:
    """Choose the option of a select box whose label shows ``shown``."""
    box = _widget(at.selectbox, label)
    box.select_index(next(i for i, o in enumerate(box.options) if shown in o))


def _press(at, label: str) -> None:
    _widget(at.button, label).click()
    at.run()
    assert not at.exception, at.exception


def test_an_official_raises_consults_decides_and_closes_a_matter(engine, monkeypatch,
                                                                 tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-official", page="boards")
    at.run()
    assert not at.exception
    _widget(at.text_input, t("self.matter")).input("村口停车难，电话13812345678")
    _press(at, t("boards.raise"))
    with engine.connect() as conn:
        matter = conn.execute(sa.text(
            "SELECT id, code, title, status, actor FROM consultations "
            "ORDER BY id DESC LIMIT 1")).one()
    assert matter.status == "raised" and matter.actor == "t-official"
    assert "13812345678" not in matter.title and "138****5678" in matter.title
    _choose(at, t("boards.matter"), matter.code)
    at.run()
    _widget(at.text_area, t("boards.minutes")).input("听取意见，划定停车位")
    _widget(at.text_area, t("boards.decision")).input("同意划定20个停车位")
    _widget(at.checkbox, t("boards.voted")).check()
    _widget(at.number_input, t("boards.attendees")).set_value(25)
    _widget(at.number_input, t("boards.for")).set_value(20)
    _widget(at.number_input, t("boards.against")).set_value(3)
    _widget(at.text_input, t("boards.opens")).input("村口划线施工")
    _press(at, t("boards.record"))
    with engine.connect() as conn:
        sitting = conn.execute(sa.text(
            "SELECT s.votes_for, s.opens_event_id, e.source, t.status FROM consultation_sessions s "
            "JOIN consultations t ON t.id = s.consultation_id "
            "LEFT JOIN events e ON e.id = s.opens_event_id WHERE t.id = :i"),
            {"i": matter.id}).one()
    assert sitting.votes_for == 20 and sitting.source == "council"
    assert sitting.status == "decided"
    _widget(at.number_input, t("kpi.matters_solved")).set_value(3)
    _press(at, t("boards.finish"))
    with engine.connect() as conn:
        done = conn.execute(sa.text("SELECT status, matters_solved FROM consultations "
                                    "WHERE id = :i"), {"i": matter.id}).one()
    assert tuple(done) == ("done", 3)


def test_an_official_awards_redeems_and_records_consent_at_a_household(
        engine, village_sample, monkeypatch, tmp_path):
    village = account_scope(village_sample, "village:0")[0]
    with engine.connect() as conn:
        home = conn.execute(sa.text(
            "SELECT h.id, h.code FROM households h JOIN units v ON v.id = h.village_id "
            "WHERE v.code = :v ORDER BY h.id LIMIT 1"), {"v": village}).one()
    before = points.balance_of(engine, home.id)
    at = app_as(engine, monkeypatch, tmp_path, "t-official", page="boards")
    at.run()
    _widget(at.text_input, t("boards.household_code")).input(home.code)
    at.run()
    assert not at.exception
    _choose(at, t("boards.rule"), "孝老爱亲")
    _widget(at.text_input, t("boards.reason")).input("照顾卧床老人多年，邻居联名推荐")
    _widget(at.text_input, t("boards.approver")).input("村三治积分评议小组")
    _press(at, t("boards.award"))
    with engine.connect() as conn:
        entry = conn.execute(sa.text(
            "SELECT source, points, reason, approver, actor FROM points_ledger "
            "WHERE household_id = :h ORDER BY id DESC LIMIT 1"), {"h": home.id}).one()
    assert entry.source == "manual" and entry.points == 20 and entry.actor == "t-official"
    assert points.balance_of(engine, home.id) == before + 20
    items = points.shop(engine, {"id": conn_village_id(engine, home.id)})
    affordable = next(i for i in items if i["cost"] <= before + 20 and i["stock"] > 0)
    _choose(at, t("boards.item"), f"{affordable['name']} · ")
    _press(at, t("boards.redeem"))
    assert points.balance_of(engine, home.id) == before + 20 - affordable["cost"]
    _press(at, t("boards.give_consent"))
    card = points.household_card(engine, _official(village), home.code)
    assert card["consented"]
    assert points.ledger_faults(engine) == []


def conn_village_id(engine, household_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT village_id FROM households WHERE id = :h"),
                            {"h": household_id}).scalar()


def _official(village: str):
    from twin.domain.access import Principal

    return Principal("official", (village,), "t-official")


def test_a_grid_worker_finds_no_household_outside_the_grid(engine, village_sample,
                                                           monkeypatch, tmp_path):
    grid = account_scope(village_sample, "grid:0")[0]
    with engine.connect() as conn:
        outside = conn.execute(sa.text(
            "SELECT h.code FROM households h JOIN units g ON g.id = h.grid_id "
            "WHERE g.code <> :g ORDER BY h.id LIMIT 1"), {"g": grid}).scalar()
    at = app_as(engine, monkeypatch, tmp_path, "t-field", page="boards")
    at.run()
    _widget(at.text_input, t("boards.household_code")).input(outside)
    at.run()
    assert not at.exception
    assert any(t("boards.no_household") in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == t("boards.award")]


def test_a_planner_has_no_governance_desk(engine, monkeypatch, tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-planner", page="boards")
    at.run()
    assert not at.exception
    assert not [w for w in at.text_input if w.label == t("boards.household_code")]


def test_a_woodpecker_s_report_taken_down_by_id_number_enters_the_loop(
        engine, village_sample, monkeypatch, tmp_path):
    with engine.connect() as conn:
        volunteer = conn.execute(sa.text("""
            SELECT m.person_id FROM organization_members m
              JOIN organizations o ON o.id = m.organization_id AND o.kind = 'volunteer_team'
             ORDER BY m.person_id LIMIT 1""")).scalar()
    people = village_sample.people
    number = people.loc[people["id"] == volunteer, "id_number"].iloc[0]
    monkeypatch.setenv("TWIN_PII_KEY", TEST_PII_KEY)  # the key the sample was loaded with
    at = app_as(engine, monkeypatch, tmp_path, "t-official", page="boards")
    at.run()
    _widget(at.text_input, t("boards.volunteer_id")).input(number)
    _widget(at.text_input, t("boards.what")).input("桥头护栏松动，联系13812345678")
    _press(at, t("boards.report"))
    assert not at.error, [e.value for e in at.error]
    with engine.connect() as conn:
        event = conn.execute(sa.text(
            "SELECT e.source, e.title, v.person_id FROM events e "
            "JOIN volunteer_reports v ON v.event_id = e.id ORDER BY e.id DESC LIMIT 1")).one()
    assert event.source == "volunteer" and event.person_id == volunteer
    assert "13812345678" not in event.title
    assert any(t("boards.reported").split("，")[0] in s.value for s in at.success)
    unknown = "33048319800101999"
    unknown += id_check_digit(unknown)  # valid, and nobody's in the sample
    _widget(at.text_input, t("boards.volunteer_id")).input(unknown)
    _widget(at.text_input, t("boards.what")).input("路灯不亮")
    _press(at, t("boards.report"))
    errors = " ".join(e.value for e in at.error)
    assert "ID-card number" in errors and unknown not in errors
