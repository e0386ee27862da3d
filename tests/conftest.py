"""Test session: one throwaway PostGIS cluster, started here and removed at the end.

Databases in it: ``sample`` (a village-scale sample loaded once, read-only for tests) and
``scratch`` (emptied before each test that writes hand-made rows).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.config import PROJECT_ROOT, Settings
from twin.domain.pii import PiiKey
from twin.ingest.load import TABLES
from twin.store import db as twin_db
from twin.store.cluster import SUPERUSER, Cluster

# Small real files made by others (GCJ-02 outlines, a shapefile, OSM, CityJSON, GeoTIFFs):
# their sources, licences and cuts are in tests/data/README.md. Tests read them only here.
REAL = PROJECT_ROOT / "tests" / "data"

TEST_PII_KEY = "test-only-key-0123456789abcdef"
# where the tests' samples end (a demo's ends now): fixed, so that dates in tests hold
SAMPLE_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@contextmanager
def private_cluster(name: str) -> Iterator[Cluster]:
    """A throwaway cluster (not started: the caller starts it, or makes it a replica),
    removed with its files afterwards. For tests that stop, start or replicate one."""
    root = Path(tempfile.mkdtemp(prefix=f"twin-{name}-"))
    root.chmod(0o755)  # the postgres system user must reach it when we run as root
    c = Cluster(root)
    try:
        yield c
    finally:
        c.remove()
        shutil.rmtree(root, ignore_errors=True)


def sample_twin_in(cluster, settings, village_sample, pii_key):
    """The cluster's twin database migrated, holding the village sample and a field account
    of its first grid."""
    from twin.domain.accounts import add_user
    from twin.ingest.load import write_sample

    engine = twin_db.make_engine(settings, cluster.url())
    twin_db.upgrade(engine)
    write_sample(engine, village_sample, pii_key)
    add_user(engine, "t-field", "field", scope=(village_sample.units[
        village_sample.units.level == "grid"].code.iloc[0],), password=TEST_PASSWORD)
    return engine


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with private_cluster("test") as c:
        c.start()
        yield c


@pytest.fixture(scope="session")
def settings(cluster: Cluster) -> Settings:
    return Settings(data_dir=cluster.root, pii_key=TEST_PII_KEY, database_url=None)


@pytest.fixture(scope="session")
def pii_key(settings: Settings) -> PiiKey:
    return PiiKey.from_settings(settings)


def create_database(cluster: Cluster, name: str) -> str:
    """A fresh empty database in the test cluster; returns its URL."""
    with psycopg.connect(host=str(cluster.run_dir), port=cluster.port, user=SUPERUSER,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster.url().replace("/twin?", f"/{name}?")


@pytest.fixture(scope="session")
def db_factory(cluster: Cluster, settings: Settings):
    """Make a migrated database by name; engines are disposed at the end of the session."""
    engines: list[Engine] = []

    def make(name: str, migrate: bool = True) -> Engine:
        engine = twin_db.make_engine(settings, create_database(cluster, name))
        if migrate:
            twin_db.upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for e in engines:
        e.dispose()


@pytest.fixture(scope="session")
def village_sample():
    from twin.sample.generate import generate

    return generate("village", seed=7, end=SAMPLE_END)


@pytest.fixture(scope="session")
def sample_db(db_factory, village_sample, pii_key):
    """Make a database by name holding the village-scale sample (seed 7): one per module
    whose tests write, so they never touch each other's rows."""
    from twin.ingest.load import write_sample

    def make(name: str) -> Engine:
        engine = db_factory(name)
        write_sample(engine, village_sample, pii_key)
        return engine

    return make


@pytest.fixture(scope="session")
def accounts_db(sample_db, village_sample):
    """Make a database by name holding the village-scale sample and one account per role
    (``ACCOUNTS``): one per module whose tests write."""
    def make(name: str) -> Engine:
        engine = sample_db(name)
        add_accounts(engine, village_sample)
        return engine

    return make


