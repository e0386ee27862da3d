"""``python -m twin …``: one command group; errors become one clear line at this edge."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from functools import wraps
from pathlib import Path

import click

from geodata.errors import GeodataError
from twin.catalog import EXPORT_ORDER, IMPORT_ORDER
from twin.config import PROJECT_ROOT, Settings
from twin.domain.accounts import ACCOUNT_ROLES
from twin.domain.units import LEVELS
from twin.errors import TwinError
from twin.ingest import RASTER_KINDS
from twin.publish import EXPORT_FORMATS


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def friendly(fn):
    """Turn the twin's own errors into `error: …` and exit status 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TwinError, GeodataError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Village Twin: a 3D digital twin of a county's villages for grassroots governance."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("settings", Settings())


# --- db -----------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Manage the database: the project's own PostGIS, or TWIN_DATABASE_URL."""


def _cluster(settings: Settings):
    from twin.store.cluster import Cluster

    if settings.database_url:
        raise click.UsageError(
            "TWIN_DATABASE_URL is set: the twin uses that external database and manages no "
            "cluster of its own (unset it to use the embedded one)"
        )
    return Cluster(settings.data_dir, settings.db_port)


@db.command("start")
@click.pass_context
@friendly
def db_start(ctx: click.Context) -> None:
    """Create (once) and start the project's PostGIS, then apply migrations."""
    from twin.store import db as twin_db

    settings = _settings(ctx)
    cluster = _cluster(settings)
    click.echo(f"database {cluster.start()} on port {cluster.port} ({cluster.data})")
    engine = twin_db.make_engine(settings, cluster.url())
    twin_db.upgrade(engine)
    click.echo(f"schema at revision {twin_db.current_revision(engine)}")


@db.command("stop")
@click.pass_context
@friendly
def db_stop(ctx: click.Context) -> None:
    """Stop the project's PostGIS cleanly."""
    click.echo(f"database {_cluster(_settings(ctx)).stop()}")


@db.command("status")
@click.pass_context
@friendly
def db_status(ctx: click.Context) -> None:
    """Say whether the database runs, where, and at which schema revision."""
    from twin.store import db as twin_db

    settings = _settings(ctx)
    if settings.database_url:
        engine = twin_db.make_engine(settings)
        click.echo(f"external database {twin_db.safe_url(settings.database_url)}: PostGIS "
                   f"{twin_db.check(engine)}, revision {twin_db.current_revision(engine)}")
        return
    st = _cluster(settings).status()
    if not st.initialised:
        click.echo("database not created yet: run `python -m twin db start`")
        sys.exit(3)
    if not st.running:
        click.echo(f"database stopped ({st.data})")
        sys.exit(3)
    engine = twin_db.make_engine(settings)
    click.echo(f"database running, pid {st.pid}, port {st.port}, data {st.data}, PostGIS "
               f"{twin_db.check(engine)}, revision {twin_db.current_revision(engine)}")


@db.command("url")
@click.pass_context
@friendly
def db_url(ctx: click.Context) -> None:
    """Print the SQLAlchemy URL of the running database."""
    from twin.store import db as twin_db

    settings = _settings(ctx)
    click.echo(twin_db.database_url(settings) if not settings.database_url
               else twin_db.safe_url(settings.database_url))


@db.command("upgrade")
@click.option("--to", "revision", default="head", show_default=True)
@click.pass_context
@friendly
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply schema migrations."""
    from twin.store import db as twin_db

    engine = twin_db.make_engine(_settings(ctx))
    twin_db.check(engine, schema=False)
    twin_db.upgrade(engine, revision)
    click.echo(f"schema at revision {twin_db.current_revision(engine)}")


@db.command("downgrade")
@click.option("--to", "revision", default="base", show_default=True)
@click.confirmation_option(prompt="This drops the twin's tables and their data. Continue?")
@click.pass_context
@friendly
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Undo schema migrations (drops data)."""
    from twin.store import db as twin_db

    engine = twin_db.make_engine(_settings(ctx))
    twin_db.downgrade(engine, revision)
    click.echo(f"schema at revision {twin_db.current_revision(engine)}")


