"""The twin as its own 3D basemap: buildings from vector tiles (later terrain and imagery).

Layers return pydeck descriptions only; URLs are relative to the page, so the map asks
nothing of any host but its own.
"""

from __future__ import annotations

import pydeck as pdk

from twin.api.assets import worker_url

# Building colour by use (RGB), as a deck.gl expression over the tile's properties.
USE_COLORS = {
    "residential": [226, 205, 172],
    "commercial": [214, 150, 120],
    "industrial": [160, 170, 190],
    "public": [150, 190, 215],
    "agricultural": [190, 210, 150],
}
_OTHER = [205, 205, 205]


def _use_color_expression() -> str:
    expr = str(_OTHER)
    for use, rgb in reversed(USE_COLORS.items()):
        expr = f"properties.use === '{use}' ? {rgb} : {expr}"
    return expr


def tile_url(layer: str, version: str) -> str:
    """Relative XYZ template of a tile layer at a data version."""
    return f"/api/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v={version}"


def buildings_layer(version: str) -> pdk.Layer:
    """Buildings extruded to their height, coloured by use, from /api/tiles."""
    return pdk.Layer(
        "MVTLayer",
        data=tile_url("buildings", version),
        id="buildings",
        min_zoom=12,
        max_zoom=16,
        extruded=True,
        get_elevation="properties.height_m",
        get_fill_color=_use_color_expression(),
        get_line_color=[120, 110, 100],
        pickable=True,
        auto_highlight=True,
        load_options={"mvt": {"workerUrl": worker_url("mvt")}},
    )
