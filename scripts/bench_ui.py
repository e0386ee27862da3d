#!/usr/bin/env python
"""Benchmark of the map page in Debian's Chromium (Playwright) against the real server.

Measures, in one run, navigation → county map drawn on the planner's page and on the
cockpit (``?screen=1``), each against its floor: a bare page in which deck.gl draws the
same deck from the same server, no Streamlit. Also the bytes sent to the browser until
then (HTTP and websocket frames, from Chromium's own network events), and a drill-down
click → the new unit drawn. Saves the README's screenshots (docs/screenshots) on the way.

    .venv/bin/python scripts/bench_ui.py [--scale county] [--reuse] [--keep] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHROMIUM_ARGS,
    bench_engine,
    bench_session,
    bench_url,
    drop_bench,
    ensure_sample,
    machine,
    median_p95,
    signed_context,
    start_server,
)
from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from twin.config import PROJECT_ROOT, Settings  # noqa: E402

SHOTS = PROJECT_ROOT / "docs" / "screenshots"


def drawn(page, min_colours: int = 40, timeout: float = 60.0) -> None:
    """Wait until the map canvas shows a drawn scene (not a blank or flat canvas)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        canvas = page.locator("canvas").first
        if canvas.count():
            try:
                shot = canvas.screenshot(timeout=8000)  # a 3D frame may take seconds
                colours = Image.open(io.BytesIO(shot)).convert("RGB").getcolors(1 << 20)
                if colours and len(colours) >= min_colours:
                    return
            except Exception:  # noqa: BLE001 - the canvas may be re-created mid-poll
                pass
        time.sleep(0.05)
    raise TimeoutError("the map was not drawn")


def _frame_bytes(frame: dict) -> int:
    """Bytes of a websocket message: CDP gives binary frames (opcode 2) base64-encoded."""
    payload = frame["payloadData"]
    if frame.get("opcode") == 2:
        return len(payload) * 3 // 4 - payload[-2:].count("=")
    return len(payload.encode())


SESSION: dict[str, str] = {}  # the benchmark planner's session: cookie name → token
# What must be on the page, besides the drawn map, for a first view to count
# (the first view's panel, drawn by the page before Streamlit runs, or the script's own)
MAP_READY = "#twin-first-panel .twin-figs, .st-key-twin-panel .twin-figs"
WALL_READY = ".st-key-wall-right .wall-figs"


VIEWPORT = {"width": 1400, "height": 900}


# The moment the page shows its panel, by the page's clock (the map's own moment is marked by
# the map, "twin-map-drawn": every layer loaded, in the frame just drawn)
PANEL_MARK = """new MutationObserver((_, seen) => {{
  if (document.querySelector({selector!r})) {{ performance.mark("twin-panel"); seen.disconnect(); }}
}}).observe(document, {{subtree: true, childList: true}});"""
MARKS = """() => Object.fromEntries(["twin-map-drawn", "twin-panel"].map(
  (name) => [name, performance.getEntriesByName(name)[0]?.startTime ?? null]))"""


def marked(page, panel: bool) -> float | None:
    """Seconds from navigation to the map drawn (by deck.gl's account) and, with ``panel``,
    its panel shown, by the page's own clock; None where the map marks nothing."""
    marks = page.evaluate(MARKS)
    if marks["twin-map-drawn"] is None or (panel and marks["twin-panel"] is None):
        return None
    return max(v for v in marks.values() if v is not None) / 1000


def first_view(browser, url: str, floor: str | None = None, viewport: dict | None = None,
               ready: str | None = None, top: str = "3.2rem",
               count: bool = False) -> tuple[float, int, list[str], float | None]:
    """(seconds to a drawn map, bytes received, hosts asked, seconds to the map drawn by the
    page's own marks) for one fresh visit; with ``floor`` (a deck's JSON), of the bare page
    that draws that deck instead, its map ``top`` below the top of the window as the page's
    is. ``ready``: a selector that must also be there (the page's panels) before the visit
    counts as drawn. The first figure is when a screenshot of the map shows a drawn scene,
    which Chromium gives only in a moment the page's thread is free; the last is when the
    map's last layer was drawn (and the panel shown), by the page's clock. ``count``: count
    the bytes and hosts through Chromium's network events — an instrument that slows a page
    by its number of requests (~0.4 s for the map page's ~100 against the floor's 4), so the
    timed visits go without it (0 bytes, no hosts)."""
    context = signed_context(browser, url, SESSION, viewport=viewport or VIEWPORT)
    if floor is not None:
        url = serve_floor(context, url, floor, top)
    elif ready:
        context.add_init_script(PANEL_MARK.format(selector=ready))
    page = context.new_page()
    received = {"bytes": 0}
    hosts: set[str] = set()
    if count:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", lambda e: received.__setitem__(
            "bytes", received["bytes"] + e["encodedDataLength"]))
        cdp.on("Network.webSocketFrameReceived", lambda e: received.__setitem__(
            "bytes", received["bytes"] + _frame_bytes(e["response"])))
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    t0 = time.perf_counter()
    page.goto(url)
    if ready and floor is None:
        page.locator(ready).first.wait_for(timeout=60_000)
    drawn(page)
    seconds = time.perf_counter() - t0
    total = received["bytes"]
    own = marked(page, panel=bool(ready) and floor is None)
    context.close()
    return seconds, total, sorted(hosts), own