# --- cluster (Citus) ----------------------------------------------------------------------
@main.group()
def cluster() -> None:
    """The twin on several database nodes: a Citus coordinator and workers on this machine
    (docs/scaling.md). Point TWIN_DATABASE_URL at `twin cluster url` to use it."""


def _citus(settings: Settings, workers: int | None = None, shards: int | None = None):
    from twin.store.citus import CitusCluster

    return CitusCluster(settings.data_dir, workers, shards)


@cluster.command("start")
@click.option("--workers", type=int, default=None,
              help="workers beside the coordinator (default: as created, else 2)")
@click.option("--shards", type=click.IntRange(1, 1024), default=None,
              help="shards of each distributed table, set when the nodes are created "
                   "(default: 4 per worker)")
@click.pass_context
@friendly
def cluster_start(ctx: click.Context, workers: int | None, shards: int | None) -> None:
    """Create (once) and start the coordinator and its workers, with PostGIS and Citus."""
    nodes = _citus(_settings(ctx), workers, shards)
    for line in nodes.start():
        click.echo(line)
    click.echo(f"coordinator: TWIN_DATABASE_URL='{nodes.url()}'")


@cluster.command("stop")
@click.pass_context
@friendly
def cluster_stop(ctx: click.Context) -> None:
    """Stop the workers, then the coordinator."""
    for line in _citus(_settings(ctx)).stop():
        click.echo(line)


@cluster.command("status")
@click.pass_context
@friendly
def cluster_status(ctx: click.Context) -> None:
    """Each node: running or not, its port and folder (exit 3 when any is down)."""
    down = False
    for node in _citus(_settings(ctx)).status():
        st = node.status
        state = ("running" if st.running else "stopped") if st.initialised else "not created"
        down = down or not st.running
        click.echo(f"{node.name}: {state}, port {st.port or '-'}, data {st.data}")
    if down:
        sys.exit(3)


@cluster.command("url")
@click.pass_context
@friendly
def cluster_url(ctx: click.Context) -> None:
    """Print the coordinator's URL (for TWIN_DATABASE_URL)."""
    click.echo(_citus(_settings(ctx)).url())


@cluster.command("distribute")
@click.pass_context
@friendly
def cluster_distribute(ctx: click.Context) -> None:
    """Spread the twin's tables over the workers by town (once, after `twin db upgrade` and
    the loading; TWIN_DATABASE_URL at the coordinator). What changed is printed."""
    from twin.store import db as twin_db
    from twin.store.distribution import distribute

    engine = twin_db.open_twin(_settings(ctx))
    started = time.monotonic()
    report = distribute(engine)
    p = report.plan
    click.echo(f"distributed by town: {len(p.distributed)} tables; reference: "
               f"{len(p.reference)}; coordinator only: {len(p.local)} "
               f"({time.monotonic() - started:.1f} s)")
    click.echo(f"keys now with town_id: {len(report.keys)}; foreign keys made composite: "
               f"{len(report.foreign_keys)}")
    for what, items in (("foreign key dropped", report.dropped_foreign_keys),
                        ("trigger dropped", report.dropped_triggers)):
        for item in items:
            click.echo(f"{what}: {item}")


# --- sample -------------------------------------------------------------------------------
@main.command()
@click.option("--scale", default="town", show_default=True,
              help="village (tests), town (demo), county (benchmarks) or city (five "
                   "counties, for a Citus cluster).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 366),
              help="Days of hourly observations.")
@click.option("--end", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d"]), default=None,
              help="Where the sample's timeline ends (UTC; default: now, to the hour). The "
                   "same seed gives the same rows relative to it: pin it to repeat a sample.")
