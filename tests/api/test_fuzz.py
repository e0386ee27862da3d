"""Schemathesis against the API's own OpenAPI schema, signed in and anonymous: whatever
it sends, the API answers with a status it means — never a 500.

Schemathesis' pytest plugin does not load under pytest 9, so each operation of the schema
is a parametrized test that runs Schemathesis' Hypothesis strategy for it.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import TEST_PASSWORD
from twin.api import create_api
from twin.config import Settings

# the operations, read from the schema (no database needed for that)
OPERATIONS = [(op.method.upper(), op.path, op.label) for op in (
    r.ok() for r in schemathesis.openapi.from_asgi(
        "/openapi.json", create_api(Settings(database_url="postgresql+psycopg://-@127.0.0.1:1/-"))
    ).get_all_operations())]
BASIC = "Basic " + base64.b64encode(f"t-planner:{TEST_PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def fuzzed(settings, sample_engine):
    """An API of its own on the sample (its sign-in throttle is not the other tests')."""
    return schemathesis.openapi.from_asgi("/openapi.json",
                                          create_api(settings, engine=sample_engine))


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
def test_no_server_errors_signed_in(fuzzed, method, path):
    _fuzz(fuzzed, method, path, {"Authorization": BASIC}, 60)


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in OPERATIONS],
                         ids=[label for _, _, label in OPERATIONS])
def test_no_server_errors_anonymous(fuzzed, method, path):
    _fuzz(fuzzed, method, path, {}, 10)
