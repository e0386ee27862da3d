"""The API app on the sample database, through Starlette's TestClient (a real PostGIS)."""

from __future__ import annotations

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
