"""The API app on the sample database, through Starlette's TestClient (a real PostGIS)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from tests.conftest import sign_in
from twin.api import create_api


@pytest.fixture(scope="session")
def api(settings, sample_engine):
    return create_api(settings, engine=sample_engine)


@pytest.fixture(scope="session")
def client(api) -> TestClient:
    """Signed in as the sample's administrator."""
    with TestClient(api) as c:
        assert sign_in(c, "t-admin").status_code == 303
        yield c


@pytest.fixture(scope="session")
def official(api) -> TestClient:
    """Signed in as the official of the sample's one village: every household is in scope."""
    with TestClient(api) as c:
        assert sign_in(c, "t-official").status_code == 303
        yield c


@pytest.fixture
def anonymous(api) -> TestClient:
    with TestClient(api) as c:
        yield c


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; yields its base URL
    (for real clients: OWSLib, GDAL, frost-sta-client)."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def loopback_only(monkeypatch):
    """No proxy, no request leaving 127.0.0.1 (requests and GDAL/curl read these)."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
