"""``/api/map/first``: what the map page draws first for the page's own query — its deck
and the panel of the unit's six elements — so that the page can draw both before Streamlit
has started (surfaces/mapshell). The deck names layers and tile addresses only: every row
in it is fetched, and scoped, by the tile routes. The panel holds the published counts the
page's own panel shows.

The API knows nothing of pages: the function that builds the view is given to
``create_api`` by the server (``first_view``); without one, this route answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.auth import current_principal
from twin.api.deps import get_read_engine
from twin.domain.access import Principal, uses
from twin.errors import NotFound

router = APIRouter(tags=["map"])

MAX_QUERY = 4096  # a page's query is a few hundred characters


@router.get("/map/first")
async def first(request: Request, engine: Engine = Depends(get_read_engine),
                principal: Principal = Depends(current_principal)) -> Response:
    """The first view: ``{"deck": pydeck JSON as text, "panel": HTML or null}`` (no caching:
    it follows the data);
    204 — nothing to draw — for nobody signed in or a role that reads no tiles (never 401:
    its Basic challenge would make the browser ask for a password over the page), for the
    wall's role (its page is the cockpit), and for a twin with no units yet."""
    build = getattr(request.app.state, "first_view", None)
    if build is None:
        raise NotFound("this server draws no map page")
    if not uses(principal, "tiles") or principal.role == "screen" or \
            len(request.url.query) > MAX_QUERY:
        return Response(status_code=204)
    params = dict(request.query_params)
    view = await run_in_threadpool(build, engine, request.app.state.settings.data_dir, params,
                                   principal)
    if view is None:
        return Response(status_code=204)
    return JSONResponse(view, headers={"Cache-Control": "private, no-store"})
