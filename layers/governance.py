"""Governance: open events by status on the grid (monitor → warn → dispose → feedback)."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.base import (
    Application,
    Kpi,
    Legend,
    MapContext,
    color_expression,
    legend_of,
    points_layer,
)
from twin.i18n import t

STATUS_COLORS = {
    "reported": (230, 80, 60, 230),
    "triaged": (240, 140, 40, 230),
    "dispatched": (240, 190, 40, 230),
    "handling": (70, 140, 230, 230),
    "escalated": (180, 40, 160, 230),
}
# Closed and resolved events are counted in the KPIs, not drawn: the map shows what is open.
DONE = (0, 0, 0, 0)
# Units shaded by their open events: none, fewer than the median, more.
LOAD_COLORS = {"none": (90, 170, 110, 70), "some": (240, 170, 60, 110),
               "many": (220, 60, 50, 140)}


class Governance(Application):
    name = "governance"
    title_key = "app.governance"
    tile_layers = ("events",)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        timed: dict[str, Any] = {}
        if ctx.time_range:  # only events reported in the chosen period, filtered on the GPU
            timed = {"extensions": ({"@@type": "DataFilterExtension", "filterSize": 1},),
                     "get_filter_value": "properties.reported_at",
                     "filter_range": list(ctx.time_range), "binary": False}
        return [points_layer(
            "events", ctx, id="governance-events", radius_px=6, min_zoom=8, max_zoom=16,
            fill=color_expression("status", STATUS_COLORS, DONE), **timed,
            get_line_color=color_expression(
                "status", {k: (255, 255, 255, 255) for k in STATUS_COLORS}, DONE),
            line_width_min_pixels=1, stroked=True,
        )]

    def unit_fill(self, units: dict[str, Any]) -> str | None:
        counts = sorted(f["properties"].get("events_open", 0) for f in units["features"])
        busy = [c for c in counts if c > 0]
        if not busy:
            return None
        median = busy[len(busy) // 2]
        none, some, many = (list(c) for c in LOAD_COLORS.values())
        return (f"properties.events_open > {median} ? {many} : "
                f"properties.events_open > 0 ? {some} : {none}")

    def legend(self, lang: str) -> Legend:
        legend = legend_of("legend.event_status", STATUS_COLORS, "status.", lang)
        shading = legend_of("legend.unit_load", LOAD_COLORS, "load.", lang)
        return Legend(legend.title, legend.entries + shading.entries)

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        total = summary["events"] or 0
        closed = summary["events_closed"] or 0
        return [
            Kpi(t("kpi.events_open", lang), summary["events_open"]),
            Kpi(t("kpi.events_overdue", lang), summary["events_overdue"]),
            Kpi(t("kpi.resolution_rate", lang), round(100 * closed / total, 1) if total else 0,
                "%"),
        ]
