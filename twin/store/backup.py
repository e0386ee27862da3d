"""Backup and restore of a whole twin: ``python -m twin backup PATH`` / ``restore PATH``.

A backup is one ``.tar`` holding ``twin.dump`` (``pg_dump`` custom format of the twin's
database: every table, the accounts and the audit log included), ``manifest.json`` (the
schema revision, when, the PostGIS version and the row count of every table), the map's
rasters (``rasters/*.tif``), the photos of events (``photos/<event>/<sha256>.jpg``) and
the real-scene 3D models (``scenes/<name>/<version>/…``, tilesets and their tiles).
The keys (``pii.key``, ``link.key``) are not in it: keep them apart, as a backup must not
hold what unlocks it.

A restore checks the manifest (a backup from a newer schema than this code knows is
refused), saves what it will replace as a backup beside the file it restores, replaces the
twin's objects in one ``pg_restore --single-transaction`` (PostGIS stays), migrates the
result to this code's schema, and compares every table's rows with the manifest.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.config import Settings
from twin.errors import TwinError

FORMAT = "village-twin-backup/1"
# The files of the twin kept beside the database, under the data folder: terrain and
# imagery rasters, the photos of events (by event and hash), and the real-scene models (by
# scene and version; no part of a path starts with a dot). Only names of these shapes are
# written to a backup or taken from one.
FILES = {"rasters": re.compile(r"rasters/[^/]+\.tif"),
         "photos": re.compile(r"photos/\d+/[0-9a-f]{64}\.jpg"),
         "scenes": re.compile(r"scenes/[a-z0-9][a-z0-9-]*/[0-9a-f]{16}"
                              r"(?:/[\w-][\w.-]*)+", re.ASCII)}


class BackupError(TwinError):
    """A backup or restore that cannot be done, with the reason."""


def _tables(conn) -> list[str]:
    return list(conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'spatial_ref_sys' ORDER BY tablename")).scalars())


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows of every table of the twin (names from the catalogue, quoted)."""
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar()  # noqa: S608
                for t in _tables(conn)}


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, environment with PGPASSWORD) for pg_dump/pg_restore."""
    from psycopg.conninfo import make_conninfo

    url = engine.url
    params = {"dbname": url.database, "user": url.username,
              "port": url.query.get("port") or url.port,
              "host": url.query.get("host") or url.host}
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v}), env


def _bin(name: str) -> str:
    from twin.store.cluster import find_pg_bin

    return str(find_pg_bin() / name)


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        # the first lines say what failed; the last is only the end of the statement
        raise BackupError(f"{what} failed: {' '.join(detail[:3]) if detail else done.returncode}")


def backup(engine: Engine, settings: Settings, path: str | Path) -> dict:
    """Write a backup of the twin to ``path`` (a new .tar); returns its manifest."""
    from twin.store.db import current_revision

    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already: choose a new file")
    revision = current_revision(engine)
    if revision is None:
        raise BackupError("the database holds no twin (no schema revision)")
    with engine.connect() as conn:
        postgis = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar()
    conninfo, env = _libpq(engine)
    with tempfile.TemporaryDirectory(prefix="twin-backup-") as tmp:
        dump = Path(tmp) / "twin.dump"
        # counted inside the dump's snapshot would be exact; the dump of a busy twin may
        # hold a few more rows than these counts (a restore checks at least these)
        counts = row_counts(engine)
        _run([_bin("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={dump}", f"--dbname={conninfo}"], env, "pg_dump")
        manifest = {"format": FORMAT, "revision": revision, "postgis": postgis,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "rows": counts}
        files = _files(Path(settings.data_dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime = len(data), int(dt.datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, "twin.dump")
            for name in files:
                tar.add(Path(settings.data_dir) / name, name)
        partial.replace(path)  # a backup file exists only once it is whole
    return manifest


def _files(data_dir: Path) -> list[str]:
    """The twin's files under the data folder, as names relative to it."""
    found = (p.relative_to(data_dir).as_posix() for folder in FILES
             for p in (data_dir / folder).rglob("*") if p.is_file())
    return sorted(n for n in found if any(f.fullmatch(n) for f in FILES.values()))


def read_manifest(path: str | Path) -> dict:
    path = Path(path)
    try:
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path}: not a backup of the twin ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def _holds_twin(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM units)")).scalar())


def restore(engine: Engine, settings: Settings, path: str | Path, *,
            replace: bool = False) -> dict:
    """Restore a backup into the twin's database; returns the manifest. A database that
    already holds a twin is replaced only with ``replace`` (and saved first)."""
    from alembic.script import ScriptDirectory

    from twin.store.db import alembic_config, current_revision, downgrade, upgrade

    path = Path(path)
    manifest = read_manifest(path)
    known = {s.revision for s in ScriptDirectory.from_config(
        alembic_config(engine)).walk_revisions()}
    if manifest["revision"] not in known:
        raise BackupError(f"{path}: made by a newer version of the twin (schema "
                          f"{manifest['revision']}): update the code first")
    present = current_revision(engine)
    if present is not None and _holds_twin(engine):
        if not replace:
            raise BackupError("the database holds a twin: restore into an empty one, or "
                              "pass --replace (what it holds is saved first)")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        saved = path.with_name(f"{path.stem}.replaced-{stamp}.tar")
        backup(engine, settings, saved)
    conninfo, env = _libpq(engine)
    with tempfile.TemporaryDirectory(prefix="twin-restore-") as tmp:
        with tarfile.open(path) as tar:
            tar.extract("twin.dump", tmp, filter="data")
            files = [m for m in tar.getmembers()
                     if m.isfile() and any(f.fullmatch(m.name) for f in FILES.values())]
            tar.extractall(tmp, members=files, filter="data")
        if present is not None:
            downgrade(engine, "base")
            with engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        _run([_bin("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", f"--dbname={conninfo}", str(Path(tmp) / "twin.dump")],
             env, "pg_restore")
        for member in files:
            target = Path(settings.data_dir) / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / member.name, target)
    engine.dispose()  # connections opened before hold stale type and table caches
    upgrade(engine)
    got = row_counts(engine)
    short = {t: (n, got.get(t, 0)) for t, n in manifest["rows"].items() if got.get(t, 0) < n}
    if short:
        raise BackupError(f"restored, but tables hold fewer rows than the backup: {short}")
    return manifest
