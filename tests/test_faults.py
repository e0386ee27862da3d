"""Faults, bounded in time: PostGIS stopped while the API, the UI and field submissions go on;
the server process killed mid-use; a database too slow to answer. Clear errors, retries
that work, and afterwards no event lost and none twice."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import TEST_PASSWORD, private_cluster, sample_twin_in, sign_in
from twin.api import create_api
from twin.config import PROJECT_ROOT
from twin.store import db as twin_db


@pytest.fixture(scope="module")
def own_cluster(settings, village_sample, pii_key):
    """A cluster of this module's own (it is stopped and started), holding the sample."""
    with private_cluster("faults") as cluster:
        cluster.start()
        engine = sample_twin_in(cluster, settings, village_sample, pii_key)
        yield cluster, engine
        engine.dispose()


def _point(village_sample) -> tuple[float, float]:
    micro = village_sample.units[village_sample.units.level == "microgrid"].geometry.iloc[0]
    p = micro.representative_point()
    return p.y, p.x


def _report(client, key: str, lat: float, lon: float):
    return client.post("/open311/v2/requests.json", headers={"Idempotency-Key": key},
                       data={"service_code": "sanitation", "lat": lat, "long": lon,
                             "description": f"垃圾堆放 {key}"})


def _events_of(engine, prefix: str) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT client_key, count(*) FROM events WHERE client_key LIKE :p "
            "GROUP BY client_key"), {"p": f"open311:{prefix}%"}).all())


def test_submissions_while_postgis_is_down_are_refused_clearly_and_retried_once(
        own_cluster, settings, village_sample, monkeypatch, tmp_path):
    cluster, engine = own_cluster
    lat, lon = _point(village_sample)
    with TestClient(create_api(settings, engine=engine)) as client:
        assert sign_in(client, "t-field").status_code == 303
        client.headers["Origin"] = "http://testserver"  # as this site's own pages send it
        first = {f"down-{i}": _report(client, f"down-{i}", lat, lon) for i in range(5)}
        assert all(r.status_code == 200 for r in first.values())
        cluster.stop()
        try:
            t0 = time.monotonic()
            refused = [_report(client, f"down-{i}", lat, lon) for i in range(5, 10)]
            assert time.monotonic() - t0 < 30  # refused at once, not hung
            assert all(r.status_code == 503 and r.headers["retry-after"] == "5"
                       for r in refused)
            assert "database" in refused[0].text and "password" not in refused[0].text
            # the map page says so plainly too
            monkeypatch.setenv("TWIN_DATABASE_URL", cluster.url())
            monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path))
            from streamlit.runtime.caching import cache_resource_api
            from streamlit.testing.v1 import AppTest

            cache_resource_api.get_resource_cache_stats_provider().clear_all()
            at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
            assert not at.exception and at.error and "数据库不可用" in at.error[0].value
        finally:
            cluster.start()
        # the client retries everything it sent, as Retry-After says: same keys
        again = {f"down-{i}": _report(client, f"down-{i}", lat, lon) for i in range(10)}
    assert all(r.status_code == 200 for r in again.values())
    for key in first:  # a retry of an acknowledged report returns the same event
        assert again[key].json()[0]["service_request_id"] == \
            first[key].json()[0]["service_request_id"]
    assert _events_of(engine, "down-") == {f"open311:down-{i}": 1 for i in range(10)}


def test_a_server_killed_mid_use_loses_nothing(own_cluster, village_sample, tmp_path_factory):
    from tests.browser.conftest import _serve

    cluster, engine = own_cluster
    lat, lon = _point(village_sample)
    data_dir = tmp_path_factory.mktemp("faults-data")
    url_of_db = cluster.url()
    proc, url = _serve(url_of_db, data_dir, tmp_path_factory, TWIN_SWEEP_SECONDS="0")
    port = url.rsplit(":", 1)[1]
    acknowledged: dict[str, str] = {}
    stop = threading.Event()

    def field_phone() -> None:
        """Reports one after another; on any failure waits and retries the same key."""
        session = requests.Session()
        session.auth = ("t-field", TEST_PASSWORD)
        for i in range(40):
            key = f"kill-{i}"
            while not stop.is_set():
                try:
                    r = session.post(f"{url}/api/open311/v2/requests.json",
                                     headers={"Idempotency-Key": key}, timeout=10,
                                     data={"service_code": "traffic", "lat": lat, "long": lon,
                                           "description": f"路面塌陷 {key}"})
                    if r.status_code == 200:
                        acknowledged[key] = r.json()[0]["service_request_id"]
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)

    phone = threading.Thread(target=field_phone)
    phone.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no goodbye: as a crash or the OOM killer does
        proc.wait(timeout=20)
        killed_at = len(acknowledged)
        time.sleep(1.0)
        proc, _ = _serve(url_of_db, data_dir, tmp_path_factory, port=int(port),
                         TWIN_SWEEP_SECONDS="0")
        phone.join(timeout=120)
    finally:
        stop.set()
        phone.join(timeout=10)
        proc.terminate()
        proc.wait(timeout=20)
    assert 10 <= killed_at < 40 and len(acknowledged) == 40
    assert _events_of(engine, "kill-") == {f"open311:kill-{i}": 1 for i in range(40)}
    with engine.connect() as conn:
        codes = set(conn.execute(sa.text(
            "SELECT code FROM events WHERE client_key LIKE 'open311:kill-%'")).scalars())
    assert codes == set(acknowledged.values())


def test_a_slow_database_times_out_instead_of_hanging(own_cluster, settings, monkeypatch,
                                                      tmp_path):
    cluster, engine = own_cluster
    quick = settings.model_copy(update={"statement_timeout_ms": 500})
    slow_engine = twin_db.make_engine(quick, cluster.url())
    api = create_api(quick, engine=slow_engine)
    with engine.connect() as locker, TestClient(api) as client:
        assert sign_in(client, "t-field").status_code == 303
        client.headers["Origin"] = "http://testserver"  # as this site's own pages send it
        tx = locker.begin()
        locker.execute(sa.text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        try:
            t0 = time.monotonic()
            r = client.get("/events/open.geojson")
            elapsed = time.monotonic() - t0
            # the tiles read through psycopg's own cursor: the same clear answer
            tile = client.get("/tiles/events/14/13676/6723.mvt")
            monkeypatch.setenv("TWIN_DATABASE_URL", cluster.url())
            monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path))
            monkeypatch.setenv("TWIN_STATEMENT_TIMEOUT_MS", "500")
            from streamlit.runtime.caching import cache_resource_api
            from streamlit.testing.v1 import AppTest

            from twin.domain.accounts import sign_in as account_sign_in

            cache_resource_api.get_resource_cache_stats_provider().clear_all()
            at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30)
            at.session_state["_session_token"] = account_sign_in(engine, "t-field",
                                                                 TEST_PASSWORD)[0]
            at.query_params["apps"] = "governance"
            t1 = time.monotonic()
            at.run()
            ui_elapsed = time.monotonic() - t1
        finally:
            tx.rollback()
    slow_engine.dispose()
    assert r.status_code == 503 and "did not answer in time" in r.text and elapsed < 5
    assert tile.status_code == 503 and "did not answer in time" in tile.text
    assert tile.headers["Retry-After"]
    assert ui_elapsed < 25 and not at.exception  # an error on the page, not a hung page
    assert at.error
