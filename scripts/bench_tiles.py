#!/usr/bin/env python
"""Benchmark of the tile API, against the real server process (st.App + /api) on loopback.

Builds the sample in its own database (``twin_bench``; ``--reuse`` keeps one from an
earlier run), starts ``server.py`` on a free port and prints a Markdown table:
endpoint vs the same SQL run directly (the floor), cache hit vs miss, 50 concurrent clients,
the largest tile per layer, and a terrain tile vs rio-tiler called directly.

    .venv/bin/python scripts/bench_tiles.py [--scale county] [--reuse] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import morecantile
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    bench_engine,
    bench_session,
    bench_url,
    drop_bench,
    ensure_sample,
    machine,
    median_p95,
    start_server,
    timings,
)

from twin.config import Settings  # noqa: E402
from twin.publish import tiles  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")
ZOOMS = (12, 13, 14, 15, 16)


_local = threading.local()
HEADERS: dict[str, str] = {}  # the session cookie of the benchmark's planner


def fetch_keepalive(url: str) -> tuple[int, bytes, float]:
    """GET over one persistent connection per thread and server, as a browser does."""
    parts = urllib.parse.urlsplit(url)
    conns = _local.__dict__.setdefault("conns", {})  # one per server (a peer beside the twin)
    conn = conns.get(parts.netloc)
    if conn is None:
        conn = conns[parts.netloc] = http.client.HTTPConnection(parts.hostname, parts.port,
                                                                timeout=30)
    t0 = time.perf_counter()
    try:
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                     headers=HEADERS)
        resp = conn.getresponse()
        body = resp.read()
        status = resp.status
    except (OSError, http.client.HTTPException):
        conns.pop(parts.netloc, None)
        conn.close()
        return 599, b"", (time.perf_counter() - t0) * 1000
    return status, body, (time.perf_counter() - t0) * 1000


def fetch(url: str) -> tuple[int, bytes, float]:
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=HEADERS),
                                    timeout=30) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, body, (time.perf_counter() - t0) * 1000


def pick_tiles(engine, per_zoom: int, seed: int = 1) -> dict[int, list[morecantile.Tile]]:
    """Tiles spread over the county: at each zoom, the tiles of random buildings."""
    with engine.connect() as conn:
        pts = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM buildings "
            "TABLESAMPLE SYSTEM (5) REPEATABLE (:s)) s"), {"s": seed}).all()
    rng = random.Random(seed)
    rng.shuffle(pts)
    out = {}
    for z in ZOOMS:
        chosen: list[morecantile.Tile] = []
        for x, y in pts:
            t = TMS.tile(x, y, z)
            if t not in chosen:
                chosen.append(t)
            if len(chosen) == per_zoom:
                break
        out[z] = chosen
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county", choices=("village", "town", "county"))
    parser.add_argument("--reuse", action="store_true", help="reuse a loaded twin_bench")
    parser.add_argument("--keep", action="store_true", help="keep twin_bench afterwards")
    parser.add_argument("--per-zoom", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()

    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, data_dir)
    HEADERS["Cookie"] = "; ".join(f"{k}={v}" for k, v in bench_session(engine).items())
    proc, root = start_server(bench_url(settings), data_dir)
    base = root + "/api"
    rows: list[str] = []
    try:
        rows += floor_vs_endpoint(engine, base, pick_tiles(engine, args.per_zoom))
        rows += scope_rows(engine, base)
        rows += cache_rows(engine, base, pick_tiles(engine, 10, seed=2))
        rows += concurrency_rows(engine, base, args.clients, args.requests)
        rows += largest_rows(engine, base)
        rows += terrain_rows(base, data_dir / "rasters")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"Tile benchmark, {args.scale} sample, {date.today()}, {machine()}\n")
    print("| measure | value | target | ratio to target |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


def floor_vs_endpoint(engine, base: str, chosen: dict[int, list]) -> list[str]:
    """Uncached endpoint (no ?v, so never from the cache) vs the tile SQL run directly."""
    spec = tiles.LAYERS["buildings"]
    out = []
    all_floor, all_api = [], []
    for z, zoom_tiles in chosen.items():
        floor, api = [], []
        sql = sa.text(tiles.tile_sql(spec, z))
        with engine.connect() as conn:
            for t in zoom_tiles:
                params = {"z": t.z, "x": t.x, "y": t.y}
                floor.append(timings(lambda p=params, q=sql: conn.execute(q, p).one(), 3)[0])
                url = f"{base}/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt"
                api.append(timings(lambda u=url: fetch_keepalive(u), 3)[0])
        fm, fp = median_p95(floor)
        am, ap = median_p95(api)
        all_floor += floor
        all_api += api
        out.append(f"| buildings z{z}, {len(zoom_tiles)} tiles: endpoint vs SQL floor, "
                   f"median (p95) | {am:.1f} ({ap:.1f}) ms vs {fm:.1f} ({fp:.1f}) ms = "
                   f"{am / fm:.2f}× | ≤ 1.2× uncached | {am / fm / 1.2:.2f} |")
    ratio = sum(all_api) / sum(all_floor)
    out.append(f"| buildings z12–z16, all tiles: total endpoint / total floor | {ratio:.2f}× | "
               f"≤ 1.2× | {ratio / 1.2:.2f} |")
    return out


def scope_rows(engine, base: str) -> list[str]:
    """What scope costs: the events of the busiest town as a planner (every unit) and as an
    official scoped to that town (twin.domain.access's condition on the cell columns), uncached."""
    with engine.connect() as conn:
        town, w, s, e, n = conn.execute(sa.text("""
            SELECT u.code, ST_XMin(u.geom), ST_YMin(u.geom), ST_XMax(u.geom), ST_YMax(u.geom)
              FROM units u WHERE u.id = (SELECT town_id FROM events GROUP BY 1
                                          ORDER BY count(*) DESC LIMIT 1)""")).one()
        points = conn.execute(sa.text(
            "SELECT ST_X(geom), ST_Y(geom) FROM events WHERE town_id = (SELECT id FROM units "
            "WHERE code = :t) ORDER BY id LIMIT 400"), {"t": town}).all()
    planner = dict(HEADERS)
    official = {"Cookie": "; ".join(f"{k}={v}" for k, v in bench_session(
        engine, "bench-official", "official", (town,)).items())}
    out = []
    for z in (12, 14):
        chosen = list(dict.fromkeys(TMS.tile(x, y, z) for x, y in points))[:20]
        urls = [f"{base}/tiles/events/{t.z}/{t.x}/{t.y}.mvt" for t in chosen]
        out.append(_as_both(f"events z{z}, {len(urls)} tiles of the busiest town", urls,
                            planner, official))
    box = f"{w},{s},{e},{n}"
    out.append(_as_both("OGC events items in the busiest town (bbox, limit 1000)",
                        [f"{base}/ogc/collections/events/items?bbox={box}&limit=1000"],
                        planner, official))
    HEADERS.clear()
    HEADERS.update(planner)
    return out


def _as_both(label: str, urls: list[str], planner: dict, official: dict) -> str:
    """One row: the same URLs asked as the planner and as the scoped official."""
    took = {}
    for name, headers in (("planner", planner), ("official", official)):
        HEADERS.clear()
        HEADERS.update(headers)
        took[name] = [timings(lambda u=u: fetch_keepalive(u), 5)[0] for u in urls]
    pm, pp = median_p95(took["planner"])
    om, op = median_p95(took["official"])
    return (f"| {label}: scoped official vs planner, median (p95) | {om:.1f} ({op:.1f}) ms "
            f"vs {pm:.1f} ({pp:.1f}) ms = {om / pm:.2f}× | ≤ 1.1× | {om / pm / 1.1:.2f} |")


def cache_rows(engine, base: str, chosen: dict[int, list]) -> list[str]:
    """Versioned URLs: the first request renders, the next ones come from the cache."""
    version = tiles.current_version(engine, tiles.LAYERS["buildings"])
    miss, hit = [], []
    for zoom_tiles in chosen.values():
        for t in zoom_tiles:
            url = f"{base}/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt?v={version}"
            miss.append(fetch_keepalive(url)[2])
            hit.append(timings(lambda u=url: fetch_keepalive(u), 5, warm=False)[0])
    mm, _ = median_p95(miss)
    hm, hp = median_p95(hit)
    return [f"| cache: miss vs hit, median (hit p95) | {mm:.1f} ms vs {hm:.2f} ms ({hp:.2f}) "
            f"= {mm / hm:.0f}× faster | hit ≥ 20× faster | {20 / (mm / hm):.2f} |"]


def concurrency_rows(engine, base: str, clients: int, total: int) -> list[str]:
    """``clients`` threads on loopback, versioned URLs of several layers at z12–z16."""
    chosen = pick_tiles(engine, 60, seed=3)
    layers = ["buildings", "land", "events", "facilities", "microgrids", "residents"]
    versions = tiles.current_versions(engine, layers)
    urls = []
    rng = random.Random(4)
    for _ in range(total):
        name = rng.choice(layers)
        spec = tiles.LAYERS[name]
        z = rng.choice([z for z in ZOOMS if spec.minzoom <= z <= spec.maxzoom])
        t = rng.choice(chosen[z])
        urls.append(f"{base}/tiles/{name}/{t.z}/{t.x}/{t.y}.mvt?v={versions[name]}")
    out = []
    for label in ("cold: first views, ~40 % repeats", "warm: the same views again"):
        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(fetch_keepalive, urls))
        wall = time.perf_counter() - t0
        errors = sum(1 for status, _, _ in results if status not in (200, 204, 304))
        med, p95 = median_p95([ms for _, _, ms in results])
        out.append(f"| {clients} concurrent clients, {total} requests, {label} "
                   f"({total / wall:.0f}/s): median / p95, errors | {med:.1f} ms / "
                   f"{p95:.1f} ms, {errors} errors | p95 < 250 ms, 0 errors | {p95 / 250:.2f} |")
    return out


