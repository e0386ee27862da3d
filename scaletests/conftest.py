"""The scale tests (``./scripts/test-scale``): the twin on a Citus coordinator and two
workers started here, under a throwaway data folder, and removed at the end. They need
Citus installed (``./scripts/install-citus``, which the script runs first); the main suite
(``./scripts/test``) never does."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from twin.config import Settings
from twin.runtime.cli import main
from twin.store.citus import CitusCluster

TEST_PII_KEY = "scale-test-only-key-0123456789abcdef"


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="twin-scale-"))
    root.chmod(0o755)  # the postgres system user must reach it when we run as root
    try:
        yield root
    finally:
        CitusCluster(root).remove()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def nodes(data_dir: Path) -> CitusCluster:
    nodes = CitusCluster(data_dir, workers=2)
    nodes.start()
    return nodes


@pytest.fixture(scope="session")
def settings(data_dir: Path, nodes: CitusCluster) -> Settings:
    """The twin's settings with TWIN_DATABASE_URL at the coordinator."""
    return Settings(data_dir=data_dir, pii_key=TEST_PII_KEY, database_url=nodes.url())


def run(settings: Settings, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": settings})


@pytest.fixture(scope="session")
def loaded(settings: Settings) -> None:
    """The twin's schema and its village sample on the coordinator (its tables local)."""
    out = run(settings, "db", "upgrade")
    assert out.exit_code == 0, out.output
    out = run(settings, "sample", "--scale", "village")
    assert out.exit_code == 0, out.output
