#!/usr/bin/env python
"""Benchmark of the twin's building tiles against its Python peer, tipg (PostGIS → MVT).

The same sample database, the same tiles (spread over the sample's buildings), uncached on
both sides: the twin's ``/api/tiles/buildings/{z}/{x}/{y}.mvt`` without a data version (so
never from its cache) against tipg's ``/collections/public.buildings/tiles/WebMercatorQuad/
{z}/{x}/{y}`` with the same properties. tipg runs from its own virtual environment under
the data folder (``bench/peer``, made on first use from PyPI), never from the project's.

    .venv/bin/python scripts/bench_peer.py [--scale town] [--reuse] [--keep] [--per-zoom 20]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiles import HEADERS, fetch_keepalive, pick_tiles  # noqa: E402
from benchlib import (  # noqa: E402
    bench_parser,
    bench_setup,
    bench_url,
    drop_bench,
    machine,
    median_p95,
    start_server,
    timings,
    wait_up,
)

from twin.config import Settings  # noqa: E402

TIPG = "tipg==1.6.1"
PROPERTIES = "id,use,floors,height_m"  # the twin's building tile carries these


def fetch_ok(url: str) -> bytes:
    """The body of a 200 over the thread's keep-alive connection to that server."""
    status, body, _ = fetch_keepalive(url)
    if status != 200:
        raise SystemExit(f"{url}: HTTP {status}")
    return body


def peer_python(folder: Path) -> Path:
    """The peer's virtual environment (made once): tipg and uvicorn from PyPI."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", TIPG, "uvicorn"],
                       check=True)
    return python


def asyncpg_dsn(url: str, settings: Settings) -> str:
    """tipg's DATABASE_URL for the bench database. tipg's settings want a host, so it
    connects over loopback TCP (the embedded cluster's password), the twin over its socket."""
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    u = make_url(url)
    password = u.password or (Path(settings.data_dir) / "pg.password").read_text().strip()
    host = u.host if u.host and not u.host.startswith("/") else "127.0.0.1"
    port = u.query.get("port") or u.port or 5432
    return f"postgresql://{u.username}:{quote(str(password), safe='')}@{host}:{port}/{u.database}"


def start_tipg(python: Path, url: str, settings: Settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": asyncpg_dsn(url, settings), "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_DB_TABLES": '["public.buildings"]', "TIPG_DEBUG": "false"}
    proc = subprocess.Popen([str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(port),
                             "--log-level", "warning"], env=env, cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    return wait_up(proc, base, "/collections/public.buildings", "tipg", tries=300), base


def main() -> None:
    parser = bench_parser(__doc__, scale="town")
    parser.add_argument("--per-zoom", type=int, default=20)
    args = parser.parse_args()
    settings, data_dir, engine, headers = bench_setup(args)
    HEADERS.update(headers)
    url = bench_url(settings)
    python = peer_python(data_dir / "peer")
    twin_proc, twin_base = start_server(url, data_dir)
    peer_proc, peer_base = start_tipg(python, url, settings)
    rows = []
    try:
        for z, chosen in pick_tiles(engine, args.per_zoom).items():
            ours, theirs, sizes = [], [], []
            for t in chosen:
                mine = f"{twin_base}/api/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt"
                peer = (f"{peer_base}/collections/public.buildings/tiles/WebMercatorQuad/"
                        f"{t.z}/{t.x}/{t.y}?properties={PROPERTIES}")
                # in turn, tile by tile: the same conditions for both
                ours.append(timings(lambda u=mine: fetch_keepalive(u), args.repeat)[0])
                theirs.append(timings(lambda u=peer: fetch_keepalive(u), args.repeat)[0])
                sizes.append((len(fetch_ok(mine)), len(fetch_ok(peer))))
            (om, op), (tm, tp) = median_p95(ours), median_p95(theirs)
            mb, tb = (sum(s[i] for s in sizes) / len(sizes) / 1024 for i in (0, 1))
            rows.append(f"| z{z} ({len(chosen)} tiles) | {om:.1f} ({op:.1f}) ms | "
                        f"{tm:.1f} ({tp:.1f}) ms | {mb:.0f} KB / {tb:.0f} KB | {om / tm:.2f} |")
    finally:
        for proc in (twin_proc, peer_proc):
            proc.terminate()
            proc.wait(timeout=30)
    print(f"Building tiles, the twin against tipg 1.6.1, {args.scale} sample, {date.today()}, "
          f"{machine()}; uncached, one keep-alive client, median of {args.repeat} per tile\n")
    print("| zoom | twin median (p95) | tipg median (p95) | mean tile size twin / tipg | "
          "ratio (≤ 1.0) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


if __name__ == "__main__":
    main()
