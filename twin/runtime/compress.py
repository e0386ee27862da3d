"""Compressed, cached static bundles: Streamlit 1.67 serves its 9 MB of JavaScript
uncompressed (it expects a proxy in front); on an intranet or a phone that is the slowest
part of opening the map. Each content-hashed bundle is compressed once (Brotli, else gzip)
and kept in memory, so no request pays for compression twice.

Brotli at its best setting (quality 11) saves another ~9 % but costs seconds per bundle, so
``precompress`` does it once at set-up into a folder of the virtual environment (the bundles
belong to the installed Streamlit); requests use those files when they exist and fall back
to quality 9 in memory.
"""

from __future__ import annotations

import gzip
import mimetypes
import os
import sys
import threading
from pathlib import Path

import brotli

_TEXT = (".js", ".css", ".html", ".json", ".svg", ".map", ".txt")


def default_cache_dir() -> Path:
    """Where best-quality Brotli copies of the installed Streamlit's bundles live."""
    return Path(sys.prefix) / "share" / "village-twin" / "static-br"


def _best_brotli(raw: bytes) -> bytes:
    return brotli.compress(raw, quality=11, lgwin=24)


def precompress(root: Path, cache_dir: Path | None = None) -> int:
    """Write ``<cache_dir>/<path>.br`` (Brotli quality 11) for every text file under ``root``
    that has none yet; returns how many were written. Safe to run again or concurrently."""
    root, cache_dir = Path(root), Path(cache_dir or default_cache_dir())
    written = 0
    for file in sorted(root.rglob("*")):
        if not file.is_file() or not file.name.endswith(_TEXT):
            continue
        target = cache_dir / (str(file.relative_to(root)) + ".br")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        partial.write_bytes(_best_brotli(file.read_bytes()))
        partial.replace(target)  # atomic: a reader never sees half a file
        written += 1
    return written


def bundle_roots() -> list[tuple[Path, Path]]:
    """(folder, cache folder) of every bundle the server sends compressed: the installed
    Streamlit's and deck.gl's standalone bundle (the map page's map)."""
    import streamlit

    from twin.api.assets import DECK

    return [(Path(streamlit.__file__).parent / "static" / "static", default_cache_dir()),
            (DECK, default_cache_dir() / "deck")]


def precompress_bundles() -> int:
    """``precompress`` every bundle the server sends; returns how many files were written."""
    return sum(precompress(root, cache) for root, cache in bundle_roots())


class PrecompressedStatic:
    """Pure ASGI middleware: GET ``prefix``/… files under ``root`` answered compressed when
    the client accepts it; everything else passes through untouched."""

    def __init__(self, app, *, root: Path, prefix: str = "/static/",
                 max_bytes: int = 64 << 20, cache_dir: Path | None = None) -> None:
        self.app = app
        self.root = Path(root).resolve()
        self.cache_dir = Path(cache_dir) if cache_dir else None
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
        best = (self.cache_dir / (str(file.relative_to(self.root)) + ".br")
                if self.cache_dir and coding == "br" else None)
        if best is not None and best.is_file():
            body = best.read_bytes()
        else:
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
