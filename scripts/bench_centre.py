#!/usr/bin/env python
"""Benchmark of the event centre (事件中心) and the residents' report on the county sample,
with the busiest town grown to 20,000 open events:

- the town official's inbox: the read model (SQL floor of the page) and the page drawn in
  Chromium (navigation → the list, its counts and its map on screen);
- each move of the loop (triage, dispatch, accept, resolve, close) through the model, and
  a click on the event's page → the page drawn again with the move done, in Chromium;
- a resident's report (POST /api/report with a photo) → it is in the official's inbox.

Saves the README's screenshots of the event centre, an event's page, the report page and
the status page (docs/screenshots) unless --no-screenshots.

    .venv/bin/python scripts/bench_centre.py [--scale county] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHROMIUM_ARGS,
    bench_engine,
    bench_session,
    bench_url,
    drop_bench,
    ensure_sample,
    machine,
    median_p95,
    row,
    signed_context,
    start_server,
    timings,
)
from playwright.sync_api import sync_playwright  # noqa: E402

from twin.config import PROJECT_ROOT, Settings  # noqa: E402
from twin.domain.access import Principal  # noqa: E402
from twin.domain.inbox import InboxFilter, act, inbox  # noqa: E402

OPEN_TARGET = 20_000
SHOTS = PROJECT_ROOT / "docs" / "screenshots"
# Open copies of the town's events, reported in the last 30 days, due within the week.
GROW = sa.text("""
    INSERT INTO events (code, category, title, description, status, owner_level, source,
                        reported_at, deadline_at, escalations, geom)
    SELECT 'B' || :stamp || '-' || e.id || '-' || g.n, e.category, e.title, e.description,
           (ARRAY['reported', 'triaged', 'dispatched', 'handling'])[1 + (e.id + g.n) % 4],
           (ARRAY['microgrid', 'grid', 'village'])[1 + (e.id + g.n) % 3], e.source,
           now() - make_interval(hours => ((e.id * 7 + g.n) % 720)::int),
           now() + make_interval(hours => ((e.id * 13 + g.n) % 168)::int - 24), 0, e.geom
      FROM events e CROSS JOIN generate_series(1, :copies) AS g (n)
     WHERE e.town_id = :town AND e.code NOT LIKE 'B%'
     LIMIT :n""")


def busiest_town(engine) -> tuple[int, str]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT u.id, u.code FROM events e JOIN units u ON u.id = e.town_id "
            "GROUP BY u.id, u.code ORDER BY count(*) DESC LIMIT 1")).one())


def grow(engine, town: int) -> int:
    """Open events in the town up to OPEN_TARGET; returns how many it holds."""
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        have = conn.execute(sa.text(
            "SELECT count(*) FROM events WHERE town_id = :t AND status = ANY(:o)"),
            {"t": town, "o": ["reported", "triaged", "dispatched", "handling", "escalated",
                              "warned", "reopened"]}).scalar()
        base = conn.execute(sa.text("SELECT count(*) FROM events WHERE town_id = :t "
                                    "AND code NOT LIKE 'B%'"), {"t": town}).scalar()
        need = OPEN_TARGET - have
        if need > 0:
            conn.execute(GROW, {"town": town, "n": need, "copies": need // max(base, 1) + 1,
                                "stamp": int(time.time())})  # a rerun adds new codes
        conn.execute(sa.text("ANALYZE events"))
        return have + max(need, 0)


def _centre_drawn(page) -> None:
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=60_000)
    page.locator("canvas").first.wait_for(timeout=60_000)


def page_times(browser, base: str, cookies, repeat: int) -> tuple[list[float], list[float]]:
    """The event centre drawn: opened in a new tab (Streamlit's scripts, its socket and the
    run), and reached from another page of the open app (what staff do all day)."""
    cold, warm = [], []
    for _ in range(repeat + 1):
        context = signed_context(browser, base, cookies, viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(f"{base}/?page=events")
        _centre_drawn(page)
        cold.append((time.perf_counter() - t0) * 1000)
        page.goto(f"{base}/?page=export")
        page.get_by_role("heading", name="数据导出").first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        t0 = time.perf_counter()
        page.get_by_text("事件中心", exact=True).first.click()
        page.get_by_text("符合条件").first.wait_for(timeout=60_000)
        _centre_drawn(page)
        warm.append((time.perf_counter() - t0) * 1000)
        context.close()
    return cold[1:], warm[1:]  # the first warms the server's caches


def click_times(browser, base: str, cookies, codes: list[str]) -> list[float]:
    """On each event's page: 研判 (triage) clicked → the page says it is done. The pointer
    is on the button before the clock starts, as a person's is; the first click, on a server
    that has made no move yet, is left out (1.1 s here, the others 0.3–0.4 s)."""
    context = signed_context(browser, base, cookies, viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    samples = []
    for code in codes:
        page.goto(f"{base}/?page=events&event={code}")
        button = page.get_by_role("button", name="研判", exact=True).first
        button.wait_for(timeout=60_000)
        _centre_drawn(page)
        button.scroll_into_view_if_needed()
        button.hover()
        page.wait_for_timeout(500)
        t0 = time.perf_counter()
        button.click()
        page.get_by_text("已办理").first.wait_for(timeout=60_000)
        samples.append((time.perf_counter() - t0) * 1000)
    context.close()
    return samples[1:]  # the first click warms the server (its first move, its first fragment)


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (110, 130, 90)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def report_times(engine, base: str, official: Principal, village: str,
                 repeat: int) -> list[float]:
    """A resident's report (the form, with a 1600×1200 photo) → in the official's inbox."""
    import httpx

    photo = jpeg()
    samples = []
    for i in range(repeat):
        with httpx.Client(timeout=30) as s:
            form = s.get(f"{base}/api/report").text
            key = re.search(r'name="client_key" value="([^"]+)"', form).group(1)
            t0 = time.perf_counter()
            r = s.post(f"{base}/api/report", data={
                "client_key": key, "category": "sanitation", "text": f"基准测试反映{i}",
                "village": village}, files={"photo": ("p.jpg", photo, "image/jpeg")},
                headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"})
            code = None
            if r.status_code == 303:
                page = s.get(base + r.headers["location"]).text
                code = re.search(r"<code>([^<]+)</code>", page).group(1)
            while code and inbox(engine, official, InboxFilter(search=code)).rows.empty:
                time.sleep(0.01)
            samples.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 303:
                raise SystemExit(f"the report was refused: {r.status_code} {r.text[:200]}")
    return samples


def screenshots(browser, base: str, cookies, code: str, village: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = signed_context(browser, base, cookies, viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/?page=events")
    _centre_drawn(page)
    page.wait_for_timeout(2500)
    page.screenshot(path=str(SHOTS / "event-centre.png"))
    page.goto(f"{base}/?page=events&event={code}")
    page.get_by_role("button", name="受理", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("发送现场链接").first.click()
    page.get_by_role("button", name="本事件的链接", exact=True).first.click()
    page.locator("[data-testid='stImage'] img").first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)
    page.get_by_text(code).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "event-page.png"))
    context.close()
    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone.goto(f"{base}/api/report")
    phone.select_option("#category", "sanitation")
    phone.fill("#text", "村口垃圾桶满了好几天没人清运")
    box = phone.locator("#map").bounding_box()
    phone.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    phone.wait_for_timeout(400)
    box = phone.locator("#map").bounding_box()
    phone.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45)
    phone.wait_for_timeout(400)
    phone.screenshot(path=str(SHOTS / "report.png"), full_page=True)
    phone.click("button[type=submit]")
    phone.get_by_text("已收到您的反映").first.wait_for(timeout=30_000)
    phone.screenshot(path=str(SHOTS / "report-status.png"), full_page=True)
    phone.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county")
    parser.add_argument("--reuse", action="store_true", help="keep a sample already loaded")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, data_dir)
    town_id, town = busiest_town(engine)
    open_n = grow(engine, town_id)
    official = Principal("official", (town,), "bench-official")
    cookies = bench_session(engine, "bench-official", "official", (town,))
    with engine.connect() as conn:
        village = conn.execute(sa.text(
            "SELECT code FROM units WHERE level = 'village' AND town_id = :t ORDER BY code "
            "LIMIT 1"), {"t": town_id}).scalar()
    rows = []
    model = timings(lambda: inbox(engine, official, InboxFilter()), args.repeat)
    rows.append(row(f"inbox model, town official, {open_n:,} open events in scope: "
                    "median (p95)", f"{model[0]:.0f} ({model[1]:.0f}) ms",
                    "floor of the page", None))
    # the moves, through the model, each on its own events
    with engine.connect() as conn:
        fresh = conn.execute(sa.text(
            "SELECT id, version FROM events WHERE town_id = :t AND status = 'reported' "
            "ORDER BY id LIMIT :n"), {"t": town_id, "n": 5 * args.repeat}).all()
    moves = []
    for event_id, version in fresh[:args.repeat * 4]:
        steps = [("triage", {}), ("dispatch", {"to": "镇综合执法队"}), ("accept", {}),
                 ("resolve", {}), ("close", {"satisfaction": 4})]
        for move, kw in steps:
            t0 = time.perf_counter()
            e = act(engine, official, event_id, move, expected_version=version, **kw)
            moves.append((time.perf_counter() - t0) * 1000)
            version = e.version
    med, p95 = median_p95(moves)
    rows.append(row(f"a move through the model ({len(moves)} moves: triage … close): "
                    "median (p95)", f"{med:.0f} ({p95:.0f}) ms", "≤ 300 ms p95", p95 / 300))
    # as behind the county's proxy: each resident's report from their own address (the
    # report page allows five per address in ten minutes)
    os.environ["TWIN_TRUSTED_PROXIES"] = "127.0.0.1"
    proc, base = start_server(bench_url(settings), data_dir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            cold, warm = page_times(browser, base, cookies, max(3, args.repeat // 2))
            med, p95 = median_p95(warm)
            rows.append(row(f"the event centre drawn in Chromium ({open_n:,} open in scope), "
                            "from another page of the app: median (p95)",
                            f"{med / 1000:.2f} ({p95 / 1000:.2f}) s", "≤ 1.5 s", p95 / 1500))
            med, p95 = median_p95(cold)
            rows.append(row("the same, opened in a new tab (Streamlit's scripts, socket and "
                            "run): median (p95)", f"{med / 1000:.2f} ({p95 / 1000:.2f}) s",
                            "≤ 1.5 s", p95 / 1500))
            with engine.connect() as conn:
                codes = conn.execute(sa.text(
                    "SELECT code FROM events WHERE town_id = :t AND status = 'reported' "
                    "ORDER BY id DESC LIMIT :n"), {"t": town_id, "n": args.repeat + 1}).scalars()
                codes = list(codes)
            med, p95 = median_p95(click_times(browser, base, cookies, codes))
            rows.append(row("a move clicked on the event's page → the page says it is done: "
                            "median (p95)", f"{med:.0f} ({p95:.0f}) ms", "≤ 300 ms p95",
                            p95 / 300))
            med, p95 = median_p95(report_times(engine, base, official, village, args.repeat))
            rows.append(row("a resident's report with a photo → in the official's inbox: "
                            "median (p95)", f"{med:.0f} ({p95:.0f}) ms", "≤ 2 s", p95 / 2000))
            if not args.no_screenshots:
                with engine.connect() as conn:
                    code = conn.execute(sa.text(
                        "SELECT code FROM events WHERE town_id = :t AND status = 'reported' "
                        "AND source = 'resident' ORDER BY id DESC LIMIT 1"),
                        {"t": town_id}).scalar()
                screenshots(browser, base, cookies, code, village)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        engine.dispose()
        if not args.keep:
            drop_bench(settings)
    print(f"Event centre, {args.scale} sample, {date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
