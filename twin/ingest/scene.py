"""Real-scene 3D models (三维实景) brought into the twin: an OGC 3D Tiles tileset (a folder
or a zip with ``tileset.json``, b3dm or glb content), or CityJSON buildings converted to one.

Everything is checked before anything is kept (``geodata.tiles3d.check_tileset``): every
file the tileset names lies inside it, no content needs a decoder from another host, no
link, no zip-slip, at most ``MAX_BYTES``; and the model must stand in the county. The files
are unpacked or written into a folder of their own beside the scenes, then moved into
place and recorded in one transaction: on any error neither the files nor the row stay.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geodata.cityjson import CityJsonError, read_buildings
from geodata.errors import GeodataError
from geodata.guard import plain_path
from geodata.tiles3d import Mesh, TilesetError, check_tileset, unpack_zip, write_tileset
from twin.domain.scenes import scene_folder, scenes_dir
from twin.errors import LoadError

MAX_BYTES = 2 << 30  # a county's old-town model is a few hundred MB
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
KINDS = ("3dtiles", "cityjson", "sample")


@dataclass
class SceneReport:
    name: str
    version: str
    kind: str
    files: int
    bytes: int
    bounds: tuple[float, float, float, float]


def _name(path: Path, name: str | None) -> str:
    base = name or re.sub(r"[^a-z0-9-]+", "-", path.name.split(".")[0].lower()).strip("-")
    if not NAME.match(base or ""):
        raise LoadError(f"{path.name}: {base!r} is not a scene name: lower-case letters, "
                        "digits and hyphens, at most 40 (give one with --name)")
    return base


def _version(folder: Path) -> str:
    """A digest of every file's path and bytes: the same model, the same version."""
    digest = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(f.relative_to(folder)).encode() + b"\0")
        with f.open("rb") as src:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def _in_county(engine: Engine, bounds: tuple[float, float, float, float], label: str) -> None:
    with engine.connect() as conn:
        inside = conn.execute(sa.text("""
            SELECT EXISTS (SELECT 1 FROM units WHERE level = 'town' AND ST_Intersects(
                geom, ST_Centroid(ST_MakeEnvelope(:w, :s, :e, :n, 4326))))"""),
            dict(zip("wsen", bounds, strict=True))).scalar()
    if not inside:
        west, south, east, north = bounds
        raise LoadError(f"{label}: the model stands at {(west + east) / 2:.4f}, "
                        f"{(south + north) / 2:.4f}, outside the county's towns: check its "
                        "placement (root.transform or the CRS)")


def _prepare(path: Path, work: Path) -> tuple[Path, str]:
    """(the folder holding tileset.json, kind) of what was handed in, unpacked or converted
    into ``work``."""
    if path.is_dir():
        return path, "3dtiles"
    suffix = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".zip":
        return unpack_zip(path, work, MAX_BYTES), "3dtiles"
    if path.name == "tileset.json":
        return path.parent, "3dtiles"
    if suffix in (".city.json", ".json") or path.suffix.lower() == ".cityjson":
        scene = read_buildings(path)
        write_tileset(work, scene.frame, scene.buildings)
        return work, "cityjson"
    raise LoadError(f"{path.name}: a scene is a folder or .zip of 3D Tiles (tileset.json) or "
                    "a CityJSON file (.city.json)")


def import_scene(engine: Engine, data_dir: str | Path, path: str | Path, *, actor: str,
                 name: str | None = None, title: str | None = None) -> SceneReport:
    """Check, keep and record a real-scene model (see the module's notes)."""
    path = plain_path(path, LoadError)
    scene_name = _name(path, name)
    with _incoming(data_dir) as tmp:
        work = tmp / "files"
        work.mkdir()
        try:
            folder, kind = _prepare(path, work)
        except (TilesetError, CityJsonError, GeodataError) as exc:
            raise LoadError(str(exc)) from None
        return _record(engine, data_dir, folder, name=scene_name, kind=kind,
                       title=title or scene_name, actor=actor, label=path.name)


@contextmanager
def _incoming(data_dir: str | Path) -> Iterator[Path]:
    """A private folder beside the scenes (same file system: kept files move in at once),
    removed afterwards."""
    root = scenes_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".incoming-") as tmp:
        yield Path(tmp)


def _record(engine: Engine, data_dir: str | Path, folder: Path, *, name: str, kind: str,
            title: str, actor: str, label: str) -> SceneReport:
    """Check the tileset in ``folder`` and that it stands in the county, then keep it."""
    try:
        info = check_tileset(folder, MAX_BYTES)
    except (TilesetError, GeodataError) as exc:
        raise LoadError(str(exc)) from None
    _in_county(engine, info.bounds, label)
    report = SceneReport(name, _version(folder), kind, info.files, info.bytes, info.bounds)
    return _keep(engine, data_dir, folder, report, title, actor)


def _keep(engine: Engine, data_dir: str | Path, folder: Path, report: SceneReport,
          title: str, actor: str) -> SceneReport:
    """Copy the files into place and record the version, in one transaction."""
    target = scene_folder(data_dir, report.name, report.version)
    fresh = not target.exists()
    if fresh:
        staging = target.with_name(f".{report.version}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder, staging, symlinks=False)
    try:
        with engine.begin() as conn:
            west, south, east, north = report.bounds
            conn.execute(sa.text("""
                INSERT INTO scenes (name, title, kind, version, files, bytes, footprint,
                                    imported_by, imported_at)
                VALUES (:name, :title, :kind, :version, :files, :bytes,
                        ST_MakeEnvelope(:w, :s, :e, :n, 4326), :actor, now())
                ON CONFLICT (name) DO UPDATE SET
                    title = EXCLUDED.title, kind = EXCLUDED.kind, version = EXCLUDED.version,
                    files = EXCLUDED.files, bytes = EXCLUDED.bytes,
                    footprint = EXCLUDED.footprint, imported_by = EXCLUDED.imported_by,
                    imported_at = EXCLUDED.imported_at"""),
                {"name": report.name, "title": title, "kind": report.kind,
                 "version": report.version, "files": report.files, "bytes": report.bytes,
                 "w": west, "s": south, "e": east, "n": north, "actor": actor})
            if fresh:
                staging.replace(target)  # the files appear as the row commits
    except BaseException:
        if fresh:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(target, ignore_errors=True)
        raise
    return report


def keep_models(engine: Engine, data_dir: str | Path, frame, models: list[tuple[str, Mesh]],
                *, name: str, title: str, actor: str) -> SceneReport:
    """Write meshes (the sample's old town) as a scene of their own."""
    with _incoming(data_dir) as folder:
        write_tileset(folder, frame, models)
        return _record(engine, data_dir, folder, name=name, kind="sample", title=title,
                       actor=actor, label=name)
