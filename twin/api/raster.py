"""``/api/terrain`` and ``/api/imagery``: raster tiles of the twin's DEM and image, TileJSON.

Terrain tiles are Mapbox terrain-RGB PNGs (deck.gl ``TerrainLayer`` with
``elevationDecoder = geodata.raster.TERRAIN_RGB_DECODER``), imagery tiles RGBA PNGs. The
files are ``<data_dir>/rasters/dem.tif`` and ``imagery.tif`` (COGs, see
``twin.sample.raster``). A tile URL carries the file's version (``?v=``, from its TileJSON):
a request for the current version is answered ``immutable`` for a year, any other request
with a short ``max-age``; every tile has an ``ETag`` and ``If-None-Match`` gets a 304.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from geodata import raster
from twin.api.deps import BadRequest
from twin.errors import NotFound

log = logging.getLogger("twin.api.raster")

router = APIRouter(tags=["raster"])

PNG = "image/png"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"
MAX_ZOOM = 22

Version = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+(-[0-9a-f]+)*$",
                                      description="the raster's version, from its TileJSON")]


@dataclass(frozen=True)
class RasterLayer:
    """A raster served as XYZ tiles: which file, how a tile is drawn, what its TileJSON adds."""

    name: str
    filename: str
    render: Callable[[Path, int, int, int], bytes]
    description: str
    tilejson_extra: dict[str, Any] = field(default_factory=dict)
    webp: bool = False  # also served as lossy WebP (``.webp``), for the map

    def path(self, request: Request) -> Path:
        return Path(request.app.state.settings.data_dir) / "rasters" / self.filename


LAYERS = {
    layer.name: layer for layer in (
        RasterLayer("terrain", "dem.tif", raster.terrain_tile,
                    "地形 / terrain (Mapbox terrain-RGB, metres above sea level)",
                    {"encoding": "mapbox", "elevation_decoder": raster.TERRAIN_RGB_DECODER,
                     "nodata_height": raster.NODATA_HEIGHT}),
        RasterLayer("imagery", "imagery.tif", raster.imagery_tile,
                    "影像 / imagery (RGBA, transparent outside the county)", webp=True),
    )
}


def _no_data(layer: RasterLayer) -> NotFound:
    return NotFound(f"the {layer.name} layer has no data (rasters/{layer.filename} is "
                    "missing; `python -m twin sample` writes it)")


def _version(layer: RasterLayer, path: Path) -> tuple[str, int, int]:
    try:
        return raster.file_version(path)
    except raster.RasterNotFound:
        raise _no_data(layer) from None


def _check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise BadRequest(f"zoom {z} out of range 0-{MAX_ZOOM}")
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise BadRequest(f"tile {z}/{x}/{y} does not exist: x and y must be within 0-{n - 1}")


def _etag(layer: RasterLayer, key: tuple[str, int, int], z: int, x: int, y: int) -> str:
    digest = hashlib.blake2b(f"{layer.name}|{key[1]}|{key[2]}|{z}/{x}/{y}".encode(),
                             digest_size=10).hexdigest()
    return f'"{digest}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of ``If-None-Match`` with our ETag."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def tile_response(layer: RasterLayer, request: Request, z: int, x: int, y: int,
          v: str | None, fmt: str = "png") -> Response:
    _check_tile(z, x, y)
    path = layer.path(request)
    key = _version(layer, path)
    etag = _etag(layer, key, z, x, y)
    if fmt != "png":
        etag = etag[:-1] + f'-{fmt}"'

    headers = {"ETag": etag,
               "Cache-Control": IMMUTABLE if v == raster.version_tag(key) else SHORT}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    try:
        data = layer.render(path, z, x, y) if fmt == "png" else layer.render(path, z, x, y,
                                                                             fmt=fmt)
    except raster.TileOutsideBounds:
        raise NotFound(f"tile {z}/{x}/{y} is outside the {layer.name} layer") from None
    except raster.RasterNotFound:  # removed since the stat above
        raise _no_data(layer) from None
    except raster.RasterError as exc:
        log.error("%s tile %s/%s/%s: %s", layer.name, z, x, y, exc)
        raise HTTPException(500, f"the {layer.name} raster cannot be read") from None
    return Response(content=data, media_type=PNG if fmt == "png" else f"image/{fmt}",
                    headers=headers)


def _overview(layer: RasterLayer, request: Request, v: str | None) -> Response:
    path = layer.path(request)
    key = _version(layer, path)
    etag = f'"{layer.name}-overview-{raster.version_tag(key)}"'
    headers = {"ETag": etag,
               "Cache-Control": IMMUTABLE if v == raster.version_tag(key) else SHORT}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    try:
        data = _overview_bytes(str(path), key)
    except raster.RasterNotFound:
        raise _no_data(layer) from None
    return Response(content=data, media_type="image/webp", headers=headers)


@lru_cache(maxsize=4)
def _overview_bytes(path: str, key: tuple[str, int, int]) -> bytes:
    """One overview per file version (the key changes when the file does)."""
    return raster.imagery_overview(path)


def layer_info(layer: RasterLayer, request: Request) -> dict[str, Any]:
    """The layer's version, zooms, bounds and centre (404 when it has no file)."""
    try:
        return raster.raster_info(layer.path(request))
    except raster.RasterNotFound:
        raise _no_data(layer) from None
    except raster.RasterError as exc:
        log.error("%s TileJSON: %s", layer.name, exc)
        raise HTTPException(500, f"the {layer.name} raster cannot be read") from None


