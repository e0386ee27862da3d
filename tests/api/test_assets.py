"""The loader workers are served locally, in the version Streamlit's deck.gl bundle uses."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit

from twin.api.assets import LOADERS_VERSION, worker_url


def test_bundled_loaders_version_matches_streamlit():
    js = Path(streamlit.__file__).parent / "static" / "static" / "js"
    text = next(js.glob("DeckGlJsonChart*.js")).read_text(errors="ignore")
    mvt = re.search(r"name:`Mapbox Vector Tile`[^}]*},\w+=`([0-9.]+)`", text)
    terrain = re.search(r"id:`terrain`,module:`terrain`,version:`([0-9.]+)`", text)
    assert mvt and mvt.group(1) == LOADERS_VERSION
    assert terrain and terrain.group(1) == LOADERS_VERSION


def test_workers_are_served_as_javascript(client):
    for name in ("mvt", "terrain"):
        r = client.get(worker_url(name).removeprefix("/api"))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert len(r.content) > 10_000


def test_only_whitelisted_files(client):
    assert client.get("/static/loaders/4.4.3/quantized-mesh-worker.js").status_code == 404
    assert client.get(f"/static/loaders/{LOADERS_VERSION}/..%2F..%2Fpyproject.toml").status_code == 404
    assert client.get("/static/loaders/9.9.9/mvt-worker.js").status_code == 404
