"""`twin cluster`: a coordinator and its workers start, answer, stop and start again; the
twin's schema and sample go onto the coordinator unchanged; a distributed table routes a
one-town query to one worker and draws vector tiles across the workers."""

from __future__ import annotations

import sqlalchemy as sa

from scaletests.conftest import run
from twin.store import db as twin_db


def test_the_nodes_run_with_postgis_and_citus_and_know_each_other(nodes, settings):
    out = run(settings, "cluster", "status")
    assert out.exit_code == 0, out.output
    assert [line.split(":")[0] for line in out.output.splitlines()] == [
        "coordinator", "worker-1", "worker-2"]
    assert run(settings, "cluster", "url").output.strip() == nodes.url()
    engine = sa.create_engine(nodes.url())
    with engine.connect() as conn:
        workers = conn.execute(sa.text(
            "SELECT node_port FROM citus_get_active_worker_nodes()")).scalars()
        assert sorted(workers) == sorted(nodes.node(n).port for n in ("worker-1", "worker-2"))
        versions = conn.execute(sa.text(
            "SELECT result FROM run_command_on_workers($$SELECT extversion FROM pg_extension "
            "WHERE extname = 'postgis'$$)")).scalars().all()
        assert len(versions) == 2 and all(v.startswith("3.") for v in versions)
    engine.dispose()


def test_start_again_is_harmless_and_a_stopped_worker_is_reported(nodes, settings):
    out = run(settings, "cluster", "start")
    assert out.exit_code == 0, out.output
    assert "already running" in out.output
    worker = nodes.node("worker-2")
    worker.stop()
    try:
        out = run(settings, "cluster", "status")
        assert out.exit_code == 3
        assert "worker-2: stopped" in out.output
    finally:
        assert "started" in run(settings, "cluster", "start").output
    assert run(settings, "cluster", "status").exit_code == 0


def test_more_workers_than_created_is_refused_with_the_reason(nodes, settings):
    out = run(settings, "cluster", "start", "--workers", "3")
    assert out.exit_code == 1
    assert "holds a cluster of 2 workers" in out.output


def test_the_twin_migrates_and_loads_its_sample_on_the_coordinator(settings, loaded):
    engine = twin_db.make_engine(settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM people")).scalar() > 100
    engine.dispose()


def test_a_table_distributed_by_town_routes_one_town_to_one_worker(nodes):
    engine = sa.create_engine(nodes.url())
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE spike (town_id int, id bigint, geom geometry(Point, 4326), "
            "PRIMARY KEY (town_id, id))"))
        conn.execute(sa.text("SELECT create_distributed_table('spike', 'town_id')"))
        conn.execute(sa.text(
            "INSERT INTO spike SELECT g % 12, g, ST_SetSRID(ST_MakePoint(120.45 + g * 1e-4, "
            "30.62), 4326) FROM generate_series(1, 2000) g"))
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(sa.text(
            "EXPLAIN SELECT count(*) FROM spike WHERE town_id = 5")).scalars())
        assert "Task Count: 1" in plan
        placements = conn.execute(sa.text(
            "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = "
            "'spike'::regclass")).scalar()
        assert placements == 2
        rows, size = conn.execute(sa.text(
            "SELECT count(*), length(ST_AsMVT(q)) FROM (SELECT id, ST_AsMVTGeom("
            "ST_Transform(geom, 3857), ST_TileEnvelope(12, 3419, 1681)) AS g FROM spike) q"
        )).one()
        assert rows == 2000 and size > 1000
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE spike"))
    engine.dispose()
