#!/usr/bin/env python
"""What the twin publishes, written to a folder: every tile of every layer over the town
sample at every zoom, every OGC collection's items (all pages, with a bbox, a period and
each filter) and single items, the open events and Open311's requests, and every export
layer in every format — as several roles see them. Two runs of different code against the
same database must give the same bytes (issue 14: the catalogue refactor changes no
output).

    .venv/bin/python scripts/snapshot_outputs.py --out /tmp/before [--reuse]
    .venv/bin/python scripts/snapshot_outputs.py --compare /tmp/before /tmp/after

``--skip NAME`` leaves out the tile layers, collections and export layers of that name (a
family one side does not have yet).

The database ``twin_snapshot`` (the town sample, seed 0) is built beside the twin's own on
first use and kept (its rows must not change between the runs to compare). The script
imports the product by module names old and new, so the same script serves both sides.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

import morecantile
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# GeoPackage writes its creation time; GDAL takes it from here instead of the clock
os.environ["OGR_CURRENT_DATE"] = "2000-01-01T00:00:00.000Z"

SNAPSHOT_DB = "twin_snapshot"
SKIP: set[str] = set()  # names of tile layers, collections and export layers left out
TMS = morecantile.tms.get("WebMercatorQuad")
FORMATS = ("geojson", "gpkg", "csv", "shp")


def _module(*names: str):
    """The first of ``names`` that imports (modules move between the two sides)."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise SystemExit(f"none of {names} imports")


