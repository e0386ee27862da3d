#!/usr/bin/env python
"""Benchmark of the OGC APIs: CGCS2000 against CRS84, CQL2 against property filters, tiles.

Against the real server on loopback and the bench database (``twin_bench``; ``--reuse``
keeps one from an earlier run): pages of buildings and events in boxes over the busiest
towns, asked in CRS84 (as stored) and in EPSG:4549 / EPSG:4490 (transformed by PostGIS in
the same query); and the same page asked with a property filter (``?use=residential``) and
with the same condition as a CQL2 filter (``filter=use='residential'``). One keep-alive
client; the variants of a request in turn in every round. Budgets: ≤ 1.2 × the CRS84 time,
≤ 1.2 × the property filter's. Also OGC API – Tiles: a building tile of the CGCS2000 grid
against the Web Mercator tile of about its size over the same place (uncached, so the
database draws each), held to the same 1.2; and a datastream's readings through
SensorThings against the same readings as OGC items (for the record, no budget).

    .venv/bin/python scripts/bench_ogc.py [--scale county] [--reuse] [--keep] [--repeat 15]
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from urllib.parse import quote

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


def centre_tiles(engine, z: int) -> list:
    """(Web Mercator tile at ``z``, CGCS2000 tile at ``z - 1``) over the centres of the five
    towns with most buildings: tiles of about the same size over the same place."""
    from twin.publish.tiles import MERCATOR, tile_matrix_set

    mercator, cgcs = tile_matrix_set(MERCATOR.id), tile_matrix_set("CGCS2000Quad")
    out = []
    for box in boxes(engine, 5):
        x0, y0, x1, y1 = map(float, box.split(","))
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
        out.append((mercator.tile(lon, lat, z), cgcs.tile(lon, lat, z - 1)))
    return out


def datastreams(engine, count: int) -> list[tuple[int, str, str]]:
    """(station id, station code, parameter) of the air stations' PM2.5 and the water
    stations' dissolved oxygen: the datastreams with most readings first."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("""
            SELECT s.id, s.code, o.parameter FROM observations o JOIN stations s
                ON s.id = o.station_id WHERE o.parameter IN ('pm25', 'do')
             GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 1 LIMIT :k"""), {"k": count}).all()]


def compare(label: str, variants: list[dict[str, str]], repeat: int,
            budget: float | None = BUDGET) -> list[str]:
    """Rows of each variant's time against the first's: the variants of a request asked in
    turn in every round, so that they meet the same conditions."""
    took: dict[str, list[float]] = {name: [] for name in variants[0]}
    for asked in variants:
        for one in asked.values():  # each answers, and is warm
            if fetch_keepalive(one)[0] != 200:
                raise SystemExit(f"{one}: HTTP {fetch_keepalive(one)[0]}")
        for _ in range(repeat):
            for name, one in asked.items():
                took[name].append(fetch_keepalive(one)[2])
    first = next(iter(took))
    base, _ = median_p95(took[first])
    rows = []
    for name, samples in took.items():
        med, p95 = median_p95(samples)
        held = name != first and budget is not None
        rows.append(f"| {label}, {name} | {med:.1f} ({p95:.1f}) ms = {med / base:.2f}× | "
                    f"{f'≤ {budget} × {first}' if held else '—'} | "
                    f"{f'{med / base / budget:.2f}' if held else '—'} |")
    return rows


def main() -> None:
    args = bench_parser(__doc__, repeat=15).parse_args()
    settings, data_dir, engine, headers = bench_setup(args)
    HEADERS.update(headers)
    proc, root = start_server(bench_url(settings), data_dir)
    base = root + "/api/ogc/collections"
    rows = []
    try:
        filtered = {"buildings": ("use=residential", "use = 'residential'"),
                    "events": ("status=closed", "status = 'closed'")}
        for collection in ("buildings", "events"):
            urls = [f"{base}/{collection}/items?bbox={box}&limit=1000"
                    for box in boxes(engine, 5)]
            plain, cql2 = filtered[collection]
            rows += compare(f"{collection}, a page of ≤ 1,000 in a town's box",
                            [{"CRS84": url, "EPSG:4549": f"{url}&crs={EPSG}4549",
                              "EPSG:4490": f"{url}&crs={EPSG}4490"} for url in urls],
                            args.repeat)
            rows += compare(f"{collection}, a page of ≤ 1,000 in a town's box",
                            [{plain: f"{url}&{plain}",
                              f"filter={cql2}": f"{url}&filter={quote(cql2)}"}
                             for url in urls], args.repeat)
        for z in (14, 15):
            rows += compare(f"a building tile over a town's centre, about zoom {z}", [
                {"WebMercatorQuad": f"{root}/api/ogc/collections/buildings/tiles/"
                                    f"WebMercatorQuad/{z}/{m.y}/{m.x}",
                 "CGCS2000Quad": f"{root}/api/ogc/collections/buildings/tiles/"
                                 f"CGCS2000Quad/{z - 1}/{g.y}/{g.x}"}
                for m, g in centre_tiles(engine, z)], args.repeat)
        rows += compare("a datastream's first 1,000 readings", [
            {"OGC items": f"{root}/api/ogc/collections/observations/items?station_code={code}"
                          f"&parameter={parameter}&limit=1000",
             "SensorThings": f"{root}/api/sta/v1.1/Datastreams('{sid}:{parameter}')/"
                             f"Observations?$top=1000"}
            for sid, code, parameter in datastreams(engine, 5)], args.repeat, budget=None)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"OGC APIs by CRS, filter and grid, {args.scale} sample, {date.today()}, "
          f"{machine()}; 5 towns' boxes × {args.repeat} rounds, the variants in turn\n")
    print("| measure | median (p95), ratio to the first | budget | ratio to budget |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


if __name__ == "__main__":
    main()