def largest_rows(engine, base: str) -> list[str]:
    """The largest tile of each layer over its zooms (densest places first)."""
    chosen = pick_tiles(engine, 12, seed=5)
    with engine.connect() as conn:
        w, s, e, n = conn.execute(sa.text(
            "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM "
            "(SELECT ST_Extent(geom) AS x FROM units WHERE level = 'town') q")).one()
    out, overall = [], 0
    for spec in tiles.LAYERS.values():
        best = (0, "")
        for z in range(spec.minzoom, spec.maxzoom + 1):
            candidates = chosen.get(z) or list(TMS.tiles(w, s, e, n, [z]))[:64]
            for t in candidates:
                status, body, _ = fetch(f"{base}/tiles/{spec.name}/{t.z}/{t.x}/{t.y}.mvt")
                if status == 200 and len(body) > best[0]:
                    best = (len(body), f"{t.z}/{t.x}/{t.y}")
        overall = max(overall, best[0])
        out.append(f"| largest {spec.name} tile (z{spec.minzoom}–{spec.maxzoom}) | "
                   f"{best[0] / 1024:.0f} KB at {best[1] or '—'} | ≤ 500 KB | "
                   f"{best[0] / 512000:.2f} |")
    return out


def terrain_png(img) -> bytes:
    """Mapbox terrain-RGB PNG of a rio-tiler ImageData, the plain way."""
    import numpy as np
    from rio_tiler.utils import render

    h = np.where(img.mask > 0, img.data[0], 0).astype("float64")
    v = np.round((h + 10000) * 10).astype("uint32")
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255]).astype("uint8")
    return render(rgb, img_format="PNG")


