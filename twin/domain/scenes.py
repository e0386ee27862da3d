"""Real-scene 3D models (三维实景): which version of each the map draws, and where a
version's files lie (``<data_dir>/scenes/<name>/<version>/``, ``tileset.json`` at the top)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.errors import NotFound

# What a scene's files may be, as served: tilesets, tiles, and the glTF's own parts.
MEDIA_TYPES = {".json": "application/json", ".b3dm": "application/octet-stream",
               ".glb": "model/gltf-binary", ".i3dm": "application/octet-stream",
               ".cmpt": "application/octet-stream", ".pnts": "application/octet-stream",
               ".bin": "application/octet-stream", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".webp": "image/webp"}


def scenes_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "scenes"


def scene_folder(data_dir: str | Path, name: str, version: str) -> Path:
    return scenes_dir(data_dir) / name / version


def current_scenes(engine: Engine) -> list[dict]:
    """The scenes the map draws: name, title, version and bounds (w, s, e, n)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT name, title, version, ST_XMin(footprint) AS w, ST_YMin(footprint) AS s,
                   ST_XMax(footprint) AS e, ST_YMax(footprint) AS n
              FROM scenes ORDER BY name""")).mappings().all()
    return [dict(r) for r in rows]


def scene_file(engine: Engine, data_dir: str | Path, name: str, version: str,
               path: str) -> tuple[Path, str, bool]:
    """(file, media type, whether ``version`` is the current one) of a file of a scene;
    NotFound for anything but a file of a kept version inside its folder."""
    with engine.connect() as conn:
        current = conn.execute(sa.text("SELECT version FROM scenes WHERE name = :n"),
                               {"n": name}).scalar()
    if current is None:
        raise NotFound(f"no scene {name!r}")
    folder = scene_folder(data_dir, name, version).resolve()
    target = (folder / path).resolve()
    media = MEDIA_TYPES.get(target.suffix.lower())
    if media is None or not target.is_relative_to(folder) or not target.is_file():
        raise NotFound(f"no file {path!r} in scene {name!r} version {version!r}")
    return target, media, version == current
