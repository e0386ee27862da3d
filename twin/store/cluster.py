"""The project's own PostgreSQL + PostGIS cluster: created, started and stopped on demand.

The cluster lives under the data folder (default ``.twin/pg``), listens on a unix socket
in that folder and on one loopback port, and belongs to whoever runs the twin — or, when
that is root (``initdb`` and ``pg_ctl`` refuse root), to the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from twin.errors import ClusterError

SUPERUSER = "twin"
DATABASE = "twin"
SERVICE_USER = "postgres"
APT_HINT = "apt-get install -y postgresql-15-postgis-3"
# Unix sockets have a 107-byte path limit; leave room for "/.s.PGSQL.65535".
_MAX_SOCKET_DIR = 90


def find_pg_bin() -> Path:
    """The newest PostgreSQL server ``bin`` folder on this machine."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ClusterError(
        "PostgreSQL server binaries not found (no initdb): run ./scripts/setup, or as root: "
        f"{APT_HINT}"
    )


def extension_installed(pg_bin: Path, name: str) -> bool:
    """True if an extension's files (``postgis``, ``citus``) are installed for this
    PostgreSQL version."""
    version = pg_bin.parent.name
    return bool(glob.glob(f"/usr/share/postgresql/{version}/extension/{name}.control"))


def postgis_installed(pg_bin: Path) -> bool:
    return extension_installed(pg_bin, "postgis")


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    initialised: bool
    port: int | None
    data: Path
    pid: int | None