@click.option("--replace", is_flag=True, help="Replace the data the twin holds.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the twin already holds data.")
@click.pass_context
@friendly
def sample(ctx: click.Context, scale: str, seed: int, days: int, end, replace: bool,
           if_empty: bool) -> None:
    """Generate a deterministic sample twin (a county, or a city of five) and load it."""
    from tqdm import tqdm

    from twin.domain.pii import PiiKey
    from twin.ingest.load import is_empty, write_sample
    from twin.sample.city import CITY
    from twin.sample.generate import SCALES, SampleError, default_end, generate
    from twin.sample.raster import write_sample_rasters
    from twin.store import db as twin_db

    if scale not in (*SCALES, CITY):
        raise click.BadParameter(f"unknown scale {scale!r}: choose one of "
                                 f"{', '.join((*SCALES, CITY))}", param_hint="--scale")
    settings = _settings(ctx)
    engine = twin_db.open_twin(settings)
    twin_db.require_head(engine)
    if if_empty:
        with engine.connect() as conn:
            if not is_empty(conn):
                click.echo("the twin already holds data; nothing generated")
                return
    end = end.replace(tzinfo=dt.UTC) if end else default_end()
    key = PiiKey.from_settings(settings)
    t0 = time.perf_counter()
    if scale == CITY:
        counts, twin = write_city(
            engine, key, seed=seed, days=days, end=end, replace=replace,
            report=lambda county: click.echo(f"  county {county.units['code'].iloc[0][:6]}: "
                                             f"{len(county.people):,} residents"))
    else:
        with tqdm(desc="generating", unit=" steps", disable=None) as bar:
            def step(stage: str, n: int) -> None:
                bar.set_postfix_str(stage)
                bar.update(1)

            try:
                twin = generate(scale, seed, days=days, progress=step, end=end)
            except SampleError as exc:
                raise click.BadParameter(str(exc), param_hint="--scale") from None
        t1 = time.perf_counter()
        total = sum(twin.counts().values())
        with tqdm(total=total, desc="loading", unit=" rows", unit_scale=True,
                  disable=None) as bar:
            def loaded(table: str, n: int) -> None:
                bar.set_postfix_str(table)
                bar.update(n)

            counts = write_sample(engine, twin, key, replace=replace, progress=loaded)
    rasters = write_sample_rasters(twin, Path(settings.data_dir) / "rasters")
    scene = sample_scene(engine, settings.data_dir, twin.buildings)
    from twin.domain.monitor import evaluate_all

    warnings = evaluate_all(engine)  # the sample's readings, through monitor → warn
    t2 = time.perf_counter()
    took = (f"generated and loaded in {t2 - t0:.1f} s" if scale == CITY else
            f"generated in {t1 - t0:.1f} s, loaded in {t2 - t1:.1f} s")
    click.echo(f"{scale} sample (seed {seed}): {took}")
    click.echo(f"  sensor warnings opened {warnings['opened']:,}, closed after recovery "
               f"{warnings['closed']:,}")
    for table, n in counts.items():
        click.echo(f"  {table:22} {n:>10,}")
    click.echo(f"  rasters: {rasters['dem'].name}, {rasters['imagery'].name} in "
               f"{rasters['dem'].parent}")
    click.echo(f"  real-scene 3D: {scene.name}, {scene.files - 1:,} tiles, "
               f"{scene.bytes / 1e6:,.1f} MB")


def write_city(engine, key, *, seed: int = 0, days: int = 30, end: dt.datetime,
               replace: bool = False, n: int | None = None, base: str = "county",
               report=None) -> tuple[dict[str, int], object]:
    """Generate and write the city sample in one transaction, county by county (the next
    generated while one is written); returns rows per table and the first county (its
    rasters and scene stand for the city's)."""
    from twin.ingest.load import write_samples
    from twin.sample.city import COUNTIES, counties

    first: list = []

    def each():
        for county in counties(seed, days=days, end=end, n=n or len(COUNTIES), base=base):
            if report:
                report(county)
            first[:] = first or [county]
            yield county
    return write_samples(engine, each(), key, replace=replace), first[0]


def sample_scene(engine, data_dir: str | Path, buildings):
    """The sample's old town as a real-scene model, standing on the sample's terrain (also
    made by the benchmarks' samples)."""
    from geodata.raster import height_at
    from twin.ingest.scene import keep_models
    from twin.sample.scene import NAME, TITLE, old_town

    dem = Path(data_dir) / "rasters" / "dem.tif"
    frame, models = old_town(buildings, height_of=lambda lon, lat: height_at(dem, lon, lat))
    return keep_models(engine, data_dir, frame, models, name=NAME, title=TITLE, actor="sample")


