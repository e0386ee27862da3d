"""Real-scene 3D on the map: the sample's old town as 3D Tiles, drawn by deck.gl's
Tile3DLayer from /api/scenes only, tile by tile as the view needs them."""

from __future__ import annotations

import io
import json
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import _serve, signed_page


@pytest.fixture(scope="module")
def scene_server(sample_db, village_sample, tmp_path_factory):
    """A server whose twin holds the old town's model, standing on the sample's terrain."""
    from tests.conftest import add_accounts
    from twin.runtime.cli import sample_scene
    from twin.sample.raster import write_sample_rasters

    engine = sample_db("scene")
    add_accounts(engine, village_sample)
    data_dir = tmp_path_factory.mktemp("scene-data")
    write_sample_rasters(village_sample, data_dir / "rasters")
    report = sample_scene(engine, data_dir, village_sample.buildings)  # as `twin sample`
    proc, url = _serve(engine.url.render_as_string(hide_password=False), data_dir,
                       tmp_path_factory, TWIN_SWEEP_SECONDS="0")
    yield url, report, data_dir
    proc.terminate()
    proc.wait(timeout=20)


def _canvas(page) -> np.ndarray:
    shot = page.locator("canvas").first.screenshot(timeout=30_000)
    return np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)


def test_the_old_town_is_drawn_from_local_tiles_only(browser, scene_server):
    url, report, data_dir = scene_server
    west, south, east, north = report.bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    camera = f"lon={lon:.5f}&lat={lat:.5f}&zoom=17.2&pitch=55&bearing=20&panel=0"
    outside, scene_status, errors = [], [], []
    page = signed_page(browser, url, viewport={"width": 1200, "height": 800})
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in (
        None, "127.0.0.1") and r.url.startswith(("http", "ws")) else None)
    page.on("response", lambda r: scene_status.append((r.url, r.status))
            if "/api/scenes/" in r.url else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{url}/?apps=scene&{camera}")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(12_000)
    with_model = _canvas(page)
    page.goto(f"{url}/?apps=governance&{camera}")  # the same view without the model
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(8_000)
    without = _canvas(page)
    tiles = [u for u, _ in scene_status if u.split("?")[0].endswith(".b3dm")]
    total = len(json.loads((data_dir / "scenes" / report.name / report.version /
                            "tileset.json").read_text())["root"]["children"])
    assert any(u.split("?")[0].endswith("/tileset.json") for u, _ in scene_status)
    assert tiles and all(s == 200 for _, s in scene_status)
    assert len(set(tiles)) < total  # only the tiles of the view, not the whole model
    h, w = with_model.shape
    centre = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    assert np.abs(with_model[centre] - without[centre]).mean() > 8  # the houses stand there
    assert outside == [] and not [e for e in errors if "Tile3D" in e or "tileset" in e]
    page.close()