# The floor of the UI budget: plain HTML in which deck.gl's own standalone bundle (with its
# JSON converter, as Streamlit uses it) draws the very deck the product's page draws, from
# the same server, in a map of the same size — no Streamlit. scripts/setup fetches the
# bundle; Playwright hands the page and the bundle to the browser (as from a warm cache),
# and every layer's data comes from the product's server as on the real page.
FLOOR_DECK = PROJECT_ROOT / "vendor" / "deck.gl" / "9.4.0"
FLOOR_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>floor</title>
<style>html, body {{ margin: 0; height: 100%; }}
#deck {{ position: fixed; top: {top}; bottom: 0; left: 0; right: 0; }}</style>
<script src="/__floor/deck.min.js"></script><script>const gl = globalThis.deck;</script>
<script src="/__floor/json.min.js"></script></head><body><div id="deck"></div>
<script>
const json = globalThis.deck;
const classes = Object.fromEntries(Object.entries(gl).filter(([, v]) => typeof v == "function"));
const configuration = new json.JSONConfiguration({{classes}});
const converter = new json.JSONConverter({{configuration}});
const map = new gl.Deck({{...converter.convert({deck}), parent: document.getElementById("deck"),
  onAfterRender: () => {{  // as the page's own map marks it (surfaces/mapshell/shell.js)
    const layers = map.layerManager.getLayers();
    if (!performance.getEntriesByName("twin-map-drawn").length && layers.length &&
        layers.every((layer) => layer.isLoaded)) performance.mark("twin-map-drawn");
  }}}});
</script></body></html>"""


def serve_floor(context, url: str, deck_json: str, top: str = "3.2rem") -> str:
    """Route the bare page and its bundle into ``context``; returns the page's URL."""
    base = "/".join(url.split("/")[:3])
    page = FLOOR_PAGE.format(deck=deck_json, top=top)
    context.route(base + "/__floor/page", lambda route, _: route.fulfill(
        body=page, content_type="text/html; charset=utf-8"))
    for name in ("deck.min.js", "json.min.js"):
        context.route(f"{base}/__floor/{name}", lambda route, _, path=FLOOR_DECK / name:
                      route.fulfill(path=str(path), content_type="text/javascript"))
    return base + "/__floor/page"


def floor_deck(database_url: str, data_dir: Path, apps: list[str], wall: bool = False) -> str:
    """The JSON of the deck the map page (``wall``: the cockpit) draws first for ``apps``:
    the county, each filter at its default, the last 30 days (the cockpit: all time, and
    its ring layer of new alerts, empty); built by the pages' own code."""
    import os

    os.environ.update(TWIN_DATABASE_URL=database_url, TWIN_DATA_DIR=str(data_dir))
    from layers.registry import APPLICATIONS
    from surfaces import screen
    from surfaces.deck import view_for
    from surfaces.map import build_map, first_deck
    from surfaces.session import read_engine
    from twin.domain.units import units_geojson

    eng = read_engine()
    chosen = [APPLICATIONS.get(name) for name in apps]
    units = units_geojson(eng, "town", None)
    if wall:
        deck = build_map(eng, chosen, units, "town", None, "zh",
                         view=view_for(units.get("bbox"), screen.FIT_PX))
        deck.layers.append(screen.alerts_layer([]))
        return deck.to_json()
    return first_deck(eng, data_dir, {"apps": ",".join(apps)})


