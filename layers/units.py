"""The grid's units as pydeck layers: data in, a description of layers out (no Streamlit)."""

from __future__ import annotations

import math
from typing import Any

import pydeck as pdk

# RGBA fill and line per level: towns strong, micro-grids faint.
STYLE = {
    "town": ([38, 110, 160, 40], [20, 60, 110, 255], 3),
    "village": ([60, 150, 120, 40], [30, 100, 80, 230], 2),
    "grid": ([220, 160, 60, 35], [170, 110, 20, 220], 1),
    "microgrid": ([200, 90, 90, 25], [150, 60, 60, 180], 1),
}


def units_layer(collection: dict[str, Any], level: str) -> pdk.Layer:
    """A GeoJSON layer of one level's units, pickable, with a name tooltip."""
    fill, line, width = STYLE[level]
    return pdk.Layer(
        "GeoJsonLayer",
        data=collection,
        id=f"units-{level}",
        pickable=True,
        stroked=True,
        filled=True,
        get_fill_color=fill,
        get_line_color=line,
        line_width_min_pixels=width,
        auto_highlight=True,
    )


def view_for(bbox: list[float] | None) -> pdk.ViewState:
    """A tilted view that frames a lon/lat bbox (Tongxiang if none)."""
    if not bbox:
        bbox = [120.30, 30.47, 120.66, 30.80]
    west, south, east, north = bbox
    span = max(east - west, (north - south) / math.cos(math.radians((north + south) / 2)), 1e-4)
    zoom = max(3.0, min(17.0, math.log2(360 / span) + 0.3))
    return pdk.ViewState(longitude=(west + east) / 2, latitude=(south + north) / 2,
                         zoom=zoom, pitch=45, bearing=0)


def units_deck(collection: dict[str, Any], level: str) -> pdk.Deck:
    """The first map: one level of units over no basemap (the twin is the basemap)."""
    return pdk.Deck(
        layers=[units_layer(collection, level)],
        initial_view_state=view_for(collection.get("bbox")),
        # No provider and pydeck's default style sentinel: Streamlit draws no basemap and
        # fetches no style (map_style=None would make it load Carto's).
        map_provider=None,
        tooltip={"text": "{name}\n{code}"},
    )
