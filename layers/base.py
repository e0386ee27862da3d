"""What a map application is: data in, pydeck layers plus legend and KPIs out (no UI).

Each application is one module in ``layers/`` with one class on ``Application``; the
registry in ``layers/registry.py`` is the only list of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import pydeck as pdk

from twin.api.assets import worker_url
from twin.i18n import t

RGBA = tuple[int, int, int, int]
# Layers drawn on the terrain surface instead of at sea level.
ON_TERRAIN = [{"@@type": "_TerrainExtension"}]


@dataclass(frozen=True)
class MapContext:
    """What every application may use to build its layers."""

    versions: dict[str, str]          # tile layer → data version (for cacheable URLs)
    on_terrain: bool = False          # drape on the terrain surface
    lang: str = "zh"
    time_range: tuple[int, int] | None = None  # epoch seconds shown by time-aware layers


@dataclass(frozen=True)
class LegendEntry:
    label: str
    color: RGBA


@dataclass(frozen=True)
class Kpi:
    label: str
    value: float | int
    unit: str = ""


@dataclass(frozen=True)
class Legend:
    title: str
    entries: list[LegendEntry] = field(default_factory=list)


class Application(ABC):
    """One application of the one map (governance, environment, tourism, base …)."""

    #: registry key and URL token
    name: str = ""
    #: catalog key of the title
    title_key: str = ""
    #: tile layers whose data versions the application's URLs carry
    tile_layers: tuple[str, ...] = ()

    def title(self, lang: str) -> str:
        return t(self.title_key, lang)

    @abstractmethod
    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        """The deck.gl layers of this application."""

    def unit_fill(self, units: dict[str, Any]) -> str | None:
        """An accessor colouring the units (a choropleth), or None to leave them plain.
        ``units`` is the GeoJSON of the units on the map, with their counts."""
        return None

    @abstractmethod
    def legend(self, lang: str) -> Legend:
        """What the colours mean."""

    @abstractmethod
    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        """Key figures of the current unit, from its roll-up (``twin.summary.rollup``)."""


def tile_url(layer: str, version: str) -> str:
    """Relative XYZ template of a tile layer at a data version (no outside host)."""
    return f"/api/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v={version}"


def color_expression(prop: str, colors: dict[str, RGBA], other: RGBA) -> str:
    """A deck.gl expression choosing a colour by a tile property's value."""
    expr = str(list(other))
    for value, rgba in reversed(colors.items()):
        expr = f"properties.{prop} === '{value}' ? {list(rgba)} : {expr}"
    return expr


def mvt_layer(layer: str, ctx: MapContext, extensions: tuple[dict, ...] = (),
              **props: Any) -> pdk.Layer:
    """An MVTLayer on /api/tiles with the local worker, draped on the terrain if any."""
    chosen = [*extensions, *(ON_TERRAIN if ctx.on_terrain else [])]
    return pdk.Layer(
        "MVTLayer",
        data=tile_url(layer, ctx.versions[layer]),
        load_options={"mvt": {"workerUrl": worker_url("mvt")}},
        extensions=chosen or None,
        pickable=True,
        **props,
    )


def points_layer(layer: str, ctx: MapContext, *, id: str, radius_px: int, fill: Any,
                 **props: Any) -> pdk.Layer:
    """Point features of a tile layer as circles of a fixed size on screen."""
    return mvt_layer(layer, ctx, id=id, point_type="'circle'", get_point_radius=radius_px,
                     point_radius_units="'pixels'", get_fill_color=fill, **props)


def legend_of(title_key: str, colors: dict[str, RGBA], prefix: str, lang: str) -> Legend:
    """A legend whose labels are catalog entries ``prefix + value``."""
    return Legend(t(title_key, lang), [LegendEntry(t(prefix + k, lang), c)
                                       for k, c in colors.items()])
