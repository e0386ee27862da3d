"""The embedded cluster's lifecycle and the command line's answers to bad input."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from twin.config import Settings
from twin.runtime.cli import main
from twin.store import db as twin_db
from twin.store.cluster import Cluster


@pytest.fixture(scope="module")
def own_cluster():
    """A second cluster this module may stop, crash and restart at will. Its folder is private
    (mode 700, like a clone under /root), so as root the cluster's files must go elsewhere."""
    root = Path(tempfile.mkdtemp(prefix="twin-life-"))
    c = Cluster(root)
    yield c
    c.remove()
    shutil.rmtree(root, ignore_errors=True)


def _run(settings: Settings, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": settings})


def test_start_twice_is_harmless_and_status_url_answer(own_cluster):
    settings = Settings(data_dir=own_cluster.root)
    first = _run(settings, "db", "start")
    assert first.exit_code == 0, first.output
    assert "started" in first.output and f"revision {twin_db.head_revision()}" in first.output
    again = _run(settings, "db", "start")
    assert again.exit_code == 0 and "already running" in again.output
    if os.geteuid() == 0:  # the postgres user cannot enter a 700 folder of root's
        assert (own_cluster.root / "pg").is_symlink()
        assert str(own_cluster.home).startswith("/var/lib/village-twin/")
    status = _run(settings, "db", "status")
    assert status.exit_code == 0 and "PostGIS 3" in status.output
    url = _run(settings, "db", "url").output.strip()
    engine = twin_db.make_engine(settings, url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT postgis_lib_version()")).scalar().startswith("3")
    engine.dispose()


def test_stale_pid_file_and_crash_are_recovered(own_cluster):
    settings = Settings(data_dir=own_cluster.root)
    assert _run(settings, "db", "start").exit_code == 0
    pid = own_cluster.status().pid
    os.kill(pid, signal.SIGKILL)  # a crash: the pid file stays behind
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    pid_file = own_cluster.data / "postmaster.pid"
    assert pid_file.exists()
    assert not own_cluster.status().running
    restarted = _run(settings, "db", "start")
    assert restarted.exit_code == 0, restarted.output
    assert own_cluster.status().running
    # a stale pid file pointing at no process at all
    assert _run(settings, "db", "stop").output.strip() == "database stopped"
    pid_file.write_text("999999\n" + str(own_cluster.data) + "\n")
    assert _run(settings, "db", "start").exit_code == 0
    assert own_cluster.status().running


def test_stopped_database_says_how_to_start_it(own_cluster):
    settings = Settings(data_dir=own_cluster.root)
    _run(settings, "db", "stop")
    out = _run(settings, "rollup")
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [
        "error: the twin's database is not running: start it with `python -m twin db start` "
        "(or set TWIN_DATABASE_URL to an external PostGIS)"
    ]
    _run(settings, "db", "start")


def test_wrong_database_url_gives_one_clear_line(settings):
    bad = settings.model_copy(update={
        "database_url": "postgresql://someone:s3cret@127.0.0.1:1/nowhere"})
    out = _run(bad, "db", "status")
    assert out.exit_code == 1
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to ")
    assert "s3cret" not in out.output and "***" in out.output


def test_database_without_schema_says_run_upgrade(cluster, settings):
    from tests.conftest import create_database

    url = create_database(cluster, "bare")
    out = _run(settings.model_copy(update={"database_url": url}), "rollup")
    assert out.exit_code == 1
    assert "has no twin schema yet: run `python -m twin db upgrade`" in out.output
    up = _run(settings.model_copy(update={"database_url": url}), "db", "upgrade")
    assert up.exit_code == 0 and f"revision {twin_db.head_revision()}" in up.output


def test_a_citus_cluster_of_no_workers_is_refused_before_anything_is_made(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=None)
    out = _run(settings, "cluster", "start", "--workers", "0")
    assert out.exit_code == 1
    assert "--workers must be between 1 and 16, not 0" in out.output
    assert not (tmp_path / "citus").exists()
    out = _run(settings, "cluster", "status")  # nothing created: every node says so
    assert out.exit_code == 3
    assert "coordinator: not created" in out.output


def test_distributing_without_citus_says_where_to_run_it(db_factory, settings):
    engine = db_factory("no_citus")
    out = _run(settings.model_copy(update={"database_url": engine.url.render_as_string(
        hide_password=False)}), "cluster", "distribute")
    assert out.exit_code == 1
    assert "this database has no Citus: run twin cluster start" in out.output


def test_a_table_the_distribution_plan_does_not_place_stops_it(db_factory):
    from twin.errors import ClusterError
    from twin.store.distribution import plan

    engine = db_factory("unplaced")
    with engine.connect() as conn:
        placed = plan(conn)
        assert "buildings" in placed.distributed and "units" in placed.distributed
        assert "unit_counts" not in placed.distributed  # a reference table
        conn.execute(sa.text("CREATE TABLE scratch_notes (id int)"))
        with pytest.raises(ClusterError, match="scratch_notes have no place"):
            plan(conn)
        conn.rollback()


def test_unknown_scale_lists_the_valid_ones(settings):
    out = _run(settings, "sample", "--scale", "province")
    assert out.exit_code == 2
    assert "choose one of village, town, county" in out.output


def test_migrations_down_and_up(db_factory):
    engine = db_factory("migrations")
    tables = sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                     "AND tablename IN ('units', 'people', 'events', 'event_log')")
    with engine.connect() as conn:
        assert conn.execute(tables).scalar() == 4
    twin_db.downgrade(engine, "base")
    with engine.connect() as conn:
        assert conn.execute(tables).scalar() == 0
        assert conn.execute(sa.text(
            "SELECT count(*) FROM pg_proc WHERE proname LIKE 'twin\\_%'")).scalar() == 0
    assert twin_db.current_revision(engine) is None
    twin_db.upgrade(engine, "0001")
    assert twin_db.current_revision(engine) == "0001"
    twin_db.upgrade(engine)
    assert twin_db.current_revision(engine) == twin_db.head_revision() == "0021"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT twin_iaqi('pm25', 75)")).scalar() == 100


def test_a_sample_into_an_older_schema_says_run_upgrade(db_factory, settings):
    engine = db_factory("stale")
    twin_db.downgrade(engine, "0015")
    cfg = settings.model_copy(update={
        "database_url": engine.url.render_as_string(hide_password=False)})
    out = _run(cfg, "sample", "--scale", "village")
    assert out.exit_code == 1
    assert (f"at revision 0015, this code needs {twin_db.head_revision()}: run `python -m "
            "twin db upgrade`") in out.output
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM units")).scalar() == 0
    assert _run(cfg, "db", "upgrade").exit_code == 0
    assert twin_db.current_revision(engine) == twin_db.head_revision()


def test_sample_command_loads_once_and_refuses_to_overwrite(db_factory, settings):
    engine = db_factory("cli_sample")
    cfg = settings.model_copy(update={
        "database_url": engine.url.render_as_string(hide_password=False)})
    first = _run(cfg, "sample", "--scale", "village", "--seed", "3", "--days", "2",
                 "--end", "2026-06-01")
    assert first.exit_code == 0, first.output
    assert "village sample (seed 3)" in first.output and "people" in first.output
    digest = sa.text(
        "SELECT md5(string_agg(code || ST_AsEWKB(geom)::text || microgrid_id, ',' ORDER BY id))"
        " || (SELECT md5(string_agg(id_hash || name, ',' ORDER BY id)) FROM people) FROM buildings")
    with engine.connect() as conn:
        last = conn.execute(sa.text("SELECT max(observed_at) FROM observations")).scalar()
        buildings = conn.execute(sa.text("SELECT count(*) FROM buildings")).scalar()
        before = conn.execute(digest).scalar()
    assert last.isoformat() == "2026-05-31T23:00:00+00:00"
    assert _run(cfg, "sample", "--scale", "village", "--if-empty").output.startswith(
        "the twin already holds data")
    again = _run(cfg, "sample", "--scale", "village", "--seed", "4")
    assert again.exit_code == 1
    assert "already holds data: use --replace" in again.output
    replaced = _run(cfg, "sample", "--scale", "village", "--seed", "3", "--days", "2",
                    "--end", "2026-06-01", "--replace")
    assert replaced.exit_code == 0, replaced.output
    with engine.connect() as conn:  # same seed: the very same rows, cells and hashes
        assert conn.execute(digest).scalar() == before
    rollup = _run(cfg, "rollup")
    assert rollup.exit_code == 0 and f'"buildings": {buildings}' in rollup.output
