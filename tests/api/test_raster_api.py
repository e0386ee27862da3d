"""The raster routes (terrain-RGB and imagery tiles, TileJSON) over the village sample's rasters.

No database: these routes only read ``<data_dir>/rasters``; the settings point at a port
where nothing listens. Fixture names differ from ``conftest``'s ``api``/``client`` so that
the session's PostGIS cluster is not started for these tests.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import morecantile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from geodata.raster import decode_terrain_rgb
from twin.api import create_api
from twin.config import Settings
from twin.sample.generate import generate
from twin.sample.raster import write_sample_rasters

TMS = morecantile.tms.get("WebMercatorQuad")
NO_DB = "postgresql://x@127.0.0.1:1/none"


def decode_png(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(data) as mem, mem.open() as src:
            assert src.driver == "PNG"
            return src.read()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("twin-data")
    write_sample_rasters(generate("village", seed=0), root / "rasters")
    return root


def _reader(api):
    """Rasters are served without a database; who may read them is tested with accounts in
    test_security, so here a planner is taken as signed in."""
    from twin.api.auth import READERS
    from twin.domain.access import Principal

    planner = Principal("planner", (), "t-planner")
    api.dependency_overrides[READERS["raster"]] = lambda: planner
    api.dependency_overrides[READERS["ogc"]] = lambda: planner  # the imagery as OGC map tiles
    return api


@pytest.fixture(scope="module")
def raster_client(data_dir: Path):
    with TestClient(_reader(create_api(Settings(data_dir=data_dir, database_url=NO_DB)))) as c:
        yield c


@pytest.fixture(scope="module")
def empty_client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("no-rasters"), database_url=NO_DB)
    with TestClient(_reader(create_api(settings))) as c:
        yield c


@pytest.fixture(scope="module")
def centre_tile(raster_client) -> morecantile.Tile:
    lon, lat = raster_client.get("/terrain.json").json()["center"][:2]
    return TMS.tile(lon, lat, 15)


def assert_json_error(response, status: int, *words: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    for word in words:
        assert word in body["detail"]


@pytest.mark.parametrize("layer", ["terrain", "imagery"])
def test_tilejson(raster_client, layer):
    r = raster_client.get(f"/{layer}.json")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"
    tj = r.json()
    assert tj["tilejson"] == "3.0.0" and tj["name"] == layer and tj["scheme"] == "xyz"
    (url,) = tj["tiles"]
    assert url.startswith(f"http://testserver/{layer}/{{z}}/{{x}}/{{y}}.png?v=")
    assert url.endswith(tj["data_version"])
    west, south, east, north = tj["bounds"]
    assert 120.2 < west < east < 120.8 and 30.4 < south < north < 30.9  # Tongxiang
    assert 0 <= tj["minzoom"] <= tj["maxzoom"] <= 22
    assert west < tj["center"][0] < east and south < tj["center"][1] < north
    if layer == "terrain":
        assert tj["encoding"] == "mapbox"
        assert tj["elevation_decoder"] == {"rScaler": 6553.6, "gScaler": 25.6,
                                           "bScaler": 0.1, "offset": -10000}


def test_terrain_tile_is_a_plausible_dem(raster_client, centre_tile):
    t = centre_tile
    r = raster_client.get(f"/terrain/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    rgb = decode_png(r.content)
    assert rgb.shape == (3, 256, 256)
    h = decode_terrain_rgb(rgb)
    land = h[h > 0]  # 0 = outside the county
    assert land.size > 0.5 * h.size
    assert 0.5 < land.min() and land.max() < 10 and 2 < np.median(land) < 6


def test_imagery_tile_is_rgba(raster_client, centre_tile):
    t = centre_tile
    r = raster_client.get(f"/imagery/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    rgba = decode_png(r.content)
    assert rgba.shape == (4, 256, 256)
    assert (rgba[3] == 255).mean() > 0.5
    assert rgba[:3, rgba[3] == 255].std() > 10


def test_imagery_as_webp_for_the_map_is_smaller_and_keeps_alpha(raster_client, centre_tile):
    import io

    from PIL import Image

    t = centre_tile
    png = raster_client.get(f"/imagery/{t.z}/{t.x}/{t.y}.png")
    webp = raster_client.get(f"/imagery/{t.z}/{t.x}/{t.y}.webp")
    assert webp.status_code == 200 and webp.headers["content-type"] == "image/webp"
    assert len(webp.content) < len(png.content) / 2
    assert webp.headers["etag"] != png.headers["etag"]
    lossy = np.asarray(Image.open(io.BytesIO(webp.content)).convert("RGBA")).transpose(2, 0, 1)
    exact = decode_png(png.content)
    assert ((lossy[3] > 127) == (exact[3] == 255)).mean() > 0.99  # the same data mask
    inside = exact[3] == 255
    assert np.abs(lossy[:3, inside].astype(int) - exact[:3, inside]).mean() < 8
    assert raster_client.get(f"/terrain/{t.z}/{t.x}/{t.y}.webp").status_code == 404


def test_imagery_overview_is_one_small_mercator_picture(raster_client):
    import io

    from PIL import Image

    info = raster_client.get("/imagery.json").json()
    r = raster_client.get(f"/imagery/overview.webp?v={info['data_version']}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(r.content))
    assert max(image.size) == 640 and image.mode == "RGBA"
    alpha = np.asarray(image)[..., 3]
    assert 0.3 < (alpha > 127).mean() < 1.0  # the county inside, transparent outside
    again = raster_client.get("/imagery/overview.webp",
                              headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert raster_client.get("/terrain/overview.webp").status_code == 404


def test_etag_and_304(raster_client, centre_tile):
    t = centre_tile
    url = f"/terrain/{t.z}/{t.x}/{t.y}.png"
    first = raster_client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["cache-control"] == "public, max-age=60"
    again = raster_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    weak = raster_client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    other = raster_client.get(f"/terrain/{t.z}/{t.x + 1}/{t.y}.png")
    assert other.headers["etag"] != etag
    imagery = raster_client.get(f"/imagery/{t.z}/{t.x}/{t.y}.png",
                                headers={"If-None-Match": etag})
    assert imagery.status_code == 200 and imagery.headers["etag"] != etag


def test_versioned_tiles_are_immutable(raster_client, centre_tile):
    t = centre_tile
    version = raster_client.get("/terrain.json").json()["data_version"]
    current = raster_client.get(f"/terrain/{t.z}/{t.x}/{t.y}.png?v={version}")
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    stale = raster_client.get(f"/terrain/{t.z}/{t.x}/{t.y}.png?v=0-0")
    assert stale.headers["cache-control"] == "public, max-age=60"
    assert stale.content == current.content


@pytest.mark.parametrize("path, words", [
    ("/terrain/23/0/0.png", ("zoom 23",)),
    ("/terrain/-1/0/0.png", ("zoom -1",)),
    ("/terrain/3/8/0.png", ("3/8/0", "0-7")),
    ("/imagery/3/0/8.png", ("3/0/8",)),
    ("/imagery/3/-1/0.png", ("3/-1/0",)),
    ("/terrain/3/a/0.png", ("x",)),
    ("/terrain/3/0/0.png?v=not%20hex", ("v",)),
])
def test_bad_tile_addresses_are_400(raster_client, path, words):
    assert_json_error(raster_client.get(path), 400, *words)


@pytest.mark.parametrize("layer", ["terrain", "imagery"])
def test_tile_outside_the_raster_is_404(raster_client, layer):
    assert_json_error(raster_client.get(f"/{layer}/10/0/0.png"), 404, "outside", layer)


@pytest.mark.parametrize("layer, filename", [("terrain", "dem.tif"), ("imagery", "imagery.tif")])
def test_missing_raster_is_404_naming_the_layer(empty_client, layer, filename):
    assert_json_error(empty_client.get(f"/{layer}/15/27350/13393.png"), 404, layer, filename)
    assert_json_error(empty_client.get(f"/{layer}.json"), 404, layer, "no data")


def test_imagery_is_the_ogc_map_tileset_with_its_caching(raster_client, centre_tile):
    """OGC API – Tiles: the imagery as the dataset's map tiles (Web Mercator only)."""
    listed = raster_client.get("/ogc/map/tiles").json()["tilesets"]
    assert [(t["dataType"], t["crs"]) for t in listed] == [
        ("map", "http://www.opengis.net/def/crs/EPSG/0/3857")]
    doc = raster_client.get("/ogc/map/tiles/WebMercatorQuad").json()
    version = raster_client.get("/imagery.json").json()["data_version"]
    template = next(link["href"] for link in doc["links"] if link["rel"] == "item")
    assert template.endswith(f"/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?v={version}")
    limits = {m["tileMatrix"]: m for m in doc["tileMatrixSetLimits"]}
    z15 = limits["15"]
    assert z15["minTileCol"] <= centre_tile.x <= z15["maxTileCol"]
    assert z15["minTileRow"] <= centre_tile.y <= z15["maxTileRow"]
    url = (template.replace("{tileMatrix}", "15").replace("{tileRow}", str(centre_tile.y))
           .replace("{tileCol}", str(centre_tile.x)).removeprefix("http://testserver"))
    r = raster_client.get(url)
    same = raster_client.get(f"/imagery/15/{centre_tile.x}/{centre_tile.y}.png?v={version}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == same.content and "immutable" in r.headers["cache-control"]
    r = raster_client.get("/ogc/map/tiles/CGCS2000Quad")
    assert r.status_code == 404 and "WebMercatorQuad only" in r.json()["detail"]
