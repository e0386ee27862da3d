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


@pytest.fixture(scope="session")
def server(sample_engine, village_sample, tmp_path_factory) -> Iterator[str]:
    """The product's server on the village sample, with the sample's DEM and imagery."""
    from geodata.sample_raster import write_sample_rasters

    data_dir = tmp_path_factory.mktemp("data")
    write_sample_rasters(village_sample, data_dir / "rasters")
    port = _free_port()
    env = {**os.environ, "TWIN_DATA_DIR": str(data_dir),
           "TWIN_DATABASE_URL": sample_engine.url.render_as_string(hide_password=False)}
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twin", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start:\n{log.read_text()}")
        time.sleep(0.3)
    yield url
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
