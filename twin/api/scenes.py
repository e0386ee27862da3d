"""``/api/scenes``: the real-scene 3D models (三维实景) as OGC 3D Tiles, read by deck.gl's
Tile3DLayer. A URL names the model's version (``/api/scenes/<name>/<version>/tileset.json``
and the tiles it names): the current version is answered ``immutable`` for a year, an
older one that is still on disk with a short ``max-age``. The client fetches only the tiles
its view needs (their screen-space error), never the whole model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse
from sqlalchemy.engine import Engine

from twin.api.deps import get_read_engine
from twin.domain.scenes import scene_file

router = APIRouter(tags=["scenes"])

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"


@router.get("/scenes/{name}/{version}/{path:path}")
def scene_file_route(request: Request,
                     name: Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$")],
                     version: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
                     path: Annotated[str, Path(max_length=300)],
                     engine: Engine = Depends(get_read_engine)) -> FileResponse:
    """One file of a version of a scene: its tileset.json, a tile, a glTF buffer."""
    target, media, current = scene_file(engine, request.app.state.settings.data_dir, name,
                                        version, path)
    return FileResponse(target, media_type=media,
                        headers={"Cache-Control": IMMUTABLE if current else SHORT,
                                 "X-Content-Type-Options": "nosniff"})
