"""``/ogc``: OGC API – Tiles on the village sample — tile matrix sets, tilesets and tiles in
Web Mercator and in the CGCS2000 geographic grid (天地图 c tiles)."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa

from twin.publish import tiles
from twin.publish.ogc import COLLECTIONS, CONFORMANCE

TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def _rel(doc: dict, rel: str) -> dict:
    return next(link for link in doc["links"] if link["rel"] == rel)


def _tile_url(tileset: dict, z: int, row: int, col: int) -> str:
    template = _rel(tileset, "item")["href"]
    return (template.replace("{tileMatrix}", str(z)).replace("{tileRow}", str(row))
            .replace("{tileCol}", str(col)).removeprefix("http://testserver"))


def test_conformance_and_landing_name_the_tiles(client):
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "dataset-tilesets", "mvt",
              "png"):
        assert TILES + c in classes
    assert "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset" in classes
    assert set(classes) == set(CONFORMANCE)
    landing = client.get("/ogc").json()
    assert _rel(landing, "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes")["href"] == \
        "http://testserver/ogc/tileMatrixSets"


def test_the_pages_lead_to_the_tiles_and_to_sensorthings(client):
    """A GIS office browsing the HTML pages finds the tiles and the SensorThings API."""
    landing = client.get("/ogc", params={"f": "html"}).text
    for href, text in (("/ogc/tileMatrixSets", "瓦片矩阵集"), ("/ogc/map/tiles", "影像地图瓦片"),
                       ("/sta/v1.1", "SensorThings")):
        assert f'href="http://testserver{href}"' in landing and text in landing
    page = client.get("/ogc/collections/buildings", params={"f": "html"}).text
    assert 'href="http://testserver/ogc/collections/buildings/tiles"' in page
    assert "矢量瓦片" in page
    english = client.get("/ogc/collections/buildings", params={"f": "html", "lang": "en"}).text
    assert "Vector tiles" in english


def test_tile_matrix_sets_are_valid_and_cgcs2000_is_tianditu_shaped(client):
    listed = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [t["id"] for t in listed] == ["WebMercatorQuad", "CGCS2000Quad"]
    assert listed[0]["uri"] == \
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    doc = client.get("/ogc/tileMatrixSets/CGCS2000Quad").json()
    tms = morecantile.TileMatrixSet.model_validate(doc)  # OGC 2D TMS 2.0, as a client reads it
    assert doc["crs"] == CGCS2000
    first = doc["tileMatrices"][0]
    # 天地图 level 1: two tiles of 180° side by side, 0.703125° a pixel, origin 90°N 180°W
    assert (first["matrixWidth"], first["matrixHeight"]) == (2, 1)
    assert first["cellSize"] == pytest.approx(0.703125)
    assert first["pointOfOrigin"] == [90, -180]  # EPSG:4490 is latitude first
    assert tms.xy_bounds(morecantile.Tile(3, 1, 2)) == (-45.0, 0.0, 0.0, 45.0)
    mercator = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert mercator["id"] == "WebMercatorQuad" and len(mercator["tileMatrices"]) == 25
    r = client.get("/ogc/tileMatrixSets/Tianditu")
    assert r.status_code == 404 and "CGCS2000Quad" in r.json()["detail"]


def test_the_grids_envelopes_are_morecantiles(sample_engine):
    """The database cuts each grid's tiles exactly where the published matrix set says."""
    for grid in tiles.GRIDS.values():
        tms = tiles.tile_matrix_set(grid.id)
        for z, x, y in ((0, 1, 0), (7, 213, 42), (14, 27374, 4787)):
            cols, rows = grid.size(z)
            x, y = min(x, cols - 1), min(y, rows - 1)
            with sample_engine.connect() as conn:
                box = conn.execute(sa.text(
                    f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "  # noqa: S608
                    f"ST_TileEnvelope(:z, :x, :y{grid.bounds}) e"),
                    {"z": z + grid.shift, "x": x, "y": y}).one()
            assert tuple(box) == pytest.approx(tuple(tms.xy_bounds(morecantile.Tile(x, y, z))),
                                               abs=1e-6), (grid.id, z)
            assert tms.matrix(z).matrixWidth == cols and tms.matrix(z).matrixHeight == rows


def test_collections_with_a_tile_layer_link_their_tilesets(official):
    client = official  # the village's official sees every collection (households in scope)
    rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    for c in COLLECTIONS.values():
        doc = client.get(f"/ogc/collections/{c.id}").json()
        has = any(link["rel"] == rel for link in doc["links"])
        assert has == (c.tiles is not None), c.id
    assert COLLECTIONS["buildings"].tiles == "buildings"
    assert COLLECTIONS["households"].tiles is None  # its layer is visit recency, not itself
    r = client.get("/ogc/collections/households/tiles")
    assert r.status_code == 404 and "no tiles" in r.json()["detail"]
    listed = client.get("/ogc/collections/buildings/tiles").json()["tilesets"]
    assert [t["crs"] for t in listed] == ["http://www.opengis.net/def/crs/EPSG/0/3857",
                                          CGCS2000]
    assert all(t["dataType"] == "vector" for t in listed)


