#!/usr/bin/env python
"""Benchmark of the map page in Debian's Chromium (Playwright) against the real server.

Measures navigation → county map drawn, the bytes sent to the browser until then (HTTP and
websocket frames, from Chromium's own network events), and a drill-down click → the new
unit drawn. Saves the README's screenshots (docs/screenshots) on the way.

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
                shot = canvas.screenshot(timeout=2000)
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


def first_view(browser, url: str) -> tuple[float, int, list[str]]:
    """(seconds to a drawn map, bytes received, hosts asked) for one fresh visit."""
    context = signed_context(browser, url, SESSION, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    received = {"bytes": 0}
    hosts: set[str] = set()
    cdp.on("Network.loadingFinished",
           lambda e: received.__setitem__("bytes", received["bytes"] + e["encodedDataLength"]))
    cdp.on("Network.webSocketFrameReceived", lambda e: received.__setitem__(
        "bytes", received["bytes"] + _frame_bytes(e["response"])))
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    t0 = time.perf_counter()
    page.goto(url)
    drawn(page)
    seconds = time.perf_counter() - t0
    total = received["bytes"]
    context.close()
    return seconds, total, sorted(hosts)


def drill_down(browser, base: str) -> float:
    """Seconds from a click on a town in the map to the town drawn with its villages."""
    context = signed_context(browser, base, SESSION, viewport={"width": 1400, "height": 900})
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


def screenshots(browser, base: str) -> None:
    """The README's pictures, taken from the running product."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    views = [
        ("county.png", "/?apps=governance,environment,base", (1400, 900), 40),
        ("wuzhen-3d.png", "/?apps=governance,environment,tourism,base&lon=120.5299"
         "&lat=30.7232&zoom=15.3&pitch=58&bearing=25", (1400, 900), 300),
        ("big-screen.png", "/?screen=1", (1920, 1080), 40),
        ("phone.png", "/?apps=governance,base&lang=en", (390, 844), 10),
    ]
    for name, path, (w, h), colours in views:
        context = signed_context(browser, base, SESSION, viewport={"width": w, "height": h})
        page = context.new_page()
        page.goto(base + path)
        try:
            drawn(page, colours)
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
    proc, base = start_server(bench_url(settings), data_dir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            first_view(browser, base + "/")  # warm the server's caches once
            views = [first_view(browser, base + "/") for _ in range(args.repeat)]
            clicks = [drill_down(browser, base) for _ in range(args.repeat)]
            if not args.no_screenshots:
                screenshots(browser, base)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    load_med, load_p95 = median_p95([v[0] for v in views])
    bytes_med, bytes_p95 = median_p95([v[1] for v in views])
    click_med, click_p95 = median_p95(clicks)
    hosts = sorted({h for v in views for h in v[2]})
    print(f"UI benchmark, {args.scale} sample, {date.today()}, {machine()}, Chromium "
          f"headless (SwiftShader), {args.repeat} fresh visits\n")
    print("| measure | median (p95) | target | ratio to target |")
    print("|---|---|---|---|")
    print(f"| navigation → county map drawn | {load_med:.2f} s ({load_p95:.2f}) | < 3 s | "
          f"{load_med / 3:.2f} |")
    print(f"| bytes to the browser until then | {bytes_med / 1e6:.2f} MB "
          f"({bytes_p95 / 1e6:.2f}) | < 2 MB | {bytes_med / 2e6:.2f} |")
    print(f"| drill-down click → new unit drawn | {click_med:.2f} s ({click_p95:.2f}) | "
          f"< 1.5 s | {click_med / 1.5:.2f} |")
    print(f"| hosts the browser asked | {', '.join(hosts)} | 127.0.0.1 only | — |")
    engine.dispose()
    if not args.keep:
        drop_bench(settings)


if __name__ == "__main__":
    main()
