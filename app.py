"""Streamlit entry: widgets in, one call into twin/ or layers/ out, the result drawn."""

from __future__ import annotations

import html

import streamlit as st

from layers.base import Application, MapContext
from layers.basemap import twin_basemap
from layers.registry import APPLICATIONS, parse
from layers.units import units_deck, view_from_params
from twin.config import Settings
from twin.db import open_twin
from twin.errors import TwinError
from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from twin.summary import rollup
from twin.tiles import LAYERS, current_version
from twin.units import LEVELS, units_geojson


@st.cache_resource
def settings() -> Settings:
    return Settings()


@st.cache_resource
def engine():
    return open_twin(settings())


def main() -> None:
    lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    st.set_page_config(page_title=t("app.title", lang), layout="wide")
    st.title(t("app.title", lang))
    st.caption(t("app.subtitle", lang))
    try:
        eng = engine()
        summary = rollup(eng, None)
    except TwinError as exc:
        st.error(f"{t('app.db_error', lang)}: {exc}")
        return
    with st.sidebar:
        choice = st.radio(t("app.language", lang), LANGUAGES, index=LANGUAGES.index(lang),
                          format_func=lambda code: {"zh": "中文", "en": "English"}[code],
                          horizontal=True)
        if choice != lang:
            st.query_params["lang"] = choice
            st.rerun()
        apps = st.multiselect(t("app.applications", lang), APPLICATIONS.names(),
                              default=parse(st.query_params.get("apps")),
                              format_func=lambda name: APPLICATIONS.get(name).title(lang))
        st.query_params["apps"] = ",".join(apps)
        level = st.selectbox(t("app.level", lang), LEVELS, index=1,
                             format_func=lambda lv: t(f"level.{lv}", lang))
        for key in ("residents", "households", "buildings", "events_open",
                    "stations_in_alarm", "organizations"):
            st.metric(t(f"kpi.{key}", lang), f"{summary[key]:,}")
        chosen = [APPLICATIONS.get(name) for name in apps]
        for app in chosen:
            show_application(app, summary, lang)
    if not summary["child_units"]:
        st.info(t("app.no_data", lang))
        return
    basemap, on_terrain = twin_basemap(settings().data_dir)
    needed = {layer for app in chosen for layer in app.tile_layers}
    ctx = MapContext({layer: current_version(eng, LAYERS[layer]) for layer in needed},
                     on_terrain, lang)
    above = [layer for app in chosen for layer in app.layers(ctx)]
    view = view_from_params(st.query_params.to_dict())
    deck = units_deck(units_geojson(eng, level), level, below=basemap, above=above,
                      view=view, on_terrain=on_terrain)
    st.pydeck_chart(deck, height=720)


def show_application(app: Application, summary: dict, lang: str) -> None:
    """An application's KPIs and legend in the sidebar."""
    st.subheader(app.title(lang))
    for kpi in app.kpis(summary, lang):
        st.metric(kpi.label, f"{kpi.value:,}{kpi.unit}")
    legend = app.legend(lang)
    swatches = "<br>".join(
        f"<span style='color:rgb({e.color[0]},{e.color[1]},{e.color[2]})'>■</span> "
        f"{html.escape(e.label)}" for e in legend.entries)
    st.caption(html.escape(legend.title))
    st.markdown(swatches, unsafe_allow_html=True)


main()