def _engine(fresh: bool):
    """The snapshot database, with the town sample loaded once."""
    config = _module("twin.config")
    db = _module("twin.store.db", "twin.db")
    cluster_mod = _module("twin.store.cluster", "twin.cluster")
    settings = config.Settings()
    url = settings.database_url
    if not url:
        cluster = cluster_mod.Cluster(settings.data_dir, settings.db_port)
        cluster.start()
        url = cluster.url()
    admin = db.make_engine(settings, url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{SNAPSHOT_DB}" WITH (FORCE)'))
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                            {"d": SNAPSHOT_DB}).scalar():
            conn.execute(sa.text(f'CREATE DATABASE "{SNAPSHOT_DB}"'))
    admin.dispose()
    engine = db.make_engine(settings, sa.engine.make_url(url).set(database=SNAPSHOT_DB))
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("SELECT to_regclass('units') IS NOT NULL")).scalar() and \
            conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM units)")).scalar()
    if not loaded:
        db.upgrade(engine)
        sample = _module("twin.sample", "geodata.sample")
        load = _module("twin.ingest.load", "twin.load")
        pii = _module("twin.domain.pii", "twin.pii")
        load.write_sample(engine, sample.generate("town", 0, end=_fixed_end()),
                          pii.PiiKey(b"snapshot-only-key-0123456789"))
        with engine.begin() as conn:  # no re-analysis between the two runs
            for table in conn.execute(sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars():
                conn.execute(sa.text(f'ANALYZE "{table}"'))
                conn.execute(sa.text(
                    f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)'))
    return engine


def _fixed_end():
    import datetime as dt

    return dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _principals(engine) -> dict[str, object]:
    access = _module("twin.domain.access", "twin.access")
    with engine.connect() as conn:
        village, grid = conn.execute(sa.text(
            "SELECT (SELECT code FROM units WHERE level = 'village' ORDER BY code LIMIT 1), "
            "(SELECT code FROM units WHERE level = 'grid' ORDER BY code LIMIT 1)")).one()
    return {"admin": access.Principal("admin", (), "snap-admin"),
            "planner": access.Principal("planner", (), "snap-planner"),
            "official": access.Principal("official", (village,), "snap-official"),
            "field": access.Principal("field", (grid,), "snap-field"),
            "screen": access.Principal("screen", (), "snap-screen")}


class Writer:
    """Files under a folder, and their SHA-256 in a manifest."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.manifest: dict[str, str] = {}

    def put(self, name: str, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        self.manifest[name] = hashlib.sha256(raw).hexdigest()

    def close(self) -> None:
        (self.out / "MANIFEST.json").write_text(json.dumps(self.manifest, indent=1,
                                                           sort_keys=True))


def snapshot_tiles(engine, who: dict, w: Writer) -> None:
    tiles = _module("twin.publish.tiles", "twin.tiles")
    access = _module("twin.domain.access", "twin.access")
    with engine.connect() as conn:
        box = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM units WHERE level = 'town') s")).one()
        points = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM buildings "
            "ORDER BY id) s WHERE (SELECT count(*) FROM buildings) > 0 "
            "LIMIT 400")).all()
    w.put("tiles/_layers.json", json.dumps({n: [s.minzoom, s.maxzoom, list(s.properties)]
                                           for n, s in tiles.LAYERS.items() if n not in SKIP},
                                          ensure_ascii=False))
    for name, spec in tiles.LAYERS.items():
        if name in SKIP:
            continue
        roles = ["admin"] if spec.kind == "geography" else list(who)
        for z in range(spec.minzoom, min(spec.maxzoom, 16) + 1):
            if z <= 13:
                chosen = list(TMS.tiles(*box, [z]))
            else:  # the tiles of 100 buildings spread over the town
                chosen = list(dict.fromkeys(TMS.tile(x, y, z) for x, y in points[::4]))
            for t in chosen:
                for role in roles:
                    if access.sees(who[role], spec.kind) == access.NONE:
                        continue
                    version, data = tiles.render(engine, spec, t.z, t.x, t.y, who[role])
                    if data:
                        w.put(f"tiles/{name}/{role}/{t.z}-{t.x}-{t.y}.mvt", data)


def snapshot_ogc(engine, who: dict, w: Writer) -> None:
    ogc = _module("twin.publish.ogc", "twin.ogc")
    with engine.connect() as conn:
        w.put("ogc/_collections.json", json.dumps(
            {c.id: [c.title, c.description, ogc.queryables_document(conn, c)
                    if hasattr(ogc, "queryables_document") else c.queryables()]
             for c in ogc.COLLECTIONS.values() if c.id not in SKIP},
            ensure_ascii=False))
        bbox = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMin(e) + (ST_XMax(e) - ST_XMin(e)) / 3, "
            "ST_YMin(e) + (ST_YMax(e) - ST_YMin(e)) / 3 FROM (SELECT ST_Extent(geom) AS e "
            "FROM units WHERE level = 'town') s")).one()
        for role, principal in who.items():
            visible = {c.id for c in ogc.visible_collections(principal)}
            for c in ogc.COLLECTIONS.values():
                if c.id not in visible or c.id in SKIP:
                    continue
                queries = {"all": {"limit": [str(ogc.MAX_LIMIT)]},
                           "bbox": {"bbox": [",".join(map(str, bbox))], "limit": ["1000"]}}
                if c.temporal:
                    queries["time"] = {"datetime": ["2026-10-01T00:00:00Z/2026-10-15T00:00:00Z"],
                                       "limit": ["1000"]}
                for name in c.filters:
                    value = conn.execute(sa.text(
                        f"SELECT ({_filter_value(c, name)})::text FROM {c.table} t "
                        f"WHERE {c.where} ORDER BY {c.order} LIMIT 1")).scalar()
                    if value is not None:
                        queries[f"filter-{name}"] = {name: [value], "limit": ["1000"]}
                for label, params in queries.items():
                    q = ogc.parse_items_query(c, params)
                    offset, part = 0, 0
                    while True:
                        q = ogc.ItemsQuery(**{**q.__dict__, "offset": offset})
                        page = ogc.fetch_page(conn, q, principal)
                        w.put(f"ogc/{c.id}/{role}/{label}-{part}.json",
                              f"{page.number_matched} {page.number_returned}\n"
                              f"{page.features_json}")
                        offset += q.limit
                        part += 1
                        if offset >= page.number_matched or label != "all":
                            break
                first = conn.execute(sa.text(
                    f"SELECT ({c.key})::text FROM {c.table} t WHERE {c.where} "
                    f"ORDER BY {c.order} LIMIT 1")).scalar()
                for fid in (first, "999999999"):
                    if fid is not None:
                        w.put(f"ogc/{c.id}/{role}/item-{fid.replace(':', '_')}.json",
                              str(ogc.fetch_feature(conn, c, fid, principal)))


def _filter_value(c, name: str) -> str:
    """A SQL expression giving a value of the filter ``name`` (the property it tests)."""
    return c.properties.get(name) or c.properties.get(name.removesuffix("_code")) or "t.id"


def snapshot_read_models(engine, who: dict, w: Writer) -> None:
    summary = _module("twin.domain.summary", "twin.summary")
    units = _module("twin.domain.units", "twin.units")
    import datetime as dt

    for role, principal in who.items():
        w.put(f"read/open-events-{role}.json", summary.open_events_geojson(engine, principal))
        w.put(f"read/heat-{role}.json", json.dumps(summary.event_heat(
            engine, dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 1, tzinfo=dt.UTC), principal)))
    for level in ("town", "village", "grid", "microgrid"):
        w.put(f"read/units-{level}.json", json.dumps(units.units_geojson(engine, level),
                                                    ensure_ascii=False, sort_keys=True))


def snapshot_exports(engine, who: dict, w: Writer) -> None:
    exporter = _module("twin.publish.exporter", "twin.exporter")
    with engine.connect() as conn:
        village, micro = (dict(r._mapping) for r in conn.execute(sa.text(
            "(SELECT id, code, level FROM units WHERE level = 'village' ORDER BY code LIMIT 1) "
            "UNION ALL (SELECT id, code, level FROM units WHERE level = 'microgrid' "
            "ORDER BY code LIMIT 1)")).all())
    runs = [("planner", None, fmt, "EPSG:4326") for fmt in FORMATS]
    runs += [("planner", None, "geojson", crs) for crs in ("gcj02", "EPSG:4549")]
    runs += [("planner", village, "geojson", "EPSG:4326"),
             ("planner", micro, "csv", "EPSG:4326"),
             ("official", village, "geojson", "EPSG:4326")]
    with tempfile.TemporaryDirectory() as tmp:
        for layer in (n for n in exporter.LAYERS if n not in SKIP):
            for role, unit, fmt, crs in runs:
                target = Path(tmp) / f"{layer}.{fmt}"
                exporter.export_layer(engine, layer, target, fmt, unit, crs,
                                      principal=who[role])
                where = unit["code"] if unit else "county"
                for part in sorted(Path(tmp).glob(f"{layer}.*")):
                    data = part.read_bytes()
                    if part.suffix == ".dbf":  # the header's bytes 1-3 hold the write date
                        data = data[:1] + b"\0\0\0" + data[4:]
                    w.put(f"export/{layer}/{role}-{where}-{crs.replace(':', '')}/{part.name}",
                          data)
                    part.unlink()


def compare(a: Path, b: Path) -> int:
    left = json.loads((a / "MANIFEST.json").read_text())
    right = json.loads((b / "MANIFEST.json").read_text())
    only_left = sorted(set(left) - set(right))
    only_right = sorted(set(right) - set(left))
    differ = sorted(n for n in set(left) & set(right) if left[n] != right[n])
    print(f"{len(left)} files in {a}, {len(right)} in {b}: {len(differ)} differ, "
          f"{len(only_left)} only in the first, {len(only_right)} only in the second")
    for label, names in (("differ", differ), ("only in the first", only_left),
                         ("only in the second", only_right)):
        for n in names[:20]:
            print(f"  {label}: {n}")
    return 1 if differ or only_left or only_right else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fresh", action="store_true", help="rebuild the snapshot database")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    parser.add_argument("--skip", action="append", default=[], metavar="NAME",
                        help="leave out a layer, collection and export of this name")
    args = parser.parse_args()
    SKIP.update(args.skip)
    if args.compare:
        raise SystemExit(compare(*args.compare))
    if not args.out:
        parser.error("give --out DIR or --compare A B")
    engine = _engine(args.fresh)
    who = _principals(engine)
    w = Writer(args.out)
    snapshot_tiles(engine, who, w)
    snapshot_ogc(engine, who, w)
    snapshot_read_models(engine, who, w)
    snapshot_exports(engine, who, w)
    w.close()
    print(f"{len(w.manifest)} files, {sum((args.out / n).stat().st_size for n in w.manifest) / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
