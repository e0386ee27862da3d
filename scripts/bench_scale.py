#!/usr/bin/env python
"""Benchmark of the twin on Citus: one sample on one node, then spread over a coordinator and
two workers, read the same way.

A Citus cluster under ``<data>/bench/citus`` (made on first use: ``twin cluster`` with two
workers; Citus installed by ``./scripts/install-citus``). The sample is loaded on the
coordinator, whose tables are then local: the one-node figures. ``twin cluster distribute``
spreads them, and the same requests are timed again, through the product's server:

- building tiles per zoom (uncached: no data version in the URL), one keep-alive client;
- roll-ups of the whole twin and of a town (``twin.domain.summary.rollup``);
- an OGC items page of buildings in a box of about 1 km, and Open311's request list;
- one town's residents and households, counted on the database (the plan: one task);
- the escalation sweep's round each minute, once the first round escalated what was due.

``--scale city`` is five counties (``twin sample --scale city``), generated one at a time.

    .venv/bin/python scripts/bench_scale.py [--scale town|county|city] [--per-zoom 10] [--shards N]
        [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_tiles  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from bench_tiles import fetch_keepalive, pick_tiles  # noqa: E402
from benchlib import (  # noqa: E402
    bench_session,
    ensure_sample,
    machine,
    median_p95,
    start_server,
    timings,
)

from twin.config import Settings  # noqa: E402
from twin.domain.summary import rollup  # noqa: E402
from twin.domain.workflow import sweep  # noqa: E402
from twin.store import db as twin_db  # noqa: E402
from twin.store.citus import CitusCluster  # noqa: E402
from twin.store.distribution import distribute  # noqa: E402

WARM = 12  # more than the server's pooled connections (TWIN_POOL_SIZE)


def fetch_ok(url: str) -> bytes:
    status, body, _ = fetch_keepalive(url)
    if status not in (200, 204):
        raise SystemExit(f"{url}: HTTP {status} {body[:200]!r}")
    return body


def measure(engine, base: str, chosen: dict, town: dict, repeat: int,
            now: datetime) -> dict[str, tuple]:
    """label → (median ms, p95 ms) of every measured request, in order. Each request is
    first made WARM times: on Citus the first distributed query of a database connection
    loads Citus's metadata into it (100–450 ms, measured), once per pooled connection."""
    out: dict[str, tuple] = {}
    for _ in range(WARM):
        for tiles in chosen.values():
            for t in tiles:
                fetch_ok(f"{base}/api/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt")
        fetch_ok(f"{base}/api/open311/v2/requests.json")
    for z, tiles in chosen.items():
        per_tile = [timings(lambda u=f"{base}/api/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt":
                            fetch_ok(u), repeat)[0] for t in tiles]
        out[f"building tile z{z} ({len(tiles)} tiles)"] = median_p95(per_tile)
    out["roll-up, the whole twin"] = timings(lambda: rollup(engine), repeat)
    out[f"roll-up, town ({town['name']})"] = timings(lambda: rollup(engine, town["id"]), repeat)
    box = f"{town['lon'] - 0.005},{town['lat'] - 0.005},{town['lon'] + 0.005},{town['lat'] + 0.005}"
    out["OGC buildings items, 100 in a ~1 km box"] = timings(lambda: fetch_ok(
        f"{base}/api/ogc/collections/buildings/items?limit=100&bbox={box}"), repeat)
    out["Open311 requests (the last 90 days)"] = timings(lambda: fetch_ok(
        f"{base}/api/open311/v2/requests.json"), repeat)

    def count_town() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(
                "SELECT count(*) FROM people p JOIN households h ON h.town_id = p.town_id "
                "AND h.id = p.household_id WHERE p.town_id = :t"), {"t": town["id"]}).scalar()
    out["a town's residents with their households (SQL)"] = timings(count_town, repeat)
    # what runs every minute: the round after the first one escalated what was due
    sweep(engine, now)
    out["escalation sweep, nothing newly due"] = timings(lambda: sweep(engine, now), repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="town", choices=("village", "town", "county", "city"))
    parser.add_argument("--per-zoom", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shards", type=int, default=None,
                        help="shards per distributed table (default: twin cluster's)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the sample the kept cluster holds (still one node)")
    args = parser.parse_args()
    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        CitusCluster(data_dir, workers=2).remove()  # a fresh cluster: the sample loads locally
    nodes = CitusCluster(data_dir, workers=2, shards=args.shards)
    nodes.start()
    engine = twin_db.make_engine(settings, nodes.url())
    twin_db.upgrade(engine)
    started = time.monotonic()
    ensure_sample(engine, args.scale, data_dir)
    if args.reuse:  # a run that stopped after loading: its readings evaluated (idempotent)
        from twin.domain.monitor import evaluate_all

        evaluate_all(engine)
    loaded_s = time.monotonic() - started
    with engine.connect() as conn:
        town = dict(conn.execute(sa.text(
            "SELECT u.id, u.name, ST_X(ST_PointOnSurface(b.geom)) AS lon, "
            "ST_Y(ST_PointOnSurface(b.geom)) AS lat FROM units u "
            "JOIN buildings b ON b.town_id = u.id WHERE u.level = 'town' "
            "ORDER BY u.id, b.id LIMIT 1")).mappings().one())
        residents = conn.execute(sa.text("SELECT count(*) FROM people")).scalar()
    chosen = pick_tiles(engine, args.per_zoom)
    now = datetime.now(UTC)
    figures = []
    for phase in ("one node", "distributed"):
        if phase == "distributed":
            started = time.monotonic()
            report = distribute(engine)
            distribute_s = time.monotonic() - started
        bench_tiles.HEADERS["Cookie"] = "; ".join(
            f"{k}={v}" for k, v in bench_session(engine).items())
        proc, base = start_server(nodes.url(), data_dir)
        try:
            figures.append(measure(engine, base, chosen, town, args.repeat, now))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            bench_tiles._local.__dict__.pop("conns", None)
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(sa.text(
            "EXPLAIN SELECT count(*) FROM people WHERE town_id = :t"), {"t": town["id"]}
        ).scalars())
    tasks = next((line.strip() for line in plan.splitlines() if "Task Count" in line), "?")
    print(f"The twin on one node and on Citus (a coordinator and 2 workers, loopback, one "
          f"machine), {args.scale} sample ({residents:,} residents), {date.today()}, "
          f"{machine()}; {nodes.shards} shards per table; median of {args.repeat} (tiles: median over the tiles of each "
          f"tile's median), uncached\n")
    print("| measure | one node: median (p95) | 1 + 2 workers: median (p95) | ratio |")
    print("|---|---|---|---|")
    for label, (m1, p1) in figures[0].items():
        m2, p2 = figures[1][label]
        print(f"| {label} | {m1:.1f} ({p1:.1f}) ms | {m2:.1f} ({p2:.1f}) ms | {m2 / m1:.2f} |")
    loaded = "reused from an earlier run" if args.reuse else f"in {loaded_s:.0f} s"
    print(f"\nLoaded on the coordinator {loaded}; distributed in {distribute_s:.0f} s "
          f"({len(report.plan.distributed)} tables by town, {len(report.plan.reference)} "
          f"reference). One town's count: {tasks}.")
    engine.dispose()
    if not args.keep:
        nodes.remove()


if __name__ == "__main__":
    main()
