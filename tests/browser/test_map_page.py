"""The map page in headless Chromium: drawn, in Chinese, and asking no host but its own."""

from __future__ import annotations

from urllib.parse import urlparse

import numpy as np
from playwright.sync_api import expect

from tests.browser.conftest import sign_in_page, signed_page
from tests.conftest import TEST_PASSWORD


def _open(browser, url: str, viewport: dict, outside: list[str], title: str = "居民"):
    page = signed_page(browser, url.split("/?")[0].rstrip("/"), viewport=viewport)

    def record(request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            outside.append(request.url)

    page.on("request", record)
    page.goto(url)
    page.wait_for_selector("canvas", timeout=60_000)
    page.get_by_text(title).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    return page


def test_map_page_draws_offline(browser, server, tmp_path):
    outside: list[str] = []
    page = _open(browser, server + "/", {"width": 1400, "height": 900}, outside)
    assert page.locator("canvas").count() >= 1
    assert page.get_by_text("居民").first.is_visible()
    page.screenshot(path=str(tmp_path / "map.png"))
    assert outside == []
    # one router (app.py): no list of Streamlit pages of its own in the sidebar, and a
    # surface's module is not served at a path of its own around it
    assert page.locator("[data-testid='stSidebarNav']").count() == 0
    page.goto(server + "/accounts")
    page.wait_for_timeout(3000)
    assert page.locator("[data-testid='stSidebarNav']").count() == 0


def test_phone_width_has_no_horizontal_scroll(browser, server):
    outside: list[str] = []
    page = _open(browser, server + "/?lang=en", {"width": 390, "height": 844}, outside,
                 title="Residents")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert outside == []


def test_3d_buildings_on_terrain_from_local_tiles(browser, server, village_sample, tmp_path):
    """Zoomed into the busiest micro-grid, deck.gl draws extruded buildings from /api/tiles
    on the terrain from /api/terrain textured with /api/imagery, with its workers from
    /api/static, and asks no other host."""
    import io

    from PIL import Image
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    b = village_sample.buildings
    busiest = b.geometry.representative_point().groupby(b["code"].str[:18]).count().idxmax()
    centre = b[b["code"].str.startswith(busiest)].geometry.union_all().centroid
    outside: list[str] = []
    tile_status: list[int] = []
    page = signed_page(browser, server, viewport={"width": 1200, "height": 800})
    raster_status: dict[str, list[int]] = {"terrain": [], "imagery": []}
    page.on("response", lambda r: tile_status.append(r.status)
            if "/api/tiles/buildings/" in r.url else None)
    page.on("response", lambda r: [raster_status[k].append(r.status) for k in raster_status
                                   if f"/api/{k}/" in r.url])
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in (
        None, "127.0.0.1") and r.url.startswith(("http", "ws")) else None)
    worker: list[str] = []
    page.on("request", lambda r: worker.append(r.url) if "-worker.js" in r.url else None)
    deck_errors: list[str] = []
    page.on("console", lambda m: deck_errors.append(m.text)
            if m.type == "error" and "deck" in m.text else None)
    page.goto(f"{server}/?lon={centre.x:.5f}&lat={centre.y:.5f}&zoom=16&pitch=55"
              "&apps=governance,environment,tourism,base")
    page.wait_for_selector("canvas", timeout=60_000)
    colours: list = []
    for _ in range(30):  # the window-wide 3D map: up to a minute or two in software WebGL
        page.wait_for_timeout(2000)
        try:  # a frame of the 3D scene may take seconds: the capture waits for a stable one
            shot = page.locator("canvas").first.screenshot(
                path=str(tmp_path / "buildings.png"), timeout=20_000)
        except PlaywrightTimeout:
            continue
        colours = Image.open(io.BytesIO(shot)).convert("RGB").getcolors(maxcolors=1 << 20)
        if len(colours) > 300 and 200 in tile_status and len(worker) >= 2:
            break
    assert tile_status and all(s in (200, 204) for s in tile_status) and 200 in tile_status
    for kind, statuses in raster_status.items():
        assert 200 in statuses and all(s in (200, 304, 404) for s in statuses), kind
    assert {u.rsplit("/", 1)[1] for u in worker} == {"mvt-worker.js", "terrain-worker.js"}
    assert all(urlparse(u).hostname == "127.0.0.1" for u in worker)
    assert len(colours) > 300  # shaded 3D walls and roofs, not a flat fill
    assert deck_errors == []
    assert outside == []


