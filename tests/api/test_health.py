"""When PostGIS goes away every endpoint answers 503 with Retry-After, and recovers alone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_PASSWORD, private_cluster, sign_in
from twin.api import create_api
from twin.config import Settings
from twin.domain.accounts import add_user
from twin.store import db as twin_db


@pytest.fixture(scope="module")
def flaky():
    with private_cluster("flaky") as cluster:
        cluster.start()
        settings = Settings(data_dir=cluster.root, pii_key="x" * 32)
        engine = twin_db.make_engine(settings, cluster.url())
        twin_db.upgrade(engine)
        add_user(engine, "t-planner", "planner", password=TEST_PASSWORD)
        with TestClient(create_api(settings, engine=engine)) as client:
            assert sign_in(client, "t-planner").status_code == 303
            yield cluster, client
        engine.dispose()


def test_down_means_503_and_back_means_200(flaky):
    cluster, client = flaky
    ok = client.get("/health")
    assert ok.status_code == 200 and ok.json()["database"] == "up"
    cluster.stop()
    try:
        for url in ("/health", "/tiles/buildings.json", "/tiles/villages/10/853/418.mvt"):
            r = client.get(url)
            assert r.status_code == 503, (url, r.text)
            assert r.headers["retry-after"] == "5"
            assert "password" not in r.text and "SELECT" not in r.text
    finally:
        cluster.start()
    assert client.get("/health").status_code == 200
    assert client.get("/tiles/villages/10/853/418.mvt").status_code in (200, 204)
