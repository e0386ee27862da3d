"""The map page's map, held by the page rather than drawn by Streamlit.

``shell.js`` runs in the page from its first bytes (``server.py`` adds it to Streamlit's
``index.html``): on the map page it draws the first view with deck.gl's standalone bundle
before Streamlit has started (~1 s earlier than ``st.pydeck_chart`` could), and it keeps the
map across reruns. ``page_map`` — a component without a frame of its own to show — hands
each deck the script builds to that map and returns the last click on it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from streamlit.components.v1 import declare_component

from twin import urls

HERE = Path(__file__).resolve().parent
SHELL = HERE / "shell.js"


def page_map(*, deck: str, key: str):
    """Hand ``deck`` (pydeck JSON) to the page's map; returns the last click on it as
    ``{"layer": id, "object": properties, "click": n}`` (None before the first). Declared
    here, in the script's run, as Streamlit registers a component with its running app."""
    return declare_component("twin_page_map", path=str(HERE / "bridge"))(
        deck=deck, key=key, default=None)


def shell_tag(head: str, app: str) -> str:
    """The ``<script>`` that starts the page's map, for the page's ``<head>``; ``head``: the
    height of the page's header, above the map; ``app``: Streamlit's entry module, which the
    script starts (on the map page, once the first view is drawn)."""
    version = hashlib.sha256(SHELL.read_bytes()).hexdigest()[:12]
    return (f'<script src="{urls.map_shell(version)}" data-head="{head}" data-app="{app}" '
            f'data-deck="{urls.deck_bundle("deck.min.js")}" '
            f'data-json="{urls.deck_bundle("json.min.js")}" '
            f'data-first="{urls.MAP_FIRST}"></script>')
