"""事件中心 as its users work it, through the real Streamlit page: an official opens an
event from its URL, dispatches it, sends a field link as URL and QR code and revokes it; a
grid worker sees only the moves the role makes; a change by someone else in between is
said, not overwritten."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import account_scope, app_as, decks
from twin.config import Settings
from twin.domain import links
from twin.domain import workflow as wf
from twin.i18n import t


@pytest.fixture(scope="module")
def engine(accounts_db):
    return accounts_db("event_centre")


@pytest.fixture
def event(engine, village_sample):
    """A resident's report, just now, in the first grid (t-official's village, t-field's
    grid)."""
    grid = account_scope(village_sample, "grid:0")[0]
    with engine.connect() as conn:
        x, y = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(m.geom) p FROM units m "
            "JOIN units g ON g.id = m.grid_id WHERE g.code = :g AND m.level = 'microgrid' "
            "LIMIT 1) q"), {"g": grid}).one()
    return wf.report(engine, category="sanitation", title="河边垃圾堆放", lon=x, lat=y,
                     source="resident", actor="居民")


def _labels(at) -> set[str]:
    return {b.label for b in at.button}


def test_an_official_dispatches_and_sends_a_field_link(engine, event, monkeypatch, tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-official", page="events", event=event.code)
    at.run()
    assert not at.exception
    assert any(event.code in s.value for s in at.subheader)
    assert {t("move.accept"), t("move.triage"), t("move.escalate")} <= _labels(at)
    assert len(decks(at)) == 2  # the list's map and the event's 3D place
    to = next(i for i in at.text_input if i.label == t("move.dispatch_to"))
    to.input("镇综合执法队")
    next(b for b in at.button if b.label == t("move.dispatch")).click()
    at.run()
    assert not at.exception
    with engine.connect() as conn:
        status, assignee = conn.execute(sa.text(
            "SELECT status, assignee FROM events WHERE id = :e"), {"e": event.id}).one()
        actor = conn.execute(sa.text("SELECT actor FROM event_log WHERE event_id = :e "
                                     "ORDER BY id DESC LIMIT 1"), {"e": event.id}).scalar()
    assert (status, assignee, actor) == ("dispatched", "镇综合执法队", "t-official")
    assert any(t("events.done") in s.value for s in at.success)

    assert t("events.link_event") not in _labels(at)  # drawn only when its panel is open
    at.session_state[f"link-panel-{event.id}"] = True  # the official opens the panel
    at.run()
    next(b for b in at.button if b.label == t("events.link_event")).click()
    at.run()
    url = at.code[0].value
    assert "/?link=" in url and at.image  # the URL and its QR code
    token = url.split("link=")[1]
    made = links.verify(engine, Settings(data_dir=tmp_path), token)  # the page's link key
    assert (made.scope, made.scope_id, made.created_by) == ("event", event.id, "t-official")
    assert [m["id"] for m in links.links_by(engine, "t-official")][:1] == [made.id]
    next(b for b in at.button if b.key == f"revoke-{made.id}").click()
    at.run()
    assert made.id not in {m["id"] for m in links.links_by(engine, "t-official")}


def test_a_grid_worker_has_the_moves_of_the_role(engine, event, monkeypatch, tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-field", page="events", event=event.code)
    at.run()
    assert not at.exception
    labels = _labels(at)
    assert t("move.accept") in labels and t("move.escalate") in labels
    assert t("move.dispatch") not in labels and t("move.triage") not in labels
    assert t("events.link_event") not in labels  # links are sent by officials


def test_someone_elses_change_is_said_not_overwritten(engine, event, monkeypatch, tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-official", page="events", event=event.code)
    at.run()
    wf.transition(engine, event.id, "triaged", actor="t-other-desk",
                  expected_version=event.version)  # meanwhile, at another desk
    next(b for b in at.button if b.label == t("move.escalate")).click()
    at.run()
    assert any(t("events.stale") in w.value for w in at.warning)
    current = wf.get_event(engine, event.id)
    assert (current.status, current.owner_level) == ("triaged", "microgrid")


def test_an_event_outside_the_scope_is_not_shown(engine, event, monkeypatch, tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-other", page="events", event=event.code)
    at.run()
    assert not at.exception
    assert not any(event.code in s.value for s in at.subheader)
    assert any(t("events.gone") in w.value for w in at.warning)
