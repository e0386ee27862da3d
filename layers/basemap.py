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


def terrain_layer(dem: dict[str, Any], imagery: dict[str, Any] | None) -> pdk.Layer:
    """The DEM as a 3D surface (terrain-RGB tiles) textured with the imagery tiles; other
    layers with ``_TerrainExtension`` are drawn onto it. ``dem``/``imagery`` are
    ``geodata.raster.raster_info`` of the two files."""
    texture = (f"'/api/imagery/{{z}}/{{x}}/{{y}}.png?v={imagery['version']}'"
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
        mesh_max_error=1,
        operation="'terrain+draw'",  # quoted: a literal, not an expression
        color=[225, 225, 215],
        load_options={"terrain": {"workerUrl": worker_url("terrain")}},
    )


def _info(path: Path) -> dict[str, Any] | None:
    try:
        return raster_info(path)
    except RasterError:  # missing or unreadable: the map goes on without it
        return None


def twin_basemap(data_dir: Path) -> tuple[list[pdk.Layer], bool]:
    """(layers, on_terrain): the terrain with its imagery when the sample's rasters exist."""
    rasters = Path(data_dir) / "rasters"
    dem = _info(rasters / "dem.tif")
    if dem is None:
        return [], False
    return [terrain_layer(dem, _info(rasters / "imagery.tif"))], True
