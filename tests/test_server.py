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


def test_the_page_starts_its_own_map_from_its_head():
    """Streamlit's page carries the script that draws the map page's map, at the end of its
    head, and that script starts Streamlit: its entry module is no longer in the page, but
    named to the script (the installed Streamlit's page, whatever its version)."""
    from pathlib import Path

    import pytest
    import streamlit as st

    from surfaces.mapshell import shell_tag
    from twin.runtime.pageguard import with_head, without_entry

    index = (Path(st.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    rest, entry = without_entry(index)
    assert entry.startswith("./static/js/index.") and entry.endswith(".js")
    assert entry not in rest and 'type="module" crossorigin src=' not in rest
    page = with_head(rest, shell_tag("3.2rem", entry))
    head = page.split("</head>")[0]
    assert head.rstrip().endswith("></script>") and "/api/static/map/shell.js?v=" in head
    assert 'data-deck="/api/static/deck/' in head and 'data-first="/api/map/first"' in head
    assert f'data-app="{entry}"' in head
    with pytest.raises(ValueError, match="no </head>"):
        with_head("<html><body></body></html>", shell_tag("3.2rem", entry))
    with pytest.raises(ValueError, match="no entry module"):
        without_entry("<html><head></head><body></body></html>")

