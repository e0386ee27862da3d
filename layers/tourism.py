"""Tourism: scenic spots, homestays, restaurants, parking and toilets."""

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

KIND_COLORS = {
    "scenic_spot": (200, 60, 120, 240),
    "homestay": (240, 150, 50, 240),
    "restaurant": (230, 90, 50, 240),
    "parking": (60, 110, 200, 240),
    "toilet": (60, 170, 170, 240),
}
HIDDEN = (0, 0, 0, 0)  # other facility kinds belong to other applications


class Tourism(Application):
    name = "tourism"
    title_key = "app.tourism"
    tile_layers = ("facilities",)

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        return [points_layer(
            "facilities", ctx, id="tourism-pois", radius_px=7, min_zoom=12, max_zoom=16,
            fill=color_expression("kind", KIND_COLORS, HIDDEN), stroked=False,
        )]

    def legend(self, lang: str) -> Legend:
        return legend_of("legend.poi_kind", KIND_COLORS, "kind.", lang)

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        by_kind = summary.get("facilities_by_kind") or {}
        return [Kpi(t(f"kind.{k}", lang), by_kind.get(k, 0)) for k in KIND_COLORS]
