"""Base: buildings by use in 3D and land by use class."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.base import Application, Kpi, Legend, MapContext, color_expression, legend_of, mvt_layer
from twin.i18n import t

USE_COLORS = {
    "residential": (226, 205, 172, 255),
    "commercial": (214, 150, 120, 255),
    "industrial": (160, 170, 190, 255),
    "public": (150, 190, 215, 255),
    "agricultural": (190, 210, 150, 255),
}
OTHER = (205, 205, 205, 255)


class BaseMap(Application):
    name = "base"
    title_key = "app.base"
    tile_layers = ("buildings",)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        return [mvt_layer(
            # below z14 a house is a pixel or two: no point sending its tiles to the map
            "buildings", ctx, id="buildings", min_zoom=14, max_zoom=16, extruded=True,
            get_elevation="properties.height_m",
            get_fill_color=color_expression("use", USE_COLORS, OTHER),
            get_line_color=[120, 110, 100], auto_highlight=True,
        )]

    def legend(self, lang: str) -> Legend:
        return legend_of("legend.building_use", USE_COLORS, "use.", lang)

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("kpi.buildings", lang), summary["buildings"]),
                Kpi(t("kpi.floor_area", lang), round((summary["floor_area_m2"] or 0) / 1e4, 1),
                    t("unit.hectare", lang))]
