"""``/api/health``: is the database reachable, and is the schema there."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from twin.api import RETRY_AFTER_S, get_engine

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
