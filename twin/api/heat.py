"""The map's event layers: ``/api/heat/events.json`` (where events were reported in a
period, counted per ~200 m cell, no event detail), ``/api/events/open.geojson`` (the
open events, the live working set, whole) and ``/api/measures.json`` (the loop's measures
of a unit and period, by the one definition the charts and the wall show)."""

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
from twin.domain.summary import event_heat, loop_measures, open_events_geojson
from twin.domain.units import unit_path
from twin.errors import NotFound
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


@router.get("/measures.json", name="loop_measures")
async def measures(start: Annotated[int, Query(alias="from", ge=0, le=4_102_444_800)],
                   end: Annotated[int, Query(alias="to", ge=0, le=4_102_444_800)],
                   unit: Annotated[str | None, Query(max_length=40)] = None,
                   engine: Engine = Depends(get_read_engine),
                   principal: Principal = Depends(READERS["heat"])) -> Response:
    """The loop's measures for the events reported in [from, to) inside ``unit`` (an
    official code; the county when absent): counts, rates (%), median hours, mean
    satisfaction, and the same per loop (small, medium, large). Aggregates only, as the
    map's charts and the wall show them to every role that draws the map."""
    lo = dt.datetime.fromtimestamp(start, dt.UTC)
    hi = dt.datetime.fromtimestamp(end, dt.UTC)
    if hi <= lo or hi - lo > MAX_SPAN:
        raise BadRequest(f"invalid period: 'to' must follow 'from' within {MAX_SPAN.days} days")
    path = await run_in_threadpool(unit_path, engine, unit) if unit else []
    if unit and not path:
        raise NotFound(f"no unit with code {unit!r}")
    found = await run_in_threadpool(loop_measures, engine, path[-1] if path else None, lo, hi)
    return JSONResponse({"unit": unit, "from": lo.isoformat(), "to": hi.isoformat(), **found},
                        headers={"Cache-Control": REVALIDATE})
