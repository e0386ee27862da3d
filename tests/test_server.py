"""server.py: the listening socket of the one process has Nagle off (keep-alive latency)."""

from __future__ import annotations

import subprocess
import sys

from twin.config import PROJECT_ROOT

PROBE = """
import socket
import server
from streamlit.web.server.starlette import starlette_server as s
sock, _ = s._bind_server_socket("127.0.0.1", "127.0.0.1", 0, 8)
client = socket.create_connection(sock.getsockname())
accepted, _ = sock.accept()
print(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
      accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
"""


def test_accepted_connections_have_tcp_nodelay():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=60,
                         env={"TWIN_DATABASE_URL": "postgresql://x@127.0.0.1:1/none",
                              "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    listener, accepted = (int(v) for v in out.stdout.split())
    assert listener and accepted


def test_the_page_preloads_the_maps_script_of_the_installed_streamlit():
    """The map's chunk of Streamlit's bundle (and what it loads) is preloaded from the page's
    Link header: every named file exists, none is one the page already preloads."""
    from pathlib import Path

    import streamlit as st

    from twin.runtime.pageguard import map_preloads

    index = Path(st.__file__).parent / "static" / "index.html"
    header = map_preloads(index)
    files = [part.strip().split(">")[0].lstrip("<") for part in header.split(",")]
    assert files[0].startswith("./static/js/DeckGlJsonChart.")
    assert any("webgl-device." in f for f in files)
    static = index.parent
    assert all((static / f).is_file() for f in files)
    page = index.read_text(encoding="utf-8")
    assert not any(f in page for f in files)
    assert header.count("rel=modulepreload") == len(files)
