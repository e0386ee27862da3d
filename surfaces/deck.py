"""How a page draws the map (deck.gl through pydeck), below the applications' layers: the
units of a level with their outlines and names, the camera framing a unit or taken from
the URL, and the twin's own terrain and imagery as the base of every map (no outside
basemap: the product asks nothing of any other host)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pydeck as pdk

from geodata.raster import TERRAIN_RGB_DECODER, RasterError, raster_info
from layers.application import ON_TERRAIN
from twin import urls
from twin.urls import worker_url

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


def view_for(bbox: list[float] | None, fit_px: float = 416) -> pdk.ViewState:
    """A tilted view that frames a lon/lat bbox (Tongxiang if none) in about ``fit_px``
    pixels of the map."""
    if not bbox:
        bbox = [120.30, 30.47, 120.66, 30.80]
    west, south, east, north = bbox
    span = max(east - west, (north - south) / math.cos(math.radians((north + south) / 2)), 1e-4)
    # deck.gl's world is 512 px wide at zoom 0; fit_px below the map's size leaves room for
    # the tilt (the near edge of a pitched view is drawn larger)
    zoom = max(3.0, min(17.0, math.log2(360 / span * fit_px / 512)))
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


# Below this camera zoom (a grid and closer) the relief of a plain is invisible: the terrain is
# drawn as an imagery surface under the other layers instead of carrying them (draping every
# layer onto the terrain costs an extra pass per frame: ~2.5 s of the first county view and
# ~1 s of a town view in software-rendered Chromium).
DRAPE_MIN_ZOOM = 14.0
# Below this zoom (the county as a whole) the basemap is one overview picture of the imagery:
# no terrain tiles, no mesh worker before the first map.
TERRAIN_MIN_ZOOM = 11.0


def terrain_layer(dem: dict[str, Any], imagery: dict[str, Any] | None,
                  draped: bool = True) -> pdk.Layer:
    """The DEM as a 3D surface (terrain-RGB tiles) textured with the imagery tiles. When
    ``draped``, other layers with ``_TerrainExtension`` are drawn onto it; otherwise it is
    drawn beneath them without writing depth, so layers at sea level stay visible.
    ``dem``/``imagery`` are ``geodata.raster.raster_info`` of the two files."""
    texture = (f"'{urls.raster_template('imagery', imagery['version'], 'webp')}'"
               if imagery else None)
    return pdk.Layer(
        "TerrainLayer",
        id="terrain",
        # Quoted: pydeck would read a bare string as an expression, or inline a .png.
        elevation_data=f"'{urls.raster_template('terrain', dem['version'], 'png')}'",
        texture=texture,
        elevation_decoder=TERRAIN_RGB_DECODER,
        min_zoom=dem["minzoom"],
        max_zoom=dem["maxzoom"],
        extent=list(dem["bounds"]),
        mesh_max_error=1 if draped else 8,
        # quoted: literals, not expressions
        operation="'terrain+draw'" if draped else "'draw'",
        parameters=None if draped else {"depthWriteEnabled": False},
        color=[225, 225, 215],
        load_options={"terrain": {"workerUrl": worker_url("terrain")}, "maxConcurrency": 1},
    )


def overview_layer(imagery: dict[str, Any]) -> pdk.Layer:
    """The imagery as one flat picture over its bounds (``/api/imagery/overview.webp``),
    drawn beneath everything without writing depth."""
    return pdk.Layer(
        "BitmapLayer",
        id="imagery-overview",
        image=f"'{urls.imagery_overview(imagery['version'])}'",  # quoted: a literal
        bounds=list(imagery["bounds"]),
        parameters={"depthWriteEnabled": False},
    )


def _info(path: Path) -> dict[str, Any] | None:
    try:
        return raster_info(path)
    except RasterError:  # missing or unreadable: the map goes on without it
        return None


def twin_basemap(data_dir: Path, zoom: float = DRAPE_MIN_ZOOM) -> tuple[list[pdk.Layer], bool]:
    """(layers, on_terrain): the terrain with its imagery when the sample's rasters exist;
    ``on_terrain`` (layers drape onto it) from DRAPE_MIN_ZOOM up."""
    rasters = Path(data_dir) / "rasters"
    dem = _info(rasters / "dem.tif")
    if dem is None:
        return [], False
    imagery = _info(rasters / "imagery.tif")
    if zoom < TERRAIN_MIN_ZOOM and imagery is not None:
        return [overview_layer(imagery)], False
    draped = zoom >= DRAPE_MIN_ZOOM
    return [terrain_layer(dem, imagery, draped)], draped
