"""党建统领 (party leadership of grassroots governance) on the map: which grids a party
organisation covers (grids without one stand out), the micro-grid leaders and how many of
their households they visited in the last 30 days, the 联户 lines from each leader to the
households they serve (from a village's zoom, for officials and grid workers of the unit),
when each household was last visited, the micro-grid workrooms, and the secretary-led
projects and the problem list. The panel: the board's figures, coverage per child unit,
visits per month, and for officials of the unit the cadres' structure."""

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
from twin.domain import party
from twin.i18n import t

PARTY_RED = (200, 30, 40, 240)
WORKROOM_COLOR = PARTY_RED
UNCOVERED = (255, 40, 40, 170)        # a grid without a party organisation stands out
COVERED = (200, 30, 40, 25)
NO_LEADER = (150, 150, 150, 90)
# micro-grids by the share of households visited in the last 30 days
VISITED = ((50, (0, 160, 62, 110)), (25, (255, 200, 60, 110)))
VISITED_LOW = (255, 120, 40, 120)
LINK_COLOR = (220, 40, 50, 170)
RECENCY = {"recent": (0, 160, 62, 230), "due": (255, 154, 46, 230),
           "overdue": (203, 38, 52, 230)}
STATUS = {"planned": (140, 140, 140, 240), "doing": (22, 100, 255, 240),
          "done": (0, 160, 62, 240)}
VIEWS = ("coverage", "leaders", "links", "visits", "workrooms", "projects")


