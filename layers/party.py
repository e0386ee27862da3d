"""党建统领 (party leadership of grassroots governance): so far the micro-grid workrooms
(微网格工作室) where leaders meet the households of the micro-grids they serve; the board's
organisations, leaders, household links and visits join it as their families arrive."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.application import Application, Kpi, Legend, LegendEntry, MapContext, points_layer
from twin.i18n import t

WORKROOM_COLOR = (200, 30, 40, 240)  # the party's red


class Party(Application):
    name = "party"
    title_key = "app.party"
    tile_layers = ("workrooms",)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        return [points_layer("workrooms", ctx, id="party-workrooms", radius_px=8,
                             min_zoom=10, max_zoom=16, fill=list(WORKROOM_COLOR),
                             get_line_color=[255, 235, 200], stroked=True,
                             line_width_min_pixels=2, pickable=True)]

    def legend(self, lang: str) -> Legend:
        return Legend(t("app.party", lang), [LegendEntry(t("legend.workrooms", lang),
                                                         WORKROOM_COLOR)])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        return [Kpi(t("legend.workrooms", lang), summary.get("workrooms", 0))]
