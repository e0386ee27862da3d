#!/usr/bin/env python
"""Benchmark of importing buildings from a GeoPackage into the county twin.

The file holds N building footprints of the county sample under new codes. Measured: the
whole import (read, check, repair, map fields, COPY with cell assignment; rolled back so
every run starts alike) against the floor, a plain COPY of the very same rows into the same
table (also rolled back). Prints a Markdown table.

    .venv/bin/python scripts/bench_import.py [--buildings 100000] [--repeat 3] [--reuse]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import pyogrio
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import bench_engine, drop_bench, ensure_sample, machine, median_p95  # noqa: E402

from twin.config import Settings  # noqa: E402
from twin.ingest.importer import import_file  # noqa: E402
from twin.ingest.load import copy_frame  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, "county", Path(settings.data_dir) / "bench")
    with engine.connect() as conn:
        source = gpd.read_postgis(sa.text(
            "SELECT code, use, floors, height_m, geom FROM buildings ORDER BY id LIMIT :n"),
            conn, geom_col="geom", params={"n": args.buildings})
    source["code"] = "GP-" + source["code"]
    source = source.rename(columns={"floors": "层数", "height_m": "高度", "use": "用途"})
    imports, floors = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            gpkg = Path(tmp) / "buildings.gpkg"
            pyogrio.write_dataframe(source, gpkg, layer="buildings", driver="GPKG")
            size_mb = gpkg.stat().st_size / 1e6
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                report = import_file(engine, gpkg, "buildings", dry_run=True)
                imports.append(time.perf_counter() - t0)
                # the floor: the same rows, already prepared, COPYed and rolled back
                rows = gpd.read_file(gpkg).rename(columns={
                    "层数": "floors", "高度": "height_m", "用途": "use"}).rename_geometry("geom")
                with engine.connect() as conn:
                    tx = conn.begin()
                    ids = conn.execute(sa.text(
                        "SELECT nextval(pg_get_serial_sequence('buildings', 'id')) "
                        "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars().all()
                    rows.insert(0, "id", ids)
                    rows["year_built"] = None
                    t0 = time.perf_counter()
                    copy_frame(conn, "buildings", rows)
                    floors.append(time.perf_counter() - t0)
                    tx.rollback()
    finally:
        if not args.keep:
            drop_bench(settings)
    imp, imp95 = median_p95(imports)
    flo, flo95 = median_p95(floors)
    n = report.written
    print(f"Import benchmark, {n:,} buildings from a {size_mb:.0f} MB GeoPackage into the "
          f"county twin, {date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    print(f"| import (read, check, map, COPY with cell assignment), median (p95) | "
          f"{imp:.1f} s ({imp95:.1f} s) = {n / imp:,.0f} rows/s | — | — |")
    print(f"| floor: plain COPY of the same rows, median (p95) | {flo:.1f} s ({flo95:.1f} s) "
          f"= {n / flo:,.0f} rows/s | — | — |")
    print(f"| import / floor | {imp / flo:.2f}× | ≤ 2× | {imp / flo / 2:.2f} |")


if __name__ == "__main__":
    main()
