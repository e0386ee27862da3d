"""德治 (三治积分) in a real Chromium: an official of a village opens the application with
its charts and sees the points per micro-grid drawn from their tiles, the figures, the
shop and the village's 红榜; a planner sees the figures but no household; the page asks no
other host."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.browser.conftest import signed_page

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def _open(browser, server, user: str, village: str):
    page = signed_page(browser, server, user, viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    tiles: list[int] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
    page.on("response", lambda r: tiles.append(len(r.body())) if "/tiles/points_units/" in r.url
            and r.status == 200 else None)
    page.goto(f"{server}/?unit={village}&apps=moral&charts=1")
    page.get_by_text("三治积分概况").first.wait_for(timeout=90_000)
    deadline = time.monotonic() + 90
    while not tiles and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    return page, outside, tiles


def test_an_official_sees_the_points_the_shop_and_the_ranking(browser, server, sample_engine):
    with sample_engine.connect() as conn:
        village, top = conn.execute(sa.text("""
            SELECT u.code, (SELECT h.code FROM household_points p
                              JOIN households h ON h.id = p.household_id
                             WHERE p.village_id = u.id
                             ORDER BY p.earned DESC, p.household_id LIMIT 1)
              FROM units u WHERE u.level = 'village' AND u.code = (
                SELECT code FROM units WHERE level = 'village' ORDER BY id LIMIT 1)""")).one()
    page, outside, tiles = _open(browser, server, "t-official", village)
    assert tiles and max(tiles) > 0, "no points tile was drawn"
    for text in ("积分超市", "积分红榜（户）", "各单元积分与信用", top):
        page.get_by_text(text).first.wait_for(timeout=30_000)
    assert outside == []
    page.close()


def test_a_planner_sees_aggregates_and_no_household(browser, server, sample_engine):
    with sample_engine.connect() as conn:
        village = conn.execute(sa.text(
            "SELECT code FROM units WHERE level = 'village' ORDER BY id LIMIT 1")).scalar()
    page, outside, tiles = _open(browser, server, "t-planner", village)
    page.get_by_text("各单元积分与信用").first.wait_for(timeout=30_000)
    assert page.get_by_text("积分红榜（户）").count() == 0
    assert tiles and outside == []
    page.close()
