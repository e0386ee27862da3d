"""``/api/health``: is the database reachable, and is the schema there; ``/api/metrics``."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine

from twin.api.auth import principal_of
from twin.api.deps import RETRY_AFTER_S, get_engine
from twin.domain.access import may

router = APIRouter(tags=["health"])


@router.get("/health")
def health(engine: Engine = Depends(get_engine)) -> JSONResponse:
    """200 with the PostGIS version when the database answers, else 503 with Retry-After."""
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar()
    except sa.exc.DBAPIError:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_S)})
    return JSONResponse({"status": "ok", "database": "up", "postgis": version})


LOOPBACK = ("127.0.0.1", "::1")


@router.get("/metrics", name="metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latencies per route, tile cache, pool, open
    events by level. For a scraper on this machine, or a signed-in administrator."""
    client = request.client.host if request.client else ""
    if client not in LOOPBACK and not may(principal_of(request), "accounts"):
        return JSONResponse({"status": 403, "detail": "metrics are for a local scraper or an "
                             "administrator"}, status_code=403)
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
