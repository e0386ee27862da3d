"""法治 (rule of law) on the map: where disputes arise (villages shaded by disputes of the
last year per 1,000 households) and where each stands (points by status: applied →
mediating → settled, or to court); the public legal service places (党群服务中心, 法治小院,
板凳法庭, judges' and mediators' stations) and the villages each serves; and the coverage
gaps — villages farther than the matching reach from any mediator. The panel: the board's
figures (success rate, pre-litigation rate, time from application to agreement — median
and p90 — against the seed's 30 minutes), disputes by kind and month, and each mediator's
caseload (names masked)."""

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
    mvt_layer,
    pct_text,
    points_layer,
)
from twin.domain import law
from twin.domain.pii import mask_name
from twin.i18n import t

STATUS = {"applied": (150, 150, 150, 240), "accepted": (120, 120, 200, 240),
          "matched": (255, 170, 0, 240), "mediating": (255, 120, 0, 240),
          "agreed": (0, 160, 62, 240), "confirm_requested": (0, 140, 120, 240),
          "confirmed": (0, 110, 60, 240), "litigation": (200, 30, 40, 240),
          "withdrawn": (90, 90, 90, 160), "rejected": (60, 60, 60, 160)}
PLACE = {"service_centre": (214, 40, 40, 240), "law_yard": (22, 100, 255, 240),
         "bench_court": (150, 60, 170, 240), "judge_station": (20, 40, 110, 240),
         "mediator_station": (0, 150, 160, 240)}
DENSITY = ((8.0, (160, 20, 40, 170)), (4.0, (230, 90, 60, 150)), (2.0, (250, 170, 110, 130)),
           (0.01, (255, 225, 190, 110)))
NO_DISPUTE = (235, 245, 235, 60)
GAP = (255, 0, 120, 200)
VIEWS = ("density", "disputes", "places", "catchments", "gaps")
# shown until the user picks: the catchments (a place's villages, thousands of outlines at
# county scale) are asked for — they took the county's first view from ~10 s to 25 s in
# software WebGL (scripts/bench_law.py)
DEFAULT_VIEWS = ("density", "disputes", "places", "gaps")


def duration_text(minutes: float | None, lang: str) -> str:
    """A time from application to agreement as the panel and the wall show it."""
    if minutes is None:
        return "—"
    if minutes < 120:
        return t("law.minutes", lang).format(n=round(minutes))
    if minutes < 48 * 60:
        return t("law.hours", lang).format(n=round(minutes / 60, 1))
    return t("law.days", lang).format(n=round(minutes / 1440, 1))


def _ramp(prop: str) -> str:
    expr = str(list(NO_DISPUTE))
    for threshold, rgba in sorted(DENSITY):
        expr = f"properties.{prop} >= {threshold} ? {list(rgba)} : {expr}"
    return expr


