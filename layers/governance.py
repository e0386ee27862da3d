"""Governance: open events by status and category on the grid, where they cluster (heat),
and how the loop monitor → warn → dispose → feedback is doing in the chosen period."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pydeck as pdk
from sqlalchemy.engine import Engine

from layers.application import (
    ON_TERRAIN,
    Application,
    Chart,
    Filter,
    Kpi,
    Legend,
    MapContext,
    Scope,
    color_expression,
    legend_of,
)
from twin import urls
from twin.domain.summary import event_counts, events_daily, loop_measures, loop_trend
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
CATEGORIES = ("dispute", "safety", "fire", "sanitation", "environment", "illegal_construction",
              "public_facility", "traffic", "livelihood", "public_order", "food_drug", "flood")
# The heat map's six classes: pale yellow to deep red, as on duty-room screens.
HEAT_COLORS = {1: (255, 255, 178, 200), 2: (254, 217, 118, 210), 3: (254, 178, 76, 220),
               4: (253, 141, 60, 230), 5: (240, 59, 32, 240), 6: (189, 0, 38, 250)}


LOOP_UNITS = {"resolution_rate": "%", "on_time_rate": "%", "escalation_rate": "%",
              "within_grid": "%", "median_hours": "unit.hours", "satisfaction": " / 5",
              "reported": ""}


def loops_table(measures: dict[str, Any], lang: str) -> pd.DataFrame:
    """The three loops side by side: reported, resolved, 办结率 and on time, per loop."""
    shown = ("reported", "resolved", "resolution_rate", "on_time_rate")
    return pd.DataFrame(
        {t(f"loop.{loop}", lang): ["—" if m[k] is None else
                                   f"{m[k]:g}{'%' if k.endswith('rate') else ''}"
                                   for k in shown]
         for loop, m in measures["loops"].items()},
        index=[t(f"loop.{k}", lang) for k in shown])


def loop_kpis(measures: dict[str, Any], lang: str) -> pd.DataFrame:
    """The loop's measures as labelled figures (Tongxiang publishes its own this way:
    a 96.5 % resolution rate, disputes handled in 30 minutes instead of 6 hours)."""
    rows = []
    for key, unit in LOOP_UNITS.items():
        value = measures[key]
        suffix = t(unit, lang) if unit.startswith("unit.") else unit
        shown = "—" if value is None else (f"{value:,}" if key == "reported"
                                           else f"{value:g}{' ' if suffix[0].isalpha() else ''}"
                                                f"{suffix}")
        rows.append((t(f"loop.{key}", lang), shown))
    return pd.DataFrame(rows, columns=["label", "value"])


class Governance(Application):
    name = "governance"
    title_key = "app.governance"
    tile_layers = ("events",)
    filters = (
        Filter("status", "filter.status", tuple(STATUS_COLORS), "status."),
        Filter("category", "filter.category", CATEGORIES, "category."),
        Filter("view", "filter.view", ("points", "heat", "both"), "view.", multi=False,
               default=("points",)),
    )

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        view = (ctx.filters.get("view") or ("points",))[0]
        out = []
        if view in ("heat", "both") and ctx.time_range:
            out.append(self._heat(ctx))
        if view in ("points", "both"):
            out.append(self._points(ctx))
        return out

    def _points(self, ctx: MapContext) -> pdk.Layer:
        extensions = list(ON_TERRAIN if ctx.on_terrain else [])
        timed: dict[str, Any] = {}
        if ctx.time_range:  # only events reported in the chosen period, filtered on the GPU
            extensions.insert(0, {"@@type": "DataFilterExtension", "filterSize": 1})
            timed = {"get_filter_value": "properties.reported_at",
                     "filter_range": list(ctx.time_range)}
        statuses = ctx.chosen("status", tuple(STATUS_COLORS))
        categories = ctx.chosen("category", CATEGORIES)
        fill = color_expression("status", STATUS_COLORS, DONE, only=statuses)
        line = color_expression("status", {k: (255, 255, 255, 255) for k in STATUS_COLORS},
                                DONE, only=statuses)
        if categories != CATEGORIES:  # hide the other categories (literals, never URL text)
            shown = " || ".join(f"properties.category === '{c}'" for c in categories)
            fill, line = (f"({shown}) ? ({expr}) : {list(DONE)}" for expr in (fill, line))
        # The open events are few (a working set, not history): one GeoJSON request, parsed
        # without a worker, instead of vector tiles.
        return pdk.Layer(
            "GeoJsonLayer", id="governance-events",
            data=urls.open_events(ctx.versions["events"]),
            point_type="'circle'", get_point_radius=6, point_radius_units="'pixels'",
            get_fill_color=fill, get_line_color=line, line_width_min_pixels=1, stroked=True,
            pickable=True, update_triggers={"getFillColor": [fill], "getLineColor": [line]},
            extensions=extensions or None, **timed,
        )

    def _heat(self, ctx: MapContext) -> pdk.Layer:
        """Where events were reported in the period (all statuses): 3D columns per ~200 m
        cell from /api/heat, height and colour by the cell's class (a heat map that stands
        on the terrain instead of hiding under it)."""
        start, end = ctx.time_range
        return pdk.Layer(
            "ColumnLayer", id="governance-heat",
            data=urls.event_heat(start, end, ctx.versions["events"]),
            get_position="p", get_elevation="c", elevation_scale=90, radius=90,
            disk_resolution=6, extruded=True, pickable=False, opacity=0.75,
            get_fill_color=color_expression("c", HEAT_COLORS, HEAT_COLORS[1], of=""),
            extensions=ON_TERRAIN if ctx.on_terrain else None,
        )

    def unit_fill(self, units: dict[str, Any]) -> str | None:
        counts = sorted(f["properties"].get("events_open", 0) for f in units["features"])
        busy = [c for c in counts if c > 0]
        if not busy:
            return None
        median = busy[len(busy) // 2]
        none, some, many = (list(c) for c in LOAD_COLORS.values())
        return (f"properties.events_open > {median} ? {many} : "
                f"properties.events_open > 0 ? {some} : {none}")

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        lang = scope.lang
        counts = event_counts(engine, scope.unit, scope.start, scope.end)
        counts = counts[counts["reported"] > 0]
        by_category = pd.DataFrame({
            t("chart.reported", lang): counts["reported"].to_numpy(),
            t("chart.open", lang): counts["open"].to_numpy(),
        }, index=counts["name_zh" if lang == "zh" else "name_en"].to_numpy())
        daily = events_daily(engine, scope.unit, scope.start, scope.end).set_index("day")
        daily.columns = [t("chart.reported", lang), t("chart.resolved", lang)]
        trend = loop_trend(engine, scope.unit, scope.start, scope.end).set_index("week")
        trend = trend[["resolution_rate", "on_time_rate"]].astype(float)
        trend.columns = [t("loop.resolution_rate", lang), t("loop.on_time_rate", lang)]
        measures = loop_measures(engine, scope.unit, scope.start, scope.end)
        return [Chart(t("loop.title", lang), loop_kpis(measures, lang), "kpis"),
                Chart(t("loop.loops", lang), loops_table(measures, lang), "table"),
                Chart(t("loop.trend", lang), trend, "line"),
                Chart(t("chart.events_by_category", lang), by_category, "bar"),
                Chart(t("chart.events_daily", lang), daily, "line")]

    def legend(self, lang: str) -> Legend:
        legend = legend_of("legend.event_status", STATUS_COLORS, "status.", lang)
        shading = legend_of("legend.unit_load", LOAD_COLORS, "load.", lang)
        return Legend(legend.title, legend.entries + shading.entries)

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        # counts of the unit now; the loop's rates (办结率 …) are measures of a period, one
        # definition (twin.domain.summary.loop_measures) shown in the charts and on the wall
        return [
            Kpi(t("kpi.events_open", lang), summary["events_open"]),
            Kpi(t("kpi.events_overdue", lang), summary["events_overdue"]),
            Kpi(t("kpi.events_closed", lang), summary["events_closed"]),
        ]
