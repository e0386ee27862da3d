"""``/ogc``: OGC API – Tiles (core, tileset, tilesets list, geodata and dataset tilesets,
MVT, PNG) over the twin's vector tile layers and its imagery, with the tile matrix sets they
are cut in (OGC 2D TMS 2.0).

Each collection that has a tile layer of its name (``Collection.tiles``) is served in every
grid of :data:`twin.publish.tiles.GRIDS` — Web Mercator, and the CGCS2000 geographic grid of
天地图. A tileset's tile URL template carries the layer's data version, so tiles keep the
version caching of ``/api/tiles`` (a year, immutable); the TileJSON deck.gl reads stays at
``/api/tiles/{layer}.json`` and is linked from the Web Mercator tileset.

The imagery is the dataset's map (``/map/tiles``), in Web Mercator only (rio-tiler draws it
so, for deck.gl). The terrain stays TileJSON (``/api/terrain.json``): terrain-RGB PNGs are a
Mapbox encoding of heights, not one of the map or coverage tile formats the standard names.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from twin.api import raster
from twin.api import tiles as tile_api
from twin.api.auth import READERS
from twin.api.deps import get_read_engine
from twin.api.ogc import JSON, json_response, link, visible_collection
from twin.domain.access import Principal
from twin.errors import NotFound
from twin.publish import tiles

router = APIRouter(prefix="/ogc", tags=["ogc"])
Reader = Depends(READERS["ogc"])
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
GridId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9]+$")]
# what morecantile's geometry names become in a tileset's layer
GEOMETRY_TYPES = {"Point": "points", "LineString": "lines", "Polygon": "polygons"}


def _grid(grid_id: str) -> tiles.Grid:
    grid = tiles.GRIDS.get(grid_id)
    if grid is None:
        raise NotFound(f"no tile matrix set {grid_id[:40]!r}: one of {', '.join(tiles.GRIDS)}")
    return grid


def _layer(collection_id: str, principal: Principal) -> tiles.TileLayer:
    """The tile layer of a collection the principal may read (404 when it has none)."""
    c = visible_collection(collection_id, principal)
    if c.tiles is None:
        raise NotFound(f"collection {c.id} has no tiles")
    return tile_api.visible_layer(c.tiles, principal)


def _crs(grid: tiles.Grid) -> str:
    return str(tiles.tile_matrix_set(grid.id).crs.root)


def _summary(request: Request, collection_id: str, spec: tiles.TileLayer,
             grid: tiles.Grid) -> dict[str, Any]:
    tms = tiles.tile_matrix_set(grid.id)
    doc = {
        "title": f"{spec.title_zh} ({grid.id})",
        "dataType": "vector",
        "crs": _crs(grid),
        "links": [
            link(request.url_for("ogc_tileset", collection_id=collection_id, grid_id=grid.id),
                 "self", title=f"{spec.title_en} tileset"),
            link(request.url_for("ogc_tile_matrix_set", grid_id=grid.id), TILING_SCHEME,
                 title=grid.title),
        ],
    }
    if tms.uri:
        doc["tileMatrixSetURI"] = tms.uri
    return doc


@router.get("/tileMatrixSets", name="ogc_tile_matrix_sets",
            summary="The tile matrix sets tiles are cut in")
def tile_matrix_sets(request: Request) -> Response:
    """Web Mercator and the CGCS2000 geographic grid."""
    return json_response({"tileMatrixSets": [
        {"id": g.id, "title": g.title, "crs": _crs(g),
         **({"uri": uri} if (uri := tiles.tile_matrix_set(g.id).uri) else {}),
         "links": [link(request.url_for("ogc_tile_matrix_set", grid_id=g.id), "self",
                        title=g.title)]}
        for g in tiles.GRIDS.values()]})


@router.get("/tileMatrixSets/{grid_id}", name="ogc_tile_matrix_set",
            summary="One tile matrix set (OGC 2D TMS 2.0, JSON)")
def tile_matrix_set(grid_id: GridId) -> Response:
    """Its tile matrices: scale, origin and size of each."""
    tms = tiles.tile_matrix_set(_grid(grid_id).id)
    return json_response(tms.model_dump(exclude_none=True, mode="json"))


@router.get("/collections/{collection_id}/tiles", name="ogc_tilesets",
            summary="The vector tilesets of a collection")
def tilesets(collection_id: str, request: Request, principal: Principal = Reader) -> Response:
    """One tileset per tile matrix set."""
    spec = _layer(collection_id, principal)
    return json_response({
        "links": [link(request.url_for("ogc_tilesets", collection_id=collection_id), "self")],
        "tilesets": [_summary(request, collection_id, spec, g) for g in tiles.GRIDS.values()],
    })


@router.get("/collections/{collection_id}/tiles/{grid_id}", name="ogc_tileset",
            summary="A vector tileset: its tile URL template, matrices and layer")
def tileset(collection_id: str, grid_id: GridId, request: Request,
            engine: Engine = Depends(get_read_engine),
            principal: Principal = Reader) -> Response:
    """The tileset's metadata; its tile template carries the layer's data version."""
    spec = _layer(collection_id, principal)
    grid = _grid(grid_id)
    first, last = grid.zooms(spec)
    version = tiles.current_version(engine, spec)
    template = (f"{request.url_for('ogc_tileset', collection_id=collection_id, grid_id=grid.id)}"
                f"/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?v={version}")
    doc = _summary(request, collection_id, spec, grid)
    doc["links"].append({**link(template, "item", tile_api.MVT, "the tiles"),
                         "templated": True})
    if grid is tiles.MERCATOR:
        doc["links"].append(link(request.url_for("tilejson", layer=spec.name), "alternate",
                                 JSON, "TileJSON (deck.gl, MapLibre)"))
    bounds = tile_api.bounds(engine)
    doc["tileMatrixSetLimits"] = tiles.matrix_limits(grid, first, last, bounds)
    doc["boundingBox"] = {"lowerLeft": bounds[:2], "upperRight": bounds[2:],
                          "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    doc["layers"] = [{
        "id": spec.name, "title": spec.title_zh, "description": spec.title_en,
        "dataType": "vector", "geometryType": GEOMETRY_TYPES.get(spec.geometry_type, "geometry"),
        "minTileMatrix": str(first), "maxTileMatrix": str(last),
        "propertiesSchema": {"type": "object", "properties": {
            name: {} for name in tiles.property_names(spec)}},
    }]
    return json_response(doc)


@router.get("/collections/{collection_id}/tiles/{grid_id}/{z}/{row}/{col}", name="ogc_tile",
            responses={200: {"content": {tile_api.MVT: {}}}, 204: {"description": "empty"}},
            summary="One vector tile (MVT) of a collection")
async def tile(collection_id: str, grid_id: GridId, z: int, row: int, col: int,
               request: Request, v: tile_api.Version = None,
               engine: Engine = Depends(get_read_engine),
               principal: Principal = Reader) -> Response:
    """The tile at matrix ``z``, row ``row``, column ``col``, as the principal may see it."""
    spec = _layer(collection_id, principal)
    return await tile_api.serve(request, spec, _grid(grid_id), z, col, row, v, engine,
                                principal)


# --- the imagery, as the dataset's map ------------------------------------------------------
def _map_grid(grid_id: str) -> tiles.Grid:
    grid = _grid(grid_id)
    if grid is not tiles.MERCATOR:
        raise NotFound(f"the map (imagery) is tiled in {tiles.MERCATOR.id} only")
    return grid


def _map_summary(request: Request) -> dict[str, Any]:
    grid = tiles.MERCATOR
    return {
        "title": "影像 / imagery", "dataType": "map", "crs": _crs(grid),
        "tileMatrixSetURI": tiles.tile_matrix_set(grid.id).uri,
        "links": [link(request.url_for("ogc_map_tileset", grid_id=grid.id), "self",
                       title="imagery tileset"),
                  link(request.url_for("ogc_tile_matrix_set", grid_id=grid.id), TILING_SCHEME,
                       title=grid.title)],
    }


@router.get("/map/tiles", name="ogc_map_tilesets", summary="The map tilesets (imagery)")
def map_tilesets(request: Request) -> Response:
    return json_response({"links": [link(request.url_for("ogc_map_tilesets"), "self")],
                          "tilesets": [_map_summary(request)]})


@router.get("/map/tiles/{grid_id}", name="ogc_map_tileset",
            summary="The imagery tileset: its tile URL template and matrices")
def map_tileset(grid_id: GridId, request: Request) -> Response:
    grid = _map_grid(grid_id)
    layer = raster.LAYERS["imagery"]
    meta = raster.layer_info(layer, request)
    doc = _map_summary(request)
    template = (f"{request.url_for('ogc_map_tileset', grid_id=grid.id)}"
                f"/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?v={meta['version']}")
    doc["links"] += [{**link(template, "item", raster.PNG, "the tiles"), "templated": True},
                     link(request.url_for("imagery_tilejson"), "alternate", JSON, "TileJSON")]
    bounds = [float(b) for b in meta["bounds"]]
    doc["tileMatrixSetLimits"] = tiles.matrix_limits(grid, meta["minzoom"], meta["maxzoom"],
                                                     bounds)
    doc["boundingBox"] = {"lowerLeft": bounds[:2], "upperRight": bounds[2:],
                          "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    return json_response(doc)


@router.get("/map/tiles/{grid_id}/{z}/{row}/{col}", name="ogc_map_tile",
            responses={200: {"content": {raster.PNG: {}}}},
            summary="One imagery tile (PNG)")
def map_tile(grid_id: GridId, z: int, row: int, col: int, request: Request,
             v: raster.Version = None) -> Response:
    _map_grid(grid_id)
    return raster.tile_response(raster.LAYERS["imagery"], request, z, col, row, v)
