"""Streamlit entry: widgets in, one call into twin/ or layers/ out, the result drawn.

The view lives in the URL (`unit`, `apps`, `lang`, camera), so any view can be shared.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from layers.base import Application, MapContext
from layers.basemap import twin_basemap
from layers.registry import APPLICATIONS, parse
from layers.units import units_deck, view_for, view_from_params
from twin.access import ANONYMOUS, may_see_residents
from twin.config import Settings
from twin.db import open_twin
from twin.errors import TwinError
from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from twin.summary import events_period, rollup
from twin.tiles import current_versions
from twin.units import child_level, unit_path, units_geojson


@st.cache_resource
def settings() -> Settings:
    return Settings()


@st.cache_resource
def engine():
    return open_twin(settings())


def language() -> str:
    lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def go_to(code: str | None) -> None:
    """Drill to a unit (None = the county): the unit goes into the URL, the camera follows."""
    if code:
        st.query_params["unit"] = code
    else:
        st.query_params.pop("unit", None)
    for key in ("lon", "lat", "zoom", "pitch", "bearing"):
        st.query_params.pop(key, None)


def main() -> None:
    lang = language()
    screen = st.query_params.get("screen") == "1"
    st.set_page_config(page_title=t("app.title", lang), layout="wide",
                       initial_sidebar_state="collapsed" if screen else "auto")
    if screen:
        try:
            big_screen(engine(), unit_path(engine(), st.query_params.get("unit")), lang)
        except TwinError as exc:
            st.error(f"{t('app.db_error', lang)}: {exc}")
        return
    st.title(t("app.title", lang))
    st.caption(t("app.subtitle", lang))
    try:
        eng = engine()
        path = unit_path(eng, st.query_params.get("unit"))
        current = path[-1] if path else None
        summary = rollup(eng, current["id"] if current else None)
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
        chosen = [APPLICATIONS.get(name) for name in apps]
        window = time_window(eng, lang)
        share_link(lang)
        for app in chosen:
            show_application(app, summary, lang)
    if not summary["child_units"] and current is None:
        st.info(t("app.no_data", lang))
        return
    breadcrumb(path, lang)
    level = child_level(current["level"] if current else None)
    if level is None:  # a micro-grid: show it among its siblings
        level, parent = "microgrid", current["parent_id"]
    else:
        parent = current["id"] if current else None
    units = units_geojson(eng, level, parent)
    children = {f["properties"]["code"]: f["properties"]["name"] for f in units["features"]}
    if current is None or current["level"] != "microgrid":
        target = st.selectbox(t("nav.children", lang), [""] + list(children),
                              format_func=lambda c: children.get(c, t("nav.choose", lang)))
        if target:
            go_to(target)
            st.rerun()

    map_col, panel_col = st.columns([3, 1])
    with map_col:
        deck = build_map(eng, chosen, units, level, window, lang)
        event = st.pydeck_chart(deck, height=720, on_select="rerun",
                                selection_mode="single-object", key="map")
        picked = _picked_unit(event, level)
        if picked and picked != (current or {}).get("code"):
            go_to(picked)
            st.rerun()
    with panel_col:
        six_elements(summary, current, lang)


def build_map(eng, chosen: list[Application], units: dict, level: str,
              window: tuple[int, int] | None, lang: str):
    """The deck: the twin's terrain, the units of ``level``, the chosen applications."""
    basemap, on_terrain = twin_basemap(settings().data_dir)
    needed = {layer for app in chosen for layer in app.tile_layers}
    ctx = MapContext(current_versions(eng, needed), on_terrain, lang, window)
    above = [layer for app in chosen for layer in app.layers(ctx)]
    fill = next((f for app in chosen if (f := app.unit_fill(units))), None)
    view = view_from_params(st.query_params.to_dict()) or view_for(units.get("bbox"))
    return units_deck(units, level, below=basemap, above=above, view=view,
                      on_terrain=on_terrain, fill=fill)


# The wall of a command centre: dark, no sidebar, large figures; only the figures refresh,
# so the map keeps whatever camera the operator left it at.
SCREEN_CSS = """
<style>
  .stApp, [data-testid="stHeader"] { background: #0b1220; color: #e6edf7; }
  [data-testid="stSidebar"], [data-testid="stToolbar"] { display: none; }
  [data-testid="stMetric"] { background: #15213a; border-radius: 8px; padding: 0.6rem 1rem; }
  [data-testid="stMetricValue"] { font-size: 2.6rem; color: #7fd1ff; }
  [data-testid="stMetricLabel"] p { font-size: 1.1rem; color: #b8c7e0; }
  h1, h2, h3, p, span, label { color: #e6edf7; }
  .block-container { max-width: 100%; padding: 1rem 2rem; }
</style>
"""
SCREEN_KPIS = ("residents", "households", "buildings", "events_open", "events_overdue",
               "stations_in_alarm", "organizations")


def big_screen(eng, path: list[dict], lang: str) -> None:
    """``?screen=1``: the county (or unit) in 3D with live KPI tiles for a video wall."""
    st.markdown(SCREEN_CSS, unsafe_allow_html=True)
    current = path[-1] if path else None
    st.title(f"{t('app.title', lang)} · {current['name'] if current else t('nav.county', lang)}")
    screen_kpis(current["id"] if current else None, lang)
    level = child_level(current["level"] if current else None) or "microgrid"
    units = units_geojson(eng, level, current["id"] if current and level != "microgrid"
                          else None)
    chosen = [APPLICATIONS.get(name) for name in parse(st.query_params.get("apps"))]
    st.pydeck_chart(build_map(eng, chosen, units, level, None, lang), height=880)