# --- roll-up ------------------------------------------------------------------------------
@main.command()
@click.argument("code", required=False)
@click.pass_context
@friendly
def rollup(ctx: click.Context, code: str | None) -> None:
    """Print the six-element summary of a unit (by official code; none = the county)."""
    from twin.domain.summary import rollup as do_rollup
    from twin.domain.summary import unit_by_code
    from twin.store import db as twin_db

    engine = twin_db.open_twin(_settings(ctx))
    unit_id = unit_by_code(engine, code) if code else None
    click.echo(json.dumps(do_rollup(engine, unit_id), ensure_ascii=False, indent=2))


def _precompress() -> None:
    """Best-quality Brotli copies of the browser bundles, once per installed version."""
    from twin.runtime.compress import default_cache_dir, precompress_bundles

    if not default_cache_dir().exists():
        click.echo("compressing the browser bundles once (about a minute) …", err=True)
    precompress_bundles()


# --- import -------------------------------------------------------------------------------
@main.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--as", "kind", required=True,
              type=click.Choice([*IMPORT_ORDER, *RASTER_KINDS, "scene"]),
              help="what the file holds (scene: a 3D Tiles folder or .zip, or CityJSON)")
@click.option("--name", "scene_name", help="a scene's name (default: from the file's)")
@click.option("--level", type=click.Choice(LEVELS),
              help="the grid level of imported units")
@click.option("--crs", help="the file's CRS if it does not declare it: EPSG:xxxx, gcj02, bd09")
@click.option("--encoding", help="text encoding of a Shapefile or CSV (default: detected)")
@click.option("--map", "mappings", multiple=True, metavar="TARGET=SOURCE",
              help="take a twin field from a file field, e.g. --map floors=层数")
@click.option("--dry-run", is_flag=True, help="check everything, write nothing")
@click.pass_context
@friendly
def import_(ctx: click.Context, path: str, kind: str, scene_name: str | None, level: str | None,
            crs: str | None, encoding: str | None, mappings: tuple[str, ...],
            dry_run: bool) -> None:
    """Import a file (GeoJSON, Shapefile/.zip, GeoPackage, OSM, CityJSON, CSV/XLSX, or a
    GeoTIFF as dem/imagery) in one transaction: on any error nothing is written."""
    from tqdm import tqdm

    from twin.domain.pii import PiiKey
    from twin.ingest.importer import WITH_KEY, import_file
    from twin.store import db as twin_db

    if kind in RASTER_KINDS:
        _import_raster(_settings(ctx), Path(path), kind)
        return
    if kind == "scene":
        _import_scene(_settings(ctx), Path(path), scene_name)
        return
    mapping = {}
    for m in mappings:
        target, sep, source = m.partition("=")
        if not sep or not target or not source:
            raise click.BadParameter(f"{m!r}: write TARGET=SOURCE", param_hint="--map")
        mapping[target.strip()] = source.strip()
    engine = twin_db.open_twin(_settings(ctx))
    settings = _settings(ctx)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit=" rows", desc=f"writing {kind}", file=sys.stderr,
                       disable=None)
        bar.update(done - bar.n)

    try:
        report = import_file(engine, path, kind, crs=crs, encoding=encoding, mapping=mapping,
                             dry_run=dry_run, level=level, progress=progress,
                             pii_key=PiiKey.from_settings(settings) if kind in WITH_KEY
                             else None)
    finally:
        if bar is not None:
            bar.close()
    for note in report.notes:
        click.echo(f"  note: {note}")
    click.echo(f"{path}: read {report.read:,}, repaired {report.repaired:,}, rejected "
               f"{report.rejected:,}, {'would write' if dry_run else 'written'} "
               f"{report.written:,} {kind}")


@main.command("export")
@click.option("--layer", required=True,
              type=click.Choice(EXPORT_ORDER))
