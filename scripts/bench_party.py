#!/usr/bin/env python
"""Benchmark of the 党建统领 board on the county sample:

- the roll-ups: grids covered by a party organisation (``twin_rollup``) and the leaders,
  links, organisations, cadres and projects (``twin.domain.party.measures``) of the county,
  a town and a village, and the coverage per town;
- the micro-grid leader's phone page: the server's answer, and the page drawn in Chromium
  at 390×844 (navigation → load), for the leader with the most households;
- the 联户 layer of the village with the most households: every tile z13–z16 over it, the
  largest in bytes and the time to make one.

Saves the README's screenshots of the party board at a micro-grid and of the leader's page
(docs/screenshots) unless --no-screenshots.

    .venv/bin/python scripts/bench_party.py [--scale county] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import morecantile
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
from twin.domain import links, party  # noqa: E402
from twin.domain.access import Principal  # noqa: E402
from twin.domain.summary import rollup  # noqa: E402
from twin.publish import tiles  # noqa: E402

SHOTS = PROJECT_ROOT / "docs" / "screenshots"
TMS = morecantile.tms.get("WebMercatorQuad")


def places(engine) -> dict:
    """The busiest town, its village with the most households, and the leader with the
    most households (with the micro-grid they serve)."""
    with engine.connect() as conn:
        town = conn.execute(sa.text(
            "SELECT town_id FROM households GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
        village = conn.execute(sa.text(
            "SELECT v.id, v.code, ST_XMin(v.geom), ST_YMin(v.geom), ST_XMax(v.geom), "
            "ST_YMax(v.geom) FROM units v WHERE v.id = (SELECT village_id FROM households "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)")).one()
        per_leader = conn.execute(sa.text(
            "SELECT k.leader_id, m.code, count(*), v.code FROM household_links k "
            "JOIN units m ON m.id = k.microgrid_id JOIN units v ON v.id = m.village_id "
            "GROUP BY 1, 2, 4 ORDER BY count(*) DESC, 1")).all()
    # the leader with the most households (a block of flats), and a typical one (the median)
    return {"town": town, "village": village, "leader": per_leader[0],
            "typical": per_leader[len(per_leader) // 2]}


def rollup_rows(engine, where: dict, repeat: int, scale: str) -> list[str]:
    rows = []
    units = [(None, "county"), (where["town"], "town"), (where["village"].id, "village")]
    for unit_id, level in units:
        unit = None if unit_id is None else rollup(engine, unit_id)
        name = "全县" if unit is None else unit["name"]
        med, p95 = timings(lambda u=unit_id: rollup(engine, u), repeat)
        rows.append(row(f"roll-up with grids covered, {level} ({name}): median (p95)",
                        f"{med:.1f} ({p95:.1f}) ms", "median ≤ 50 ms", med / 50))
        med, p95 = timings(lambda u=unit: party.measures(engine, u), repeat)
        rows.append(row(f"leaders, links, organisations, cadres, projects, {level} ({name}): "
                        "median (p95)", f"{med:.1f} ({p95:.1f}) ms", "median ≤ 50 ms",
                        med / 50))
    med, p95 = timings(lambda: party.coverage_by_child(engine, None), repeat)
    rows.append(row("coverage, leaders and links per town of the county: median (p95)",
                    f"{med:.1f} ({p95:.1f}) ms", "median ≤ 50 ms", med / 50))
    med, p95 = timings(lambda: party.visit_measures(engine, None), repeat)
    rows.append(row("visits in the last 30 days, county: median (p95)",
                    f"{med:.0f} ({p95:.0f}) ms", "—", None))
    county = rollup(engine, None)
    m = party.measures(engine, None)
    rows.append(row(f"the {scale} sample: grids covered · leaders (party members) · "
                    "households linked · micro-grids with homes",
                    f"{county['grids_party']:,}/{county['grids']:,} · {m['leaders']:,} "
                    f"({m['leaders_party_pct']:g} %) · {m['households_linked']:,}/"
                    f"{m['households']:,} · {m['microgrids_inhabited']:,}/{m['microgrids']:,}",
                    "county: 944/944 grids", None))
    return rows


def link_tiles(engine, village, official: Principal) -> tuple[int, str, list[float], int]:
    """Every 联户 tile z13–16 over the village: (largest bytes, where, times, tiles)."""
    spec = tiles.layer("household_links")
    largest, where, times, n = 0, "", [], 0
    for z in range(13, 17):
        for t in TMS.tiles(village[2], village[3], village[4], village[5], [z]):
            t0 = time.perf_counter()
            _, data = tiles.render(engine, spec, z, t.x, t.y, official)
            times.append((time.perf_counter() - t0) * 1000)
            n += 1
            if len(data) > largest:
                largest, where = len(data), f"{z}/{t.x}/{t.y}"
    return largest, where, times, n


def page_times(browser, url: str, repeat: int) -> tuple[list[float], list[float]]:
    """(server answer, Chromium navigation → load) in ms for the leader's page."""
    served, drawn = [], []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
        if i:
            served.append((time.perf_counter() - t0) * 1000)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        t0 = time.perf_counter()
        page.goto(url, wait_until="load")
        page.locator("svg#homes circle").first.wait_for(timeout=30_000)
        if i:  # the first visit warms the server: left out, as for the other pages
            drawn.append((time.perf_counter() - t0) * 1000)
        page.close()
    return served, drawn


