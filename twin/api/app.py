"""The API app: ``create_api`` builds the FastAPI app over ``twin`` (no Streamlit here),
with its routers, the principal of every request and the error mapping. Errors of the twin
become HTTP statuses only here, at the edge; a database that is down becomes 503 with
``Retry-After`` and the API recovers by itself when it is back.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from twin.api import (
    assets,
    auth,
    health,
    heat,
    law,
    leader,
    ogc,
    ogc_tiles,
    open311,
    pagemap,
    platform,
    raster,
    resident,
    scenes,
    sta,
    tiles,
)
from twin.api.deps import RETRY_AFTER_S, BadRequest, error, unavailable
from twin.api.observe import Metrics, RequestContext
from twin.config import Settings
from twin.domain.access import Principal
from twin.domain.accounts import PrincipalCache, SignInRefused, check_credentials, session_account
from twin.domain.links import LinkError, verify
from twin.errors import DatabaseError, NotFound
from twin.store.db import make_engine

log = logging.getLogger("twin.api")

def create_api(settings: Settings, engine: Engine | None = None,
               first_view: Callable[[Engine, Path, dict[str, str], Principal],
                                    dict[str, str | None] | None] | None = None
               ) -> FastAPI:
    """The API app; ``engine`` defaults to one made from ``settings`` on first use.
    ``first_view(engine, data_dir, query, principal)``: what the map page draws first for a
    query — ``{"deck": pydeck JSON, "panel": HTML or None}`` — (the server gives the page's
    own; /api/map/first)."""
    api = FastAPI(title="Village Twin API", version="1",
                  docs_url="/docs" if settings.api_docs else None,
                  openapi_url="/openapi.json", redoc_url=None)
    api.state.settings = settings
    api.state.engine = engine
    api.state.first_view = first_view

    def engine_of() -> Engine:
        if api.state.engine is None:
            api.state.engine = make_engine(settings)
        return api.state.engine

    def of_session(token: str):
        # a one-time password must be changed (on /auth/password) before anything else
        account = session_account(engine_of(), token)
        return account.principal() if account and not account.must_change else None

    def of_link(token: str):
        try:
            link = verify(engine_of(), settings, token)
        except LinkError:
            return None
        return link.principal()

    def of_basic(header: str, address: str = "?"):
        try:
            user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
            account = check_credentials(engine_of(), user, password, address=address)
        except (IndexError, ValueError, binascii.Error, UnicodeDecodeError, SignInRefused):
            return None
        return None if account.must_change else account.principal()

    api.state.sessions = PrincipalCache(of_session)
    api.state.basic = PrincipalCache(of_basic)
    api.state.links = PrincipalCache(of_link)
    api.state.throttle = auth.Throttle()
    # public: health, the sign-in pages, static scripts, Open311's service list (its
    # requests check the caller themselves) and the residents' report and status pages;
    # the platform's signed changes; every read of the twin needs a signed-in role
    for module in (health, auth, open311, assets, resident, leader, platform, law):
        api.include_router(module.router)
    for module, channel in ((tiles, "tiles"), (scenes, "tiles"), (raster, "raster"),
                            (ogc, "ogc"), (ogc_tiles, "ogc"), (sta, "ogc")):
        api.include_router(module.router, dependencies=[Depends(auth.READERS[channel])])
    api.include_router(heat.router)  # the heat and the open events name their channels
    api.include_router(pagemap.router)  # nothing to draw (204) for a role without tiles

    @api.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error(404, str(exc))

    @api.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return error(400, str(exc))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("path", "query"))
        return error(400, f"invalid {where or 'request'}: {first.get('msg', 'bad value')}")

    @api.exception_handler(StarletteHTTPException)
    async def httperror(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), **(exc.headers or {}))

    @api.exception_handler(DatabaseError)
    async def db_down(request: Request, exc: DatabaseError) -> JSONResponse:
        return unavailable()

    def operational(request: Request, orig: BaseException) -> JSONResponse:
        if isinstance(orig, psycopg.errors.QueryCanceled):  # statement_timeout
            log.warning("database too slow: statement timeout on %s", request.url.path)
            return error(503, "the database did not answer in time, retry shortly",
                          **{"Retry-After": str(RETRY_AFTER_S)})
        if "remote node" in str(orig):  # Citus: a worker holding part of the data is down
            # which node goes to the log, not to the client
            log.warning("database node unavailable on %s: %s", request.url.path,
                        str(orig).splitlines()[0])
            return error(503, "a database node holding part of the data does not answer, "
                              "retry shortly", **{"Retry-After": str(RETRY_AFTER_S)})
        log.warning("database unavailable: %s", type(orig).__name__)
        return unavailable()

    @api.exception_handler(sa.exc.OperationalError)
    async def db_operational(request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        return operational(request, exc.orig)

    @api.exception_handler(psycopg.OperationalError)
    async def pg_operational(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # the paths that use psycopg's own cursor (the tiles' binary results)
        return operational(request, exc)

    @api.exception_handler(sa.exc.DataError)
    async def db_dataerror(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # a value the database cannot take (out of range, a NUL in text …) is the client's
        return error(400, "invalid value in the request")

    @api.exception_handler(sa.exc.DBAPIError)
    async def dberror(request: Request, exc: sa.exc.DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return unavailable()
        log.error("database error on %s: %s", request.url.path, type(exc.orig).__name__)
        return error(500, "internal error")

    api.state.metrics = Metrics(api.state)
    api.add_middleware(SecurityHeaders)
    api.add_middleware(RefuseNul)
    api.add_middleware(RequestContext, metrics_of=lambda: api.state.metrics)
    return api


class RefuseNul:
    """Pure ASGI middleware: a path or query string carrying a NUL byte (``%00``) is a bad
    request, answered before any handler sees it (PostgreSQL text cannot hold NUL)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and (
                b"%00" in scope.get("query_string", b"")
                or "\x00" in scope.get("path", "")
                or b"%00" in (scope.get("raw_path") or b"")):
            await error(400, "NUL characters are not allowed in a request")(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task or body buffering) adding safe headers."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
