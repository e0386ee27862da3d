"""What every router of the API depends on: the engines, the settings, the API's own
bad-request error and its JSON error shape (FastAPI dependencies, no router here)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from twin.config import Settings
from twin.errors import TwinError
from twin.store.db import make_engine, make_read_engine

log = logging.getLogger("twin.api")

RETRY_AFTER_S = 5


class BadRequest(TwinError):
    """A request parameter is out of range or malformed."""


@contextmanager
def as_bad_request(*errors: type[Exception]) -> Iterator[None]:
    """Turn a publisher's own error for a bad parameter (``errors``) into the API's 400."""
    try:
        yield
    except errors as exc:
        raise BadRequest(str(exc)) from exc


async def get_engine(request: Request) -> Engine:
    """The pooled engine of this API (a FastAPI dependency; async so that it needs no thread
    hop — it does no I/O, the engine connects lazily)."""
    engine = request.app.state.engine
    if engine is None:
        engine = request.app.state.engine = make_engine(request.app.state.settings)
    return engine


async def get_read_engine(request: Request) -> Engine:
    """The engine for reads that may lag a little: the replica when one is configured
    (``TWIN_DATABASE_READ_URL``), else the primary."""
    state = request.app.state
    if getattr(state, "read_engine", None) is None:
        state.read_engine = make_read_engine(state.settings) or await get_engine(request)
    return state.read_engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"status": status, "detail": message}, status_code=status,
                        headers=headers or None)


def unavailable() -> JSONResponse:
    return error(503, "database unavailable, retry shortly",
                  **{"Retry-After": str(RETRY_AFTER_S)})


