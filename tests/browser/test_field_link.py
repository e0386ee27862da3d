"""The loop from a phone: a sensor breach in the sample opened a warning; a field link
opens it at 390×844, and the person in the field accepts it and marks it resolved."""

from __future__ import annotations

import time

import sqlalchemy as sa

from twin.domain import links
from twin.domain import workflow as wf


def test_a_warning_accepted_and_resolved_by_field_link_on_a_phone(browser, field_server):
    url, engine, settings = field_server
    with engine.connect() as conn:
        event_id, title = conn.execute(sa.text(
            "SELECT e.id, e.title FROM warning_episodes w JOIN events e ON e.id = w.event_id "
            "WHERE w.closed_at IS NULL ORDER BY e.id LIMIT 1")).one()
    # the sample's live ammonia episode; its deadline passed while the sample aged, so the
    # server's sweeper climbs it a level by itself — wait for that before the phone opens it
    deadline = time.monotonic() + 60
    while wf.get_event(engine, event_id).status != "escalated":
        assert time.monotonic() < deadline, "the server did not escalate the overdue warning"
        time.sleep(0.2)
    assert wf.get_event(engine, event_id).owner_level == "grid"
    token = links.create(engine, settings, "event", event_id, "镇综治中心")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
            else None)
    page.goto(f"{url}/?link={token}")
    page.get_by_text("现场处置").first.wait_for(timeout=60_000)
    page.get_by_text(title).first.wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="接单").click()
    page.get_by_text("状态：处置中").first.wait_for(timeout=30_000)
    assert wf.get_event(engine, event_id).status == "handling"
    page.get_by_role("button", name="标记已办结").click()
    page.get_by_text("状态：已办结").first.wait_for(timeout=30_000)
    done = wf.get_event(engine, event_id)
    assert done.status == "resolved"
    with engine.connect() as conn:
        actors = conn.execute(sa.text(
            "SELECT DISTINCT actor FROM event_log WHERE event_id = :e AND actor LIKE 'link:%'"),
            {"e": event_id}).scalars().all()
    assert len(actors) == 1
    assert outside == []
    page.close()


def test_a_tampered_link_gets_a_clear_page(browser, field_server):
    url, engine, settings = field_server
    with engine.connect() as conn:
        event_id = conn.execute(sa.text("SELECT min(id) FROM events")).scalar()
    token = links.create(engine, settings, "event", event_id, "镇综治中心")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{url}/?link={token[:-3]}abc")
    page.get_by_text("链接不可用").first.wait_for(timeout=60_000)
    assert page.get_by_text("altered").count() >= 1
    assert page.get_by_role("button", name="接单").count() == 0
    page.close()
