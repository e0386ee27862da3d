"""The twin as its own 3D basemap: the terrain draped with its imagery.

Layers return pydeck descriptions only; URLs are relative to the page, so the map asks
nothing of any host but its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydeck as pdk

from geodata.raster import TERRAIN_RGB_DECODER, RasterError, raster_info
from twin.api.assets import worker_url

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
    texture = (f"'/api/imagery/{{z}}/{{x}}/{{y}}.webp?v={imagery['version']}'"
               if imagery else None)
    return pdk.Layer(
        "TerrainLayer",
        id="terrain",
        # Quoted: pydeck would read a bare string as an expression, or inline a .png.
        elevation_data=f"'/api/terrain/{{z}}/{{x}}/{{y}}.png?v={dem['version']}'",
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
        image=f"'/api/imagery/overview.webp?v={imagery['version']}'",  # quoted: a literal
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
