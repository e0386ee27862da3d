#!/usr/bin/env python
"""Benchmark of the governance loop on the county sample grown to ≥100,000 events:
the escalation sweep over all open events, the loop's measures for one unit, and readings
ingested with threshold evaluation.

Runs in the bench database (``twin_bench``, see benchlib); prints a Markdown table.

    .venv/bin/python scripts/bench_events.py [--scale county] [--events 100000] [--reuse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    bench_engine,
    drop_bench,
    ensure_sample,
    machine,
    median_p95,
    timings,
)

from twin.config import Settings  # noqa: E402
from twin.domain.monitor import ingest  # noqa: E402
from twin.domain.summary import loop_measures  # noqa: E402
from twin.domain.workflow import sweep  # noqa: E402

# Copies of the sample's events, a year earlier per round, keep their places and kinds.
GROW = sa.text("""
    INSERT INTO events (code, category, title, description, status, owner_level, department,
                        source, reported_at, deadline_at, resolved_at, closed_at, escalations,
                        satisfaction, geom)
    SELECT code || '-Y' || :round, category, title, description, status, owner_level,
           department, source,
           reported_at - make_interval(years => :round), deadline_at - make_interval(years => :round),
           resolved_at - make_interval(years => :round), closed_at - make_interval(years => :round),
           escalations, satisfaction, geom
      FROM events WHERE code NOT LIKE '%-Y%' LIMIT :n""")
# Make a share of the events open and overdue at the micro-grid, so the sweep has work.
OVERDUE = sa.text("""
    UPDATE events SET status = 'dispatched', owner_level = 'microgrid', department = NULL,
                      escalations = 0, deadline_at = :due
     WHERE id % 5 = 0""")


def grow(engine, target: int) -> int:
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        n = conn.execute(sa.text("SELECT count(*) FROM events")).scalar()
        base = conn.execute(sa.text(
            "SELECT count(*) FROM events WHERE code NOT LIKE '%-Y%'")).scalar()
        rnd = 1
        while n < target:
            rnd += 1
            conn.execute(GROW, {"round": rnd, "n": min(base, target - n)})
            n = conn.execute(sa.text("SELECT count(*) FROM events")).scalar()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE events"))
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county", choices=("village", "town", "county"))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, Path(settings.data_dir) / "bench")
    total = grow(engine, args.events)
    now = dt.datetime.now(dt.UTC)
    rows = []
    try:
        # 1. the sweep: a fifth of all events open and overdue, each escalated once per run
        samples, moved = [], 0
        for _ in range(args.repeat):
            with engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
                conn.execute(OVERDUE, {"due": now - dt.timedelta(days=1)})
            t0 = time.perf_counter()
            moved = sweep(engine, now=now)
            samples.append((time.perf_counter() - t0) * 1000)
        med, p95 = median_p95(samples)
        with engine.connect() as conn:
            open_n = conn.execute(sa.text(
                "SELECT count(*) FROM events WHERE status IN ('reported', 'triaged', 'warned', "
                "'dispatched', 'handling', 'escalated', 'reopened')")).scalar()
        rows.append((f"escalation sweep: {moved:,} overdue of {open_n:,} open events "
                     f"({total:,} in all), median (p95)",
                     f"{med / 1000:.2f} s ({p95 / 1000:.2f} s)", "< 1 s", med / 1000))
        idle = timings(lambda: sweep(engine, now=now), args.repeat * 4)
        rows.append(("sweep again with nothing due (idempotent), median (p95)",
                     f"{idle[0]:.1f} ms ({idle[1]:.1f} ms)", "—", None))
        # 2. the loop's measures per unit, over the last year
        start = now - dt.timedelta(days=365)
        with engine.connect() as conn:
            units = {lvl: dict(conn.execute(sa.text(
                "SELECT id, level, name FROM units WHERE level = :l ORDER BY id LIMIT 1"),
                {"l": lvl}).mappings().one()) for lvl in ("town", "village", "grid")}
        for level, unit in [("county", None), *units.items()]:
            med, p95 = timings(lambda u=unit: loop_measures(engine, u, start, now),
                               args.repeat * 6)
            name = unit["name"] if unit else "全县"
            rows.append((f"loop measures, {level} ({name}), one year: median (p95)",
                         f"{med:.1f} ms ({p95:.1f} ms)", "median < 100 ms", med / 100))
        # 3. ingest: a day of hourly readings for every station, with a breach in each tenth
        with engine.connect() as conn:
            series = conn.execute(sa.text(
                "SELECT DISTINCT l.station_id, l.parameter, p.warn_above, p.warn_below, l.value "
                "FROM station_latest l JOIN parameters p ON p.code = l.parameter")).all()
        t_start = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=30)
        readings = []
        for i, s in enumerate(series):
            for h in range(24):
                value = s.value
                if i % 10 == 0 and 6 <= h < 10:  # a four-hour breach
                    value = (s.warn_above * 1.3 if s.warn_above is not None
                             else (s.warn_below * 0.5 if s.warn_below is not None else value))
                readings.append((s.station_id, s.parameter, t_start + dt.timedelta(hours=h),
                                 float(value)))
        t0 = time.perf_counter()
        result = ingest(engine, readings)
        seconds = time.perf_counter() - t0
        rows.append((f"ingest {len(readings):,} readings with threshold evaluation "
                     f"({result['opened']} warnings opened, {result['closed']} closed)",
                     f"{len(readings) / seconds:,.0f} rows/s ({seconds:.2f} s)", "—", None))
    finally:
        if not args.keep:
            drop_bench(settings)

    print(f"Events benchmark, {args.scale} sample grown to {total:,} events, "
          f"{date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    for name, value, target, ratio in rows:
        print(f"| {name} | {value} | {target} | {'—' if ratio is None else f'{ratio:.2f}'} |")


if __name__ == "__main__":
    main()