@click.option("--unit", "unit_code", help="only inside this unit (its official code)")
@click.option("--format", "fmt", default="geojson", show_default=True,
              type=click.Choice(EXPORT_FORMATS))
@click.option("--crs", default="EPSG:4326", show_default=True,
              help="EPSG:xxxx, or gcj02/bd09 for Chinese web maps")
@click.option("--output", required=True, type=click.Path(dir_okay=False))
@click.pass_context
@friendly
def export(ctx: click.Context, layer: str, unit_code: str | None, fmt: str, crs: str,
           output: str) -> None:
    """Export a layer of the twin (residents only as counts per building)."""
    from twin.domain.units import unit_path
    from twin.publish.exporter import export_layer
    from twin.store import db as twin_db

    engine = twin_db.open_twin(_settings(ctx))
    path = unit_path(engine, unit_code) if unit_code else []
    if unit_code and not path:
        raise click.UsageError(f"no unit with code {unit_code!r}")
    unit = path[-1] if path else None
    n = export_layer(engine, layer, output, fmt, unit, crs, principal=_operator())
    click.echo(f"{output}: {n:,} {layer} ({crs})")


@main.command("credit-export")
@click.option("--unit", "units", required=True, multiple=True,
              help="the towns or villages whose households are in the file (repeatable)")
@click.option("--purpose", required=True, help="why the file is made (audited)")
@click.option("--output", required=True, type=click.Path(dir_okay=False))
@click.pass_context
@friendly
def credit_export(ctx: click.Context, units: tuple[str, ...], purpose: str,
                  output: str) -> None:
    """The partner bank's 三治信用 file: consenting households' hash keys and credit levels
    (docs/bank-export.md). Made as an official of the units named, logged by system user."""
    import csv
    import getpass

    from twin.config import local_secret
    from twin.domain.access import Principal
    from twin.domain.points import BANK_FIELDS, bank_export
    from twin.store import db as twin_db

    settings = _settings(ctx)
    official = Principal("official", _scope(units), f"cli:{getpass.getuser()}")
    rows = bank_export(twin_db.open_twin(settings), official, purpose=purpose,
                       key=local_secret(settings, "bank", settings.bank_key))
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=BANK_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    click.echo(f"{output}: {len(rows):,} households")


def _import_scene(settings: Settings, path: Path, name: str | None) -> None:
    from twin.ingest.scene import import_scene
    from twin.store import db as twin_db

    engine = twin_db.open_twin(settings)
    r = import_scene(engine, settings.data_dir, path, actor=_operator().name, name=name)
    click.echo(f"{path}: scene {r.name} version {r.version} ({r.kind}): {r.files:,} files, "
               f"{r.bytes / 1e6:,.1f} MB, at {(r.bounds[0] + r.bounds[2]) / 2:.4f}, "
               f"{(r.bounds[1] + r.bounds[3]) / 2:.4f}")


def _import_raster(settings: Settings, path: Path, kind: str) -> None:
    from twin.ingest.importer import import_raster

    message, note = import_raster(settings, path, kind)
    click.echo(message)
    if note:
        click.echo(f"  note: {note}", err=True)


# --- field links --------------------------------------------------------------------------
@main.group()
def link() -> None:
    """Field links: signed, expiring links that open one event, one grid, or a micro-grid
    leader's page (民情笔记) on a phone."""


@link.command("create")
@click.option("--event", "event_code", help="the event's code (E…/W…)")
@click.option("--grid", "grid_code", help="the grid's official code")
@click.option("--leader", "microgrid_code",
              help="a micro-grid's code: the link to its serving leader's page")
@click.option("--hours", type=click.FloatRange(min=0.1, max=24 * 30), default=None,
              help="lifetime (default TWIN_LINK_HOURS, 72)")
@click.option("--by", "created_by", required=True, help="who sends it (kept with the link)")
@click.option("--base-url", default=None,
              help="the product's address (default TWIN_PUBLIC_URL, else localhost:8501)")
