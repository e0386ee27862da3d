"""Base: buildings by use in 3D, land parcels by use class, organizations."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.base import (
    Application,
    Kpi,
    Legend,
    LegendEntry,
    MapContext,
    color_expression,
    legend_of,
    mvt_layer,
    points_layer,
)
from twin.i18n import t

USE_COLORS = {
    "residential": (226, 205, 172, 255),
    "commercial": (214, 150, 120, 255),
    "industrial": (160, 170, 190, 255),
    "public": (150, 190, 215, 255),
    "agricultural": (190, 210, 150, 255),
}
OTHER = (205, 205, 205, 255)
LAND_COLORS = {
    "farmland": (170, 200, 90, 70),
    "homestead": (230, 190, 140, 80),
    "construction": (200, 120, 110, 80),
    "water": (70, 130, 200, 90),
    "forest": (40, 110, 60, 80),
    "garden": (140, 190, 110, 70),
    "road": (150, 150, 150, 80),
}
ORGANIZATION = (120, 60, 170, 240)


class BaseMap(Application):
    name = "base"
    title_key = "app.base"
    tile_layers = ("buildings", "land", "organizations")

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        return [mvt_layer(
            "land", ctx, id="land", min_zoom=13, max_zoom=16, stroked=False,
            get_fill_color=color_expression("use_class", LAND_COLORS, (0, 0, 0, 0)),
        ), points_layer(
            "organizations", ctx, id="organizations", radius_px=6, min_zoom=10, max_zoom=16,
            fill=list(ORGANIZATION), get_line_color=[255, 255, 255], stroked=True,
            line_width_min_pixels=1,
        ), mvt_layer(
            # below z14 a house is a pixel or two: no point sending its tiles to the map
            "buildings", ctx, id="buildings", min_zoom=14, max_zoom=16, extruded=True,
            get_elevation="properties.height_m",
            get_fill_color=color_expression("use", USE_COLORS, OTHER),
            get_line_color=[120, 110, 100], auto_highlight=True,
        )]

    def legend(self, lang: str) -> Legend:
        uses = legend_of("legend.building_use", USE_COLORS, "use.", lang)
        land = legend_of("legend.building_use", LAND_COLORS, "landuse.", lang)
        return Legend(uses.title, uses.entries + land.entries + [
            LegendEntry(t("kpi.organizations", lang), ORGANIZATION)])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("kpi.buildings", lang), summary["buildings"]),
                Kpi(t("kpi.floor_area", lang), round((summary["floor_area_m2"] or 0) / 1e4, 1),
                    t("unit.hectare", lang))]
