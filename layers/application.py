"""What a map application is: data in, pydeck layers plus legend and KPIs out (no UI).

Each application is one module in ``layers/`` with one class on ``Application``; the
registry in ``layers/registry.py`` is the only list of them.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pandas as pd
import pydeck as pdk
from sqlalchemy.engine import Engine

from twin import urls
from twin.domain.access import ANONYMOUS, Principal
from twin.i18n import t
from twin.urls import worker_url

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
    # the application's filter values (Filter.key → chosen options); absent = no filter
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    link: str | None = None  # a field link's token: its page's tiles are read with it
    # the real-scene models (name, title, version, bounds), for applications with ``scenes``
    scenes: list[dict[str, Any]] = field(default_factory=list)

    def chosen(self, key: str, options: tuple[str, ...]) -> tuple[str, ...]:
        """The options of a filter that are on (all of them when it is not set)."""
        picked = self.filters.get(key)
        return tuple(o for o in options if o in picked) if picked else options


@dataclass(frozen=True)
class Filter:
    """A sidebar filter of an application; its value lives in the URL as ``<app>.<key>``."""

    key: str
    label_key: str                 # catalog key of the label
    options: tuple[str, ...]
    option_prefix: str             # catalog prefix of the option labels
    multi: bool = True             # several options at once, or exactly one
    default: tuple[str, ...] = ()  # () = all options (multi) or the first (single)


@dataclass(frozen=True)
class Scope:
    """What the side charts cover: a unit (None = the county), a period, a language."""

    unit: dict[str, Any] | None
    start: dt.datetime
    end: dt.datetime
    lang: str = "zh"
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    principal: Principal = ANONYMOUS  # who looks: panels of personal data ask it (access)


@dataclass(frozen=True)
class Chart:
    """A chart of an application's panel: ``data`` is indexed by x, one column per series."""

    title: str
    data: pd.DataFrame
    kind: str = "line"  # line | bar | table | kpis (rows of label, value)
    note: str = ""


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
    #: sidebar filters
    filters: tuple[Filter, ...] = ()
    #: whether it draws the real-scene models (the map then reads which there are)
    scenes: bool = False

    def title(self, lang: str) -> str:
        return t(self.title_key, lang)

    @abstractmethod
    def layers(self, ctx: MapContext) -> list[pdk.Layer]:
        """The deck.gl layers of this application."""

    def unit_fill(self, units: dict[str, Any]) -> str | None:
        """An accessor colouring the units (a choropleth), or None to leave them plain.
        ``units`` is the GeoJSON of the units on the map, with their counts."""
        return None

    def charts(self, engine: Engine, scope: Scope) -> list[Chart]:
        """Charts of the unit and period for the side panel (none by default)."""
        return []

    @abstractmethod
    def legend(self, lang: str) -> Legend:
        """What the colours mean."""

    @abstractmethod
    def kpis(self, summary: dict[str, Any], lang: str) -> list[Kpi]:
        """Key figures of the current unit, from its roll-up (``twin.domain.summary.rollup``)."""


def pct_text(value: float | None) -> str:
    """A share as a panel shows it: "—" when there is none to give."""
    return "—" if value is None else f"{value:g}%"


def tile_url(layer: str, version: str, link: str | None = None) -> str:
    """Relative XYZ template of a tile layer at a data version (no outside host); a field
    page without a session reads its tiles with its link."""
    return urls.tile_template(layer, version, f"&link={quote(link, safe='')}" if link else "")


def color_expression(prop: str, colors: dict[Any, RGBA], other: RGBA | str,
                     only: tuple[str, ...] | None = None, of: str = "properties.") -> str:
    """A deck.gl expression choosing a colour by a property's value (``of`` = where the
    property lives: a tile feature's properties, or "" for a plain row); values outside
    ``only`` (when given) get ``other`` (a colour, or an expression of its own). Values are
    literals of the code, never user text."""
    expr = other if isinstance(other, str) else str(list(other))
    for value, rgba in reversed(colors.items()):
        if only is not None and value not in only:
            continue
        literal = f"'{value}'" if isinstance(value, str) else str(value)
        expr = f"{of}{prop} === {literal} ? {list(rgba)} : {expr}"
    return expr


def ramp_expression(prop: str, steps: list[tuple[float, RGBA]], below: RGBA) -> str:
    """A deck.gl expression colouring a numeric property by thresholds (highest first)."""
    expr = str(list(below))
    for threshold, rgba in sorted(steps):
        expr = f"properties.{prop} >= {threshold} ? {list(rgba)} : {expr}"
    return expr


def mvt_layer(layer: str, ctx: MapContext, extensions: tuple[dict, ...] = (),
              **props: Any) -> pdk.Layer:
    """An MVTLayer on /api/tiles with the local worker, draped on the terrain if any."""
    chosen = [*extensions, *(ON_TERRAIN if ctx.on_terrain else [])]
    return pdk.Layer(
        "MVTLayer",
        data=tile_url(layer, ctx.versions[layer], ctx.link),
        load_options={"mvt": {"workerUrl": worker_url("mvt")}, "maxConcurrency": 1},
        extensions=chosen or None,
        **{"pickable": True, **props},
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