def _tilejson(layer: RasterLayer, request: Request) -> JSONResponse:
    meta = layer_info(layer, request)
    template = str(request.url_for(f"{layer.name}_tile", z="{z}", x="{x}", y="{y}"))
    template = template.replace("%7B", "{").replace("%7D", "}")
    body = {
        "tilejson": "3.0.0",
        "name": layer.name,
        "description": layer.description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{template}?v={meta['version']}"],
        "minzoom": meta["minzoom"],
        "maxzoom": meta["maxzoom"],
        "bounds": [round(b, 7) for b in meta["bounds"]],
        "center": [round(meta["center"][0], 7), round(meta["center"][1], 7),
                   meta["center"][2]],
        "tile_size": 256,
        "data_version": meta["version"],
        "crs": meta["crs"],
        **layer.tilejson_extra,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})


def _register(layer: RasterLayer) -> None:
    """Add the tile and TileJSON routes of ``layer`` to :data:`router`."""

    def tile(request: Request, z: int, x: int, y: int, v: Version = None) -> Response:
        return tile_response(layer, request, z, x, y, v)

    def tilejson(request: Request) -> JSONResponse:
        return _tilejson(layer, request)

    tile.__doc__ = f"One {layer.name} tile, 256×256 PNG (WebMercatorQuad, XYZ)."
    tilejson.__doc__ = f"TileJSON 3.0 of the {layer.name} layer; its URL carries the version."
    router.add_api_route(f"/{layer.name}/{{z}}/{{x}}/{{y}}.png", tile, methods=["GET"],
                         name=f"{layer.name}_tile", response_class=Response,
                         responses={200: {"content": {PNG: {}}}, 304: {},
                                    404: {"description": "outside the layer, or no data"}})
    router.add_api_route(f"/{layer.name}.json", tilejson, methods=["GET"],
                         name=f"{layer.name}_tilejson")
    if layer.webp:
        def overview(request: Request, v: Version = None) -> Response:
            return _overview(layer, request, v)

        overview.__doc__ = (f"The whole {layer.name} as one WebP in Web Mercator, covering "
                            "the TileJSON's bounds (for overview maps).")
        router.add_api_route(f"/{layer.name}/overview.webp", overview, methods=["GET"],
                             name=f"{layer.name}_overview", response_class=Response,
                             responses={200: {"content": {"image/webp": {}}}, 304: {}})

        def tile_webp(request: Request, z: int, x: int, y: int, v: Version = None) -> Response:
            return tile_response(layer, request, z, x, y, v, fmt="webp")

        tile_webp.__doc__ = f"One {layer.name} tile, 256×256 lossy WebP with alpha."
        router.add_api_route(f"/{layer.name}/{{z}}/{{x}}/{{y}}.webp", tile_webp,
                             methods=["GET"], name=f"{layer.name}_tile_webp",
                             response_class=Response,
                             responses={200: {"content": {"image/webp": {}}}, 304: {}})


for _layer in LAYERS.values():
    _register(_layer)
