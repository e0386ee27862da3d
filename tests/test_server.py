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
