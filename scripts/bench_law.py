#!/usr/bin/env python
"""Benchmark of 法治 on the county sample (a year of disputes, the mediators and judges,
the legal service places and their appointments):

- 智能匹配: the mediators ranked for a dispute (expertise, distance, caseload, record), for
  disputes drawn across the county — the issue's floor: ≤ 200 ms;
- the board's measures of the county for a year (panel and wall) and a town's disputes;
- the 法治 application's first view in Debian's Chromium against the map's own budget
  (≤ 1.3 × its floor — a bare deck.gl page drawing the same deck — and < 2 MB: the same
  measure as scripts/bench_ui.py);
- the sample against the seed's published figures (issue 18).

    .venv/bin/python scripts/bench_law.py [--scale county] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ui import MAP_READY, SESSION, first_view, floor_deck  # noqa: E402
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
    start_server,
    timings,
)
from playwright.sync_api import sync_playwright  # noqa: E402

from twin.config import Settings  # noqa: E402
from twin.domain import law  # noqa: E402


def matching(engine, n: int) -> tuple[list[float], int]:
    """Latencies (ms) of ranking the candidates of ``n`` disputes spread over the county,
    and how many candidates the last had."""
    import time

    with engine.connect() as conn:
        ids = conn.execute(sa.text(
            "SELECT id FROM disputes ORDER BY md5(id::text) LIMIT :n"), {"n": n}).scalars().all()
    samples, found = [], 0
    law.candidates(engine, ids[0])  # warm
    for i in ids:
        t0 = time.perf_counter()
        found = len(law.candidates(engine, i))
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county")
    parser.add_argument("--reuse", action="store_true", help="keep a sample already loaded")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, data_dir)
    rows: list[str] = []
    try:
        samples, found = matching(engine, 200)
        med, p95 = median_p95(samples)
        rows.append(row(f"智能匹配: candidates ranked for a dispute (200 disputes across the "
                        f"county, up to 10 shown of those within reach; {found} for the "
                        "last): median (p95)", f"{med:.1f} ({p95:.1f}) ms", "≤ 200 ms",
                        p95 / 200))
        with engine.connect() as conn:
            end = conn.execute(sa.text("SELECT max(applied_at) FROM disputes")).scalar()
            town = conn.execute(sa.text("SELECT id, code, level FROM units WHERE level = "
                                        "'town' ORDER BY id LIMIT 1")).mappings().one()
        start = end - timedelta(days=365)
        figures: dict = {}
        med, p95 = timings(lambda: figures.update(law.measures(engine, None, start, end)),
                           args.repeat)
        rows.append(row("法治's measures of the county for a year (panel, wall): median (p95)",
                        f"{med:.0f} ({p95:.0f}) ms", "—", None))
        med, p95 = timings(lambda: law.coverage_gaps(engine, None), args.repeat)
        rows.append(row("coverage gaps: every village's nearest mediator: median (p95)",
                        f"{med:.0f} ({p95:.0f}) ms", "—", None))
        med, p95 = timings(lambda: law.disputes_in(engine, dict(town)), args.repeat * 4)
        rows.append(row(f"a town's disputes on 法治工作台 ({town['code']}): median (p95)",
                        f"{med:.1f} ({p95:.1f}) ms", "—", None))
        SESSION.update(bench_session(engine))
        floor = floor_deck(bench_url(settings), data_dir, ["law", "base"])
        proc, base = start_server(bench_url(settings), data_dir)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=CHROMIUM_ARGS)
                url = base + "/?apps=law,base"
                first_view(browser, url)  # warm the server's caches once
                views, floors = [], []
                for _ in range(args.repeat):  # the page and its floor in turn
                    views.append(first_view(browser, url, ready=MAP_READY))
                    floors.append(first_view(browser, url, floor=floor))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        load_med, load_p95 = median_p95([v[0] for v in views])
        floor_med, floor_p95 = median_p95([v[0] for v in floors])
        bytes_med, bytes_p95 = median_p95([v[1] for v in views])
        rows.append(row("floor: a bare deck.gl page drawing the 法治 map's deck (1400×900)",
                        f"{floor_med:.2f} ({floor_p95:.2f}) s", "—", None))
        rows.append(row("法治 application (`?apps=law,base`): navigation → county map drawn, "
                        "with its panel", f"{load_med:.2f} ({load_p95:.2f}) s",
                        f"≤ 1.3 × floor = {1.3 * floor_med:.2f} s (the map's budget)",
                        load_med / (1.3 * floor_med)))
        rows.append(row("bytes to the browser until then", f"{bytes_med / 1e6:.2f} "
                        f"({bytes_p95 / 1e6:.2f}) MB", "< 2 MB", bytes_med / 2e6))
        hosts = sorted({h for v in views for h in v[2]})
        rows.append(row("hosts the browser asked", ", ".join(hosts), "127.0.0.1 only", None))
        seed_rows = seed_figures(engine, figures)
    finally:
        engine.dispose()
        if not args.keep:
            drop_bench(settings)
    print(f"法治, {args.scale} sample, {date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nThe {args.scale} sample against Tongxiang's published figures (REFERENCE.md)\n")
    print("| figure | sample | Tongxiang |")
    print("|---|---|---|")
    print("\n".join(seed_rows))


def seed_figures(engine, m: dict) -> list[str]:
    """The sample's totals beside the seed's (issue 18)."""
    with engine.connect() as conn:
        n = conn.execute(sa.text("""
            SELECT (SELECT count(*) FROM units WHERE level = 'village') AS villages,
                   (SELECT count(*) FROM mediators WHERE kind = 'judge') AS judges,
                   (SELECT count(DISTINCT v) FROM mediators, unnest(villages) v
                     WHERE kind = 'judge') AS linked,
                   (SELECT count(DISTINCT organization_id) FROM mediators
                     WHERE kind = 'mediator') AS orgs,
                   (SELECT count(*) FROM organizations o WHERE o.kind = 'mediation_committee'
                       AND o.unit_id IN (SELECT id FROM units WHERE level = 'town'))
                       AS town_orgs,
                   (SELECT count(*) FROM mediators WHERE kind = 'mediator') AS mediators,
                   (SELECT count(*) FROM legal_places) AS places,
                   (SELECT count(*) FROM legal_appointments) AS appointments""")
                         ).mappings().one()

    def pct(v):
        return "—" if v is None else f"{v:.1f}%"

    minutes = m.get("median_minutes")
    online = m.get("online_median_minutes")
    return [
        f"| villages and communities | {n['villages']:,} | 217 |",
        f"| community judges / villages linked | {n['judges']:,} / {n['linked']:,} | 56 / 217 |",
        f"| mediation organisations with mediators (town-level ones) | {n['orgs']:,} "
        f"({n['town_orgs']:,}) | 57 (town and professional) |",
        f"| people's mediators | {n['mediators']:,} | — |",
        f"| disputes in a year / parties served | {m.get('disputes', 0):,} / "
        f"{m.get('parties', 0):,} | — / 4,982 |",
        f"| mediation success (settled of those mediated) | {pct(m.get('success_pct'))} "
        "| 99.5% |",
        f"| settled before court (of those that ended) | {pct(m.get('prelitigation_pct'))} "
        "| 72.3% |",
        f"| application → agreement, median (online) | "
        f"{'—' if minutes is None else f'{minutes:.0f} min'} "
        f"({'—' if online is None else f'{online:.0f} min'}) | typical 30 min (was 6 h) |",
        f"| legal service places / appointments in the sample | {n['places']:,} / "
        f"{n['appointments']:,} | — / 65,000+ visits to 云司法 |",
    ]


if __name__ == "__main__":
    main()
