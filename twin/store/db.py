"""Engine factory, connection checks and migrations.

One place decides which database the twin talks to: ``TWIN_DATABASE_URL`` when set
(production, an external PostGIS), else the project's own cluster.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from twin.config import Settings
from twin.errors import ConfigError, DatabaseError
from twin.store.cluster import Cluster

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL the twin uses under these settings."""
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.data_dir, settings.db_port)
    if not cluster.status().running:
        raise DatabaseError(
            "the twin's database is not running: start it with `python -m twin db start` "
            "(or set TWIN_DATABASE_URL to an external PostGIS)"
        )
    return cluster.url()


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL must still not leak
        return "<unparsable URL>"


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """A pooled engine; the UI caches it with ``st.cache_resource``, the API once per process."""
    url = url or database_url(settings)
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"TWIN_DATABASE_URL is not a database URL: {safe_url(url)}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        raise ConfigError(f"the twin needs PostgreSQL with PostGIS, not {parsed.drivername}")
    return sa.create_engine(
        parsed,
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 10,
            # Parallel workers cost ~10 ms to start and two cores are shared by all
            # requests: the twin's queries are many and small (tiles, pages, counters).
            "options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC "
                       "-c max_parallel_workers_per_gather=0",
        },
    )


def make_read_engine(settings: Settings) -> Engine | None:
    """An engine on the read replica (``TWIN_DATABASE_READ_URL``), or None without one.
    Only reads go there: tiles, OGC, heat and the dashboards; every write, every session
    check and everything personal-data related stays on the primary."""
    if not settings.database_read_url:
        return None
    return make_engine(settings, settings.database_read_url)


def check(engine: Engine, *, schema: bool = True) -> str:
    """Connect once and confirm PostGIS (and, with ``schema``, the twin's tables); return the
    PostGIS version or raise one clear line saying what to do."""
    where = safe_url(engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            available = conn.execute(
                sa.text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")
            ).scalar()
            installed = conn.execute(
                sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar()
            migrated = conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise DatabaseError(
            f"cannot connect to {where}: {reason} — check TWIN_DATABASE_URL, or unset it to use "
            "the project's own database (`python -m twin db start`)"
        ) from None
    if not available and not installed:
        raise DatabaseError(
            f"{where} has no PostGIS: install it on that server (Debian: apt-get install "
            "postgresql-15-postgis-3), then run `python -m twin db upgrade`"
        )
    if schema and not (installed and migrated):
        raise DatabaseError(
            f"{where} has no twin schema yet: run `python -m twin db upgrade`"
        )
    return installed or available


def open_twin(settings: Settings) -> Engine:
    """An engine on the twin's database, checked: PostGIS present and schema migrated."""
    engine = make_engine(settings)
    check(engine)
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Undo migrations down to ``revision``."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        has = conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar()
        if not has:
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def require_head(engine: Engine) -> None:
    """Before writing a whole twin: the schema is the one this code ships, or one clear line
    saying what to do (a write into an older schema fails half-way with "relation … does not
    exist")."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise DatabaseError(f"the twin's schema is at revision {current}, this code needs "
                            f"{head}: run `python -m twin db upgrade`")


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()
