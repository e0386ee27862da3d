"""What the server adds in front of Streamlit's own routes (pure ASGI, no Streamlit import):

- the pages get a Content-Security-Policy that lets them load only from this host, forbids
  framing (``X-Frame-Options``) and content sniffing;
- Streamlit's ``/_stcore/metrics`` (session and cache internals) answers 404: the product's
  metrics are ``/api/metrics``, for this machine or an administrator;
- Streamlit's components (``/component/…``, the map page's bridge to its map) may be
  framed by the pages of this host, and only by them;
- file uploads (``/_stcore/upload_file/…``) are bounded: a session whose account may import
  (an administrator on the Import page) may send up to Streamlit's ``server.maxUploadSize``;
  anyone else — a field worker's photo on a shared link's page, or an anonymous client who
  was never shown an upload widget — at most one photo's size, and at most
  ``UPLOADS_PER_MINUTE`` uploads a minute per address.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from twin.api.auth import Throttle
from twin.domain.links import PHOTO_MAX_BYTES

UPLOAD_PREFIX = "/_stcore/upload_file/"
CLOSED = frozenset({"/_stcore/metrics"})
COMPONENTS = "/component/"
UPLOADS_PER_MINUTE = 30
# A multipart body around one photo: the photo and a few hundred bytes of headers.
SMALL_UPLOAD = PHOTO_MAX_BYTES + (64 << 10)


def inline_script_hashes(index_html: Path) -> list[str]:
    """CSP sources (``'sha256-…'``) of the inline scripts of Streamlit's page, read from the
    installed Streamlit so the policy follows its upgrades."""
    text = index_html.read_text(encoding="utf-8")
    bodies = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
            for b in bodies]


def with_head(page: str, tags: str) -> str:
    """Streamlit's page with ``tags`` at the end of its ``<head>``."""
    if "</head>" not in page:
        raise ValueError("Streamlit's index.html has no </head>: cannot add the map's script")
    return page.replace("</head>", f"{tags}\n  </head>", 1)


_ENTRY = re.compile(r'\s*<script type="module" crossorigin src="([^"]+)"></script>')


def without_entry(page: str) -> tuple[str, str]:
    """(Streamlit's page without its entry module's ``<script>``, that module's address), for
    a page that starts Streamlit itself, later. Not even preloaded: fetched and compiled
    beside the map's first view, it made that view slower (one bench run each: 1.26× its
    floor against 1.10×)."""
    found = _ENTRY.search(page)
    if found is None:
        raise ValueError("Streamlit's index.html has no entry module script: cannot start "
                         "Streamlit after the map's first view")
    return page[:found.start()] + page[found.end():], found.group(1)


def page_policy(script_hashes: list[str]) -> str:
    """The pages' Content-Security-Policy: this host only. Streamlit and its charts style
    elements inline; vega (the chart library) compiles its expressions (``unsafe-eval``);
    deck.gl's loaders run in workers that may start from blob URLs."""
    scripts = " ".join(["'self'", "'unsafe-eval'", *script_hashes])
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; child-src 'self' blob:; frame-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def _security_headers(policy: str, framing: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", policy.encode()),
            (b"x-frame-options", framing.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin")]


class PageGuard:
    """Pure ASGI middleware in front of the whole site (``/api`` sets its own headers).

    ``may_upload_large(cookie_header)`` says whether the session of a request's cookies may
    send large files (it runs in a thread: it may ask the database)."""

    def __init__(self, app, *, policy: str, may_upload_large: Callable[[str], bool],
                 max_upload_bytes: int) -> None:
        self.app = app
        self.headers = _security_headers(policy, "DENY")
        self.component_headers = _security_headers(  # framed by this host's pages only
            policy.replace("frame-ancestors 'none'", "frame-ancestors 'self'"), "SAMEORIGIN")
        self.may_upload_large = may_upload_large
        self.max_upload_bytes = max_upload_bytes
        self.uploads = Throttle(UPLOADS_PER_MINUTE)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in CLOSED:
            await _plain(send, 404, b"not found")
            return
        if path.startswith(UPLOAD_PREFIX) and scope["method"] in ("PUT", "POST"):
            limit = await self._upload_limit(scope)
            if limit is None:
                await _plain(send, 429, b"too many uploads from this address: wait a minute")
                return
            length = _header(scope, b"content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await _plain(send, 413, f"an upload here holds at most {limit >> 20} MB".encode())
                return
            receive = _bounded(receive, limit)

        extra = self.component_headers if path.startswith(COMPONENTS) else self.headers

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except _TooLarge:
            await _plain(send, 413, b"the upload is larger than allowed here")

    async def _upload_limit(self, scope) -> int | None:
        """The bytes this request may upload, or None when its address is over the rate."""
        from starlette.concurrency import run_in_threadpool

        client = (scope.get("client") or ("?",))[0]
        cookies = _header(scope, b"cookie") or ""
        if cookies and await run_in_threadpool(self.may_upload_large, cookies):
            return self.max_upload_bytes
        return SMALL_UPLOAD if self.uploads.allow(client) else None


class _TooLarge(Exception):
    pass


def _bounded(receive, limit: int):
    """``receive`` that stops a body growing past ``limit`` bytes (chunked bodies carry no
    Content-Length to check beforehand)."""
    seen = 0

    async def bounded():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge()
        return message
    return bounded


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _plain(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})
