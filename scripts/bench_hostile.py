#!/usr/bin/env python
"""Hostile input to the importer: each case runs in a child process of its own, against a
twin database, and the table shows the error it got, the peak memory (max RSS) of that
child, how long it took, and that nothing was written.

Cases: a zip bomb (one entry that unpacks to 3 GB), a zip with 5,000 entries, a zip-slip
path, a sparse 3 GB GeoJSON, a polygon with a million vertices, a truncated shapefile, GBK
text read as UTF-8, and metric coordinates without a CRS.

    .venv/bin/python scripts/bench_hostile.py [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import bench_engine, bench_url, drop_bench, ensure_sample, machine  # noqa: E402

from twin.config import PROJECT_ROOT, Settings  # noqa: E402

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
CHILD = """
import json, resource, sys, time
import sqlalchemy as sa
from twin.db import make_engine
from twin.config import Settings
from twin.importer import import_file
settings = Settings(database_url=sys.argv[1])
engine = make_engine(settings)
count = lambda: engine.connect().execute(sa.text("SELECT count(*) FROM buildings")).scalar()
before = count()
t0 = time.perf_counter()
try:
    import_file(engine, sys.argv[2], "buildings", encoding=sys.argv[3] or None)
    error = "(imported!)"
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
seconds = time.perf_counter() - t0
print(json.dumps({"error": error, "seconds": seconds, "written": count() - before,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _zip_bomb(path: Path) -> None:
    """One entry of 3 GB of zeros (deflated to ~3 MB), written in 64 MB pieces."""
    chunk = bytes(64 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("buildings.geojson", "w", force_zip64=True) as entry:
        for _ in range(48):
            entry.write(chunk)


def _cases(tmp: Path) -> list[tuple[str, Path, str]]:
    bomb = tmp / "bomb.zip"
    _zip_bomb(bomb)
    many = tmp / "many.zip"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(5000):
            z.writestr(f"part{i}.geojson", "{}")
    slip = tmp / "slip.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("../../etc/cron.d/evil.geojson", "{}")
    sparse = tmp / "county.geojson"
    with sparse.open("wb") as f:
        f.truncate(3 << 30)
    ring = [[120.5 + 0.01 * math.cos(2 * math.pi * k / 1_000_000),
             30.7 + 0.01 * math.sin(2 * math.pi * k / 1_000_000)] for k in range(1_000_000)]
    ring.append(ring[0])
    huge = tmp / "huge.geojson"
    huge.write_text(json.dumps({"type": "Feature", "properties": {},
                                "geometry": {"type": "Polygon", "coordinates": [ring]}}))
    shp = REAL / "zhejiang_districts"
    (tmp / "cut.shp").write_bytes((shp / "zhejiang_districts.shp").read_bytes()[:5000])
    (tmp / "cut.dbf").write_bytes((shp / "zhejiang_districts.dbf").read_bytes())
    gbk = tmp / "gbk.csv"
    gbk.write_bytes("名称,经度,纬度\n乌镇,120.49,30.74\n".encode("gbk"))
    metric = tmp / "metric.csv"
    metric.write_text("name,x,y\nA,512345.6,3398765.4\n")
    return [("zip bomb: 1 entry unpacking to 3 GB", bomb, ""),
            ("zip with 5,000 entries", many, ""),
            ("zip-slip entry ../../etc/cron.d/…", slip, ""),
            ("sparse 3 GB GeoJSON", sparse, ""),
            ("one polygon of 1,000,001 vertices (40 MB GeoJSON)", huge, ""),
            ("truncated shapefile (5 kB of the .shp)", tmp / "cut.shp", ""),
            ("GBK CSV read as UTF-8 (--encoding utf-8)", gbk, "utf-8"),
            ("metric coordinates without a CRS", metric, "")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, "village", Path(settings.data_dir) / "bench")
    url = bench_url(settings)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, encoding in _cases(Path(tmp)):
            t0 = time.perf_counter()
            run = subprocess.run([sys.executable, "-c", CHILD, url, str(path), encoding],
                                 capture_output=True, text=True, cwd=PROJECT_ROOT, check=False,
                                 timeout=600)
            wall = time.perf_counter() - t0
            if run.returncode != 0:
                rows.append(f"| {name} | child failed: {run.stderr.strip()[-200:]} | | | |")
                continue
            got = json.loads(run.stdout.strip().splitlines()[-1])
            error = got["error"].replace(str(tmp) + "/", "").replace("|", "\\|")
            rows.append(f"| {name} | {error[:160]} | {got['rss_mb']:.0f} MB | "
                        f"{got['seconds']:.2f} s ({wall:.1f} s with start-up) | "
                        f"{got['written']} |")
    print(f"Hostile input, {date.today()}, {machine()}; peak memory of the importing process "
          f"(Python, GDAL and pandas loaded: ~{_baseline():.0f} MB before any file)\n")
    print("| case | error | peak memory (max RSS) | time | rows written |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


def _baseline() -> float:
    run = subprocess.run([sys.executable, "-c",
                          "import resource, twin.importer; print(resource.getrusage("
                          "resource.RUSAGE_SELF).ru_maxrss / 1024)"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    return float(run.stdout.strip())


if __name__ == "__main__":
    main()
