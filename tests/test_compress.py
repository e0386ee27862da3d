"""Static bundles go out compressed once and cached; other requests pass through."""

from __future__ import annotations

import gzip

import brotli
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from twin.runtime.compress import PrecompressedStatic


def _client(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.abc.js").write_text("console.log('村');\n" * 500)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    inner = Starlette(routes=[Route("/{path:path}", lambda r: PlainTextResponse("inner"))])
    app = PrecompressedStatic(inner, root=tmp_path)
    return app, TestClient(app)


def test_brotli_then_gzip_then_plain(tmp_path):
    app, client = _client(tmp_path)
    raw = (tmp_path / "js" / "main.abc.js").read_bytes()
    r = client.get("/static/js/main.abc.js", headers={"Accept-Encoding": "gzip, br"})
    assert r.headers["content-encoding"] == "br" and r.headers["vary"] == "Accept-Encoding"
    assert r.content == raw  # the client decoded it
    assert int(r.headers["content-length"]) < len(raw) / 10
    r = client.get("/static/js/main.abc.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.content == raw
    assert len(app._cache) == 2  # each encoding compressed once
    r = client.get("/static/js/main.abc.js", headers={"Accept-Encoding": "identity"})
    assert r.text == "inner"  # not accepted: Streamlit serves it as before
    assert brotli.decompress(brotli.compress(raw)) == raw and gzip.decompress(
        gzip.compress(raw)) == raw


def test_only_text_files_inside_the_root(tmp_path):
    _, client = _client(tmp_path)
    for path in ("/static/logo.png", "/static/../../etc/passwd.js", "/app/x.js",
                 "/static/js/missing.js"):
        assert client.get(path, headers={"Accept-Encoding": "br"}).text == "inner", path


def test_best_quality_copies_from_the_cache_folder(tmp_path):
    from twin.runtime.compress import precompress

    root, cache = tmp_path / "root", tmp_path / "cache"
    (root / "js").mkdir(parents=True)
    raw = ("console.log('村');\n" * 500).encode()
    (root / "js" / "main.abc.js").write_bytes(raw)
    (root / "logo.png").write_bytes(b"\x89PNG")
    assert precompress(root, cache) == 1 and precompress(root, cache) == 0  # once
    best = cache / "js" / "main.abc.js.br"
    assert brotli.decompress(best.read_bytes()) == raw and not (cache / "logo.png.br").exists()
    inner = Starlette(routes=[Route("/{path:path}", lambda r: PlainTextResponse("inner"))])
    client = TestClient(PrecompressedStatic(inner, root=root, cache_dir=cache))
    r = client.get("/static/js/main.abc.js", headers={"Accept-Encoding": "br"})
    assert r.headers["content-encoding"] == "br" and r.content == raw
    assert int(r.headers["content-length"]) == best.stat().st_size
