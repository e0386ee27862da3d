"""``POST /api/platform/changes``: the provincial grassroots-governance platform's changes
to the county's events (docs/platform-sync.md). Signed with the shared key
(``TWIN_PLATFORM_KEY``; without one this endpoint does not exist: 404), at most 1,000
changes and 2 MB a request, each applied once by its id (twin.domain.sync)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from twin.api.deps import get_engine
from twin.domain import sync

router = APIRouter(prefix="/platform", tags=["platform"])
MAX_BODY = 2 << 20
MAX_CHANGES = 1000


@router.post("/changes", name="platform_changes")
async def changes(request: Request, engine: Engine = Depends(get_engine)) -> JSONResponse:
    """Apply the platform's changes in order; answers each one's result: ``applied``,
    ``duplicate`` (its id was applied before) or ``rejected`` (with the reason; nothing of
    it was kept)."""
    settings = request.app.state.settings
    if not settings.platform_key:
        return JSONResponse({"detail": "no platform is configured"}, status_code=404)
    size = request.headers.get("content-length", "")
    if not size.isdigit() or int(size) > MAX_BODY:
        return JSONResponse({"detail": f"a request holds at most {MAX_BODY >> 20} MB"},
                            status_code=413)
    body = await request.body()
    try:
        sync.check_signature(settings.platform_key.encode(),
                             request.headers.get("x-twin-timestamp"),
                             request.headers.get("x-twin-signature"), body)
    except sync.SyncError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=401)
    try:
        message = json.loads(body)
        items = message["changes"]
        if not isinstance(items, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"detail": 'the body is {"changes": [ … ]}'}, status_code=400)
    if len(items) > MAX_CHANGES:
        return JSONResponse({"detail": f"at most {MAX_CHANGES} changes a request"},
                            status_code=413)
    results = await run_in_threadpool(sync.receive, engine, items, settings.platform_name)
    return JSONResponse({"results": [
        {k: v for k, v in vars(r).items() if v is not None} for r in results]})
