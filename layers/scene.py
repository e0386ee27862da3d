"""三维实景: the real-scene 3D models (OGC 3D Tiles from /api/scenes) — an old town as
oblique photography or LoD2 buildings would give it — drawn by deck.gl's Tile3DLayer,
which fetches only the tiles its view needs."""

from __future__ import annotations

from typing import Any

import pydeck as pdk

from layers.application import Application, Kpi, Legend, LegendEntry, MapContext
from twin import urls
from twin.i18n import t

WALL, ROOF = (240, 237, 227, 255), (51, 56, 64, 255)
# Plain tiles only (no Draco, no KTX2: refused at import), so nothing starts a worker or asks
# another host for a decoder; the picked object of a 3D tile cannot be sent back to the page.
LOAD_OPTIONS: dict[str, Any] = {"gltf": {"decompressMeshes": False}, "worker": False,
                                "tileset": {"maximumScreenSpaceError": 8}}


class RealScene(Application):
    name = "scene"
    title_key = "app.scene"
    scenes = True

    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        return [pdk.Layer("Tile3DLayer", urls.scene_tileset(s["name"], s["version"]),
                          id=f"scene-{s['name']}", pickable=False, load_options=LOAD_OPTIONS)
                for s in ctx.scenes]

    def legend(self, lang: str) -> Legend:
        return Legend(t("scene.legend", lang), [LegendEntry(t("scene.wall", lang), WALL),
                                                 LegendEntry(t("scene.roof", lang), ROOF)])

    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        """The unit's buildings, which the models show as they stand."""
        return [Kpi(t("kpi.buildings", lang), summary["buildings"])]
