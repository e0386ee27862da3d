"""自治 (self-governance) on the map: the micro-governance consultation projects, coloured by
how far they have come (raised → consulting → decided → done), and where each village's
councils and groups (百姓议事会, 乡贤参事会, 百事服务团, 法律服务团, 道德评判团) meet. The panel:
the board's figures ("一约两会三团": compacts in force, councils and members; matters,
sittings, decisions and livelihood matters solved; the 文明啄木鸟 channel and how much of it
was solved), the unit's matters, and a village's compact."""

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
    pct_text,
    points_layer,
)
from twin.domain import selfgov
from twin.i18n import t

STATUS = {"raised": (150, 150, 150, 240), "consulting": (255, 170, 0, 240),
          "decided": (22, 100, 255, 240), "done": (0, 160, 62, 240),
          "dropped": (90, 90, 90, 160)}
COUNCIL = {"residents_council": (230, 90, 30, 230), "worthies_council": (150, 60, 170, 230),
           "service_group": (0, 150, 160, 230), "legal_group": (40, 70, 160, 230),
           "moral_group": (200, 40, 110, 230)}
VIEWS = ("matters", "councils")


class SelfGovernance(Application):
    name = "self"
    title_key = "app.self"
    tile_layers = ("consultations", "councils")
    filters = (Filter("view", "filter.self_view", VIEWS, "self.view."),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        shown = ctx.chosen("view", VIEWS)
        out = []
        if "councils" in shown:
            out.append(points_layer(
                "councils", ctx, id="self-councils", radius_px=6, min_zoom=9, max_zoom=16,
                fill=color_expression("kind", COUNCIL, (120, 120, 120, 200)),
                get_line_color=[255, 255, 255], stroked=True, line_width_min_pixels=1))
        if "matters" in shown:
            out.append(points_layer(
                "consultations", ctx, id="self-matters", radius_px=11, min_zoom=8,
                max_zoom=16, fill=color_expression("status", STATUS, STATUS["raised"]),
                get_line_color=[255, 255, 255], stroked=True, line_width_min_pixels=3))
        return out

    def legend(self, lang: str) -> Legend:
        return Legend(t("app.self", lang), [
            *(LegendEntry(t("self.status." + k, lang), c) for k, c in STATUS.items()),
            *(LegendEntry(t("org." + k, lang), c) for k, c in COUNCIL.items()),
        ])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("kpi.consultations", lang), summary.get("consultations", 0)),
                Kpi(t("kpi.consultations_done", lang), summary.get("consultations_done", 0)),
                Kpi(t("kpi.matters_solved", lang), summary.get("matters_solved", 0))]

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        lang, unit = scope.lang, scope.unit
        m = selfgov.measures(engine, unit, scope.start, scope.end)
        rows = [
            (t("kpi.compacts", lang), f"{m['compacts']:,} / {m['villages']:,}"),
            *((t("org." + k, lang), f"{m['councils'].get(k, 0):,}") for k in selfgov.COUNCILS),
            (t("kpi.council_members", lang), f"{m['council_members']:,}"),
            (t("kpi.consultations", lang), f"{m['matters_total']:,}"),
            *((t("self.status." + s, lang), f"{m['matters'].get(s, 0):,}")
              for s in selfgov.STATUSES if m["matters"].get(s)),
            (t("kpi.sessions", lang), f"{m['sessions']:,}"),
            (t("kpi.sessions_period", lang), f"{m['sessions_period']:,}"),
            (t("kpi.decisions", lang), f"{m['decisions']:,}"),
            (t("kpi.matters_solved", lang), f"{m['matters_solved']:,}"),
            (t("kpi.woodpeckers", lang), f"{m['woodpeckers']:,}"),
            (t("kpi.woodpecker_reports", lang), f"{m['reports']:,}"),
            (t("kpi.woodpecker_solved", lang), pct_text(m["reports_pct"])),
        ]
        out = [Chart(t("self.figures", lang), pd.DataFrame(rows, columns=["label", "value"]),
                     "kpis")]
        found = selfgov.matters(engine, unit, limit=30)
        if found:
            out.append(Chart(t("self.matters", lang), pd.DataFrame({
                t("self.matter", lang): [r["title"] for r in found],
                t("self.brand", lang): [r["brand"] or "—" for r in found],
                t("self.council", lang): [r["council"] or "—" for r in found],
                t("self.state", lang): [t("self.status." + r["status"], lang) for r in found],
                t("kpi.sessions", lang): [r["sessions"] for r in found],
                t("kpi.matters_solved", lang): [r["matters_solved"] for r in found],
            }, index=[r["code"] for r in found]), "table"))
        if unit is not None and unit["level"] == "village":
            compact = selfgov.compact_of(engine, unit)
            if compact:
                clauses = selfgov.clauses(compact)
                out.append(Chart(
                    f"{compact['title']} · {t('self.version', lang).format(v=compact['version'])}",
                    pd.DataFrame({t("self.clause", lang): [
                        f"{i}. {c}" for i, c in enumerate(clauses, 1)]}), "table",
                    note=t("self.adopted", lang).format(on=compact["adopted_on"],
                                                        by=compact["adopted_by"])))
        return out