def terrain_rows(base: str, folder: Path) -> list[str]:
    dem = folder / "dem.tif"
    if not dem.exists():
        return ["| terrain tile vs rio-tiler | no DEM in the bench data | ≤ 1.2× | — |"]
    from rio_tiler.io import Reader

    with Reader(str(dem)) as src:
        w, s, e, n = src.get_geographic_bounds("EPSG:4326")
    dx, dy = (e - w) / 4, (n - s) / 4  # inner tiles: full of data, like the map asks for
    chosen = list(TMS.tiles(w + dx, s + dy, e - dx, n - dy, [13]))[:30]
    direct, api = [], []
    with Reader(str(dem)) as src:  # the floor: an open reader, read and encode only
        for t in chosen:
            def read(t=t):
                return terrain_png(src.tile(t.x, t.y, t.z, tilesize=256, resampling_method="bilinear"))
            direct.append(timings(read, 3)[0])
            api.append(timings(lambda t=t: fetch(f"{base}/terrain/{t.z}/{t.x}/{t.y}.png"), 3)[0])
    dm, _ = median_p95(direct)
    am, _ = median_p95(api)
    return [f"| terrain tile z13 ({len(chosen)} tiles) vs rio-tiler Reader.tile + terrain-RGB PNG, median | "
            f"{am:.1f} ms vs {dm:.1f} ms = {am / dm:.2f}× | ≤ 1.2× | {am / dm / 1.2:.2f} |"]


if __name__ == "__main__":
    main()