def drill_down(browser, base: str) -> float:
    """Seconds from a click on a town in the map to the town drawn with its villages."""
    context = signed_context(browser, base, SESSION, viewport=VIEWPORT)
    page = context.new_page()
    page.goto(base + "/?apps=base&pitch=0")
    drawn(page)
    box = page.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # as a person does: hover (deck.gl picks), then click
    page.wait_for_timeout(300)
    t0 = time.perf_counter()
    page.mouse.click(x, y)
    page.wait_for_function("location.search.includes('unit=')", timeout=30_000)
    page.get_by_role("button", name="全县").wait_for(timeout=30_000)
    drawn(page)
    seconds = time.perf_counter() - t0
    context.close()
    return seconds


def scene_stream(browser, base: str, engine, data_dir: Path) -> tuple[int, int, int, int]:
    """(tiles fetched, all tiles, bytes fetched, all bytes) of the old town's real-scene
    model for a close look straight down at its middle: the client fetches the tiles in
    view whose screen-space error asks for them, not the model."""
    import json

    from twin.domain.scenes import current_scenes, scene_folder

    scene = current_scenes(engine)[0]
    folder = scene_folder(data_dir, scene["name"], scene["version"])
    tiles = json.loads((folder / "tileset.json").read_text())["root"]["children"]
    total_bytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    lon, lat = (scene["w"] + scene["e"]) / 2, (scene["s"] + scene["n"]) / 2
    context = signed_context(browser, base, SESSION, viewport=VIEWPORT)
    page = context.new_page()
    fetched: dict[str, int] = {}
    page.on("response", lambda r: fetched.__setitem__(r.url, len(r.body()))
            if "/api/scenes/" in r.url and r.ok else None)
    page.goto(f"{base}/?apps=scene&lon={lon:.5f}&lat={lat:.5f}&zoom=18&pitch=0&panel=0")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(15_000)
    context.close()
    got = [u for u in fetched if u.split("?")[0].endswith(".b3dm")]
    return len(got), len(tiles), sum(fetched.values()), total_bytes


