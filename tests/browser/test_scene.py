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


# A bare page in which deck.gl's standalone bundle (the one the map page loads) draws a
# tileset with its Tile3DLayer, as the map's 三维实景 application does
TILESET_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>html, body, #map {{ margin: 0; width: 100%; height: 100%; }}</style>
<script src="{deck}"></script></head><body><div id="map"></div><script>
const gl = globalThis.deck;
new gl.Deck({{parent: document.getElementById("map"), controller: true,
  initialViewState: {{longitude: {lon}, latitude: {lat}, zoom: 16.5, pitch: 50, bearing: 20}},
  layers: {layers}}});
</script></body></html>"""
LAYER = "[new gl.Tile3DLayer({id: 'delft', data: '/__delft/tileset.json'})]"


def test_delft_from_cityjson_is_drawn_as_3d_tiles(browser, server, tmp_path):
    """The real delft.city.json (CityJSON 2.0, LoD1, in RD New), converted to 3D Tiles as
    the scene import converts CityJSON, is drawn by deck.gl's Tile3DLayer where Delft
    stands. The import itself refuses it: it lies outside the county (tests/twin)."""
    from pathlib import Path

    from geodata.cityjson import read_buildings
    from geodata.tiles3d import write_tileset
    from twin.urls import deck_bundle

    scene = read_buildings(Path(__file__).parents[1] / "data" / "delft.city.json")
    folder = tmp_path / "delft"
    write_tileset(folder, scene.frame, scene.buildings)
    lon, lat = scene.centre
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    served: list[str] = []

    def tile(route, request):
        name = urlparse(request.url).path.removeprefix("/__delft/")
        target = (folder / name).resolve()
        assert target.is_relative_to(folder.resolve())
        served.append(name)
        route.fulfill(path=str(target))

    context.route(f"{server}/__delft/**", tile)
    pages = {}
    for name, layers in (("with", LAYER), ("without", "[]")):
        pages[name] = TILESET_PAGE.format(deck=deck_bundle("deck.min.js"), lon=lon, lat=lat,
                                          layers=layers)
        context.route(f"{server}/__page/{name}", lambda route, _, body=pages[name]:
                      route.fulfill(body=body, content_type="text/html; charset=utf-8"))
    errors: list[str] = []
    shots = {}
    for name in ("with", "without"):
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server}/__page/{name}")
        page.wait_for_selector("canvas", timeout=60_000)
        page.wait_for_timeout(8000 if name == "with" else 2000)
        shots[name] = _canvas(page)
        page.close()
    context.close()
    assert "tileset.json" in served and any(n.endswith(".b3dm") for n in served)
    h, w = shots["with"].shape
    centre = (slice(h // 3, 2 * h // 3), slice(w // 4, 3 * w // 4))  # Delft's blocks stand there
    assert np.abs(shots["with"][centre] - shots["without"][centre]).mean() > 8
    assert errors == []
