#!/usr/bin/env python
"""Benchmark of OGC API – Features in CGCS2000 against the same requests in CRS84.

Against the real server on loopback and the bench database (``twin_bench``; ``--reuse``
keeps one from an earlier run): pages of buildings and events in boxes over the busiest
towns, asked in CRS84 (as stored) and in EPSG:4549 / EPSG:4490 (transformed by PostGIS in
the same query), one keep-alive client, in turn. Budget: ≤ 1.2 × the CRS84 time.

    .venv/bin/python scripts/bench_ogc.py [--scale county] [--reuse] [--keep] [--repeat 15]
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiles import HEADERS, fetch_keepalive  # noqa: E402
from benchlib import (  # noqa: E402
    bench_parser,
    bench_setup,
    bench_url,
    drop_bench,
    machine,
    median_p95,
    start_server,
)

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
BUDGET = 1.2


def boxes(engine, count: int) -> list[str]:
    """Boxes (CRS84) of the towns with the most buildings: a page of 1,000 in each."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT ST_XMin(u.geom), ST_YMin(u.geom), ST_XMax(u.geom), ST_YMax(u.geom)
              FROM units u JOIN (SELECT town_id, count(*) AS n FROM buildings GROUP BY 1) b
                ON b.town_id = u.id ORDER BY b.n DESC LIMIT :k"""), {"k": count}).all()
    return [",".join(f"{v:.6f}" for v in r) for r in rows]


def main() -> None:
    args = bench_parser(__doc__, repeat=15).parse_args()
    settings, data_dir, engine, headers = bench_setup(args)
    HEADERS.update(headers)
    proc, root = start_server(bench_url(settings), data_dir)
    base = root + "/api/ogc/collections"
    rows = []
    try:
        for collection in ("buildings", "events"):
            urls = [f"{base}/{collection}/items?bbox={box}&limit=1000"
                    for box in boxes(engine, 5)]
            took: dict[str, list[float]] = {"CRS84": [], "EPSG:4549": [], "EPSG:4490": []}
            for url in urls:
                asked = {name: url if name == "CRS84" else f"{url}&crs={EPSG}{name[5:]}"
                         for name in took}
                for one in asked.values():  # each answers, and is warm
                    if fetch_keepalive(one)[0] != 200:
                        raise SystemExit(f"{one}: HTTP {fetch_keepalive(one)[0]}")
                for _ in range(args.repeat):  # the three in turn, every time: same conditions
                    for name, one in asked.items():
                        took[name].append(fetch_keepalive(one)[2])
            plain, _ = median_p95(took["CRS84"])
            for name, samples in took.items():
                med, p95 = median_p95(samples)
                budget = "—" if name == "CRS84" else f"≤ {BUDGET} × CRS84"
                ratio = "—" if name == "CRS84" else f"{med / plain / BUDGET:.2f}"
                rows.append(f"| {collection}, a page of ≤ 1,000 in a town's box, {name} | "
                            f"{med:.1f} ({p95:.1f}) ms = {med / plain:.2f}× | {budget} | "
                            f"{ratio} |")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"OGC API – Features by CRS, {args.scale} sample, {date.today()}, {machine()}; "
          f"5 towns' boxes × {args.repeat} rounds, the three CRSs in turn in each round\n")
    print("| measure | median (p95), ratio to CRS84 | budget | ratio to budget |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


if __name__ == "__main__":
    main()