def test_mercator_tiles_are_the_maps_tiles_with_their_caching(client):
    tileset = client.get("/ogc/collections/buildings/tiles/WebMercatorQuad").json()
    version = client.get("/tiles/buildings.json").json()["data_version"]
    assert _rel(tileset, "item")["href"].endswith(f"?v={version}")
    assert _rel(tileset, "alternate")["href"] == "http://testserver/tiles/buildings.json"
    layer = tileset["layers"][0]
    assert layer["id"] == "buildings" and layer["geometryType"] == "polygons"
    assert (layer["minTileMatrix"], layer["maxTileMatrix"]) == ("12", "16")
    assert "floors" in layer["propertiesSchema"]["properties"]
    limits = {m["tileMatrix"]: m for m in tileset["tileMatrixSetLimits"]}
    assert set(limits) == {str(z) for z in range(12, 17)}
    z15 = limits["15"]
    row, col = z15["minTileRow"], z15["minTileCol"]
    r = client.get(_tile_url(tileset, 15, row, col))
    same = client.get(f"/tiles/buildings/15/{col}/{row}.mvt?v={version}")
    assert r.status_code == same.status_code == 200
    assert r.content == same.content
    assert r.headers["cache-control"] == same.headers["cache-control"]
    assert "immutable" in r.headers["cache-control"]


def test_cgcs2000_tiles_place_features_where_the_grid_says(client, sample_engine):
    tileset = client.get("/ogc/collections/buildings/tiles/CGCS2000Quad").json()
    assert tileset["crs"] == CGCS2000 and "tileMatrixSetURI" not in tileset
    assert not any(link["rel"] == "alternate" for link in tileset["links"])
    layer = tileset["layers"][0]
    assert (layer["minTileMatrix"], layer["maxTileMatrix"]) == ("11", "15")
    with sample_engine.connect() as conn:
        lon, lat, bid = conn.execute(sa.text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), id "
            "FROM buildings ORDER BY id LIMIT 1")).one()
    tms = tiles.tile_matrix_set("CGCS2000Quad")
    t = tms.tile(lon, lat, 15)
    r = client.get(_tile_url(tileset, 15, t.y, t.x))
    assert r.status_code == 200, r.text
    assert "immutable" in r.headers["cache-control"]
    decoded = mapbox_vector_tile.decode(r.content)["buildings"]
    mine = next(f for f in decoded["features"] if f["properties"]["id"] == bid)
    west, south, east, north = tms.xy_bounds(t)
    px = (lon - west) / (east - west) * 4096
    py = (lat - south) / (north - south) * 4096  # decode() flips y: origin bottom left
    ring = mine["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert min(xs) - 2 <= px <= max(xs) + 2 and min(ys) - 2 <= py <= max(ys) + 2
    # the same ETag is not shared with the Web Mercator tile of the same numbers
    mercator = client.get(f"/tiles/buildings/15/{t.x}/{t.y}.mvt")
    assert mercator.headers.get("etag") != r.headers["etag"]


def test_cgcs2000_tiles_relabel_the_stored_numbers_as_postgis_would_transform_them(
        sample_engine):
    """The CGCS2000 grid's tiles take the stored WGS 84 numbers as they are (no transform per
    feature): PostGIS's own transformation of them, with the PROJ it is built on, is the
    identity over the county and the corners of China."""
    assert tiles.CGCS2000.same_numbers and not tiles.MERCATOR.same_numbers
    with sample_engine.connect() as conn:
        moved = conn.execute(sa.text("""
            SELECT count(*) FROM (
                SELECT geom AS g FROM buildings
                UNION ALL SELECT ST_SetSRID(ST_MakePoint(x, y), 4326)
                  FROM (VALUES (73.5, 18.2), (135.1, 53.5), (120.5, 30.6)) v (x, y)) s
             WHERE NOT ST_Equals(ST_SetSRID(ST_Transform(g, 4490), 4326), g)
                OR ST_AsBinary(ST_Transform(g, 4490)) <> ST_AsBinary(ST_SetSRID(g, 4490))
        """)).scalar()
    assert moved == 0


def test_tiles_outside_the_grid_or_the_layers_zooms_are_refused(client):
    base = "/ogc/collections/buildings/tiles/CGCS2000Quad"
    r = client.get(f"{base}/14/16384/0")  # matrix 14 has 16,384 rows (0–16383)
    assert r.status_code == 400 and "y in 0–16383" in r.json()["detail"]
    r = client.get(f"{base}/5/10/40")
    assert r.status_code == 404 and "from zoom 11 to 15" in r.json()["detail"]
    assert client.get("/ogc/collections/buildings/tiles/Nowhere/14/1/1").status_code == 404
    assert client.get("/ogc/collections/nothing/tiles").status_code == 404