def test_permalink_reproduces_the_view_in_a_fresh_browser(browser, server, village_sample):
    village = village_sample.units[village_sample.units["level"] == "village"].iloc[0]
    first = browser.new_context(viewport={"width": 1400, "height": 900})
    page = first.new_page()
    sign_in_page(page, server, next_url=f"/?unit={village['code']}&apps=tourism&lang=en")
    page.get_by_text("Village Twin").first.wait_for(timeout=60_000)
    field = "document.querySelector(\"[data-testid='stTextInput'] input\")"
    page.wait_for_function(f"{field} && {field}.value.includes('unit=')", timeout=60_000)
    link = page.locator("[data-testid='stTextInput'] input").first.input_value().strip()
    first.close()
    assert f"unit={village['code']}" in link and "apps=tourism" in link
    assert "session" not in link and "token" not in link  # a permalink carries no secret
    fresh = browser.new_context(viewport={"width": 1400, "height": 900})
    again = fresh.new_page()
    again.goto(link)  # not signed in: the way to sign in, which leads back to the view
    again.locator("a.twin-sign-in").wait_for(timeout=60_000)
    assert again.locator("canvas").count() == 0
    again.locator("a.twin-sign-in").click()
    again.fill("input[name=username]", "t-planner")
    again.fill("input[name=password]", TEST_PASSWORD)
    with again.expect_navigation():
        again.click("button[type=submit]")
    again.get_by_text("Village Twin").first.wait_for(timeout=60_000)
    again.wait_for_selector("canvas", timeout=60_000)
    # the breadcrumb may render after the map's canvas: wait for it, don't count at once
    expect(again.get_by_role("button", name=village["name"])).to_have_count(1, timeout=30_000)
    expect(again.get_by_text("Tourism").first).to_be_visible(timeout=30_000)
    fresh.close()


def _canvas(page):
    import io

    import numpy as np
    from PIL import Image

    shot = page.locator("canvas").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)


def test_the_camera_stays_where_the_user_left_it_when_the_script_reruns(browser, server):
    page = signed_page(browser, server, viewport={"width": 1400, "height": 900})
    page.goto(server + "/?apps=base&pitch=0")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(4000)
    before = _canvas(page)
    box = page.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):  # a slow drag, as a hand does
        page.mouse.move(x + 18 * step, y + 9 * step)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_timeout(1500)
    panned = _canvas(page)
    assert np.abs(panned - before).mean() > 2  # the drag moved the map
    # a rerun of the script: the buildings' colouring changes, the camera must not
    page.get_by_text("高度").first.click()
    page.wait_for_function("location.search.includes('base.color=height')", timeout=30_000)
    page.wait_for_timeout(2500)
    after = _canvas(page)
    assert np.abs(after - panned).mean() < np.abs(after - before).mean() / 3
    page.close()


def test_a_click_on_a_unit_drills_in_and_keeps_the_loaded_terrain(browser, server):
    """A click on the map opens the clicked unit (the URL and the breadcrumb follow), and the
    layers the new deck describes as before stay as they were: deck.gl keeps their tiles
    instead of fetching the terrain again."""
    page = signed_page(browser, server, viewport={"width": 1400, "height": 900})
    terrain: list[str] = []
    page.on("request", lambda r: terrain.append(r.url) if "/api/terrain/" in r.url else None)
    page.goto(server + "/?apps=base&pitch=0")
    page.wait_for_function("globalThis.twinMap && globalThis.twinMap.deck"
                           " && globalThis.twinMap.deck.props.layers.length > 1", timeout=60_000)
    page.wait_for_timeout(3000)  # the first view's terrain tiles, loaded
    page.evaluate("globalThis.before = globalThis.twinMap.deck.props.layers")
    box = page.locator("#twin-map canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # as a person does: hover (deck.gl picks), then click
    page.wait_for_timeout(300)
    loaded = len(terrain)
    page.mouse.click(x, y)
    page.wait_for_function("location.search.includes('unit=')", timeout=30_000)
    expect(page.get_by_role("button", name="全县")).to_have_count(1, timeout=30_000)
    page.wait_for_function("globalThis.twinMap.deck.props.layers !== globalThis.before",
                           timeout=30_000)
    page.wait_for_timeout(2000)
    kept = page.evaluate("""() => {
      const before = new Map(globalThis.before.map((l) => [l.id, l]));
      return globalThis.twinMap.deck.props.layers.map((l) => [l.id, before.get(l.id) === l]);
    }""")
    assert loaded > 0
    assert dict(kept)["terrain"] is True  # described as before: the same layer, its tiles kept
    assert not all(same for _, same in kept)  # the units drawn are the clicked unit's
    assert len(terrain) == len(set(terrain))  # no terrain tile fetched twice
    page.close()


def test_the_first_view_is_drawn_before_streamlit_then_handed_over(browser, server):
    """The page draws the map and the six elements' panel itself, before Streamlit runs;
    then Streamlit starts, its script's panel (the same figures) takes the first one's
    place, and only one panel is left."""
    page = signed_page(browser, server, viewport={"width": 1400, "height": 900})
    page.goto(server + "/?apps=governance,base")
    first = page.locator("#twin-first-panel")
    first.locator(".twin-figs").first.wait_for(timeout=60_000)
    lines = [line for line in first.inner_text().splitlines() if line.strip()]
    own = page.locator(".st-key-twin-panel")
    expect(own.locator(".twin-figs").first).to_be_visible(timeout=60_000)
    expect(first).to_have_count(0, timeout=10_000)
    shown = own.inner_text()
    assert "六要素概况" in lines and len(lines) > 15
    assert all(line in shown for line in lines)
    expect(page.get_by_role("button", name="全县")).to_have_count(1)  # Streamlit's header
    page.close()
