"""Schemathesis against the API's own OpenAPI schema, signed in as each role and anonymous:
whatever it sends, the API answers with a status it means — never a 500.

Schemathesis' pytest plugin does not load under pytest 9, so each operation of the schema
is a parametrized test that runs Schemathesis' Hypothesis strategy for it.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import TEST_PASSWORD, add_accounts
from twin.api import create_api
from twin.config import Settings

# the operations, read from the schema (no database needed for that)
OPERATIONS = [(op.method.upper(), op.path, op.label) for op in (
    r.ok() for r in schemathesis.openapi.from_asgi(
        "/openapi.json", create_api(Settings(database_url="postgresql+psycopg://-@127.0.0.1:1/-"))
    ).get_all_operations())]
# each role, and how many examples per operation (the planner's run is the long one)
ROLES = {"t-planner": 60, "t-admin": 15, "t-official": 15, "t-field": 15, "t-screen": 15}


def _basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{TEST_PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def fuzzed(settings, sample_db, village_sample):
    """An API of its own on a sample of its own (the roles that report write events), with
    a sign-in throttle of its own, wide: each role's credentials are checked again every
    30 s of a long run."""
    from twin.api.auth import Throttle

    engine = sample_db("fuzz")
    add_accounts(engine, village_sample)
    api = create_api(settings, engine=engine)
    api.state.throttle = Throttle(limit=10_000)
    return schemathesis.openapi.from_asgi("/openapi.json", api)


def _fuzz(schema, method: str, path: str, headers: dict, examples: int) -> None:
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in OPERATIONS],
                         ids=[label for _, _, label in OPERATIONS])
@pytest.mark.parametrize("user", ROLES)
def test_no_server_errors_signed_in(fuzzed, user, method, path):
    _fuzz(fuzzed, method, path, {"Authorization": _basic(user)}, ROLES[user])


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in OPERATIONS],
                         ids=[label for _, _, label in OPERATIONS])
def test_no_server_errors_anonymous(fuzzed, method, path):
    _fuzz(fuzzed, method, path, {}, 10)