class RuleOfLaw(Application):
    name = "law"
    title_key = "app.law"
    tile_layers = ("law_villages", "disputes", "legal_places", "legal_catchments")
    filters = (Filter("view", "filter.law_view", VIEWS, "law.view.", default=DEFAULT_VIEWS),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        shown = ctx.chosen("view", VIEWS) if ctx.filters.get("view") else DEFAULT_VIEWS
        out = []
        if "density" in shown or "gaps" in shown:
            reach = 15  # km: the default matching reach (law.weights); gaps beyond it
            fill = _ramp("disputes_per_1000") if "density" in shown else "[0, 0, 0, 0]"
            line = (f"properties.mediator_km > {reach} ? {list(GAP)} : [255, 255, 255, 90]"
                    if "gaps" in shown else "[255, 255, 255, 90]")
            out.append(mvt_layer(
                "law_villages", ctx, id="law-villages", min_zoom=8, max_zoom=16,
                get_fill_color=fill, get_line_color=line, line_width_min_pixels=1.5,
                get_line_width=f"properties.mediator_km > {reach} ? 4 : 1",
                line_width_units="'pixels'", stroked=True, filled=True))
        if "catchments" in shown:
            # outlines only: a village is served by several places, and their fills would
            # pile up over the density below
            out.append(mvt_layer(
                "legal_catchments", ctx, id="law-catchments", min_zoom=9, max_zoom=16,
                get_line_color=color_expression("kind", PLACE, (120, 120, 120, 200)),
                line_width_min_pixels=1, stroked=True, filled=False, pickable=False))
        if "places" in shown:
            out.append(points_layer(
                "legal_places", ctx, id="law-places", radius_px=7, min_zoom=11, max_zoom=16,
                fill=color_expression("kind", PLACE, (120, 120, 120, 220)),
                get_line_color=[255, 255, 255], stroked=True, line_width_min_pixels=1.5))
        if "disputes" in shown:
            out.append(points_layer(
                "disputes", ctx, id="law-disputes", radius_px=5, min_zoom=11, max_zoom=16,
                fill=color_expression("status", STATUS, STATUS["applied"]),
                get_line_color="properties.online ? [22, 100, 255] : [255, 255, 255]",
                stroked=True, line_width_min_pixels=1.5))
        return out

    def legend(self, lang: str) -> Legend:
        return Legend(t("app.law", lang), [
            *(LegendEntry(t("law.status." + s, lang), STATUS[s])
              for s in ("applied", "mediating", "agreed", "confirmed", "litigation")),
            *(LegendEntry(t("law.place." + k, lang), c) for k, c in PLACE.items()),
            LegendEntry(t("law.density", lang), DENSITY[1][1]),
            LegendEntry(t("law.gap", lang), GAP),
        ])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("law.kpi.disputes", lang), summary.get("disputes", 0)),
                Kpi(t("law.kpi.open", lang), summary.get("disputes_open", 0)),
                Kpi(t("law.kpi.settled", lang), summary.get("disputes_settled", 0))]

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        lang, unit = scope.lang, scope.unit
        m = law.measures(engine, unit, scope.start, scope.end)

        rows = [
            (t("law.kpi.disputes", lang), f"{m['disputes']:,}"),
            (t("law.kpi.parties", lang), f"{m['parties']:,}"),
            (t("law.kpi.settled", lang), f"{m['settled']:,}"),
            (t("law.kpi.success", lang), pct_text(None if m["success_pct"] is None
                                                  else round(m["success_pct"], 1))),
            (t("law.kpi.prelitigation", lang), pct_text(
                None if m["prelitigation_pct"] is None else round(m["prelitigation_pct"], 1))),
            (t("law.kpi.median", lang), duration_text(m["median_minutes"], lang)),
            (t("law.kpi.p90", lang), duration_text(m["p90_minutes"], lang)),
            (t("law.kpi.online_median", lang), duration_text(m["online_median_minutes"], lang)),
            (t("law.kpi.open", lang), f"{m['open']:,}"),
            (t("law.kpi.litigation", lang), f"{m['litigation']:,}"),
            (t("law.kpi.organizations", lang), f"{m['organizations']:,}"),
            (t("law.kpi.mediators", lang), f"{m['mediators']:,}"),
            (t("law.kpi.judges", lang), f"{m['judges']:,} / {m['judged_villages']:,}"),
            (t("law.kpi.places", lang), f"{m['places']:,}"),
            (t("law.kpi.appointments", lang), f"{m['appointments']:,}"),
        ]
        out = [Chart(t("law.figures", lang), pd.DataFrame(rows, columns=["label", "value"]),
                     "kpis", note=t("law.seed_note", lang))]
        kinds = {k: n for k, n in (m["by_kind"] or {}).items() if n}
        if kinds:
            out.append(Chart(t("law.by_kind", lang), pd.DataFrame(
                {t("law.kpi.disputes", lang): [kinds.get(k, 0) for k in law.KINDS]},
                index=[t("law.kind." + k, lang) for k in law.KINDS]), "bar"))
        gaps = law.coverage_gaps(engine, unit)
        if gaps:
            out.append(Chart(t("law.gaps", lang), pd.DataFrame({
                t("law.village", lang): [g["name"] for g in gaps],
                t("law.nearest_km", lang): [round(g["km"], 1) for g in gaps]}), "table"))
        loads = law.caseloads(engine, unit, limit=20)
        if loads:
            # a mediator is a person: the map's panel names them masked, whoever looks (the
            # officials of a dispute see the full name where they match it, 法治工作台)
            out.append(Chart(t("law.caseload", lang), pd.DataFrame({
                t("law.mediator", lang): [mask_name(r["name"]) for r in loads],
                t("law.organization", lang): [r["organization"] or "—" for r in loads],
                t("law.open", lang): [r["open"] for r in loads],
                t("law.cases", lang): [r["cases"] for r in loads],
                t("law.kpi.settled", lang): [r["settled"] for r in loads]}), "table"))
        return out
