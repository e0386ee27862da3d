"""The one process: Streamlit's ``st.App`` serving the UI (app.py) with the API at /api.

Run by ``python -m twin serve [--host H] [--port N]``; any ASGI server can also serve
``server:app``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from surfaces.map import HEAD, PANEL_CSS, first_view
from surfaces.mapshell import shell_tag
from twin import urls
from twin.api import create_api
from twin.config import get_settings
from twin.runtime.compress import PrecompressedStatic, bundle_roots
from twin.runtime.pageguard import (
    PageGuard,
    inline_script_hashes,
    page_policy,
    with_head,
    without_entry,
)

ROOT = Path(__file__).resolve().parent

def _listen_without_nagle() -> None:
    """Streamlit 1.67 binds its listening socket itself with protocol 0, so asyncio does not
    set TCP_NODELAY on accepted connections and every second request on a keep-alive
    connection waits ~40 ms (Nagle against delayed ACK: measured 45 ms for /_stcore/health).
    Accepted sockets inherit TCP_NODELAY from the listener on Linux, so set it there."""
    from streamlit.web.server.starlette import starlette_server

    bind = getattr(starlette_server, "_bind_server_socket", None)
    if bind is None or getattr(bind, "_twin_nodelay", False):
        return

    def bind_nodelay(*args, **kwargs):
        sock, address = bind(*args, **kwargs)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    bind_nodelay._twin_nodelay = True
    starlette_server._bind_server_socket = bind_nodelay


def _may_upload_large(cookies: str) -> bool:
    """Whether the session in a Cookie header belongs to an account that imports files."""
    from http.cookies import CookieError, SimpleCookie

    from twin.domain.access import may
    from twin.domain.accounts import COOKIE

    jar = SimpleCookie()
    try:
        jar.load(cookies)
    except CookieError:
        return False
    token = jar[COOKIE].value if COOKIE in jar else None
    principal = api.state.sessions.get(token) if token else None
    return principal is not None and may(principal, "import")


_listen_without_nagle()
api = create_api(get_settings(), first_view=first_view)
STREAMLIT_STATIC = Path(st.__file__).parent / "static" / "static"
INDEX_HTML = STREAMLIT_STATIC.parent / "index.html"
# Streamlit's page with the script that holds the map page's map (surfaces/mapshell); that
# script starts Streamlit's own (its entry module), on the map page once the first view is
# drawn; and with the panel's styles, which that first view uses too
_INDEX, _ENTRY = without_entry(INDEX_HTML.read_text(encoding="utf-8"))
PAGE = with_head(_INDEX, PANEL_CSS + shell_tag(HEAD, _ENTRY))


async def page(request) -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


app = st.App(ROOT / "app.py", routes=[Route("/", page), Mount("/api", app=api)], middleware=[
    Middleware(PageGuard, policy=page_policy(inline_script_hashes(INDEX_HTML)),
               may_upload_large=_may_upload_large,
               max_upload_bytes=int(st.get_option("server.maxUploadSize")) << 20),
    *(Middleware(PrecompressedStatic, root=root, cache_dir=cache, prefix=prefix)
      for (root, cache), prefix in zip(bundle_roots(), ("/static/", urls.deck_bundle("")),
                                       strict=True))])

def main() -> None:
    parser = argparse.ArgumentParser(description="Serve Village Twin (UI and /api).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args()
    from twin.api.observe import configure_logging
    from twin.runtime.scheduler import Sweeper
    from twin.store.db import make_engine

    configure_logging()
    settings = get_settings()
    # uvicorn believes X-Forwarded-For/-Proto from these peers only (its default, loopback,
    # would let anyone on this machine pose as any address to the sign-in throttle)
    os.environ["FORWARDED_ALLOW_IPS"] = settings.trusted_proxies
    if settings.sweep_seconds > 0:  # overdue events climb by themselves
        Sweeper(make_engine(settings), settings.sweep_seconds).start()
    if settings.platform_url and settings.platform_key:  # event changes to the platform
        from twin.domain.sync import enable
        from twin.runtime.scheduler import Pusher

        engine = make_engine(settings)
        enable(engine, settings.platform_name, settings.platform_url)
        Pusher(engine, settings.platform_url, settings.platform_key.encode()).start()
    app.run(config={"server.address": args.host, "server.port": args.port})


if __name__ == "__main__":
    main()
