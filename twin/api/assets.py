"""``/api/static``: the deck.gl loader workers, served by the twin itself (offline first).

They are fetched once from the npm registry by ``scripts/setup`` into ``vendor/``; without
this route deck.gl would load them from a CDN and draw nothing on an intranet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from twin.config import PROJECT_ROOT
from twin.errors import NotFound
from twin.urls import LOADERS_VERSION, worker_url

WORKERS = PROJECT_ROOT / "vendor" / "loaders.gl" / LOADERS_VERSION
SERVED = ("mvt-worker.js", "terrain-worker.js")

router = APIRouter(tags=["static"])
__all__ = ["LOADERS_VERSION", "router", "worker_url"]


@router.get("/static/loaders/{version}/{name}")
def loader_worker(version: Annotated[str, Path(max_length=20)],
                  name: Annotated[str, Path(max_length=40)]) -> FileResponse:
    """One whitelisted worker script of the bundled loaders.gl version."""
    if version != LOADERS_VERSION or name not in SERVED:
        raise NotFound(f"no such worker: {version}/{name}")
    path = WORKERS / name
    if not path.exists():
        raise NotFound(f"{name} is not installed: run ./scripts/setup")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})
