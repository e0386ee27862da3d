"""``/api/static``: the deck.gl loader workers and deck.gl's standalone bundle, served by
the twin itself (offline first), and the script that holds the map page's map.

The vendor files are fetched once from the npm registry by ``scripts/setup`` into
``vendor/``; without this route deck.gl would load its workers from a CDN and draw nothing
on an intranet.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from twin.config import PROJECT_ROOT
from twin.errors import NotFound
from twin.urls import DECK_VERSION, LOADERS_VERSION, worker_url

WORKERS = PROJECT_ROOT / "vendor" / "loaders.gl" / LOADERS_VERSION
SERVED = ("mvt-worker.js", "terrain-worker.js")

router = APIRouter(tags=["static"])
__all__ = ["LOADERS_VERSION", "router", "worker_url"]


def _vendor_script(folder: FsPath, version: str, wanted: str, name: str,
                   served: tuple[str, ...], what: str) -> FileResponse:
    """One whitelisted script of a vendor folder at its one version, cached for good."""
    if version != wanted or name not in served:
        raise NotFound(f"no such {what}: {version}/{name}")
    path = folder / name
    if not path.exists():
        raise NotFound(f"{name} is not installed: run ./scripts/setup")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.get("/static/loaders/{version}/{name}")
def loader_worker(version: Annotated[str, Path(max_length=20)],
                  name: Annotated[str, Path(max_length=40)]) -> FileResponse:
    """One whitelisted worker script of the bundled loaders.gl version."""
    return _vendor_script(WORKERS, version, LOADERS_VERSION, name, SERVED, "worker")


# deck.gl's own standalone bundle and its JSON converter: the map page's map is drawn by
# them in the page itself, before and outside Streamlit (surfaces/mapshell).
DECK = PROJECT_ROOT / "vendor" / "deck.gl" / DECK_VERSION
DECK_SERVED = ("deck.min.js", "json.min.js")


@router.get("/static/deck/{version}/{name}")
def deck_bundle(version: Annotated[str, Path(max_length=20)],
                name: Annotated[str, Path(max_length=40)]) -> FileResponse:
    """One whitelisted file of the bundled deck.gl version."""
    return _vendor_script(DECK, version, DECK_VERSION, name, DECK_SERVED, "deck.gl file")


SHELL = PROJECT_ROOT / "surfaces" / "mapshell" / "shell.js"


@router.get("/static/map/shell.js")
def map_shell() -> FileResponse:
    """The map page's own map (surfaces/mapshell); its URL carries its version."""
    return FileResponse(SHELL, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})