@click.pass_context
@friendly
def link_create(ctx: click.Context, event_code: str | None, grid_code: str | None,
                microgrid_code: str | None, hours: float | None, created_by: str,
                base_url: str | None) -> None:
    """Make a link and print it (send it through the chat app the field staff use)."""
    import sqlalchemy as sa

    from twin.domain import links, party
    from twin.store import db as twin_db

    if sum(map(bool, (event_code, grid_code, microgrid_code))) != 1:
        raise click.UsageError("give one of --event, --grid or --leader")
    settings = _settings(ctx)
    engine = twin_db.open_twin(settings)
    if microgrid_code:
        scope, found = "leader", party.leader_of_microgrid(engine, microgrid_code)
    else:
        scope, table, code = (("event", "events", event_code) if event_code else
                              ("grid", "units", grid_code))
        with engine.connect() as conn:
            found = conn.execute(sa.text(f"SELECT id FROM {table} WHERE code = :c"),  # noqa: S608
                                 {"c": code}).scalar()
        if found is None:
            raise click.UsageError(f"no {scope} with code {code!r}")
    token = links.create(engine, settings, scope, found, created_by, hours)
    click.echo(links.link_url(settings.model_copy(update={"public_url": base_url})
                              if base_url else settings, token, scope=scope))


@link.command("revoke")
@click.argument("link_id", type=int)
@click.pass_context
@friendly
def link_revoke(ctx: click.Context, link_id: int) -> None:
    """Withdraw a link (its number is the first part of the token)."""
    from twin.domain import links
    from twin.store import db as twin_db

    links.revoke(twin_db.open_twin(_settings(ctx)), link_id)
    click.echo(f"link {link_id} withdrawn")


def _operator():
    """Whoever runs the command line on the server holds the database: an administrator,
    logged by their system user name."""
    import getpass

    from twin.domain.access import Principal

    return Principal("admin", (), f"cli:{getpass.getuser()}")


# --- backup -------------------------------------------------------------------------------
@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
@friendly
def backup_(ctx: click.Context, path: str) -> None:
    """Back the whole twin up into one .tar (database, schema version, rasters)."""
    from twin.store import db as twin_db
    from twin.store.backup import backup

    settings = _settings(ctx)
    manifest = backup(twin_db.open_twin(settings), settings, path)
    click.echo(f"{path}: schema {manifest['revision']}, {sum(manifest['rows'].values()):,} "
               f"rows in {len(manifest['rows'])} tables (keep the keys in the data folder "
               "apart from it)")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True,
              help="replace a twin the database holds (it is backed up beside PATH first)")
@click.pass_context
@friendly
def restore_(ctx: click.Context, path: str, replace: bool) -> None:
    """Restore a backup made by `twin backup` (then migrate it to this code's schema)."""
    from twin.store import db as twin_db
    from twin.store.backup import restore

    settings = _settings(ctx)
    engine = twin_db.make_engine(settings)
    manifest = restore(engine, settings, path, replace=replace)
    click.echo(f"{path}: restored (schema {manifest['revision']}, made "
               f"{manifest['created_at']}); every table holds its rows")


# --- accounts -----------------------------------------------------------------------------
@main.group()
def user() -> None:
    """Accounts: admin, official (scoped), planner, field (scoped to grids), screen."""


def _scope(scope: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for part in scope for c in part.split(",") if c.strip())


@user.command("add")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(ACCOUNT_ROLES))
@click.option("--scope", multiple=True, metavar="UNIT_CODE",
              help="unit code(s) an official or field account is scoped to")
@click.option("--name", "display_name", help="the person's name as shown in the app")
@click.option("--if-missing", is_flag=True, help="do nothing if the user exists")
@click.pass_context
@friendly
def user_add(ctx: click.Context, username: str, role: str, scope: tuple[str, ...],
             display_name: str | None, if_missing: bool) -> None:
    """Create an account and print its one-time password (changed at first sign-in)."""
    from twin.domain import accounts
    from twin.store import db as twin_db

    engine = twin_db.open_twin(_settings(ctx))
    if if_missing and any(a.username == username.lower() for a in accounts.list_users(engine)):
        click.echo(f"user {username} exists already (a new one-time password: "
                   f"python -m twin user passwd {username})")
        return
    password = accounts.add_user(engine, username, role, scope=_scope(scope),
                                 display_name=display_name)
    click.echo(f"user {username.lower()} ({role}) created; one-time password: {password}")


