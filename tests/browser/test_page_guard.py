"""What the server puts in front of Streamlit, checked on the running product: the pages'
security headers (and a map with charts that breaks none of its policy), Streamlit's own
metrics closed, the API docs off, uploads bounded, and forwarded addresses not believed."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.browser.conftest import _serve, signed_page


def _fetch(url: str, *, method: str = "GET", data: bytes | None = None,
           headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_pages_carry_a_policy_that_the_map_and_its_charts_keep(browser, server):
    status, headers, _ = _fetch(server + "/")
    assert status == 200
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "http" not in policy  # no other host, whatever it is
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    _, framed, _ = _fetch(server + "/component/surfaces.mapshell.twin_page_map/index.html")
    assert "frame-ancestors 'self'" in framed["content-security-policy"]  # the map's bridge
    assert framed["x-frame-options"] == "SAMEORIGIN"
    status, deck_headers, body = _fetch(server + "/api/static/deck/9.4.0/deck.min.js",
                                        headers={"Accept-Encoding": "br, gzip"})
    assert status == 200 and deck_headers["content-encoding"] == "br"
    assert len(body) < 600_000  # 2 MB of deck.gl, sent compressed
    page = signed_page(browser, server, viewport={"width": 1400, "height": 900})
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective"
                         " + ' ' + e.blockedURI))")
    bundles: list[str] = []
    page.on("request", lambda r: bundles.append(r.url.rsplit("/", 1)[-1])
            if r.url.endswith(".js") and ("/DeckGlJsonChart." in r.url or "/deck/" in r.url)
            else None)
    page.goto(server + "/?apps=governance,environment&charts=1")
    page.wait_for_selector("#twin-map canvas", timeout=60_000)
    assert bundles == ["deck.min.js", "json.min.js"]  # the page's map: not Streamlit's chunk
    page.get_by_text("办结率").first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)
    assert violations == []


def test_streamlit_metrics_and_the_api_docs_are_closed(server):
    assert _fetch(server + "/_stcore/metrics")[0] == 404
    assert _fetch(server + "/api/docs")[0] == 404  # Swagger UI would load a CDN's scripts
    assert _fetch(server + "/api/openapi.json")[0] == 200  # the schema itself stays


def test_an_anonymous_upload_is_bounded(server):
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(server)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    conn.putrequest("PUT", "/_stcore/upload_file/no-session/no-file")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(20 << 20))
    conn.endheaders()  # the 20 MB are never sent: the answer comes from the headers alone
    answer = conn.getresponse()
    assert answer.status == 413 and b"MB" in answer.read()
    conn.close()


def test_a_forwarded_address_is_not_believed(sample_engine, tmp_path_factory):
    """On a server of its own: the test exhausts its address's sign-in throttle."""

    proc, server = _serve(sample_engine.url.render_as_string(hide_password=False),
                          tmp_path_factory.mktemp("xff-data"), tmp_path_factory,
                          TWIN_SWEEP_SECONDS="0")
    try:
        _guess_with_forged_addresses(server)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _guess_with_forged_addresses(server: str) -> None:
    import re

    status, _, page = _fetch(server + "/api/auth/login")
    cookie = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    codes = []
    for i in range(12):  # a new address in every request: the throttle must not care
        status, _, _ = _fetch(
            server + "/api/auth/login", method="POST",
            data=f"username=nobody-{i}&password=x&csrf={cookie}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Cookie": f"twin_csrf={cookie}", "X-Forwarded-For": f"10.9.8.{i}"})
        codes.append(status)
    assert codes[:4] == [401] * 4 and codes[-1] == 429