class Cluster:
    """A private PostgreSQL cluster under ``root`` (the project's data folder)."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root).absolute()
        self._wanted_port = port
        self.pg_bin = find_pg_bin()
        self._as_root = os.geteuid() == 0

    # --- paths -----------------------------------------------------------------------
    @property
    def home(self) -> Path:
        """Folder holding data/, run/, log/: ``root/pg``, or the real folder that link points
        to (the server must be given real paths it can reach)."""
        link = self.root / "pg"
        return link.resolve() if link.is_symlink() else link

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        return self.home / "log" / "postgres.log"

    @property
    def port(self) -> int:
        port_file = self.root / "pg.port"
        if port_file.exists():
            return int(port_file.read_text().strip())
        port = self._wanted_port or _free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        port_file.write_text(f"{port}\n")
        return port

    def url(self) -> str:
        """SQLAlchemy URL of this cluster's twin database (socket, no password)."""
        return (
            f"postgresql+psycopg://{SUPERUSER}@/{DATABASE}"
            f"?host={self.run_dir.resolve()}&port={self.port}"
        )

    # --- running commands ------------------------------------------------------------
    def _cmd(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(a) for a in args]
        if self._as_root:
            argv = ["runuser", "-u", SERVICE_USER, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines() or ["(no output)"]
            raise ClusterError(f"{Path(str(args[0])).name} failed: {lines[-1]} — see {self.log_file}")
        return proc

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._cmd(self.pg_bin / "pg_ctl", "-D", self.data, *args, check=check)

    # --- lifecycle -------------------------------------------------------------------
    def status(self) -> ClusterStatus:
        initialised = (self.data / "PG_VERSION").exists()
        pid = None
        running = False
        if initialised:
            running = self._pg_ctl("status", check=False).returncode == 0
            pid_file = self.data / "postmaster.pid"
            if running and pid_file.exists():
                pid = int(pid_file.read_text().splitlines()[0])
        port_file = self.root / "pg.port"
        port = int(port_file.read_text()) if port_file.exists() else None
        return ClusterStatus(running, initialised, port, self.data, pid)

    def init(self) -> bool:
        """Create the cluster if it does not exist yet; return True if it was created."""
        if not postgis_installed(self.pg_bin):
            raise ClusterError(f"PostGIS is not installed: run ./scripts/setup, or as root: {APT_HINT}")
        if (self.data / "PG_VERSION").exists():
            return False
        self._make_home()
        password = secrets.token_urlsafe(24)
        pwfile = self.home / "initdb.pw"
        pwfile.write_text(password + "\n")
        self._own(pwfile)
        try:
            self._cmd(
                self.pg_bin / "initdb", "-D", self.data, "-U", SUPERUSER, "--encoding=UTF8",
                "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        secret = self.root / "pg.password"
        secret.write_text(password + "\n")
        secret.chmod(0o600)
        conf = self.data / "postgresql.auto.conf"
        with conf.open("a") as f:
            f.write(_SERVER_CONF.format(run=self.run_dir.resolve(), port=self.port))
        return True

    def start(self, timeout: int = 60) -> str:
        """Start the cluster (creating it first if needed) and make sure the database exists.

        Harmless when it already runs; recovers a stale pid file left by a crash.
        """
        created = self.init()
        if self.status().running:
            self.ensure_database()
            return "already running"
        self._remove_stale_pid()
        self._ensure_port_free()
        self._make_home()
        self._pg_ctl("-l", self.log_file, "-w", "-t", str(timeout), "start")
        self.ensure_database()
        return "created and started" if created else "started"

    def make_replica(self, primary: Cluster) -> None:
        """Make this cluster a streaming replica of ``primary`` (running, on this machine):
        a base backup over the primary's socket with WAL streamed alongside, the standby
        settings written (``-R``), and this cluster's own port and socket folder. Start it
        with ``start()``; it follows the primary from then on, read-only."""
        if (self.data / "PG_VERSION").exists():
            raise ClusterError(f"{self.data} holds a cluster already")
        self._make_home()
        self._cmd(self.pg_bin / "pg_basebackup", "-h", primary.run_dir.resolve(), "-p",
                  str(primary.port), "-U", SUPERUSER, "-D", self.data, "-R", "-X", "stream",
                  "-c", "fast")
        with (self.data / "postgresql.auto.conf").open("a") as f:  # later lines win
            f.write(_SERVER_CONF.format(run=self.run_dir.resolve(), port=self.port))
        for name in ("pg.password",):
            if (primary.root / name).exists():
                (self.root / name).write_text((primary.root / name).read_text())
                (self.root / name).chmod(0o600)

    def remove(self) -> None:
        """Stop the cluster and delete its files (tests and throwaway clusters only)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        link = self.root / "pg"
        if link.is_symlink():
            link.unlink()

    def stop(self) -> str:
        if not self.status().running:
            return "not running"
        self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        return "stopped"

    def ensure_database(self) -> None:
        """Create the twin database if it is missing (through the superuser socket); a
        replica has it from its primary."""
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    host=str(self.run_dir.resolve()), port=self.port, user=SUPERUSER,
                    dbname="postgres", autocommit=True, connect_timeout=5,
                ) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"cluster started but refuses connections: {exc}") from exc
                time.sleep(0.3)

    # --- helpers ---------------------------------------------------------------------
    def _make_home(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        link = self.root / "pg"
        if not link.exists():
            target = self._home_target()
            if target != link:
                target.mkdir(parents=True, exist_ok=True)
                link.unlink(missing_ok=True)  # a dangling link from a removed target
                link.symlink_to(target, target_is_directory=True)
            else:
                link.mkdir()
        for sub in (self.home, self.data, self.run_dir, self.log_file.parent):
            sub.mkdir(exist_ok=True)
            self._own(sub)
        self.data.chmod(0o700)
        self.run_dir.chmod(0o700)

    def _home_target(self) -> Path:
        """Where the cluster's files go: under the data folder when the server user can
        reach it and the socket path fits, else in a private folder under /var/lib or /tmp."""
        home = self.root / "pg"
        too_long = len(str(home / "run")) > _MAX_SOCKET_DIR
        if not too_long and (not self._as_root or self._service_user_can_reach(self.root)):
            return home
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        base = Path("/var/lib/village-twin") if self._as_root else Path("/tmp")
        return base / f"twin-{digest}"

    def _service_user_can_reach(self, path: Path) -> bool:
        probe = subprocess.run(
            ["runuser", "-u", SERVICE_USER, "--", "test", "-x", str(path)], capture_output=True
        )
        return probe.returncode == 0

    def _own(self, path: Path) -> None:
        if self._as_root:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _remove_stale_pid(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"postgres" in cmdline:
                return  # a live server; pg_ctl will report it
        except (ValueError, IndexError, ProcessLookupError, FileNotFoundError):
            pass
        except PermissionError:
            return
        pid_file.unlink()

    def _ensure_port_free(self) -> None:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError as exc:
                raise ClusterError(
                    f"port {self.port} on 127.0.0.1 is taken by another program: set TWIN_DB_PORT "
                    f"to a free port and delete {self.root / 'pg.port'}"
                ) from exc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SERVER_CONF = """
# --- village twin: written once by `python -m twin db start` ---
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{run}'
unix_socket_permissions = 0700
shared_buffers = '512MB'
work_mem = '32MB'
maintenance_work_mem = '512MB'
max_wal_size = '4GB'
checkpoint_timeout = '15min'
wal_level = 'replica'
max_wal_senders = 4
effective_cache_size = '8GB'
random_page_cost = 1.1
jit = off
logging_collector = off
log_min_duration_statement = 2000
timezone = 'UTC'
"""