@pytest.fixture(scope="session")
def sample_engine(accounts_db) -> Engine:
    """A database holding the village-scale sample (seed 7) and one account per role
    (``ACCOUNTS``). Tests must not write to it."""
    return accounts_db("sample")


TEST_PASSWORD = "test-password-2026"
# user name → (role, how its scope is found in the sample)
ACCOUNTS = {"t-admin": ("admin", None), "t-official": ("official", "village:0"),
            "t-other": ("official", "grid:1"), "t-planner": ("planner", None),
            "t-field": ("field", "grid:0"), "t-screen": ("screen", None)}


def account_scope(village_sample, how: str | None) -> tuple[str, ...]:
    if how is None:
        return ()
    level, n = how.split(":")
    return (village_sample.units[village_sample.units.level == level].code.iloc[int(n)],)


def add_accounts(engine: Engine, village_sample) -> None:
    """One account per role (and an official of another village), password TEST_PASSWORD,
    already changed (no one-time password)."""
    from twin.domain.accounts import add_user, set_password

    for username, (role, how) in ACCOUNTS.items():
        add_user(engine, username, role, scope=account_scope(village_sample, how),
                 password=TEST_PASSWORD)
        set_password(engine, username, TEST_PASSWORD, must_change=False)


def sign_in(client, username: str, password: str = TEST_PASSWORD, prefix: str = ""):
    """Sign a TestClient or requests session in through the real form (CSRF included);
    returns the response of the form's POST."""
    import re

    page = client.get(f"{prefix}/auth/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(f"{prefix}/auth/login", data={"username": username,
                                                     "password": password, "csrf": token,
                                                     "next": "/"},
                       follow_redirects=False) if hasattr(client, "app") else client.post(
        f"{prefix}/auth/login", data={"username": username, "password": password,
                                      "csrf": token, "next": "/"}, allow_redirects=False)


@pytest.fixture(scope="session")
def _scratch_engine(db_factory) -> Engine:
    return db_factory("scratch")


@pytest.fixture
def scratch(_scratch_engine: Engine) -> Engine:
    """An empty migrated database for tests that write their own rows."""
    with _scratch_engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return _scratch_engine


def decks(at) -> list[str]:
    """The deck JSON of every map a page run drew: the map page's own map (the component
    that hands it to the page, surfaces/mapshell) and the other pages' st.pydeck_chart."""
    found = [json.loads(c.proto.json_args)["deck"] for c in at.get("component_instance")
             if c.proto.component_name.endswith("twin_page_map")]
    return found + [c.proto.json for c in at.get("deck_gl_json_chart")]


def app_as(engine: Engine, monkeypatch, tmp_path, user: str, **params):
    """The Streamlit page (app.py) as ``user`` of ``engine`` (``anonymous``: no session),
    with ``params`` in its URL; run it with ``.run()``."""
    from streamlit.runtime.caching import cache_resource_api
    from streamlit.testing.v1 import AppTest

    from twin.config import PROJECT_ROOT
    from twin.domain import accounts

    monkeypatch.setenv("TWIN_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path))
    cache_resource_api.get_resource_cache_stats_provider().clear_all()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    if user != "anonymous":
        at.session_state["_session_token"] = accounts.sign_in(engine, user, TEST_PASSWORD)[0]
    for key, value in params.items():
        at.query_params[key] = value
    return at


@contextmanager
def signed_clients(engine: Engine, settings, users) -> Iterator[dict]:
    """An API on ``engine`` and one TestClient per user name, each signed in through the
    form (``anonymous``: not signed in) and sending this site's Origin, as its pages do."""
    from fastapi.testclient import TestClient

    from surfaces.map import first_view
    from twin.api import create_api

    api = create_api(settings, engine=engine, first_view=first_view)
    made = {}
    try:
        for user in users:
            c = TestClient(api)
            c.__enter__()
            made[user] = c
            if user != "anonymous":
                assert sign_in(c, user).status_code == 303
            c.headers["Origin"] = "http://testserver"
        yield made
    finally:
        for c in made.values():
            c.__exit__(None, None, None)
