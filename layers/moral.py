"""德治 (moral governance): 三治积分 and 三治信用 on the map — the median points earned per
micro-grid (or the share of households with a credit level), where volunteer teams served
in the period; the panel's figures: households holding points, credit levels, volunteers
and their hours, points awarded per board and redeemed at the shops, per child unit; the
village's shop; and, for those who see the unit's households, its 红榜 (ranking)."""

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
    mvt_layer,
    pct_text,
    points_layer,
    ramp_expression,
)
from twin.domain import points
from twin.domain.access import NONE, sees
from twin.i18n import t

# micro-grids by the median points earned by their households (null: fewer than five)
EARNED = [(20, (255, 230, 160, 150)), (40, (250, 180, 80, 160)), (60, (230, 120, 40, 170)),
          (90, (190, 60, 20, 180))]
# micro-grids by the share of households with a 三治信用 level
CREDIT = [(10, (200, 225, 245, 150)), (25, (120, 180, 230, 160)), (40, (40, 120, 200, 170)),
          (60, (10, 60, 150, 180))]
BELOW = {"median_earned": (255, 245, 215, 140), "credit_pct": (235, 242, 250, 140)}
FEW = (200, 200, 200, 60)          # fewer than five households hold points
VOLUNTEER = (0, 150, 110, 230)
VIEWS = ("earned", "credit", "volunteers")


class Moral(Application):
    name = "moral"
    title_key = "app.moral"
    tile_layers = ("points_units", "volunteer_activities")
    filters = (Filter("view", "filter.moral_view", VIEWS, "moral.view."),)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        shown = ctx.chosen("view", VIEWS)
        out = []
        if "earned" in shown or "credit" in shown:
            prop, steps = (("median_earned", EARNED) if "earned" in shown
                           else ("credit_pct", CREDIT))
            fill = ramp_expression(prop, steps, BELOW[prop])
            out.append(mvt_layer(
                "points_units", ctx, id="moral-points", min_zoom=12, max_zoom=16,
                get_fill_color=f"properties.{prop} === null || properties.{prop} === undefined"
                               f" ? {list(FEW)} : {fill}",
                get_line_color=[255, 255, 255, 150], line_width_min_pixels=0.5,
                stroked=True, filled=True))
        if "volunteers" in shown:
            out.append(points_layer(
                "volunteer_activities", ctx, id="moral-volunteers", radius_px=5, min_zoom=10,
                max_zoom=16, fill=list(VOLUNTEER), get_line_color=[255, 255, 255],
                stroked=True, line_width_min_pixels=1))
        return out

    def legend(self, lang: str) -> Legend:
        return Legend(t("app.moral", lang), [
            *(LegendEntry(t("legend.earned", lang).format(n=n), c) for n, c in EARNED),
            *(LegendEntry(t("legend.credit_share", lang).format(n=n), c) for n, c in CREDIT),
            LegendEntry(t("legend.few_households", lang), FEW),
            LegendEntry(t("legend.volunteer_activities", lang), VOLUNTEER),
        ])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        homes = summary.get("households", 0)
        credited = summary.get("households_credit", 0)
        return [Kpi(t("kpi.points_households", lang), summary.get("households_points", 0)),
                Kpi(t("kpi.credit_households", lang), credited),
                Kpi(t("kpi.credit_share", lang),
                    round(100.0 * credited / homes, 1) if homes else 0, "%")]

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        lang = scope.lang
        m = points.measures(engine, scope.unit, scope.start, scope.end)
        credited = sum(m["credit"].values())
        rows = [
            (t("kpi.points_households", lang), f"{m['scored']:,}"),
            (t("kpi.points_share", lang), pct_text(m["scored_pct"])),
            (t("kpi.median_earned", lang), "—" if m["median_earned"] is None
             else f"{m['median_earned']:,}"),
            (t("kpi.credit_households", lang), f"{credited:,}"),
            (t("kpi.credit_share", lang), pct_text(m["credit_pct"])),
            *((t("kpi.credit_level", lang) + " " + level, f"{m['credit'].get(level, 0):,}")
              for level in reversed(points.LEVELS)),
            (t("kpi.volunteers", lang), f"{m['volunteers']:,}"),
            (t("kpi.volunteer_teams", lang), f"{m['teams']:,}"),
            (t("kpi.volunteer_hours", lang), f"{m['hours']:,.0f}"),
            (t("kpi.volunteer_activities", lang), f"{m['activities']:,}"),
            (t("kpi.redemptions", lang), f"{m['redemptions']:,}"),
            (t("kpi.redeemed", lang), f"{m['redeemed']:,}"),
        ]
        figures = pd.DataFrame(rows, columns=["label", "value"])
        out = [Chart(t("moral.figures", lang), figures, "kpis")]
        if m["by_board"]:
            out.append(Chart(t("moral.by_board", lang), pd.DataFrame(
                {t("kpi.points", lang): [m["by_board"].get(b, 0) for b in points.BOARDS]},
                index=[t("board." + b, lang) for b in points.BOARDS]), "bar"))
        children = points.by_child(engine, scope.unit)
        if children:
            frame = pd.DataFrame(children)
            scored = frame["scored"].where(frame["scored"] > 0)
            out.append(Chart(t("moral.by_unit", lang), pd.DataFrame({
                t("kpi.points_households", lang): frame["scored"].to_numpy(),
                t("kpi.median_earned", lang): frame["median_earned"].fillna(0).astype(int)
                .to_numpy(),
                t("kpi.credit_households", lang): (100 * frame["credited"] / scored).round(1)
                .map(lambda v: "—" if pd.isna(v) else f"{v:g}%").to_numpy(),
            }, index=frame["name"].to_numpy()), "table"))
        unit = scope.unit
        if unit is not None and unit["level"] == "village":
            items = points.shop(engine, unit)
            if items:
                out.append(Chart(t("moral.shop", lang), pd.DataFrame({
                    t("shop.cost", lang): [i["cost"] for i in items],
                    t("shop.stock", lang): [i["stock"] for i in items],
                }, index=[i["name"] for i in items]), "table"))
        if unit is not None and sees(scope.principal, "households") != NONE:
            top = points.ranking(engine, scope.principal, unit["code"], limit=10)
            if top:
                out.append(Chart(t("moral.ranking", lang), pd.DataFrame({
                    t("kpi.earned", lang): [r["earned"] for r in top],
                    t("kpi.balance", lang): [r["balance"] for r in top],
                    t("kpi.credit_level", lang): [r["level"] or "—" for r in top],
                }, index=[r["code"] for r in top]), "table",
                    note=t("moral.ranking_note", lang)))
        return out
