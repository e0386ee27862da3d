"""Environment: monitoring stations and whether their latest readings breach the limits."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.base import Application, Kpi, Legend, LegendEntry, MapContext, points_layer
from twin.i18n import t

NORMAL = (40, 170, 90, 240)
ALARM = (220, 40, 40, 250)


class Environment(Application):
    name = "environment"
    title_key = "app.environment"
    tile_layers = ("stations",)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        return [points_layer(
            "stations", ctx, id="environment-stations", radius_px=9, min_zoom=6, max_zoom=16,
            fill=f"properties.alarm ? {list(ALARM)} : {list(NORMAL)}",
            get_line_color=[255, 255, 255], line_width_min_pixels=2, stroked=True,
        )]

    def legend(self, lang: str) -> Legend:
        return Legend(t("legend.stations", lang), [
            LegendEntry(t("station.normal", lang), NORMAL),
            LegendEntry(t("station.alarm", lang), ALARM),
        ])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("kpi.stations", lang), summary["stations"]),
                Kpi(t("kpi.stations_in_alarm", lang), summary["stations_in_alarm"])]
