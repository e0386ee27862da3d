"""A real server (``python -m twin serve``) on the sample database, and Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from twin.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(database_url: str, data_dir, tmp_path_factory, port: int | None = None,
           **env_extra: str):
    """Start ``python -m twin serve`` on a free port (or ``port``); returns (process, url)."""
    port = port or _free_port()
    env = {**os.environ, "TWIN_DATA_DIR": str(data_dir), "TWIN_DATABASE_URL": database_url,
           **env_extra}
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twin", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    # the first start of a fresh install also compresses the browser bundles (~30 s)
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start:\n{log.read_text()}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def server(sample_engine, village_sample, tmp_path_factory) -> Iterator[str]:
    """The product's server on the village sample, with the sample's DEM and imagery."""
    from twin.sample.raster import write_sample_rasters

    data_dir = tmp_path_factory.mktemp("data")
    write_sample_rasters(village_sample, data_dir / "rasters")
    proc, url = _serve(sample_engine.url.render_as_string(hide_password=False), data_dir,
                       tmp_path_factory, TWIN_SWEEP_SECONDS="0")  # the shared sample: read only
    yield url
    proc.terminate()
    proc.wait(timeout=20)


FIELD_LINK_KEY = "browser-test-link-key"


@pytest.fixture(scope="session")
def field_server(sample_db, settings, tmp_path_factory):
    """A server on a database of its own (the field test writes), loaded like `twin sample`
    does: the sample, then its readings through monitor → warn. Yields (url, engine,
    settings with the same link key)."""
    from twin.domain.monitor import evaluate_all

    engine = sample_db("field")
    evaluate_all(engine)
    data_dir = tmp_path_factory.mktemp("field-data")
    proc, url = _serve(engine.url.render_as_string(hide_password=False), data_dir,
                       tmp_path_factory, TWIN_LINK_KEY=FIELD_LINK_KEY)
    yield url, engine, settings.model_copy(update={"data_dir": data_dir,
                                                    "link_key": FIELD_LINK_KEY})
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def sign_in_page(page, server: str, user: str = "t-planner", next_url: str = "/") -> None:
    """Sign in through the real form (as a person does); the form leads on to ``next_url``."""
    from urllib.parse import quote

    from tests.conftest import TEST_PASSWORD

    page.goto(f"{server}/api/auth/login?next={quote(next_url, safe='')}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", TEST_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def signed_page(browser, server: str, user: str = "t-planner", **context):
    """A new page of a new browser context, signed in as ``user``."""
    page = browser.new_context(**context).new_page()
    sign_in_page(page, server, user)
    return page
