"""The map's event layers: ``/api/heat/events.json`` (where events were reported in a
period, counted per ~200 m cell, no event detail) and ``/api/events/open.geojson`` (the
open events, the live working set, whole)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.auth import READERS
from twin.api.deps import BadRequest, get_read_engine
from twin.api.tiles import PRIVATE_IMMUTABLE, REVALIDATE, Version
from twin.domain.access import Principal
from twin.domain.summary import event_heat, open_events_geojson
from twin.publish import tiles

router = APIRouter(tags=["events"])

MAX_SPAN = dt.timedelta(days=400)


@router.get("/heat/events.json", name="event_heat")
async def heat(start: Annotated[int, Query(alias="from", ge=0, le=4_102_444_800)],
               end: Annotated[int, Query(alias="to", ge=0, le=4_102_444_800)],
               v: Version = None, engine: Engine = Depends(get_read_engine),
               principal: Principal = Depends(READERS["heat"])) -> Response:
    """``[{"p": [lon, lat], "w": events}, …]`` for the events the principal sees reported in
    [from, to). With the events layer's current version as ``v`` the answer is immutable
    (cacheable forever by this browser)."""
    lo = dt.datetime.fromtimestamp(start, dt.UTC)
    hi = dt.datetime.fromtimestamp(end, dt.UTC)
    if hi <= lo or hi - lo > MAX_SPAN:
        raise BadRequest(f"invalid period: 'to' must follow 'from' within {MAX_SPAN.days} days")
    version = await run_in_threadpool(tiles.current_version, engine, tiles.layer("events"))
    cells = await run_in_threadpool(event_heat, engine, lo, hi, principal)
    return JSONResponse(cells, headers={
        "Cache-Control": PRIVATE_IMMUTABLE if v == version else REVALIDATE})


@router.get("/events/open.geojson", name="open_events",
            responses={200: {"content": {"application/geo+json": {}}}})
async def open_events(v: Version = None, engine: Engine = Depends(get_read_engine),
                      principal: Principal = Depends(READERS["open_events"])) -> Response:
    """The open events the principal sees (reported … escalated, reopened) as GeoJSON,
    newest first; with the events layer's current version as ``v`` the answer is
    immutable (for this browser)."""
    version = await run_in_threadpool(tiles.current_version, engine, tiles.layer("events"))
    text = await run_in_threadpool(open_events_geojson, engine, principal)
    return Response(text, media_type="application/geo+json", headers={
        "Cache-Control": PRIVATE_IMMUTABLE if v == version else REVALIDATE})
