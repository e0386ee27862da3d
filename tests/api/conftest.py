"""The API app on the sample database, through Starlette's TestClient (a real PostGIS)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from twin.api import create_api


@pytest.fixture(scope="session")
def api(settings, sample_engine):
    return create_api(settings, engine=sample_engine)


@pytest.fixture(scope="session")
def client(api) -> TestClient:
    with TestClient(api) as c:
        yield c
