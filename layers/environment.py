"""Environment: monitoring stations coloured by the national grade of their latest readings
(AQI categories for air, GB 3838 classes for water), daily trends and breaches."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pydeck as pdk
from sqlalchemy.engine import Engine

from layers.application import (
    Application,
    Chart,
    Filter,
    Kpi,
    Legend,
    LegendEntry,
    MapContext,
    Scope,
    color_expression,
    legend_of,
    points_layer,
)
from twin.domain.environment import breaches, daily_grades
from twin.i18n import t

NORMAL = (40, 170, 90, 240)
ALARM = (220, 40, 40, 250)
HIDDEN = (0, 0, 0, 0)
# The colours of the AQI categories (HJ 633-2012) and of the water classes as published on
# Chinese environmental bulletins.
AQI_COLORS = {1: (0, 228, 0, 245), 2: (255, 255, 0, 245), 3: (255, 126, 0, 245),
              4: (255, 0, 0, 245), 5: (153, 0, 76, 245), 6: (126, 0, 35, 245)}
WATER_COLORS = {1: (0, 174, 239, 245), 2: (0, 112, 192, 245), 3: (0, 176, 80, 245),
                4: (255, 204, 0, 245), 5: (255, 128, 0, 245), 6: (230, 0, 18, 245)}
KINDS = ("air", "water", "water_level", "noise")


class Environment(Application):
    name = "environment"
    title_key = "app.environment"
    tile_layers = ("stations",)
    filters = (Filter("kind", "filter.station_kind", KINDS, "station_kind."),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        kinds = ctx.chosen("kind", KINDS)
        by_alarm = f"properties.alarm ? {list(ALARM)} : {list(NORMAL)}"
        branches = {"air": color_expression("grade", AQI_COLORS, by_alarm),
                    "water": color_expression("grade", WATER_COLORS, by_alarm),
                    "water_level": by_alarm, "noise": by_alarm}
        fill = str(list(HIDDEN))
        for kind in reversed(KINDS):
            if kind in kinds:
                fill = f"properties.kind === '{kind}' ? ({branches[kind]}) : {fill}"
        return [points_layer(
            "stations", ctx, id="environment-stations", radius_px=9, min_zoom=6, max_zoom=16,
            fill=fill, get_line_color=f"properties.alarm ? {list(ALARM)} : [255, 255, 255]",
            line_width_min_pixels=2, stroked=True,
            update_triggers={"getFillColor": [fill]},
        )]

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        lang = scope.lang
        grades = daily_grades(engine, scope.unit, scope.start, scope.end)
        out = []
        for kind, column, key in (("air", "aqi", "chart.aqi_daily"),
                                  ("water", "water_class", "chart.water_class_daily")):
            rows = grades[grades["kind"] == kind]
            if not rows.empty:
                wide = rows.pivot_table(index="day", columns="station", values=column,
                                        aggfunc="max")
                out.append(Chart(t(key, lang), wide, "line"))
        found = breaches(engine, scope.unit, scope.start, scope.end)
        name = "name_zh" if lang == "zh" else "name_en"
        table = pd.DataFrame({
            t("col.day", lang): found["day"].astype(str),
            t("col.station", lang): found["station"],
            t("col.parameter", lang): found[name],
            t("col.hours", lang): found["hours"],
            t("col.worst", lang): found["worst"].round(2).astype(str) + " " + found["unit"],
            t("col.limit", lang): found["limit_value"].astype(str) + " " + found["unit"],
        })
        out.append(Chart(t("chart.breaches", lang), table, "table",
                         note="" if len(table) else t("chart.no_breaches", lang)))
        return out

    def legend(self, lang: str) -> Legend:
        air = legend_of("legend.aqi", {str(k): v for k, v in AQI_COLORS.items()}, "aqi.", lang)
        water = legend_of("legend.water_class", {str(k): v for k, v in WATER_COLORS.items()},
                          "water.", lang)
        return Legend(t("legend.stations", lang), [
            *[LegendEntry(f"AQI {e.label}", e.color) for e in air.entries],
            *[LegendEntry(f"{t('station_kind.water', lang)} {e.label}", e.color)
              for e in water.entries],
            LegendEntry(t("station.normal", lang), NORMAL),
            LegendEntry(t("station.alarm", lang), ALARM),
        ])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("kpi.stations", lang), summary["stations"]),
                Kpi(t("kpi.stations_in_alarm", lang), summary["stations_in_alarm"])]
