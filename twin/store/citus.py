"""The twin on several database nodes: a Citus coordinator and N workers (docs/scaling.md).

``python -m twin cluster start --workers N`` runs them on this machine, each a private
PostgreSQL + PostGIS + Citus cluster under ``<data>/citus/<node>`` on its own loopback port;
the product then talks to the coordinator only (``twin cluster url`` →
``TWIN_DATABASE_URL``). On several machines the nodes are the same, at their hosts' addresses
instead of 127.0.0.1 and their own ports: nothing else changes.

The nodes reach each other over TCP with one password, shared by the nodes and kept in
``<data>/citus/pg.password`` (mode 600), given to Citus in ``pg_dist_authinfo`` on every
node; the twin itself connects to the coordinator over its unix socket.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from twin.errors import ClusterError
from twin.store.cluster import DATABASE, SUPERUSER, Cluster, ClusterStatus, extension_installed

COORDINATOR = "coordinator"
INSTALL_HINT = ("Citus is not installed: as root run ./scripts/install-citus (with "
                "TWIN_CITUS_SOURCE=<citus-x.y.z.tar.gz> where its repository cannot be reached)")
# Written once into each node's postgresql.auto.conf (later lines win over the twin's own).
_NODE_CONF = """
# --- village twin: a Citus node, written once by `python -m twin cluster start` ---
shared_preload_libraries = 'citus'
shared_buffers = '256MB'
max_connections = 200
citus.shard_count = {shards}
citus.max_cached_conns_per_worker = 4
"""
# Shards per distributed table, per worker: a fan-out query (a tile, the county's roll-up)
# is one task per shard, so more shards than the workers' cores only add round trips.
# Measured on the town sample, 2 workers sharing 2 cores, building tiles z12–z16 against one
# node: 32 shards 3.4–5.7×; 8 shards 1.9–3.1×, and 1.4–2.2× with 4 cached connections per
# worker (above). A cluster of bigger workers takes more (--shards at its creation).
SHARDS_PER_WORKER = 4


@dataclass(frozen=True)
class NodeStatus:
    name: str
    status: ClusterStatus


class CitusCluster:
    """A coordinator and its workers under ``root`` (the data folder)."""

    def __init__(self, root: Path, workers: int | None = None,
                 shards: int | None = None) -> None:
        self.root = Path(root).absolute() / "citus"
        count_file = self.root / "workers"
        if workers is None:
            workers = int(count_file.read_text()) if count_file.exists() else 2
        if not 1 <= workers <= 16:
            raise ClusterError(f"--workers must be between 1 and 16, not {workers}")
        self.workers = workers
        self.shards = shards or SHARDS_PER_WORKER * workers

    @property
    def names(self) -> list[str]:
        return [COORDINATOR, *(f"worker-{i}" for i in range(1, self.workers + 1))]

    def node(self, name: str) -> Cluster:
        return Cluster(self.root / name)

    @property
    def coordinator(self) -> Cluster:
        return self.node(COORDINATOR)

    def url(self) -> str:
        """SQLAlchemy URL of the coordinator's twin database: what TWIN_DATABASE_URL takes."""
        return self.coordinator.url()

    def status(self) -> list[NodeStatus]:
        return [NodeStatus(n, self.node(n).status()) for n in self.names]

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> list[str]:
        """Create (once) and start every node, with PostGIS and Citus in its twin database,
        and register the workers with the coordinator; harmless when they already run."""
        pg_bin = self.coordinator.pg_bin
        if not extension_installed(pg_bin, "citus"):
            raise ClusterError(INSTALL_HINT)
        known = self.root / "workers"
        if known.exists() and int(known.read_text()) != self.workers:
            raise ClusterError(f"{self.root} holds a cluster of {known.read_text().strip()} "
                               f"workers: stop it and remove the folder to change that")
        self.root.mkdir(parents=True, exist_ok=True)
        known.write_text(f"{self.workers}\n")
        password = self._password()
        said = []
        for name in self.names:
            node = self.node(name)
            created = node.init()
            if created:
                with (node.data / "postgresql.auto.conf").open("a") as f:
                    f.write(_NODE_CONF.format(shards=self.shards))
            said.append(f"{name}: {node.start()} on port {node.port}")
            self._prepare(node, password)
        self._register()
        return said

    def stop(self) -> list[str]:
        """Stop the workers, then the coordinator."""
        return [f"{n}: {self.node(n).stop()}" for n in reversed(self.names)]

    def remove(self) -> None:
        """Stop every node and delete its files (tests and throwaway clusters only)."""
        for name in reversed(self.names):
            self.node(name).remove()

    # --- helpers -------------------------------------------------------------------------
    def _password(self) -> str:
        secret = self.root / "pg.password"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(24) + "\n")
            secret.chmod(0o600)
        return secret.read_text().strip()

    def _connect(self, node: Cluster, dbname: str = DATABASE):
        import psycopg

        return psycopg.connect(host=str(node.run_dir.resolve()), port=node.port, user=SUPERUSER,
                               dbname=dbname, autocommit=True, connect_timeout=10)

    def _prepare(self, node: Cluster, password: str) -> None:
        """The shared password, the extensions and Citus's credentials for the other nodes;
        once (a registered worker takes catalog changes from the coordinator only)."""
        from psycopg import sql

        with self._connect(node) as conn:
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() \
                    and conn.execute("SELECT 1 FROM pg_dist_authinfo WHERE nodeid = 0 AND "
                                     "rolename = %s", (SUPERUSER,)).fetchone():
                return
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(password)))
            conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) "
                         "VALUES (0, %s, %s)", (SUPERUSER, f"password={password}"))

    def _register(self) -> None:
        """Tell the coordinator where it and its workers are (once each)."""
        coordinator = self.coordinator
        deadline = time.monotonic() + 60
        with self._connect(coordinator) as conn:
            conn.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)",
                         (coordinator.port,))
            present = {port for (port,) in conn.execute(
                "SELECT nodeport FROM pg_dist_node WHERE noderole = 'primary'")}
            for name in self.names[1:]:
                port = self.node(name).port
                if port in present:
                    continue
                while True:
                    try:
                        conn.execute("SELECT citus_add_node('127.0.0.1', %s)", (port,))
                        break
                    except Exception as exc:  # noqa: BLE001 - a worker still starting
                        if time.monotonic() > deadline:
                            raise ClusterError(f"the coordinator cannot reach {name} on port "
                                               f"{port}: {exc}") from exc
                        time.sleep(0.5)
