#!/usr/bin/env python
"""Benchmark of the twin store: sample generate + load, load vs plain COPY, roll-ups.

Runs in its own database (``twin_bench``) in the project's embedded cluster (started if
needed), or in TWIN_DATABASE_URL's server if set — never in the demo's data. Prints a
Markdown table: median, p95 and the ratio against the issue's target.

    .venv/bin/python scripts/bench_store.py [--scale county] [--repeat 30]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import BENCH_DB, bench_engine, drop_bench, machine, timings  # noqa: E402

from twin.config import Settings  # noqa: E402
from twin.domain.pii import PiiKey  # noqa: E402
from twin.domain.summary import rollup  # noqa: E402
from twin.ingest.load import COLUMNS, clear, write_sample  # noqa: E402
from twin.sample.generate import generate  # noqa: E402


def plain_copy_seconds(engine) -> float:
    """Time a plain COPY of the very rows the loader wrote back into the same tables."""
    dumps: list[tuple[str, tuple[str, ...], bytes]] = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for table, cols in COLUMNS.items():
            order = ("array_position(ARRAY['town','village','grid','microgrid'], level), id"
                     if table == "units" else "1")
            buf = io.BytesIO()
            with raw.cursor() as cur, cur.copy(  # noqa: S608 - names from COLUMNS
                f"COPY (SELECT {', '.join(cols)} FROM {table} ORDER BY {order}) TO STDOUT"
            ) as copy:
                for chunk in copy:
                    buf.write(chunk)
            dumps.append((table, cols, buf.getvalue()))
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        clear(conn)
        raw = conn.connection.driver_connection
        t0 = time.perf_counter()
        for table, cols, data in dumps:
            with raw.cursor() as cur, cur.copy(
                    f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for i in range(0, len(data), 1 << 20):
                    copy.write(data[i:i + (1 << 20)])
        elapsed = time.perf_counter() - t0
    return elapsed




def busiest_unit(engine, level: str) -> tuple[int, str]:
    col = {"town": "town_id", "village": "village_id", "microgrid": "microgrid_id"}[level]
    with engine.connect() as conn:
        uid = conn.execute(sa.text(  # noqa: S608 - col from the fixed map above
            f"SELECT {col} FROM buildings GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
        name = conn.execute(sa.text("SELECT name FROM units WHERE id = :i"), {"i": uid}).scalar()
    return uid, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county", choices=("village", "town", "county"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the {BENCH_DB} database afterwards (to explore the sample)")
    args = parser.parse_args()

    settings = Settings()
    engine = bench_engine(settings)
    t0 = time.perf_counter()
    sample = generate(args.scale, args.seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = write_sample(engine, sample, PiiKey(b"bench-only-key-0123456789"))
    t_load = time.perf_counter() - t0
    del sample
    t_copy = plain_copy_seconds(engine)
    rows = sum(counts.values())

    lines = [
        f"Store benchmark, {args.scale} sample (seed {args.seed}), {date.today()}, {machine()}",
        "",
        "| measure | value | target | ratio to target |",
        "|---|---|---|---|",
        f"| generate + load ({rows:,} rows) | {t_gen + t_load:.1f} s "
        f"(generate {t_gen:.1f} s, load {t_load:.1f} s) | < 300 s | "
        f"{(t_gen + t_load) / 300:.2f} |",
        f"| load vs plain COPY of the same rows | {t_load:.1f} s vs {t_copy:.1f} s = "
        f"{t_load / t_copy:.2f}× | ≤ 1.5× | {t_load / t_copy / 1.5:.2f} |",
    ]
    table_rows = []
    for level in ("microgrid", "village", "town", None):
        if level is None:
            uid, label = None, "county"
        else:
            uid, name = busiest_unit(engine, level)
            label = f"{level} ({name})"
        med, p95 = timings(lambda uid=uid: rollup(engine, uid), args.repeat)
        table_rows.append(f"| roll-up, {label}: median / p95 | {med:.1f} ms / {p95:.1f} ms | "
                          f"median < 50 ms | {med / 50:.2f} |")
    lines += table_rows
    lines += ["", "Rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())]
    print("\n".join(lines))
    engine.dispose()
    if not args.keep:
        drop_bench(settings)








if __name__ == "__main__":
    main()