@user.command("passwd")
@click.argument("username")
@click.pass_context
@friendly
def user_passwd(ctx: click.Context, username: str) -> None:
    """Give a new one-time password (the account is unlocked and signed out)."""
    from twin.domain import accounts
    from twin.store import db as twin_db

    password = accounts.set_password(twin_db.open_twin(_settings(ctx)), username)
    click.echo(f"user {username}: new one-time password: {password}")


@user.command("disable")
@click.argument("username")
@click.pass_context
@friendly
def user_disable(ctx: click.Context, username: str) -> None:
    """Disable an account and end its sessions."""
    from twin.domain import accounts
    from twin.store import db as twin_db

    accounts.disable(twin_db.open_twin(_settings(ctx)), username)
    click.echo(f"user {username} disabled")


@user.command("list")
@click.pass_context
@friendly
def user_list(ctx: click.Context) -> None:
    """The accounts, their roles and scopes."""
    from twin.domain import accounts
    from twin.store import db as twin_db

    for a in accounts.list_users(twin_db.open_twin(_settings(ctx))):
        state = "disabled" if a.disabled else ("must change password" if a.must_change
                                               else "active")
        click.echo(f"{a.username:<20} {a.role:<9} {','.join(a.scope) or '-':<24} {state}")


# --- the provincial platform ------------------------------------------------------------
@main.group()
def sync() -> None:
    """The exchange of event changes with the provincial platform (docs/platform-sync.md)."""


@sync.command("push")
@click.option("--loop", is_flag=True, help="keep sending every few seconds (as the server does)")
@click.pass_context
@friendly
def sync_push(ctx: click.Context, loop: bool) -> None:
    """Send the outbox's unsent changes to TWIN_PLATFORM_URL, signed with TWIN_PLATFORM_KEY
    (the server does this by itself when both are set)."""
    import time

    from twin.domain.sync import enable
    from twin.runtime.scheduler import SyncUnavailable, push
    from twin.store import db as twin_db

    settings = _settings(ctx)
    if not (settings.platform_url and settings.platform_key):
        raise click.UsageError("set TWIN_PLATFORM_URL and TWIN_PLATFORM_KEY first")
    engine = twin_db.open_twin(settings)
    enable(engine, settings.platform_name, settings.platform_url)
    wait = 1.0
    while True:
        try:
            sent = push(engine, settings.platform_url, settings.platform_key.encode())
            click.echo(f"sent {sent} change(s)")
            wait = 1.0
            if not loop:
                return
        except SyncUnavailable as exc:
            if not loop:
                raise click.ClickException(f"the platform did not take the changes: {exc}") \
                    from None
            click.echo(f"platform unavailable ({exc}); retrying in {wait:g} s", err=True)
            wait = min(wait * 2, 60.0)
        time.sleep(wait)


@sync.command("status")
@click.pass_context
@friendly
def sync_status(ctx: click.Context) -> None:
    """How the outbox stands: unsent changes, the oldest one's age, the last error."""
    from twin.domain.sync import backlog
    from twin.store import db as twin_db

    state = backlog(twin_db.open_twin(_settings(ctx)))
    click.echo(f"unsent: {state['unsent']}  oldest: {state['oldest'] or '-'}  "
               f"last error: {state['last_error'] or '-'}")


# --- serve --------------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8501, show_default=True, type=int)
@click.pass_context
@friendly
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the map application."""
    from twin.store import db as twin_db

    twin_db.open_twin(_settings(ctx)).dispose()
    _precompress()
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    click.echo(f"Village Twin: open http://{shown}:{port}/ (API at /api)", err=True)
    argv = [sys.executable, str(PROJECT_ROOT / "server.py"), "--host", host, "--port", str(port)]
    os.chdir(Path(PROJECT_ROOT))
    os.execv(sys.executable, argv)
