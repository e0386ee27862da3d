"""The one process: Streamlit's ``st.App`` serving the UI (app.py) with the API at /api.

Run by ``python -m twin serve [--host H] [--port N]``; any ASGI server can also serve
``server:app``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import streamlit as st
from starlette.routing import Mount

from twin.api import create_api
from twin.config import get_settings

ROOT = Path(__file__).resolve().parent

api = create_api(get_settings())
app = st.App(ROOT / "app.py", routes=[Mount("/api", app=api)])


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve Village Twin (UI and /api).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args()
    app.run(config={"server.address": args.host, "server.port": args.port})


if __name__ == "__main__":
    main()
