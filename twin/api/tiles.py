"""``/api/tiles``: Mapbox vector tiles and their TileJSON.

A tile URL carries its layer's data version (``?v=``). A request for the current version is
answered with a year-long immutable ``Cache-Control`` and kept in the in-process cache;
any other request gets ``no-cache`` with an ``ETag``, so no HTTP cache is ever stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.auth import READERS
from twin.api.deps import BadRequest, get_read_engine
from twin.domain.access import ALL, NONE, Principal, sees, view_key
from twin.publish import tiles

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
IMMUTABLE = "public, max-age=31536000, immutable"
# what depends on who asks (scoped rows) is kept by the asker's browser only
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "no-cache"
Reader = Depends(READERS["tiles"])

Version = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+(-[0-9]+)*$",
                                      description="the layer's data version")]
LayerName = Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$")]


def _cache(request: Request) -> tiles.TileCache:
    state = request.app.state
    if getattr(state, "tile_cache", None) is None:
        state.tile_cache = tiles.TileCache(state.settings.tile_cache_mb << 20)
    return state.tile_cache


def _renders(request: Request) -> asyncio.Semaphore:
    """At most a few tiles render at once: the database does its best work on as many
    queries as it has cores, and the rest wait in line here instead of thrashing."""
    state = request.app.state
    if getattr(state, "tile_renders", None) is None:
        state.tile_renders = asyncio.Semaphore(2 * (os.cpu_count() or 2))
    return state.tile_renders


def _etag(spec: tiles.TileLayer, version: str, z: int, x: int, y: int, view: str,
          grid: tiles.Grid = tiles.MERCATOR) -> str:
    suffix = "" if view == ALL else "-" + hashlib.sha256(view.encode()).hexdigest()[:12]
    where = "" if grid is tiles.MERCATOR else f"-{grid.id}"
    return f'"{spec.name}{where}-{version}-{z}-{x}-{y}{suffix}"'


def visible_layer(name: str, principal: Principal) -> tiles.TileLayer:
    """The layer's spec if the principal sees any of its rows, else 403."""
    spec = tiles.layer(name)
    if sees(principal, spec.kind) == NONE:
        raise HTTPException(403, f"this role may not read the {spec.name} layer")
    return spec


def _tile_response(data: bytes, etag: str, cache_control: str, request: Request) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(content=data, media_type=MVT, headers=headers)


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", name="tile",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"}})
async def tile(request: Request, layer: LayerName, z: int, x: int, y: int, v: Version = None,
               engine: Engine = Depends(get_read_engine),
               principal: Principal = Reader) -> Response:
    """One vector tile of a layer (EPSG:3857 tiling, extent 4096), with the rows the
    principal may see."""
    return await serve(request, visible_layer(layer, principal), tiles.MERCATOR, z, x, y, v,
                       engine, principal)


async def serve(request: Request, spec: tiles.TileLayer, grid: tiles.Grid, z: int, x: int,
                y: int, v: str | None, engine: Engine, principal: Principal) -> Response:
    """One tile of ``grid`` as the principal may see it, cached by data version. Cache hits
    and 304s are answered on the event loop; rendering runs in the thread pool."""
    try:
        tiles.check_tile(spec, z, x, y, grid)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    view = view_key(principal, spec.kind)
    forever = IMMUTABLE if view == ALL and spec.kind == "geography" else PRIVATE_IMMUTABLE
    cache = _cache(request)
    if v is not None:
        etag = _etag(spec, v, z, x, y, view, grid)
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": forever})
        hit = cache.get((spec.name, grid.id, v, z, x, y, view))
        if hit is not None:
            return _tile_response(hit, etag, forever, request)
    async with _renders(request):
        version, data = await run_in_threadpool(tiles.render, engine, spec, z, x, y,
                                                principal, grid)
    etag = _etag(spec, version, z, x, y, view, grid)
    if v == version:
        cache.put((spec.name, grid.id, version, z, x, y, view), data)
        return _tile_response(data, etag, forever, request)
    return _tile_response(data, etag, REVALIDATE, request)


@router.get("/tiles/{layer}.json", name="tilejson")
def tilejson(request: Request, layer: LayerName,
             engine: Engine = Depends(get_read_engine), principal: Principal = Reader) -> dict:
    """TileJSON 3.0 of a layer; its tile URL carries the current data version."""
    spec = visible_layer(layer, principal)
    version = tiles.current_version(engine, spec)
    prefix = str(request.url_for("tilejson", layer=spec.name)).removesuffix(f"{spec.name}.json")
    box = bounds(engine)
    return {
        "tilejson": "3.0.0",
        "name": spec.name,
        "description": f"{spec.title_zh} / {spec.title_en}",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{prefix}{spec.name}/{{z}}/{{x}}/{{y}}.mvt?v={version}"],
        "minzoom": spec.minzoom,
        "maxzoom": spec.maxzoom,
        "bounds": box,
        "center": [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, spec.minzoom],
        "data_version": version,
        "vector_layers": [{
            "id": spec.name,
            "description": spec.title_en,
            "minzoom": spec.minzoom,
            "maxzoom": spec.maxzoom,
            "fields": {name: "" for name in tiles.property_names(spec)},
        }],
    }


@router.get("/tiles", name="tile_layers")
def tile_layers(request: Request, principal: Principal = Reader) -> dict:
    """The tile layers the principal may read, with links to their TileJSON."""
    return {"layers": [
        {"name": spec.name, "title": spec.title_zh, "title_en": spec.title_en,
         "minzoom": spec.minzoom, "maxzoom": spec.maxzoom,
         "tilejson": str(request.url_for("tilejson", layer=spec.name))}
        for spec in tiles.LAYERS.values() if sees(principal, spec.kind) != NONE
    ]}


def bounds(engine: Engine) -> list[float]:
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM units WHERE level = 'town') s")).one()
    if row[0] is None:
        return [-180.0, -85.0511, 180.0, 85.0511]
    return [round(float(c), 6) for c in row]
