"""A real streaming replica on loopback: pg_basebackup from a primary holding the sample,
tiles and OGC read from the replica (``TWIN_DATABASE_READ_URL``), an event written through
the primary, and the events layer's tile version changing once the replica has caught up."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import private_cluster, sample_twin_in, sign_in
from twin.api import create_api
from twin.store import db as twin_db


@pytest.fixture(scope="module")
def primary_and_replica(settings, village_sample, pii_key):
    with private_cluster("primary") as primary, private_cluster("replica") as replica:
        primary.start()
        engine = sample_twin_in(primary, settings, village_sample, pii_key)
        replica.make_replica(primary)
        replica.start()
        yield primary, replica
        engine.dispose()


def _version(client) -> str:
    r = client.get("/tiles/events.json")
    assert r.status_code == 200, r.text
    return r.json()["tiles"][0].split("v=")[1]


def _replica_transactions(replica_engine) -> int:
    with replica_engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        return conn.execute(sa.text(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()")).scalar()


def test_reads_from_the_replica_writes_to_the_primary(primary_and_replica, settings,
                                                      village_sample):
    primary, replica = primary_and_replica
    both = settings.model_copy(update={"database_url": primary.url(),
                                       "database_read_url": replica.url()})
    api = create_api(both)
    watcher = twin_db.make_engine(settings, replica.url())
    try:
        with TestClient(api) as client:
            assert sign_in(client, "t-field").status_code == 303
            client.headers["Origin"] = "http://testserver"  # as this site's own pages send it
            before = _version(client)
            with api.state.read_engine.connect() as conn:  # the API's reads: a standby
                assert conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar()
            with api.state.engine.connect() as conn:  # its writes: the primary
                assert not conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar()
            reads = _replica_transactions(watcher)
            for _ in range(5):
                assert client.get("/ogc/collections/events/items",
                                  params={"limit": 5}).status_code == 200
            deadline = time.monotonic() + 10
            while _replica_transactions(watcher) < reads + 5 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _replica_transactions(watcher) >= reads + 5  # they ran on the replica
            micro = village_sample.units[village_sample.units.level == "microgrid"]
            p = micro.geometry.iloc[0].representative_point()
            made = client.post("/open311/v2/requests.json", data={
                "service_code": "flood", "lat": p.y, "long": p.x, "description": "积水"})
            assert made.status_code == 200, made.text  # a read-only standby would refuse it
            code = made.json()[0]["service_request_id"]
            deadline = time.monotonic() + 30
            while _version(client) == before and time.monotonic() < deadline:
                time.sleep(0.2)
            after = _version(client)
            assert after != before  # the replica caught up and the tiles follow
            items = client.get("/ogc/collections/events/items", params={"code": code}).json()
            assert items["numberReturned"] == 1
    finally:
        watcher.dispose()
        api.state.engine.dispose()
        api.state.read_engine.dispose()