@st.fragment(run_every=dt.timedelta(seconds=60))
def screen_kpis(unit_id: int | None, lang: str) -> None:
    summary = rollup(engine(), unit_id)
    cols = st.columns(len(SCREEN_KPIS))
    for col, key in zip(cols, SCREEN_KPIS, strict=True):
        col.metric(t(f"kpi.{key}", lang), f"{summary[key]:,}")


def share_link(lang: str) -> None:
    """The view as a link to copy. A text field, not ``st.code``: the code block would load
    a 1.5 MB syntax highlighter into every browser."""
    base = (st.context.url or "").split("?", 1)[0]
    query = urlencode({k: st.query_params.get(k) for k in st.query_params})
    link = f"{base}?{query}" if query else base
    st.session_state["share_link"] = link  # always the current view, whatever was typed
    st.text_input(t("app.share", lang), key="share_link")


STEP = dt.timedelta(days=7)


def _date_param(name: str, default: dt.date, first: dt.date, last: dt.date) -> dt.date:
    try:
        value = dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default
    return min(max(value, first), last)


def time_window(eng, lang: str) -> tuple[int, int] | None:
    """The period whose events are drawn (URL ``from``/``to``), with a play button that
    steps it a week at a time. Returns epoch seconds [from 00:00, to 24:00)."""
    period = events_period(eng)
    if period is None:
        return None
    first, last = period[0].date(), period[1].date()
    # The player leaves its next step here: widget state may only change before the widget.
    if "period_next" in st.session_state:
        st.session_state["period"] = st.session_state.pop("period_next")
    if st.session_state.pop("play_done", False):
        st.session_state["playing"] = False
    if "period" not in st.session_state:
        st.session_state["period"] = (
            _date_param("from", max(first, last - dt.timedelta(days=30)), first, last),
            _date_param("to", last, first, last))
    start, end = st.slider(t("time.period", lang), min_value=first, max_value=last,
                           key="period", format="YYYY-MM-DD")
    st.query_params["from"], st.query_params["to"] = start.isoformat(), end.isoformat()
    st.toggle(t("time.play", lang), key="playing")
    if st.session_state.get("playing"):
        _play(last)
    epoch = dt.datetime.combine(start, dt.time(), dt.UTC).timestamp()
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
    return int(epoch), int(stop)


@st.fragment(run_every=dt.timedelta(seconds=2))
def _play(last: dt.date) -> None:
    """While playing, move the period on by a week every two seconds until the last day."""
    if not st.session_state.get("playing"):
        return
    start, end = st.session_state["period"]
    if end >= last:
        st.session_state["play_done"] = True
    else:
        shift = min(STEP, last - end)
        st.session_state["period_next"] = (start + shift, end + shift)
    st.rerun()


def breadcrumb(path: list[dict], lang: str) -> None:
    """County › town › village › … as buttons; each one drills back up."""
    steps = [(None, t("nav.county", lang))] + [(u["code"], u["name"]) for u in path]
    cols = st.columns(len(steps))
    for i, (col, (code, name)) in enumerate(zip(cols, steps, strict=True)):
        last = i == len(steps) - 1
        if col.button(name, key=f"crumb-{i}", disabled=last, use_container_width=True):
            go_to(code)
            st.rerun()


def _picked_unit(event, level: str) -> str | None:
    """The code of the unit clicked on the map, if a unit was clicked."""
    try:
        objects = event.selection["objects"].get(f"units-{level}") or []
    except (AttributeError, KeyError, TypeError):
        return None
    if not objects:
        return None
    props = objects[0].get("properties", objects[0])
    return props.get("code")


def six_elements(summary: dict, current: dict | None, lang: str) -> None:
    """人、地、物、情、事、组织 of the current unit, with land use as a chart."""
    st.subheader(t("panel.title", lang))
    st.caption(current["name"] if current else t("nav.county", lang))
    land = summary["land_area_m2_by_use"]
    sections = [
        ("panel.people", [("kpi.residents", summary["residents"]),
                          ("kpi.households", summary["households"]),
                          ("kpi.elderly", summary["elderly"])]),
        ("panel.land", [("kpi.land_area", f"{sum(land.values()) / 1e6:,.2f} km²")]),
        ("panel.objects", [("kpi.buildings", summary["buildings"]),
                           ("kpi.facilities", summary["facilities"])]),
        ("panel.conditions", [("kpi.stations", summary["stations"]),
                              ("kpi.stations_in_alarm", summary["stations_in_alarm"])]),
        ("panel.events", [("kpi.events_open", summary["events_open"]),
                          ("kpi.events_overdue", summary["events_overdue"]),
                          ("kpi.events_closed", summary["events_closed"])]),
        ("panel.orgs", [("kpi.organizations", summary["organizations"])]),
    ]
    for title, figures in sections:
        st.markdown(f"**{html.escape(t(title, lang))}**")
        for key, value in figures:
            st.metric(t(key, lang), f"{value:,}" if isinstance(value, int) else value)
        if title == "panel.land" and land:
            chart = pd.DataFrame({"km²": [v / 1e6 for v in land.values()]},
                                 index=[t(f"landuse.{k}", lang) for k in land])
            st.bar_chart(chart, horizontal=True, height=200)
    if not may_see_residents(ANONYMOUS, current["code"] if current else ""):
        st.caption(t("panel.residents_hidden", lang))


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
