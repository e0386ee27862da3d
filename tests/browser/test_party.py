"""党建统领 in a real Chromium: an official opens one micro-grid with the party board and
the 联户 lines are drawn from its tiles; a micro-grid leader opens their link on a phone,
taps a household on the map, records a visit, and records another with no network — kept
on the phone and sent when the network is back, once."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.browser.conftest import signed_page
from twin.domain import links

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def test_the_household_links_of_one_micro_grid_are_drawn(browser, server, sample_engine):
    with sample_engine.connect() as conn:
        microgrid, leader, homes = conn.execute(sa.text("""
            SELECT m.code, l.id, count(*) FROM microgrid_leaders l
              JOIN units m ON m.id = l.microgrid_id
              JOIN household_links k ON k.leader_id = l.id
             GROUP BY m.code, l.id ORDER BY count(*) DESC LIMIT 1""")).one()
    page = signed_page(browser, server, "t-official", viewport={"width": 1400, "height": 900})
    outside: list[str] = []
    tiles: dict[str, int] = {}

    def seen(response):
        if "/tiles/household_links/" in response.url and response.status == 200:
            tiles[response.url] = len(response.body())

    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
    page.on("response", seen)
    page.goto(f"{server}/?unit={microgrid}&apps=party")
    page.locator("#deckgl-overlay, canvas").first.wait_for(timeout=90_000)
    deadline = time.monotonic() + 90
    while not tiles and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert tiles, "no 联户 tile was drawn"
    assert any(size > 0 for size in tiles.values())
    page.get_by_text("联户连线（网格长—联系户）").first.wait_for(timeout=30_000)  # the legend
    assert outside == []
    assert homes > 1 and leader > 0
    page.close()


def test_a_leader_records_visits_on_a_phone_even_without_network(browser, field_server):
    url, engine, settings = field_server
    with engine.connect() as conn:
        # the leader's household drawn last (by code): on top where dots of one building
        # overlap, so a tap reaches it
        leader, home, address = conn.execute(sa.text("""
            SELECT k.leader_id, h.id, h.address FROM household_links k
              JOIN households h ON h.id = k.household_id
             WHERE k.leader_id = (SELECT min(leader_id) FROM household_links)
             ORDER BY h.code DESC LIMIT 1""")).one()
    token = links.create(engine, settings, "leader", leader, "t-official")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
    page.goto(f"{url}/api/leader/{token}")
    page.get_by_text("民情笔记").first.wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    before = _visits(engine, leader)

    page.locator(f'circle.dot[data-id="{home}"]').click()  # the household, by its dot
    assert page.locator("#household").input_value() == str(home)
    page.get_by_label("日访夜谈").check()
    page.fill("#heard", "想了解养老补贴怎么申请")
    page.get_by_role("button", name="记入民情笔记").click()
    page.get_by_text("走访已记入民情笔记").first.wait_for(timeout=30_000)
    assert _visits(engine, leader) == before + 1

    # in the fields, no network: the visit stays on the phone
    context.set_offline(True)
    page.locator(f'circle.dot[data-id="{home}"]').click()
    page.fill("#heard", "门前道路破损积水")
    page.get_by_role("button", name="记入民情笔记").click()
    page.get_by_text("走访记录已保存在手机上").first.wait_for(timeout=30_000)
    assert page.evaluate("JSON.parse(localStorage.getItem('twin.visits.queue')).length") == 1
    assert _visits(engine, leader) == before + 1
    # back in range: sent once, whatever the browser retries
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.get_by_text("保存在手机上的走访记录已提交").first.wait_for(timeout=30_000)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1000)
    assert page.evaluate("JSON.parse(localStorage.getItem('twin.visits.queue')).length") == 0
    assert _visits(engine, leader) == before + 2
    with engine.connect() as conn:
        heard = conn.execute(sa.text(
            "SELECT heard FROM visits WHERE leader_id = :l ORDER BY id DESC LIMIT 1"),
            {"l": leader}).scalar()
    assert heard == "门前道路破损积水"
    assert outside == [] and address
    context.close()


def _visits(engine, leader: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM visits WHERE leader_id = :l"),
                            {"l": leader}).scalar()
