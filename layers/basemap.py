"""Base: buildings in 3D by use or by height, land parcels by use class, organizations."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.application import (
    Application,
    Filter,
    Kpi,
    Legend,
    LegendEntry,
    MapContext,
    color_expression,
    legend_of,
    mvt_layer,
    points_layer,
    ramp_expression,
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
# Height classes of the planners' maps: low-rise, multi-storey, high-rise (GB 50352).
HEIGHT_COLORS = {"low": (250, 225, 170, 255), "mid": (240, 150, 80, 255),
                 "high": (190, 50, 60, 255)}
HEIGHT_STEPS = [(10.0, HEIGHT_COLORS["mid"]), (24.0, HEIGHT_COLORS["high"])]


class BaseMap(Application):
    name = "base"
    title_key = "app.base"
    tile_layers = ("buildings", "land", "organizations")
    filters = (Filter("color", "filter.building_color", ("use", "height"), "building_color.",
                      multi=False, default=("use",)),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        if (ctx.filters.get("color") or ("use",))[0] == "height":
            fill = ramp_expression("height_m", HEIGHT_STEPS, HEIGHT_COLORS["low"])
        else:
            fill = color_expression("use", USE_COLORS, OTHER)
        return [mvt_layer(
            "land", ctx, id="land", min_zoom=13, max_zoom=16, stroked=False,
            get_fill_color=color_expression("use_class", LAND_COLORS, (0, 0, 0, 0)),
        ), points_layer(
            "organizations", ctx, id="organizations", radius_px=6, min_zoom=12, max_zoom=16,
            fill=list(ORGANIZATION), get_line_color=[255, 255, 255], stroked=True,
            line_width_min_pixels=1,
        ), mvt_layer(
            # below z14 a house is a pixel or two: no point sending its tiles to the map
            "buildings", ctx, id="buildings", min_zoom=14, max_zoom=16, extruded=True,
            get_elevation="properties.height_m",
            get_fill_color=fill, get_line_color=[120, 110, 100], auto_highlight=True,
            update_triggers={"getFillColor": [fill]},
        )]

    def legend(self, lang: str) -> Legend:
        uses = legend_of("legend.building_use", USE_COLORS, "use.", lang)
        heights = legend_of("legend.building_height", HEIGHT_COLORS, "height.", lang)
        land = legend_of("legend.building_use", LAND_COLORS, "landuse.", lang)
        return Legend(uses.title, uses.entries + heights.entries + land.entries + [
            LegendEntry(t("kpi.organizations", lang), ORGANIZATION)])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("kpi.buildings", lang), summary["buildings"]),
                Kpi(t("kpi.floor_area", lang), round((summary["floor_area_m2"] or 0) / 1e4, 1),
                    t("unit.hectare", lang))]
