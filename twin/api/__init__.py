"""The HTTP API under ``/api``: a FastAPI app over ``twin`` (no Streamlit here).

``create_api`` builds it; routers register themselves in ``ROUTERS`` below. Errors of the
twin become HTTP statuses only here, at the edge; a database that is down becomes 503
with ``Retry-After`` and the API recovers by itself when it is back.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from twin.config import Settings
from twin.errors import DatabaseError, NotFound, TwinError

log = logging.getLogger("twin.api")

RETRY_AFTER_S = 5


class BadRequest(TwinError):
    """A request parameter is out of range or malformed."""


async def get_engine(request: Request) -> Engine:
    """The pooled engine of this API (a FastAPI dependency; async so that it needs no thread
    hop — it does no I/O, the engine connects lazily)."""
    engine = request.app.state.engine
    if engine is None:
        from twin.db import make_engine

        engine = request.app.state.engine = make_engine(request.app.state.settings)
    return engine


async def get_read_engine(request: Request) -> Engine:
    """The engine for reads that may lag a little: the replica when one is configured
    (``TWIN_DATABASE_READ_URL``), else the primary."""
    state = request.app.state
    if getattr(state, "read_engine", None) is None:
        from twin.db import make_read_engine

        state.read_engine = make_read_engine(state.settings) or await get_engine(request)
    return state.read_engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"status": status, "detail": message}, status_code=status,
                        headers=headers or None)


def _unavailable() -> JSONResponse:
    return _error(503, "database unavailable, retry shortly",
                  **{"Retry-After": str(RETRY_AFTER_S)})


def create_api(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The API app; ``engine`` defaults to one made from ``settings`` on first use."""
    from fastapi import Depends

    from twin.accounts import PrincipalCache, session_account
    from twin.api import assets, auth, health, heat, ogc, open311, raster, tiles

    api = FastAPI(title="Village Twin API", version="1",
                  docs_url="/docs" if settings.api_docs else None,
                  openapi_url="/openapi.json", redoc_url=None)
    api.state.settings = settings
    api.state.engine = engine

    def engine_of() -> Engine:
        if api.state.engine is None:
            from twin.db import make_engine

            api.state.engine = make_engine(settings)
        return api.state.engine

    def of_session(token: str):
        # a one-time password must be changed (on /auth/password) before anything else
        account = session_account(engine_of(), token)
        return account.principal() if account and not account.must_change else None

    def of_link(token: str):
        from twin.links import LinkError, verify

        try:
            link = verify(engine_of(), settings, token)
        except LinkError:
            return None
        return link.principal()

    def of_basic(header: str, address: str = "?"):
        import base64
        import binascii

        from twin.accounts import SignInRefused, check_credentials

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
    # public: health, the sign-in pages, static scripts and Open311's service list (its
    # requests check the caller themselves); every read of the twin needs a signed-in role
    for module in (health, auth, open311, assets):
        api.include_router(module.router)
    for module, channel in ((tiles, "tiles"), (raster, "raster"), (ogc, "ogc")):
        api.include_router(module.router, dependencies=[Depends(auth.READERS[channel])])
    api.include_router(heat.router)  # the heat and the open events name their channels

    @api.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @api.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return _error(400, str(exc))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("path", "query"))
        return _error(400, f"invalid {where or 'request'}: {first.get('msg', 'bad value')}")

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), **(exc.headers or {}))

    @api.exception_handler(DatabaseError)
    async def db_down(request: Request, exc: DatabaseError) -> JSONResponse:
        return _unavailable()

    @api.exception_handler(sa.exc.OperationalError)
    async def db_operational(request: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        import psycopg

        if isinstance(exc.orig, psycopg.errors.QueryCanceled):  # statement_timeout
            log.warning("database too slow: statement timeout on %s", request.url.path)
            return _error(503, "the database did not answer in time, retry shortly",
                          **{"Retry-After": str(RETRY_AFTER_S)})
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return _unavailable()

    @api.exception_handler(sa.exc.DataError)
    async def db_data_error(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # a value the database cannot take (out of range, a NUL in text …) is the client's
        return _error(400, "invalid value in the request")

    @api.exception_handler(sa.exc.DBAPIError)
    async def db_error(request: Request, exc: sa.exc.DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return _unavailable()
        log.error("database error on %s: %s", request.url.path, type(exc.orig).__name__)
        return _error(500, "internal error")

    from twin.observe import Metrics, RequestContext

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
            await _error(400, "NUL characters are not allowed in a request")(scope, receive, send)
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