def screenshots(browser, base: str, cookies: dict, microgrid: str, leader_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = signed_context(browser, base, cookies, viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/?unit={microgrid}&apps=party")
    page.locator("canvas").first.wait_for(timeout=90_000)
    page.wait_for_timeout(12_000)  # tiles and the terrain
    page.screenshot(path=SHOTS / "party-links.png")
    context.close()
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(leader_url)
    page.locator("svg#homes circle").first.wait_for(timeout=30_000)
    page.screenshot(path=SHOTS / "leader-page.png", full_page=False)
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county")
    parser.add_argument("--reuse", action="store_true", help="keep a sample already loaded")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, data_dir)
    where = places(engine)
    rows = rollup_rows(engine, where, args.repeat, args.scale)
    village = where["village"]
    official = Principal("official", (village.code,), "bench-official")
    largest, at, times, n = link_tiles(engine, village, official)
    med, p95 = median_p95(times)
    rows.append(row(f"联户 layer of the village with the most households ({n} tiles z13–16): "
                    "largest tile", f"{largest / 1024:.0f} KB at {at}", "≤ 300 KB per tile",
                    largest / 1024 / 300))
    rows.append(row("the same tiles: time to make one, median (p95)",
                    f"{med:.0f} ({p95:.0f}) ms", "—", None))
    leader_id, microgrid, homes, leaders_village = where["leader"]
    # signed with the bench server's own link key (kept in its data folder)
    served_by = settings.model_copy(update={"data_dir": data_dir})
    token = links.create(engine, served_by, "leader", leader_id, "bench-official")
    typical = links.create(engine, served_by, "leader", where["typical"][0], "bench-official")
    # the screenshot's official: of the leader's village (the 联户 lines are theirs to see)
    cookies = bench_session(engine, "bench-party-official", "official", (leaders_village,))
    proc, base = start_server(bench_url(settings), data_dir)
    try:
        leader_url = f"{base}/api/leader/{token}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for url, who, n in ((f"{base}/api/leader/{typical}", "a typical leader's",
                                 where["typical"][2]),
                                (leader_url, "the busiest leader's", homes)):
                served, drawn = page_times(browser, url, args.repeat)
                med, p95 = median_p95(served)
                rows.append(row(f"{who} phone page ({n} households): the server's answer, "
                                "median (p95)", f"{med:.0f} ({p95:.0f}) ms", "≤ 1 s",
                                p95 / 1000))
                med, p95 = median_p95(drawn)
                rows.append(row("the same page drawn in Chromium at 390×844 (navigation → "
                                "load): median (p95)", f"{med:.0f} ({p95:.0f}) ms", "≤ 1 s",
                                p95 / 1000))
            if not args.no_screenshots:
                screenshots(browser, base, cookies, microgrid, leader_url)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        engine.dispose()
        if not args.keep:
            drop_bench(settings)
    print(f"党建统领, {args.scale} sample, {date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
