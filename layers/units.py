"""The grid's units as pydeck layers: data in, a description of layers out (no Streamlit)."""

from __future__ import annotations

import math
from typing import Any

import pydeck as pdk

from layers.base import ON_TERRAIN

# RGBA fill and line per level: towns strong, micro-grids faint.
STYLE = {
    "town": ([38, 110, 160, 40], [20, 60, 110, 255], 3),
    "village": ([60, 150, 120, 40], [30, 100, 80, 230], 2),
    "grid": ([220, 160, 60, 35], [170, 110, 20, 220], 1),
    "microgrid": ([200, 90, 90, 25], [150, 60, 60, 180], 1),
}


def units_layer(collection: dict[str, Any], level: str, on_terrain: bool = False,
                fill: Any = None) -> pdk.Layer:
    """A GeoJSON layer of one level's units, pickable, with a name tooltip; ``fill`` (an
    accessor expression from an application) replaces the level's plain colour."""
    plain, line, width = STYLE[level]
    fill = fill or plain
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
        extensions=ON_TERRAIN if on_terrain else None,
    )


def view_for(bbox: list[float] | None) -> pdk.ViewState:
    """A tilted view that frames a lon/lat bbox (Tongxiang if none)."""
    if not bbox:
        bbox = [120.30, 30.47, 120.66, 30.80]
    west, south, east, north = bbox
    span = max(east - west, (north - south) / math.cos(math.radians((north + south) / 2)), 1e-4)
    # deck.gl's world is 512 px wide at zoom 0: this fits the span in ~400 px, which leaves
    # room for the tilt (the near edge of a pitched view is drawn larger)
    zoom = max(3.0, min(17.0, math.log2(360 / span) - 0.3))
    return pdk.ViewState(longitude=(west + east) / 2, latitude=(south + north) / 2,
                         zoom=zoom, pitch=45, bearing=0)


def view_from_params(params: dict[str, str]) -> pdk.ViewState | None:
    """A camera from URL parameters lon, lat, zoom[, pitch, bearing]; None if absent or bad."""
    try:
        lon, lat, zoom = float(params["lon"]), float(params["lat"]), float(params["zoom"])
        pitch = float(params.get("pitch", 50))
        bearing = float(params.get("bearing", 0))
    except (KeyError, ValueError):
        return None
    if not (-180 <= lon <= 180 and -85 <= lat <= 85 and 0 <= zoom <= 22 and 0 <= pitch <= 85):
        return None
    return pdk.ViewState(longitude=lon, latitude=lat, zoom=zoom, pitch=pitch, bearing=bearing)


def units_deck(collection: dict[str, Any], level: str,
               below: list[pdk.Layer] | tuple[pdk.Layer, ...] = (),
               above: list[pdk.Layer] | tuple[pdk.Layer, ...] = (),
               view: pdk.ViewState | None = None, on_terrain: bool = False,
               fill: Any = None) -> pdk.Deck:
    """The map: ``below`` (the twin's terrain), one level of units, then ``above`` (e.g. 3D
    buildings); no outside basemap — the twin is the basemap."""
    return pdk.Deck(
        layers=[*below, units_layer(collection, level, on_terrain, fill), *above],
        initial_view_state=view or view_for(collection.get("bbox")),
        # No provider and pydeck's default style sentinel: Streamlit draws no basemap and
        # fetches no style (map_style=None would make it load Carto's).
        map_provider=None,
        tooltip={"text": "{name} {code}"},
    )
