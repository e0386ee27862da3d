#!/usr/bin/env python
"""Hostile input to the importer: each case runs in a child process of its own, against a
twin database, and the table shows the error it got, the peak memory (max RSS) of that
child, how long it took, and that nothing was written.

Cases: a zip bomb (one entry that unpacks to 3 GB), a zip with 5,000 entries, a zip-slip
path, a sparse 3 GB GeoJSON, a polygon with a million vertices, a truncated shapefile, GBK
text read as UTF-8, and metric coordinates without a CRS; then files that are not what
their name claims (GDAL picks a driver by content): an OGR VRT renamed .gpkg reading a
local secret, a VRT whose source is a /vsicurl/ URL, a VRT .gpkg inside a zip, a GeoPackage
with a view over another database file, and a raster VRT renamed .tif whose band is the
bytes of the secret. A case whose output shows the secret's marker is flagged LEAKED.

    .venv/bin/python scripts/bench_hostile.py [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
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

REAL = PROJECT_ROOT / "tests" / "data"  # the tests' real files (tests/conftest.py REAL)
MARKER = "SECRET-MARKER-bench-41d2"
CHILD = """
import json, resource, sys, time
from pathlib import Path
import sqlalchemy as sa
from twin.store.db import make_engine
from twin.config import Settings
from twin.ingest.importer import import_file, import_raster
url, path, encoding, kind, data_dir = sys.argv[1:6]
settings = Settings(database_url=url, data_dir=data_dir)
engine = make_engine(settings)
count = lambda: engine.connect().execute(sa.text("SELECT count(*) FROM buildings")).scalar()
rasters = lambda: len(list(Path(data_dir, "rasters").glob("*.tif")))
before = count()
t0 = time.perf_counter()
try:
    if kind == "buildings":
        import_file(engine, path, kind, encoding=encoding or None)
    else:
        import_raster(settings, path, kind)
    error = "(imported!)"
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
seconds = time.perf_counter() - t0
print(json.dumps({"error": error, "seconds": seconds, "written": count() - before + rasters(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _zip_bomb(path: Path) -> None:
    """One entry of 3 GB of zeros (deflated to ~3 MB), written in 64 MB pieces."""
    chunk = bytes(64 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("buildings.geojson", "w", force_zip64=True) as entry:
        for _ in range(48):
            entry.write(chunk)


def _ogr_vrt(source: str) -> str:
    """An OGR VRT: a point layer read from ``source`` (any file or URL GDAL can open)."""
    return ('<OGRVRTDataSource><OGRVRTLayer name="keys">'
            f"<SrcDataSource>{source}</SrcDataSource><SrcLayer>keys</SrcLayer>"
            '<GeometryField encoding="PointFromColumns" x="lon" y="lat"/>'
            "</OGRVRTLayer></OGRVRTDataSource>\n")


def _hostile(tmp: Path) -> list[tuple[str, Path, str]]:
    """Files that are not what their name claims, beside a secret holding ``MARKER``."""
    import geopandas as gpd
    import shapely

    secret = tmp / "secret" / "keys.csv"
    secret.parent.mkdir()
    secret.write_text(f"name,lon,lat\n{MARKER},120.49,30.74\n")
    local = tmp / "local.gpkg"
    local.write_text(_ogr_vrt(f"CSV:{secret}"))
    remote = tmp / "remote.gpkg"
    remote.write_text(_ogr_vrt("/vsicurl/http://127.0.0.1:9/keys.csv"))
    zipped = tmp / "vrt.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("data/buildings.gpkg", _ogr_vrt(f"CSV:{secret}"))
    other = tmp / "secret" / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE keys (name TEXT)")
        db.execute("INSERT INTO keys VALUES (?)", (MARKER,))
    view = tmp / "view.gpkg"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(120.49, 30.74, 120.4901, 30.7401)],
                     crs="EPSG:4326").to_file(view, layer="houses")
    with sqlite3.connect(view) as db:  # SQLite would not create it: written into the schema
        db.execute("PRAGMA writable_schema = ON")
        db.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
                   "('view', 'leak', 'leak', 0, 'CREATE VIEW leak AS SELECT * FROM other.keys')")
        db.execute("INSERT INTO gpkg_contents (table_name, data_type) VALUES "
                   "('leak', 'attributes')")
    dem = tmp / "dem.tif"
    dem.write_text('<VRTDataset rasterXSize="16" rasterYSize="4"><SRS>EPSG:4326</SRS>'
                   "<GeoTransform>120.49, 0.001, 0, 30.74, 0, -0.001</GeoTransform>"
                   '<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
                   f'<SourceFilename relativeToVRT="0">{secret}</SourceFilename>'
                   "<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset>"
                   "<LineOffset>16</LineOffset></VRTRasterBand></VRTDataset>\n")
    return [("OGR VRT renamed .gpkg reading a local file", local, "buildings"),
            ("OGR VRT .gpkg with a /vsicurl/ source", remote, "buildings"),
            ("OGR VRT renamed .gpkg inside a zip", zipped, "buildings"),
            ("GeoPackage with a view over another database file", view, "buildings"),
            ("raster VRT renamed .tif (band = a local file's bytes), as dem", dem, "dem")]


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


def _run(url: str, tmp: str, name: str, path: Path, encoding: str, kind: str) -> str:
    """One case in a child process of its own: its row of the table."""
    data_dir = tempfile.mkdtemp(dir=tmp, prefix="twin-")
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", CHILD, url, str(path), encoding, kind,
                          data_dir], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         check=False, timeout=600)
    wall = time.perf_counter() - t0
    leaked = " **LEAKED the secret**" if MARKER in run.stdout + run.stderr else ""
    if run.returncode != 0:
        return f"| {name} | child failed: {run.stderr.strip()[-200:]}{leaked} | | | |"
    got = json.loads(run.stdout.strip().splitlines()[-1])
    error = got["error"].replace(str(tmp) + "/", "").replace("|", "\\|")
    return (f"| {name} | {error[:160]}{leaked} | {got['rss_mb']:.0f} MB | "
            f"{got['seconds']:.2f} s ({wall:.1f} s with start-up) | {got['written']} |")


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
        cases = [(name, path, encoding, "buildings") for name, path, encoding in
                 _cases(Path(tmp))]
        cases += [(name, path, "", kind) for name, path, kind in _hostile(Path(tmp))]
        for name, path, encoding, kind in cases:
            rows.append(_run(url, tmp, name, path, encoding, kind))
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
                          "import resource, twin.ingest.importer; print(resource.getrusage("
                          "resource.RUSAGE_SELF).ru_maxrss / 1024)"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    return float(run.stdout.strip())


if __name__ == "__main__":
    main()
