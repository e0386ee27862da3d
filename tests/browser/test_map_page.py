"""The map page in headless Chromium: drawn, in Chinese, and asking no host but its own."""

from __future__ import annotations

from urllib.parse import urlparse


def _open(browser, url: str, viewport: dict, outside: list[str], title: str = "乡村数字孪生"):
    page = browser.new_page(viewport=viewport)

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


def test_phone_width_has_no_horizontal_scroll(browser, server):
    outside: list[str] = []
    page = _open(browser, server + "/?lang=en", {"width": 390, "height": 844}, outside,
                 title="Village Twin")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert outside == []