def screenshots(browser, base: str) -> None:
    """The README's pictures, taken from the running product."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    views = [  # name, path, viewport, colours the map must show, device pixels per CSS pixel
        ("county.png", "/?apps=governance,environment,base", (1920, 1080), 40, 1),
        ("county-1366.png", "/?apps=governance,base", (1366, 768), 40, 1),
        ("wuzhen-3d.png", "/?apps=governance,environment,tourism,base&lon=120.5299"
         "&lat=30.7232&zoom=15.3&pitch=58&bearing=25&panel=0", (1400, 900), 300, 1),
        ("big-screen.png", "/?screen=1", (1920, 1080), 40, 1),
        # a 4K wall (3840×2160 pixels) runs at 200 %, as Windows and GNOME set one up
        ("big-screen-4k.png", "/?screen=1", (1920, 1080), 40, 2),
        ("phone.png", "/?apps=governance,base&lang=en", (390, 844), 10, 1),
        ("old-town-3d.png", "/?apps=scene,governance&lon=120.4898&lat=30.7386&zoom=16.8"
         "&pitch=60&bearing=25&panel=0", (1400, 900), 40, 1),
    ]
    for name, path, (w, h), colours, scale in views:
        context = signed_context(browser, base, SESSION, viewport={"width": w, "height": h},
                                 device_scale_factor=scale)
        page = context.new_page()
        page.goto(base + path)
        try:
            drawn(page, colours, timeout=120)
        except TimeoutError:
            page.screenshot(path=str(SHOTS / f"failed-{name}"))
            print(f"screenshot {name}: the map was not drawn (see failed-{name})",
                  file=sys.stderr)
            context.close()
            continue
        page.wait_for_timeout(2500)
        page.screenshot(path=str(SHOTS / name))
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county", choices=("village", "town", "county"))
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    data_dir = Path(settings.data_dir) / "bench"
    engine = bench_engine(settings, fresh=not args.reuse)
    ensure_sample(engine, args.scale, data_dir)
    SESSION.update(bench_session(engine))
    url = bench_url(settings)
    map_floor = floor_deck(url, data_dir, ["governance", "base"])
    wall_floor = floor_deck(url, data_dir, ["governance", "base"], wall=True)
    wall = {"viewport": {"width": 1920, "height": 1080}}
    proc, base = start_server(url, data_dir)
    views, floors, walls, wall_floors = [], [], [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            first_view(browser, base + "/")  # warm the server's caches once
            first_view(browser, base + "/?screen=1", **wall)
            for _ in range(args.repeat):  # page and floor in turn: the same conditions
                views.append(first_view(browser, base + "/", ready=MAP_READY))
                floors.append(first_view(browser, base + "/", floor=map_floor))
                walls.append(first_view(browser, base + "/?screen=1", ready=WALL_READY,
                                        **wall))
                wall_floors.append(first_view(browser, base + "/", floor=wall_floor,
                                              top="0px", **wall))
            counted = [first_view(browser, base + "/", ready=MAP_READY, count=True)
                       for _ in range(2)]
            wall_counted = [first_view(browser, base + "/?screen=1", ready=WALL_READY,
                                       count=True, **wall) for _ in range(2)]
            clicks = [drill_down(browser, base) for _ in range(args.repeat)]
            streamed = scene_stream(browser, base, engine, data_dir)
            if not args.no_screenshots:
                screenshots(browser, base)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    load_med, load_p95 = median_p95([v[0] for v in views])
    floor_med, floor_p95 = median_p95([v[0] for v in floors])
    if any(v[3] is None for v in views + floors):
        raise SystemExit("a visit's map marked no drawn first view (twin-map-drawn)")
    own_med, own_p95 = median_p95([v[3] for v in views])
    own_floor_med, own_floor_p95 = median_p95([v[3] for v in floors])
    wall_med, wall_p95 = median_p95([v[0] for v in walls])
    wfloor_med, wfloor_p95 = median_p95([v[0] for v in wall_floors])
    bytes_med, bytes_p95 = median_p95([v[1] for v in counted])
    wbytes_med, wbytes_p95 = median_p95([v[1] for v in wall_counted])
    click_med, click_p95 = median_p95(clicks)
    hosts = sorted({h for v in counted + wall_counted for h in v[2]})
    print(f"UI benchmark, {args.scale} sample, {date.today()}, {machine()}, Chromium "
          f"headless (SwiftShader), {args.repeat} fresh visits of each, in turn, timed "
          "without network instruments; bytes and hosts from 2 more visits of each\n")
    print("| measure | median (p95) | budget | ratio to budget |")
    print("|---|---|---|---|")
    print(f"| floor: bare deck.gl page, the county map's deck (1400×900), its last layer drawn "
          f"(deck.gl's account) | {own_floor_med:.2f} s ({own_floor_p95:.2f}) | — | — |")
    print(f"| navigation → county map's last layer drawn, and its panel shown (1400×900) | "
          f"{own_med:.2f} s ({own_p95:.2f}) | ≤ 1.3 × floor = {1.3 * own_floor_med:.2f} s | "
          f"{own_med / (1.3 * own_floor_med):.2f} |")
    print(f"| floor, by a screenshot of the drawn map (Chromium takes it when the page's thread "
          f"is free) | {floor_med:.2f} s ({floor_p95:.2f}) | — | — |")
    print(f"| navigation → a screenshot shows the county map drawn, with its panel | "
          f"{load_med:.2f} s ({load_p95:.2f}) | ≤ 1.3 × floor = {1.3 * floor_med:.2f} s | "
          f"{load_med / (1.3 * floor_med):.2f} |")
    print(f"| bytes to the browser until then | {bytes_med / 1e6:.2f} MB "
          f"({bytes_p95 / 1e6:.2f}) | ≤ 2 MB | {bytes_med / 2e6:.2f} |")
    print(f"| floor: bare deck.gl page, the cockpit's deck (1920×1080) | {wfloor_med:.2f} s "
          f"({wfloor_p95:.2f}) | — | — |")
    print(f"| cockpit `?screen=1` → map and both panels drawn (1920×1080) | {wall_med:.2f} s "
          f"({wall_p95:.2f}) | ≤ 1.5 × floor = {1.5 * wfloor_med:.2f} s | "
          f"{wall_med / (1.5 * wfloor_med):.2f} |")
    print(f"| bytes to the cockpit until then | {wbytes_med / 1e6:.2f} MB "
          f"({wbytes_p95 / 1e6:.2f}) | — | — |")
    print(f"| drill-down click → new unit drawn | {click_med:.2f} s ({click_p95:.2f}) | "
          f"< 1.5 s | {click_med / 1.5:.2f} |")
    print(f"| real-scene 3D: tiles of the old town fetched for a close view / all | "
          f"{streamed[0]} / {streamed[1]} ({streamed[2] / 1e6:.2f} of {streamed[3] / 1e6:.2f} "
          f"MB) | fewer than all (by screen-space error) | {streamed[0] / streamed[1]:.2f} |")
    print(f"| hosts the browser asked | {', '.join(hosts)} | 127.0.0.1 only | — |")
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


if __name__ == "__main__":
    main()
