"""Shared pieces of the benchmark scripts: the bench database, timing, machine facts."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twin.config import Settings  # noqa: E402
from twin.store import db as twin_db  # noqa: E402
from twin.store.cluster import Cluster  # noqa: E402

BENCH_DB = "twin_bench"


def server_url(settings: Settings) -> str:
    """URL of the server that holds the bench database (the embedded cluster by default)."""
    if settings.database_url:
        return settings.database_url
    cluster = Cluster(settings.data_dir, settings.db_port)
    cluster.start()
    return cluster.url()


def bench_url(settings: Settings) -> str:
    return sa.engine.make_url(server_url(settings)).set(database=BENCH_DB).render_as_string(
        hide_password=False)


def _admin(settings: Settings):
    return twin_db.make_engine(settings, server_url(settings)).execution_options(
        isolation_level="AUTOCOMMIT")


def bench_engine(settings: Settings, *, fresh: bool = True):
    """A migrated bench database beside the twin's own (emptied first when ``fresh``)."""
    admin = _admin(settings)
    with admin.connect() as conn:
        if fresh:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                              {"d": BENCH_DB}).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{BENCH_DB}"'))
    admin.dispose()
    engine = twin_db.make_engine(settings, bench_url(settings))
    twin_db.upgrade(engine)
    return engine


def bench_parser(doc: str, scale: str = "county", repeat: int = 5) -> argparse.ArgumentParser:
    """The options every benchmark takes: --scale, --reuse, --keep, --repeat."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", default=scale, choices=("village", "town", "county"))
    parser.add_argument("--reuse", action="store_true", help="reuse a loaded twin_bench")
    parser.add_argument("--keep", action="store_true", help="keep twin_bench afterwards")
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


def bench_setup(args: argparse.Namespace) -> tuple[Settings, Path, object, dict[str, str]]:
    """(settings, bench data folder, engine of the loaded bench database, the HTTP headers of
    a signed-in planner) for a benchmark's parsed options."""
    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, data_dir)
    cookie = "; ".join(f"{k}={v}" for k, v in bench_session(engine).items())
    return settings, data_dir, engine, {"Cookie": cookie}


def drop_bench(settings: Settings) -> None:
    admin = _admin(settings)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
    admin.dispose()


def timings(fn: Callable[[], object], repeat: int, warm: bool = True) -> tuple[float, float]:
    """(median, p95) in milliseconds of ``repeat`` calls."""
    if warm:
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return median_p95(samples)


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def row(measure: str, value: str, target: str, ratio: float | None) -> str:
    """One row of a benchmark's Markdown table (ratio: the value against its target)."""
    return f"| {measure} | {value} | {target} | {'—' if ratio is None else f'{ratio:.2f}'} |"


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        mem = 0
    return f"{cpu}, {os.cpu_count()} cores, {mem} GB RAM"


def bench_session(engine, user: str = "bench-planner", role: str = "planner",
                  scope: tuple[str, ...] = ()) -> dict[str, str]:
    """An account of the bench database (a planner unless told; made once) and a live
    session of it, as the cookie a signed-in browser holds."""
    from twin.domain import accounts

    password = "bench-password-2026"
    if not any(a.username == user for a in accounts.list_users(engine)):
        accounts.add_user(engine, user, role, scope=scope, password=password)
    accounts.set_password(engine, user, password, must_change=False)
    token, _ = accounts.sign_in(engine, user, password)
    return {accounts.COOKIE: token}


def ensure_sample(engine, scale: str, data_dir: Path) -> None:
    """Load the sample (and write its rasters into ``data_dir``) unless the bench database
    already holds one."""
    from twin.domain.pii import PiiKey
    from twin.ingest.load import write_sample
    from twin.runtime.cli import sample_scene
    from twin.sample.generate import generate
    from twin.sample.raster import write_sample_rasters

    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM units)")).scalar():
            if not (data_dir / "rasters" / "dem.tif").exists():
                raise SystemExit(f"{BENCH_DB} holds data but {data_dir}/rasters has none: "
                                 "run without --reuse")
            if not conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM scenes)")).scalar():
                sample_scene(engine, data_dir, generate(scale, 0).buildings)  # older loads
            return
    key = PiiKey(b"bench-only-key-0123456789")
    if scale == "city":  # five counties, one at a time; the first one's rasters and scene
        from twin.runtime.cli import write_city
        from twin.sample.generate import default_end

        _, sample = write_city(engine, key, end=default_end())
    else:
        sample = generate(scale, 0)
        write_sample(engine, sample, key)
    write_sample_rasters(sample, data_dir / "rasters")
    sample_scene(engine, data_dir, sample.buildings)
    from twin.domain.monitor import evaluate_all

    evaluate_all(engine)  # as `twin sample` does


def start_server(url: str, data_dir: Path):
    """The product's server (server.py) on a free loopback port; returns (process, base)."""
    import socket
    import subprocess

    from twin.runtime.compress import precompress_bundles

    precompress_bundles()  # as `twin serve` does
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TWIN_DATABASE_URL": url, "TWIN_DATA_DIR": str(data_dir)}
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, str(root / "server.py"), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=root)
    base = f"http://127.0.0.1:{port}"
    return wait_up(proc, base, "/api/health", "the server"), base


def wait_up(proc, base: str, path: str, what: str, tries: int = 200):
    """``proc`` once ``base + path`` answers 200 (killed, and the run stopped, if it never
    does)."""
    import urllib.request

    for _ in range(tries):
        try:
            with urllib.request.urlopen(base + path, timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{what} did not start")


# Chromium as the benchmarks run it: headless, software WebGL, nothing fetched for itself
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def signed_context(browser, url: str, cookies: dict[str, str], **options):
    """A fresh browser context that holds a live session (``cookies``, from bench_session),
    as a returning user's browser does (signing in is not part of the measures)."""
    context = browser.new_context(**options)
    base = "/".join(url.split("/")[:3])
    context.add_cookies([{"name": name, "value": value, "url": base}
                         for name, value in cookies.items()])
    return context
