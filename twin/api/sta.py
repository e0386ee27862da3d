"""``/sta/v1.1``: OGC SensorThings API 1.1 (Part 1, Sensing) over the monitoring stations — a
thin adapter.

What the entities are and how they are queried lives in :mod:`twin.publish.sta`; this
module parses the request, builds the ``@iot`` links from the request (so they stay right
behind a proxy or under ``/api``) and writes new Observations through
``twin.domain.monitor.ingest``. Reading takes the OGC readers' channel; creating an
Observation takes the right to import (an administrator's or a platform account's).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.auth import READERS, require
from twin.api.deps import BadRequest, as_bad_request, get_engine, get_read_engine
from twin.domain import monitor
from twin.domain.access import Principal
from twin.publish import sta

router = APIRouter(prefix=f"/sta/{sta.VERSION}", tags=["sensorthings"])
Reader = Depends(READERS["ogc"])
Importer = Depends(require("import"))
JSON = "application/json"


def _json(doc: Any, status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False, default=str), status_code=status,
                    media_type=JSON, headers=headers or None)


def _base(request: Request) -> str:
    return str(request.url_for("sta_root")).rstrip("/")


def _key(entity: sta.EntitySet, value: Any) -> str:
    """An id as it stands in a path: ``(1)`` or ``('12:pm25')``."""
    if entity.id_is_int:
        return f"({value})"
    return "('" + str(value).replace("'", "''") + "')"


def _entity(base: str, e: sta.EntitySet, row: dict[str, Any], opts: sta.Options) -> dict:
    """One entity as STA JSON: id, self link, the selected properties, and each navigation
    link as a link or, when expanded, as its entities."""
    self_link = f"{base}/{e.name}{_key(e, row['id'])}"
    doc: dict[str, Any] = {"@iot.id": row["id"], "@iot.selfLink": self_link}
    for name, _ in e.properties:
        if opts.select is None or name in opts.select:
            doc[name] = row[name]
    for name, nav in e.navs.items():
        if name in opts.expand:
            inner = opts.expand[name]
            target = sta.ENTITIES[nav.target]
            if not nav.many:
                found = row[name]
                doc[name] = None if found is None else _entity(base, target, found, inner)
                continue
            found, count, more, _ = row[name]
            doc[name] = [_entity(base, target, r, inner) for r in found]
            if count is not None:
                doc[f"{name}@iot.count"] = count
            if more:
                doc[f"{name}@iot.nextLink"] = (f"{self_link}/{name}?$top={inner.top}"
                                               f"&$skip={inner.skip + inner.top}")
        elif opts.select is None or name in opts.select:
            doc[f"{name}@iot.navigationLink"] = f"{self_link}/{name}"
    return doc


def _options(request: Request, entity: sta.EntitySet) -> sta.Options:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise BadRequest(f"query option {name[:40]!r} given more than once")
        params[name] = value
    with as_bad_request(sta.StaError):
        return sta.parse_options(entity, params)


@router.get("", name="sta_root", summary="SensorThings service root")
def root(request: Request, principal: Principal = Reader) -> Response:
    """The entity sets, and the conformance classes in ``serverSettings``."""
    base = _base(request)
    return _json({
        "value": [{"name": name, "url": f"{base}/{name}"} for name in sta.ENTITIES],
        "serverSettings": {"conformance": list(sta.CONFORMANCE)},
    })


@router.get("/{path:path}", name="sta_read",
            summary="Entities, one entity, or a navigation link's entities")
def read(path: str, request: Request, engine: Engine = Depends(get_read_engine),
         principal: Principal = Reader) -> Response:
    """``Things``, ``Things(1)``, ``Datastreams('12:pm25')/Observations``, … with
    ``$filter``, ``$orderby``, ``$top``, ``$skip``, ``$count``, ``$select`` and ``$expand``."""
    base = _base(request)
    with engine.connect() as conn:
        target = sta.resolve(conn, path, principal)
        opts = _options(request, target.entity)
        if target.single:
            opts.top, opts.skip, opts.count = 1, 0, False
        with as_bad_request(sta.StaError):
            rows, count, more = sta.fetch(conn, target, opts, principal)
            sta.expand(conn, target.entity, rows, opts, principal)
    if target.single:
        if not rows:
            raise sta.StaNotFound(f"no such {target.entity.single}")
        return _json(_entity(base, target.entity, rows[0], opts))
    doc: dict[str, Any] = {}
    if count is not None:
        doc["@iot.count"] = count
    doc["value"] = [_entity(base, target.entity, r, opts) for r in rows]
    if more:
        doc["@iot.nextLink"] = str(request.url.include_query_params(
            **{"$skip": opts.skip + opts.top, "$top": opts.top}))
    return _json(doc)


@router.post("/{path:path}", name="sta_create", status_code=201,
             summary="Create an Observation (evaluated against its parameter's limits)")
async def create(path: str, request: Request, engine: Engine = Depends(get_engine),
                 principal: Principal = Importer) -> Response:
    """``POST Observations`` (its Datastream in the body) or
    ``POST Datastreams('12:pm25')/Observations``: 201 with its ``Location``; a reading over
    its parameter's limit opens the station's warning, as an imported reading does."""
    raw = await request.body()
    if len(raw) > 64 << 10:
        raise BadRequest("an Observation is at most 64 KB of JSON")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    return await run_in_threadpool(_create, path, body, engine, _base(request))


def _create(path: str, body: Any, engine: Engine, base: str) -> Response:
    m = re.fullmatch(r"/?(?:Datastreams\((.{1,80})\)/)?Observations", path)
    if not m:
        raise sta.StaNotFound("Observations are the only entities created here: POST "
                              "Observations or Datastreams('…')/Observations")
    datastream = None
    if m[1] is not None:
        datastream = sta.parse_id(sta.ENTITIES["Datastreams"], m[1])
    now = dt.datetime.now(dt.UTC)
    with as_bad_request(sta.StaError), engine.connect() as conn:
        new = sta.parse_observation(conn, body, datastream, now)
    try:
        done = monitor.ingest(engine, [(new.station, new.parameter, new.at, new.value)])
    except (sa.exc.IntegrityError, psycopg.errors.UniqueViolation):  # COPY: psycopg's own
        return _json({"status": 409, "detail": f"Observation {new.id} exists already"}, 409)
    location = f"{base}/Observations('{new.id}')"
    return _json({"@iot.id": new.id, "@iot.selfLink": location,
                  "phenomenonTime": f"{new.at:%Y-%m-%dT%H:%M:%SZ}",
                  "resultTime": f"{new.at:%Y-%m-%dT%H:%M:%SZ}", "result": new.value,
                  "Datastream@iot.navigationLink": f"{location}/Datastream",
                  "warnings": {"opened": done["opened"], "updated": done["updated"]}},
                 201, Location=location)
