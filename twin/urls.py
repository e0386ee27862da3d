"""The one place the pages and the map applications get the API's addresses from (they
never import ``twin.api``): every path the browser asks the twin's own host for."""

from __future__ import annotations

from urllib.parse import urlencode

API = "/api"
LOADERS_VERSION = "4.4.3"  # the loaders.gl version of Streamlit's deck.gl; a test checks it
DECK_VERSION = "9.4.0"  # deck.gl's standalone bundle, which draws the map page's map
MAP_FIRST = f"{API}/map/first"  # + the page's query: the deck of its first view


def worker_url(name: str) -> str:
    """The path the map passes to deck.gl as ``workerUrl`` for a loader (``mvt``,
    ``terrain``)."""
    return f"{API}/static/loaders/{LOADERS_VERSION}/{name}-worker.js"


def deck_bundle(name: str) -> str:
    """A file of deck.gl's standalone bundle (``deck.min.js``, ``json.min.js``)."""
    return f"{API}/static/deck/{DECK_VERSION}/{name}"


def map_shell(version: str) -> str:
    """The script that holds the map page's map, at a version of its text."""
    return f"{API}/static/map/shell.js?v={version}"


def tile_template(layer: str, version: str, extra: str = "") -> str:
    """The URL template of a vector tile layer at a data version (``extra``: more query)."""
    return f"{API}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v={version}{extra}"


def raster_template(kind: str, version: str, ext: str) -> str:
    """The URL template of the terrain or imagery tiles at a data version."""
    return f"{API}/{kind}/{{z}}/{{x}}/{{y}}.{ext}?v={version}"


def scene_tileset(name: str, version: str) -> str:
    """The tileset.json of a version of a real-scene model (3D Tiles)."""
    return f"{API}/scenes/{name}/{version}/tileset.json"


def imagery_overview(version: str) -> str:
    return f"{API}/imagery/overview.webp?v={version}"


def open_events(version: str) -> str:
    return f"{API}/events/open.geojson?v={version}"


def event_heat(start: int, end: int, version: str) -> str:
    return f"{API}/heat/events.json?from={start}&to={end}&v={version}"


def law_page(path: str) -> str:
    """A page of 桐解码 / 云司法 for residents and parties (``sign/<token>``, ``book`` …)."""
    return f"{API}/law/{path}"


def auth_page(page: str, **query: str) -> str:
    """A sign-in page (``login``, ``password``, ``logout``) with its query."""
    return f"{API}/auth/{page}" + (f"?{urlencode(query)}" if query else "")
