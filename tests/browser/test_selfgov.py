"""自治 in a real Chromium: an official of a village opens the application with its charts
and sees the consultation projects and the councils drawn from their tiles, the figures of
"一约两会三团", the matters and the village's compact; the page asks no other host."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.browser.conftest import signed_page

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def test_an_official_sees_the_matters_the_councils_and_the_compact(browser, server,
                                                                  sample_engine, tmp_path):
    with sample_engine.connect() as conn:
        village, title, compact = conn.execute(sa.text("""
            SELECT u.code, (SELECT t.title FROM consultations t WHERE t.village_id = u.id
                             ORDER BY t.opened_on DESC, t.id DESC LIMIT 1),
                   (SELECT c.title FROM compacts c WHERE c.unit_id = u.id
                       AND c.valid_to IS NULL)
              FROM units u WHERE u.level = 'village' ORDER BY u.id LIMIT 1""")).one()
    assert title and compact
    page = signed_page(browser, server, "t-official", viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    tiles: dict[str, int] = {}
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)

    def seen(r) -> None:
        for name in ("consultations", "councils"):
            if f"/tiles/{name}/" in r.url and r.status == 200:
                tiles[name] = max(tiles.get(name, 0), len(r.body()))

    page.on("response", seen)
    page.goto(f"{server}/?unit={village}&apps=self,base&charts=1")
    page.get_by_text("一约两会三团概况").first.wait_for(timeout=90_000)
    deadline = time.monotonic() + 90
    while len(tiles) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert tiles.get("consultations", 0) > 0 and tiles.get("councils", 0) > 0, tiles
    for text in ("微治理协商项目", title, compact, "百姓议事会", "随手拍解决率"):
        page.get_by_text(text).first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "self.png"), full_page=True)
    assert outside == []
    page.close()
