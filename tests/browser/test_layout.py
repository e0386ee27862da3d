"""The map is the page: the planner's map fills the window and the cockpit fills the wall,
with their panels over the map and never over each other, at the sizes people use."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from tests.browser.conftest import _serve, signed_page

# The parts that stand over the map; none may cover another.
PLANNER_PARTS = (".st-key-twin-head", ".st-key-twin-panel", ".st-key-twin-legend",
                 "[data-testid='stSidebar'][aria-expanded='true']")
COCKPIT_PARTS = (".st-key-wall-head", ".st-key-wall-left", ".st-key-wall-right",
                 ".st-key-wall-ticker")

BOXES = """(selectors) => selectors.flatMap((sel) => [...document.querySelectorAll(sel)]
  .filter((e) => { const s = getComputedStyle(e), r = e.getBoundingClientRect();
                   return s.display !== 'none' && s.visibility !== 'hidden'
                          && r.width > 0 && r.height > 0; })
  .map((e) => { const r = e.getBoundingClientRect();
                return {sel, x: r.x, y: r.y, w: r.width, h: r.height}; }))"""

# The controls in the planner's header, each a box of its own in the row.
HEAD_ITEMS = ".st-key-twin-head > [data-testid='stElementContainer'], " \
             ".st-key-twin-head > [data-testid='stLayoutWrapper']"


def _overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of boxes that share more than a pixel's width of area."""
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if w > 1 and h > 1:
                found.append((a["sel"], b["sel"]))
    return found


def _map_share(page) -> float:
    """The share of the window the map's canvas covers."""
    return page.evaluate("""() => {
      const r = document.querySelector('canvas').getBoundingClientRect();
      const w = Math.min(r.right, innerWidth) - Math.max(r.left, 0);
      const h = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
      return Math.max(w, 0) * Math.max(h, 0) / (innerWidth * innerHeight); }""")


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080), (390, 844)])
def test_the_planner_map_fills_the_window_with_panels_over_it(browser, server, width, height):
    page = signed_page(browser, server, viewport={"width": width, "height": height})
    page.goto(server + "/?apps=governance,base")
    page.wait_for_selector("canvas", timeout=60_000)
    page.locator(".st-key-twin-panel").get_by_text("居民").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert _map_share(page) >= 0.85
    parts = page.evaluate(BOXES, list(PLANNER_PARTS))
    assert {p["sel"] for p in parts} >= {".st-key-twin-head", ".st-key-twin-panel"}
    assert _overlaps(parts) == []
    assert len(page.evaluate(BOXES, [HEAD_ITEMS])) >= 3  # title, breadcrumb, picker, toggle
    assert _overlaps(page.evaluate(BOXES, [HEAD_ITEMS])) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the panel can be put away, and the choice lives in the URL
    page.locator(".st-key-twin-head [data-testid='stCheckbox']").click()
    page.wait_for_function("location.search.includes('panel=0')", timeout=30_000)
    page.locator(".st-key-twin-panel").wait_for(state="detached", timeout=30_000)
    page.close()


@pytest.fixture(scope="module")
def wall_server(sample_db, village_sample, tmp_path_factory):
    """A server on a database of its own (a warning is written during the test)."""
    from tests.conftest import add_accounts
    from twin.sample.raster import write_sample_rasters

    engine = sample_db("wall")
    add_accounts(engine, village_sample)
    data_dir = tmp_path_factory.mktemp("wall-data")
    write_sample_rasters(village_sample, data_dir / "rasters")
    proc, url = _serve(engine.url.render_as_string(hide_password=False), data_dir,
                       tmp_path_factory, TWIN_SWEEP_SECONDS="0")
    yield url, engine
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.parametrize("width,height,scale", [(1920, 1080, 1), (1920, 1080, 2)])
def test_the_cockpit_fills_the_wall_with_the_four_boards(browser, wall_server, width,
                                                           height, scale):
    """At 1080p and at 4K (3840×2160 pixels: a 4K wall runs at 200 %)."""
    url, _ = wall_server
    page = signed_page(browser, url, user="t-screen",
                       viewport={"width": width, "height": height}, device_scale_factor=scale)
    page.goto(url + "/?screen=1")
    page.wait_for_selector("canvas", timeout=60_000)
    for board in ("党建统领", "自治", "法治 · 近一年", "德治", "闭环成效（近30天）"):
        page.get_by_text(board, exact=True).first.wait_for(timeout=60_000)
    page.locator(".st-key-wall-ticker").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert _map_share(page) >= 0.95
    parts = page.evaluate(BOXES, list(COCKPIT_PARTS))
    assert {p["sel"] for p in parts} == set(COCKPIT_PARTS)
    assert _overlaps(parts) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    background = page.evaluate(
        "getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    assert background == "rgb(11, 18, 32)"
    shot = page.screenshot()
    assert len(shot) > 10_000
    page.close()


def test_a_new_warning_flashes_in_the_ticker_within_one_refresh(browser, wall_server):
    from surfaces.screen import LIVE_EVERY
    from twin.domain import monitor

    url, engine = wall_server
    page = signed_page(browser, url, user="t-screen", viewport={"width": 1920, "height": 1080})
    page.goto(url + "/?screen=1")
    ticker = page.locator(".st-key-wall-ticker")
    ticker.wait_for(timeout=60_000)
    assert page.locator(".wall-tick.fresh").count() == 0  # the first drawing marks nothing
    with engine.connect() as conn:  # a water-level station with no open warning
        station, village = conn.execute(sa.text("""
            SELECT s.id, v.name FROM stations s JOIN units v ON v.id = s.village_id
             WHERE s.kind = 'water_level' AND NOT EXISTS (
                   SELECT 1 FROM warning_episodes w
                    WHERE w.station_id = s.id AND w.closed_at IS NULL)
             ORDER BY s.id LIMIT 1""")).one()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.monotonic()
    assert monitor.ingest(engine, [(station, "water_level", now, 9.5)])["opened"] == 1
    fresh = page.locator(".wall-tick.fresh")  # new since the refresh before: flagged once
    fresh.first.wait_for(state="attached", timeout=LIVE_EVERY.total_seconds() * 3000)
    waited = time.monotonic() - started
    assert waited <= LIVE_EVERY.total_seconds() * 3  # the next refresh, even on a busy machine
    text = fresh.first.inner_text()
    assert village in text and "预警" in text
    assert page.locator(".wall-flash").count() == 1  # and a banner over the map
    page.close()
