"""Compressed, cached static bundles: Streamlit 1.67 serves its 9 MB of JavaScript
uncompressed (it expects a proxy in front); on an intranet or a phone that is the slowest
part of opening the map. Each content-hashed bundle is compressed once (Brotli, else gzip)
and kept in memory, so no request pays for compression twice.
"""

from __future__ import annotations

import gzip
import mimetypes
import threading
from pathlib import Path

import brotli

_TEXT = (".js", ".css", ".html", ".json", ".svg", ".map", ".txt")


class PrecompressedStatic:
    """Pure ASGI middleware: GET ``prefix``/… files under ``root`` answered compressed when
    the client accepts it; everything else passes through untouched."""

    def __init__(self, app, *, root: Path, prefix: str = "/static/",
                 max_bytes: int = 64 << 20) -> None:
        self.app = app
        self.root = Path(root).resolve()
        self.prefix = prefix
        self.max_bytes = max_bytes
        self._cache: dict[tuple[str, str, float], bytes] = {}
        self._size = 0
        self._lock = threading.Lock()

    def _file(self, path: str) -> Path | None:
        if not path.startswith(self.prefix) or not path.endswith(_TEXT):
            return None
        candidate = (self.root / path[len(self.prefix):]).resolve()
        if self.root not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    def _compressed(self, file: Path, coding: str) -> bytes:
        key = (str(file), coding, file.stat().st_mtime)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        raw = file.read_bytes()
        body = (brotli.compress(raw, quality=9) if coding == "br"
                else gzip.compress(raw, compresslevel=9, mtime=0))
        with self._lock:
            if self._size + len(body) <= self.max_bytes:
                self._cache[key] = body
                self._size += len(body)
        return body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        file = self._file(scope["path"])
        accepted = dict(scope["headers"]).get(b"accept-encoding", b"").decode().lower()
        coding = "br" if "br" in accepted else "gzip" if "gzip" in accepted else None
        if file is None or coding is None or any(
                k == b"range" for k, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(self._compressed, file, coding)
        media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        headers = [
            (b"content-type", media.encode()),
            (b"content-encoding", coding.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, immutable, max-age=31536000"),
            (b"vary", b"Accept-Encoding"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})
