#!/usr/bin/env python
"""Benchmark of 三治积分 on the county sample (a year of ledger entries for every
household, volunteer hours, each village's shop):

- every household's balance recomputed from the ledger and compared with the kept one
  (``twin.domain.points.ledger_faults``), and every credit level recomputed
  (``twin_credit_recompute``);
- a village's ranking (红榜) for its official;
- redemptions at the shop from 20 concurrent clients, each a household of its own (the
  ledger and the stock are then checked again);
- 自治's figures of the county (the panel and the wall) and a town's matters;
- the sample against the seed's published figures (issue 17), and how long it took to load.

    .venv/bin/python scripts/bench_points.py [--scale county] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    bench_engine,
    drop_bench,
    ensure_sample,
    machine,
    median_p95,
    row,
    timings,
)

from twin.config import Settings  # noqa: E402
from twin.domain import points, selfgov  # noqa: E402
from twin.domain.access import Principal  # noqa: E402

CLIENTS = 20


def redemptions(engine, per_client: int, one_item: bool) -> tuple[list[float], int, int]:
    """(latencies in ms, redeemed, refused) of CLIENTS threads redeeming at once, each for a
    household of its own: at the shop of its own village (``one_item`` False: twenty shops
    at once), or all of the same item (twenty at one counter: they queue on its stock)."""
    with engine.connect() as conn:
        homes = conn.execute(sa.text(
            "SELECT DISTINCT ON (village_id) household_id, village_id FROM household_points "
            "WHERE balance >= :need ORDER BY village_id, household_id LIMIT :n"),
            {"need": per_client, "n": CLIENTS}).all()
    if len(homes) < CLIENTS:
        with engine.connect() as conn:  # fewer villages than clients: several per village
            homes = conn.execute(sa.text(
                "SELECT household_id, village_id FROM household_points WHERE balance >= :need "
                "ORDER BY household_id LIMIT :n"), {"need": per_client, "n": CLIENTS}).all()
    stamp = time.time_ns()
    with engine.begin() as conn:
        items = [conn.execute(sa.text(
            "INSERT INTO shop_items (town_id, unit_id, name, cost, stock) "
            "SELECT town_id, id, :n, 1, :s FROM units WHERE id = :v RETURNING id"), {"v": homes[0 if one_item else k].village_id,
                              "n": f"基准测试肥皂{stamp}-{k}",
                              "s": CLIENTS * per_client}).scalar()
                 for k in range(1 if one_item else CLIENTS)]
    samples: list[float] = []
    refused = [0]
    lock = threading.Lock()

    def client(k: int) -> None:
        mine = []
        item = items[0 if one_item else k]
        for i in range(per_client):
            t0 = time.perf_counter()
            try:
                points.redeem(engine, homes[k].household_id, item, actor="bench",
                              client_key=f"bench-{item}-{k}-{i}")
            except points.PointsError:
                with lock:
                    refused[0] += 1
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, len(samples) - refused[0], refused[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county")
    parser.add_argument("--reuse", action="store_true", help="keep a sample already loaded")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    engine = bench_engine(settings, fresh=not args.reuse)
    engine.pool.dispose()
    engine = sa.create_engine(engine.url, pool_size=CLIENTS + 2, max_overflow=0)
    started = time.perf_counter()
    ensure_sample(engine, args.scale, Path(settings.data_dir) / "bench")
    loaded = time.perf_counter() - started
    rows, seed_rows = [], []
    try:
        with engine.connect() as conn:
            n_homes, n_entries = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM household_points), "
                "(SELECT count(*) FROM points_ledger)")).one()
            village = conn.execute(sa.text(
                "SELECT u.code FROM household_points hp JOIN units u ON u.id = hp.village_id "
                "GROUP BY u.code ORDER BY count(*) DESC LIMIT 1")).scalar()
        faults = []
        med, p95 = timings(lambda: faults.extend(points.ledger_faults(engine)), args.repeat)
        rows.append(row(f"every balance recomputed from the ledger and compared "
                        f"({n_homes:,} households, {n_entries:,} entries; {len(faults)} "
                        "differ): median (p95)", f"{med / 1000:.2f} ({p95 / 1000:.2f}) s",
                        "≤ 30 s (with the levels)", None))
        balances = med
        med, p95 = timings(lambda: points.recompute_credit(engine), args.repeat)
        rows.append(row("every credit level recomputed: median (p95)",
                        f"{med / 1000:.2f} ({p95 / 1000:.2f}) s", "≤ 30 s (with the balances)",
                        None))
        rows.append(row("balances and levels together (medians)",
                        f"{(balances + med) / 1000:.2f} s", "≤ 30 s",
                        (balances + med) / 30_000))
        official = Principal("official", (village,), "bench-official")
        med, p95 = timings(lambda: points.ranking(engine, official, village), args.repeat * 10)
        rows.append(row(f"a village's ranking, its official ({village}): median (p95)",
                        f"{med:.1f} ({p95:.1f}) ms", "≤ 100 ms", p95 / 100))
        redemptions(engine, 2, one_item=False)  # warm the pool
        for one_item, label in ((False, "each at its own village's shop"),
                                (True, "all of one item at one shop")):
            samples, done, refused = redemptions(engine, 25, one_item)
            med, p95 = median_p95(samples)
            faults = points.ledger_faults(engine)
            rows.append(row(f"a redemption, {CLIENTS} concurrent clients {label} ({done} "
                            f"redeemed, {refused} refused, {len(faults)} balances off the "
                            "ledger): median (p95)", f"{med:.1f} ({p95:.1f}) ms",
                            "≤ 100 ms p95", p95 / 100))
        with engine.connect() as conn:
            end = conn.execute(sa.text("SELECT max(reported_at) FROM events")).scalar()
            town = conn.execute(sa.text("SELECT id, code, level FROM units WHERE level = "
                                        "'town' ORDER BY id LIMIT 1")).mappings().one()
        start = end.replace(year=end.year - 1)
        figures: dict = {}
        med, p95 = timings(lambda: figures.update(selfgov.measures(engine, None, start, end)),
                           args.repeat)
        rows.append(row("自治's figures of the county (panel, wall): median (p95)",
                        f"{med:.0f} ({p95:.0f}) ms", "—", None))
        med, p95 = timings(lambda: selfgov.matters(engine, dict(town)), args.repeat * 4)
        rows.append(row(f"a town's consultation projects ({town['code']}): median (p95)",
                        f"{med:.1f} ({p95:.1f}) ms", "—", None))
        seed_rows = seed_figures(engine, figures, loaded if not args.reuse else None)
    finally:
        engine.dispose()
        if not args.keep:
            drop_bench(settings)
    print(f"三治积分 and 自治, {args.scale} sample, {date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nThe {args.scale} sample against Tongxiang's published figures (REFERENCE.md)\n")
    print("| figure | sample | Tongxiang |")
    print("|---|---|---|")
    print("\n".join(seed_rows))


def seed_figures(engine, figures: dict, loaded: float | None) -> list[str]:
    """The sample's totals beside the seed's (issue 17)."""
    with engine.connect() as conn:
        n = conn.execute(sa.text("""
            SELECT (SELECT count(*) FROM households) AS households,
                   (SELECT count(DISTINCT m.person_id) FROM organization_members m
                      JOIN organizations o ON o.id = m.organization_id
                     WHERE o.kind = 'volunteer_team') AS volunteers,
                   (SELECT count(*) FROM points_rules WHERE valid_to IS NULL) AS rules,
                   (SELECT count(*) FROM household_credit WHERE level IS NOT NULL) AS credited,
                   (SELECT count(*) FROM events WHERE source = 'volunteer') AS reports,
                   (SELECT count(*) FROM events WHERE source = 'volunteer'
                       AND status IN ('resolved', 'closed')) AS solved,
                   (SELECT count(*) FROM points_ledger) AS entries,
                   (SELECT count(*) FILTER (WHERE source = 'manual') FROM points_ledger)
                       AS manual""")).mappings().one()
    out = [
        f"| households | {n['households']:,} | ~424,000 |",
        f"| rules of the points standard in force | {n['rules']} | ~40 |",
        f"| volunteers (incl. 文明啄木鸟) | {n['volunteers']:,} | 100,000+ |",
        f"| 文明啄木鸟 reports (a year) | {n['reports']:,} | 3,231 |",
        f"| of them solved | {100.0 * n['solved'] / max(n['reports'], 1):.1f}% | 96.5% |",
        f"| consultation projects | {figures.get('matters_total', 0):,} | 51 |",
        f"| their sittings | {figures.get('sessions', 0):,} | 375 |",
        f"| livelihood matters solved | {figures.get('matters_solved', 0):,} | 267 |",
        f"| villages with a compact in force | {figures.get('compacts', 0):,} / "
        f"{figures.get('villages', 0):,} | every village |",
        f"| households with a 三治信用 level | {n['credited']:,} | 119,500 (with firms) |",
        f"| ledger entries (manual awards) | {n['entries']:,} ({n['manual']:,}) | — |",
    ]
    if loaded is not None:
        out.append(f"| the sample generated and loaded | {loaded:.0f} s | — |")
    return out


if __name__ == "__main__":
    main()