class Party(Application):
    name = "party"
    title_key = "app.party"
    tile_layers = ("party_coverage", "leaders", "household_links", "visit_recency",
                   "workrooms", "party_projects")
    filters = (Filter("view", "filter.party_view", VIEWS, "party.view."),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        shown = ctx.chosen("view", VIEWS)
        out = []
        if "coverage" in shown:
            out.append(mvt_layer(
                "party_coverage", ctx, id="party-coverage", min_zoom=9, max_zoom=16,
                get_fill_color=f"properties.orgs > 0 ? {list(COVERED)} : {list(UNCOVERED)}",
                get_line_color=list(PARTY_RED[:3]) + [200], line_width_min_pixels=1.5,
                stroked=True, filled=True))
        if "leaders" in shown:
            fill = str(list(VISITED_LOW))
            for threshold, rgba in sorted(VISITED):
                fill = f"properties.visited_30d_pct >= {threshold} ? {list(rgba)} : {fill}"
            out.append(mvt_layer(
                "leaders", ctx, id="party-leaders", min_zoom=12, max_zoom=16,
                get_fill_color=f"properties.leader ? ({fill}) : {list(NO_LEADER)}",
                get_line_color=[255, 255, 255, 160], line_width_min_pixels=0.5,
                stroked=True, filled=True))
        if "links" in shown:
            out.append(mvt_layer(
                "household_links", ctx, id="party-links", min_zoom=13, max_zoom=16,
                get_line_color=list(LINK_COLOR), line_width_min_pixels=1, pickable=False))
        if "visits" in shown:
            recent, due, overdue = (list(c) for c in RECENCY.values())
            out.append(points_layer(
                "visit_recency", ctx, id="party-visits", radius_px=4, min_zoom=14,
                max_zoom=16, fill=f"properties.days === null || properties.days === undefined"
                                  f" ? {overdue} : properties.days < 30 ? {recent} : "
                                  f"properties.days < 90 ? {due} : {overdue}",
                stroked=False))
        if "workrooms" in shown:
            out.append(points_layer(
                "workrooms", ctx, id="party-workrooms", radius_px=8, min_zoom=10,
                max_zoom=16, fill=list(WORKROOM_COLOR), get_line_color=[255, 235, 200],
                stroked=True, line_width_min_pixels=2))
        if "projects" in shown:
            out.append(points_layer(
                "party_projects", ctx, id="party-projects", radius_px=9, min_zoom=8,
                max_zoom=16, fill=color_expression("status", STATUS, STATUS["planned"]),
                get_line_color="properties.kind === 'problem' ? [255, 40, 40] : [255, 255, 255]",
                stroked=True, line_width_min_pixels=3))
        return out

    def legend(self, lang: str) -> Legend:
        entries = [
            LegendEntry(t("legend.party_uncovered", lang), UNCOVERED),
            LegendEntry(t("legend.party_covered", lang), PARTY_RED[:3] + (120,)),
            LegendEntry(t("legend.visited_high", lang), VISITED[0][1]),
            LegendEntry(t("legend.visited_mid", lang), VISITED[1][1]),
            LegendEntry(t("legend.visited_low", lang), VISITED_LOW),
            LegendEntry(t("legend.no_leader", lang), NO_LEADER),
            LegendEntry(t("legend.household_links", lang), LINK_COLOR),
            *(LegendEntry(t("visit.recency." + k, lang), c) for k, c in RECENCY.items()),
            LegendEntry(t("legend.workrooms", lang), WORKROOM_COLOR),
            *(LegendEntry(t("party.status." + k, lang), c) for k, c in STATUS.items()),
        ]
        return Legend(t("app.party", lang), entries)

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        covered = party.coverage_pct(summary)
        return [Kpi(t("kpi.party_coverage", lang), covered if covered is not None else 0, "%"),
                Kpi(t("kpi.grids_party", lang), summary.get("grids_party", 0)),
                Kpi(t("legend.workrooms", lang), summary.get("workrooms", 0))]

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        lang = scope.lang
        m = party.measures(engine, scope.unit)
        v = party.visit_measures(engine, scope.unit)
        figures = pd.DataFrame([
            (t("kpi.leaders", lang), f"{m['leaders']:,}"),
            (t("kpi.leaders_party", lang), pct_text(m["leaders_party_pct"])),
            (t("kpi.led", lang), pct_text(m["led_pct"])),
            (t("kpi.linked", lang), pct_text(m["linked_pct"])),
            (t("kpi.visited_30d", lang), pct_text(v["visited_30d_pct"])),
            (t("kpi.visits_30d", lang), f"{v['visits_30d']:,}"),
            (t("kpi.party_orgs", lang), f"{m['party_orgs']:,}"),
            (t("kpi.party_members", lang), f"{m['party_members']:,}"),
            (t("kpi.cadres", lang), f"{m['cadres']:,} / {m['reserves']:,}"),
            (t("kpi.projects", lang), "{} / {}".format(*party.progress(m, "project"))),
            (t("kpi.problems", lang), "{} / {}".format(*party.progress(m, "problem"))),
        ], columns=["label", "value"])
        out = [Chart(t("party.figures", lang), figures, "kpis")]
        by_child = party.coverage_by_child(engine, scope.unit)
        if not by_child.empty:
            homes = by_child["households"].where(by_child["households"] > 0)
            out.append(Chart(t("party.coverage_by_unit", lang), pd.DataFrame({
                t("chart.grids", lang): by_child["grids"].to_numpy(),
                t("chart.grids_party", lang): by_child["grids_party"].to_numpy(),
                t("kpi.leaders", lang): by_child["leaders"].to_numpy(),
                t("kpi.linked", lang): (100 * by_child["households_linked"] / homes)
                .round(1).map(lambda v: "—" if pd.isna(v) else f"{v:g}%").to_numpy(),
            }, index=by_child["name"].to_numpy()), "table"))
        weekly = party.visits_weekly(engine, scope.unit, scope.start, scope.end)
        if not weekly.empty:
            weekly.columns = [t("visit.kind." + k, lang) for k in weekly.columns]
            out.append(Chart(t("party.visits_weekly", lang), weekly, "bar"))
        cadres = party.cadre_structure(engine, scope.principal, scope.unit)
        if cadres is not None and not cadres.empty:
            shown = cadres.drop(columns=["code"]).set_index("name")
            shown.columns = [t("cadre." + c, lang) for c in shown.columns]
            out.append(Chart(t("party.cadres", lang), shown, "table",
                             note=t("party.cadres_note", lang)))
        return out
