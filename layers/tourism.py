"""Tourism: scenic spots, homestays, restaurants, parking and toilets, walking and cycling
routes, and visitor counts over time."""

from __future__ import annotations

from typing import Any

import pydeck as pdk
from sqlalchemy.engine import Engine

from layers.application import (
    Application,
    Chart,
    Filter,
    Kpi,
    Legend,
    MapContext,
    Scope,
    color_expression,
    legend_of,
    mvt_layer,
    points_layer,
)
from twin.domain.environment import daily_visitors
from twin.i18n import t

KIND_COLORS = {
    "scenic_spot": (200, 60, 120, 240),
    "homestay": (240, 150, 50, 240),
    "restaurant": (230, 90, 50, 240),
    "parking": (60, 110, 200, 240),
    "toilet": (60, 170, 170, 240),
}
HIDDEN = (0, 0, 0, 0)  # other facility kinds belong to other applications
ROUTE_COLORS = {"walking": (255, 90, 160, 255), "cycling": (40, 200, 255, 255),
                "boat": (60, 90, 220, 255)}


class Tourism(Application):
    name = "tourism"
    title_key = "app.tourism"
    tile_layers = ("facilities", "routes")
    filters = (Filter("kind", "filter.poi_kind", tuple(KIND_COLORS), "kind."),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        fill = color_expression("kind", KIND_COLORS, HIDDEN,
                                only=ctx.chosen("kind", tuple(KIND_COLORS)))
        return [mvt_layer(
            "routes", ctx, id="tourism-routes",
            min_zoom=10, max_zoom=16, get_line_color=color_expression("kind", ROUTE_COLORS,
                                                                      HIDDEN),
            line_width_min_pixels=4, line_cap_rounded=True, line_joint_rounded=True,
        ), points_layer(
            "facilities", ctx, id="tourism-pois", radius_px=7, min_zoom=12, max_zoom=16,
            fill=fill, stroked=False, update_triggers={"getFillColor": [fill]},
        )]

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        counts = daily_visitors(engine, scope.unit, scope.start, scope.end)
        if counts.empty:
            return [Chart(t("chart.visitors_daily", scope.lang), counts, "line",
                          note=t("chart.no_data", scope.lang))]
        wide = counts.pivot_table(index="day", columns="station", values="visitors",
                                  aggfunc="sum")
        return [Chart(t("chart.visitors_daily", scope.lang), wide, "line")]

    def legend(self, lang: str) -> Legend:
        pois = legend_of("legend.poi_kind", KIND_COLORS, "kind.", lang)
        routes = legend_of("legend.routes", ROUTE_COLORS, "route.", lang)
        return Legend(pois.title, pois.entries + routes.entries)

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        by_kind = summary.get("facilities_by_kind") or {}
        return [Kpi(t(f"kind.{k}", lang), by_kind.get(k, 0)) for k in KIND_COLORS]
