"""Streamlit entry: widgets in, one call into twin/ or layers/ out, the result drawn.

The view lives in the URL (`unit`, `apps`, `lang`, camera), so any view can be shared.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import time
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from shapely.geometry import shape

import desk
from layers.base import Application, Chart, Filter, MapContext, Scope
from layers.basemap import twin_basemap
from layers.registry import APPLICATIONS, parse
from layers.units import units_deck, view_for, view_from_params
from twin.access import ANONYMOUS, Principal, may, published
from twin.buildings import building_detail
from twin.config import Settings
from twin.db import open_twin
from twin.errors import NotFound, TwinError
from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from twin.summary import LOCAL_TZ, data_period, rollup
from twin.tiles import current_versions
from twin.units import child_level, unit_of_element, unit_path, units_geojson


@st.cache_resource
def settings() -> Settings:
    return Settings()


@st.cache_resource
def engine():
    """The primary: writes, sessions, and everything personal."""
    return open_twin(settings())


@st.cache_resource
def read_engine():
    """Reads that may lag a little (the map, roll-ups, charts, the big screen): the replica
    when ``TWIN_DATABASE_READ_URL`` is set, else the primary."""
    from twin.db import make_read_engine

    return make_read_engine(settings()) or engine()


def principal() -> Principal:
    """Who is looking: the account of this session, found once per run by ``main``."""
    return st.session_state.get("_principal", ANONYMOUS)


def signed_in(lang: str):
    """The account of the browser's session cookie (set by /api/auth/login), or None after
    showing the way to sign in."""
    from twin.accounts import COOKIE, session_account

    # the cookie set by /api/auth/login; server-side session state only in AppTest (no
    # browser, no cookies): nothing a client sends can write it
    cookie = st.context.cookies.get(COOKIE)
    token = cookie if isinstance(cookie, str) and cookie else st.session_state.get(
        "_session_token")
    account = session_account(engine(), token)
    st.session_state["_principal"] = account.principal() if account else ANONYMOUS
    if account is not None and not account.must_change:
        return account
    query = urlencode({k: st.query_params.get(k) for k in st.query_params})
    target = (urlsplit(st.context.url or "/").path or "/") + (f"?{query}" if query else "")
    st.title(t("app.title", lang))
    st.caption(t("auth.notice", lang))
    page = "password" if account is not None else "login"
    label = t("auth.change_title" if account is not None else "auth.sign_in", lang)
    href = html.escape(f"/api/auth/{page}?{urlencode({'lang': lang, 'next': target})}")
    st.markdown(f'<a href="{href}" target="_self" class="twin-sign-in" style="font-size:1.3em">'
                f"{html.escape(label)} →</a>", unsafe_allow_html=True)
    return None


def desk_choice(account, lang: str) -> str | None:
    """The sidebar's head: who is signed in, and the pages beside the map their role opens
    (``?page=``); returns the desk page chosen, None for the map."""
    pages = desk.pages_for(principal())
    with st.sidebar:
        account_box(account, lang)
        if not pages:
            return None
        current = st.query_params.get("page")
        options = ["", *pages]
        chosen = st.radio(t("desk.page", lang), options,
                          index=options.index(current) if current in options else 0,
                          format_func=lambda p: t(f"desk.{p}" if p else "desk.map", lang))
    if chosen:
        st.query_params["page"] = chosen
    else:
        st.query_params.pop("page", None)
    return chosen or None


def account_box(account, lang: str) -> None:
    """Who is signed in, and the way out."""
    st.caption(f"{t('auth.signed_in_as', lang)}：{account.display_name} · "
               f"{t('role.' + account.role, lang)}")
    st.markdown(f'<a href="/api/auth/logout?lang={lang}" target="_self">'
                f"{html.escape(t('auth.sign_out', lang))}</a>", unsafe_allow_html=True)


def language() -> str:
    lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def go_to(code: str | None) -> None:
    """Drill to a unit (None = the county): the unit goes into the URL, the camera follows."""
    if code:
        st.query_params["unit"] = code
    else:
        st.query_params.pop("unit", None)
    for key in ("lon", "lat", "zoom", "pitch", "bearing", "building"):
        st.query_params.pop(key, None)


def main() -> None:
    lang = language()
    if "link" in st.query_params:  # field staff from a shared link: a phone page, one scope
        st.set_page_config(page_title=t("field.title", lang), layout="centered",
                           initial_sidebar_state="collapsed")
        field_page(st.query_params["link"], lang)
        return
    screen = st.query_params.get("screen") == "1"
    st.set_page_config(page_title=t("app.title", lang), layout="wide",
                       initial_sidebar_state="collapsed" if screen else "auto")
    try:
        account = signed_in(lang)
    except (TwinError, sa.exc.OperationalError):
        st.error(t("app.db_error", lang))
        return
    if account is None:
        return
    if screen or account.role == "screen":
        try:
            big_screen(read_engine(), unit_path(read_engine(), st.query_params.get("unit")),
                       lang)
        except TwinError as exc:
            st.error(f"{t('app.db_error', lang)}: {exc}")
        return
    page = desk_choice(account, lang)
    if page == "work":  # the open events of the account's units, to work on
        from twin import links

        st.title(t("field.title", lang))
        field_work(engine(), links.events_for(engine(), account.scope), account.username,
                   None, lang)
        return
    if page:
        desk.show(page, engine(), settings(), principal(), lang)
        return
    st.title(t("app.title", lang))
    st.caption(t("app.subtitle", lang))
    try:
        eng = read_engine()
        path = unit_path(eng, st.query_params.get("unit"))
        if follow_click(eng, path):  # the map was clicked: this run draws the new view
            path = unit_path(eng, st.query_params.get("unit"))
        current = path[-1] if path else None
        summary = published(rollup(eng, current["id"] if current else None))
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
        filters = {app.name: application_filters(app, lang) for app in chosen}
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
        deck = build_map(eng, chosen, units, level, window, lang, filters)
        # a click reruns the script, which follows it before drawing (follow_click)
        st.pydeck_chart(deck, height=720, on_select="rerun", selection_mode="single-object",
                        key="map")
    with panel_col:
        building_panel(engine(), lang)  # personal data and its audit: the primary
        six_elements(summary, current, lang)
    if chosen and window:
        application_charts(eng, chosen, Scope(current, window[0], window[1], lang), filters)


def build_map(eng, chosen: list[Application], units: dict, level: str,
              window: tuple[dt.datetime, dt.datetime] | None, lang: str,
              filters: dict[str, dict[str, tuple[str, ...]]] | None = None, view=None):
    """The deck: the twin's terrain, the units of ``level``, the chosen applications."""
    view = view or view_from_params(st.query_params.to_dict()) or view_for(units.get("bbox"))
    basemap, on_terrain = twin_basemap(settings().data_dir, view.zoom)
    needed = {layer for app in chosen for layer in app.tile_layers}
    versions = current_versions(eng, needed)
    epochs = (int(window[0].timestamp()), int(window[1].timestamp())) if window else None
    above = [layer for app in chosen for layer in app.layers(MapContext(
        versions, on_terrain, lang, epochs, (filters or {}).get(app.name, {})))]
    fill = next((f for app in chosen if (f := app.unit_fill(units))), None)
    return units_deck(units, level, below=basemap, above=above, view=view,
                      on_terrain=on_terrain, fill=fill)


def application_filters(app: Application, lang: str) -> dict[str, tuple[str, ...]]:
    """The application's sidebar filters; their values live in the URL as ``<app>.<key>``
    (only known options are kept, so URL text never reaches a layer)."""
    values = {}
    for f in app.filters:
        param = f"{app.name}.{f.key}"
        picked = tuple(v for v in st.query_params.get(param, "").split(",") if v in f.options)
        label = f"{app.title(lang)} · {t(f.label_key, lang)}"
        if f.multi:
            chosen = tuple(st.multiselect(label, f.options, default=list(picked),
                                          format_func=_option_label(f, lang),
                                          placeholder=t("filter.all", lang),
                                          key=f"filter-{param}"))
        else:
            current = (picked or f.default or f.options)[0]
            chosen = (st.radio(label, f.options, index=f.options.index(current),
                               format_func=_option_label(f, lang), horizontal=True,
                               key=f"filter-{param}"),)
        if chosen and chosen != (f.default or ()):
            st.query_params[param] = ",".join(chosen)
        else:
            st.query_params.pop(param, None)
        if chosen:
            values[f.key] = chosen
    return values


def _option_label(f: Filter, lang: str):
    return lambda option: t(f.option_prefix + option, lang)


def application_charts(eng, chosen: list[Application], scope: Scope,
                       filters: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """Each application's charts of the unit and period, one tab per application."""
    # Charts on request: their drawing library (~300 KB of script) then loads after the map,
    # not before it; the choice lives in the URL like the rest of the view.
    shown = st.toggle(t("app.charts", scope.lang), value=st.query_params.get("charts") == "1",
                      key="show-charts")
    if shown:
        st.query_params["charts"] = "1"
    else:
        st.query_params.pop("charts", None)
        return
    tabs = st.tabs([app.title(scope.lang) for app in chosen])
    for tab, app in zip(tabs, chosen, strict=True):
        with tab:
            charts = app.charts(eng, Scope(scope.unit, scope.start, scope.end, scope.lang,
                                           filters.get(app.name, {})))
            cols = st.columns(2) if len(charts) > 1 else [st.container()]
            for i, chart in enumerate(charts):
                with cols[i % len(cols)]:
                    draw_chart(chart)


def draw_chart(chart: Chart) -> None:
    st.markdown(f"**{html.escape(chart.title)}**")
    if chart.note:
        st.caption(chart.note)
    if chart.data.empty:
        return
    if chart.kind == "kpis":  # labelled figures, three to a row
        cols = st.columns(3)
        for i, (label, value) in enumerate(chart.data.itertuples(index=False)):
            cols[i % 3].metric(label, value)
    elif chart.kind == "bar":
        st.bar_chart(chart.data, horizontal=True, height=280, stack=False)
    elif chart.kind == "table":
        st.table(chart.data.head(40))
    else:
        st.line_chart(chart.data, height=260)


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
    """``?screen=1``: the county (or unit) in 3D with live KPI tiles for a video wall;
    ``&tour=1`` flies through the units below it, one every TOUR_STOP."""
    st.markdown(SCREEN_CSS, unsafe_allow_html=True)
    current = path[-1] if path else None
    st.title(f"{t('app.title', lang)} · {current['name'] if current else t('nav.county', lang)}")
    screen_kpis(current, lang)
    level = child_level(current["level"] if current else None) or "microgrid"
    parent = current["id"] if current and level != "microgrid" else None
    names = parse(st.query_params.get("apps"))
    if st.query_params.get("tour") == "1":
        tour_map(level, parent, names, lang)
    else:
        units = units_geojson(eng, level, parent)
        chosen = [APPLICATIONS.get(name) for name in names]
        st.pydeck_chart(build_map(eng, chosen, units, level, None, lang), height=880)


TOUR_STOP = dt.timedelta(seconds=20)


@st.fragment(run_every=TOUR_STOP)
def tour_map(level: str, parent: int | None, names: list[str], lang: str) -> None:
    """The slow tour of a command-centre wall: the whole area, then each unit in turn; the
    camera flies (deck.gl transition) and only this map is redrawn."""
    eng = read_engine()
    units = units_geojson(eng, level, parent)
    stops = [(None, view_for(units.get("bbox")))] + [
        (f["properties"]["name"], view_for(list(shape(f["geometry"]).bounds)))
        for f in units["features"]]
    name, view = stops[int(time.time() // TOUR_STOP.total_seconds()) % len(stops)]
    view.transitionDuration = 4000
    view.bearing = 20
    st.caption(f"{t('screen.tour', lang)} · {name or t('nav.county', lang)}")
    chosen = [APPLICATIONS.get(n) for n in names]
    st.pydeck_chart(build_map(eng, chosen, units, level, None, lang, view=view), height=880)


@st.fragment(run_every=dt.timedelta(seconds=60))
def screen_kpis(unit: dict | None, lang: str) -> None:
    """The wall's figures: the unit's six elements, and how the loop did in the last 30
    days of the twin's data."""
    from layers.governance import loop_kpis
    from twin.summary import loop_measures

    summary = published(rollup(read_engine(), unit["id"] if unit else None))
    cols = st.columns(len(SCREEN_KPIS))
    for col, key in zip(cols, SCREEN_KPIS, strict=True):
        col.metric(t(f"kpi.{key}", lang), count_text(summary[key], lang))
    bounds = period_bounds()
    if bounds is None:
        return
    end = bounds[1].replace(tzinfo=TZ)
    measures = loop_kpis(loop_measures(read_engine(), unit, end - dt.timedelta(days=30), end),
                         lang)
    st.caption(t("loop.recent", lang))
    cols = st.columns(len(measures))
    for col, (label, value) in zip(cols, measures.itertuples(index=False), strict=True):
        col.metric(label, value)


def share_link(lang: str) -> None:
    """The view as a link to copy. A text field, not ``st.code``: the code block would load
    a 1.5 MB syntax highlighter into every browser."""
    base = (st.context.url or "").split("?", 1)[0]
    query = urlencode({k: st.query_params.get(k) for k in st.query_params})
    link = f"{base}?{query}" if query else base
    st.session_state["share_link"] = link  # always the current view, whatever was typed
    st.text_input(t("app.share", lang), key="share_link")


STEP = dt.timedelta(days=1)
TZ = ZoneInfo(LOCAL_TZ)
HOUR = dt.timedelta(hours=1)
URL_TIME = "%Y-%m-%dT%H:%M"


@st.cache_data(ttl=60, show_spinner=False)
def period_bounds() -> tuple[dt.datetime, dt.datetime] | None:
    """First and last local hour the twin knows of (cached for a minute: two scans)."""
    period = data_period(read_engine())
    if period is None:
        return None
    first = period[0].astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    last = period[1].astimezone(TZ).replace(minute=0, second=0, microsecond=0) + HOUR
    return first.replace(tzinfo=None), last.replace(tzinfo=None)


def _time_param(name: str, default: dt.datetime, first: dt.datetime,
                last: dt.datetime) -> dt.datetime:
    """A local time from the URL: ``2026-06-01T08:00`` or a day (``to=2026-06-30`` means the
    end of that day); out-of-range values are clamped, bad ones replaced by the default."""
    text = st.query_params.get(name, "")
    try:
        value = dt.datetime.strptime(text, URL_TIME)
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
            if name == "to":
                value += dt.timedelta(days=1)
        except ValueError:
            return default
    return min(max(value, first), last)


def time_window(eng, lang: str) -> tuple[dt.datetime, dt.datetime] | None:
    """The period shown (URL ``from``/``to``, local time, to the hour), with a play button
    that moves it on a day at a time. Returns aware datetimes [start, end)."""
    bounds = period_bounds()
    if bounds is None:
        return None
    first, last = bounds
    # The player leaves its next step here: widget state may only change before the widget.
    if "period_next" in st.session_state:
        st.session_state["period"] = st.session_state.pop("period_next")
    if st.session_state.pop("play_done", False):
        st.session_state["playing"] = False
    if "period" not in st.session_state:
        st.session_state["period"] = (
            _time_param("from", max(first, last - dt.timedelta(days=30)), first, last),
            _time_param("to", last, first, last))
    start, end = st.slider(t("time.period", lang), min_value=first, max_value=last,
                           step=HOUR, key="period", format="YYYY-MM-DD HH:mm")
    if end <= start:
        end = start + HOUR
    st.query_params["from"], st.query_params["to"] = (start.strftime(URL_TIME),
                                                      end.strftime(URL_TIME))
    st.toggle(t("time.play", lang), key="playing")
    if st.session_state.get("playing"):
        _play(last)
    return start.replace(tzinfo=TZ), end.replace(tzinfo=TZ)


@st.fragment(run_every=dt.timedelta(seconds=2))
def _play(last: dt.datetime) -> None:
    """While playing, move the period on by a day every two seconds until the end."""
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


def _picked(event, layer_id: str, prop: str):
    """A property of the feature of ``layer_id`` clicked on the map, if one was clicked."""
    try:
        objects = event.selection["objects"].get(layer_id) or []
    except (AttributeError, KeyError, TypeError):
        return None
    if not objects:
        return None
    props = objects[0].get("properties", objects[0])
    return props.get(prop)


# Map layers of elements → their table: a click on an event, a station, a POI … drills into
# the unit below that holds it, as a click on the unit itself would.
ELEMENT_LAYERS = {"governance-events": "events", "environment-stations": "stations",
                  "tourism-pois": "facilities", "tourism-routes": "routes",
                  "organizations": "organizations", "land": "land_parcels"}


def follow_click(eng, path: list[dict]) -> bool:
    """Act on a click on the map (the chart's selection, read before anything is drawn so
    that one run shows the result): a unit, or anything inside one, drills into it; a
    building opens its panel. Returns whether the unit changed."""
    event = st.session_state.get("map")
    if not _new_pick(event):  # a selection outlives reruns: act on each click once
        return False
    current = path[-1] if path else None
    building = _picked(event, "buildings", "id")
    if building:
        st.query_params["building"] = str(building)
        return False
    level = child_level(current["level"] if current else None) or "microgrid"
    picked = _picked(event, f"units-{level}", "code") or _unit_of_picked(eng, event, level)
    if picked and picked != (current or {}).get("code"):
        go_to(picked)
        return True
    return False


def _new_pick(event) -> bool:
    """Whether the map's selection differs from the one already acted on."""
    try:
        current = json.dumps(event.selection["objects"], sort_keys=True, default=str)
    except (AttributeError, KeyError, TypeError):
        return False
    previous = st.session_state.get("last_pick")
    st.session_state["last_pick"] = current
    return current != previous and current != "{}"


def _unit_of_picked(eng, event, level: str) -> str | None:
    for layer_id, table in ELEMENT_LAYERS.items():
        element = _picked(event, layer_id, "id")
        if element is not None:
            return unit_of_element(eng, table, int(element), level)
    return None


def building_panel(eng, lang: str) -> None:
    """The building clicked on the map: its households and, for the officials scoped to it,
    its residents — after they say why (the view goes into the audit log)."""
    try:
        building_id = int(st.query_params.get("building", ""))
        purposes = st.session_state.setdefault("purposes", {})
        detail = building_detail(eng, building_id, principal(), purposes.get(building_id))
    except (ValueError, NotFound):
        return
    st.subheader(f"{t('building.title', lang)} {detail['code']}")
    st.caption(f"{t('building.use', lang)}: {t('use.' + detail['use'], lang)} · "
               f"{t('building.floors', lang)}: {detail['floors']} · "
               f"{t('building.height', lang)}: {detail['height_m']:g}")
    households = detail["households"]
    cols = st.columns(2)
    cols[0].metric(t("building.households", lang), detail["household_count"])
    cols[1].metric(t("building.residents", lang), t("count.few", lang)
                   if detail["resident_count"] is None else detail["resident_count"])
    if households:  # only for the officials and grid workers of its unit
        st.table(pd.DataFrame({
            t("col.address", lang): [h["address"] for h in households],
            t("building.residents", lang): [h["residents"] for h in households]}))
    if not detail["residents_allowed"]:
        st.caption(t("panel.residents_hidden", lang))
    elif detail["residents"] is None:
        with st.form(key=f"purpose-{building_id}"):
            why = st.text_input(t("building.purpose", lang), max_chars=200,
                                placeholder=t("building.purpose_hint", lang))
            if st.form_submit_button(t("building.show_residents", lang)) and why.strip():
                purposes[building_id] = why.strip()
                st.rerun()
    elif detail["residents"]:
        people = pd.DataFrame(detail["residents"])
        st.caption(t("building.audited", lang))
        st.table(pd.DataFrame({
            t("col.name", lang): people["name"], t("col.age", lang): people["age"],
            t("col.relation", lang): people["relation"],
            t("col.id_masked", lang): people["id_masked"],
            t("col.phone_masked", lang): people["phone_masked"]}))
    if st.button(t("building.close", lang), key="close-building"):
        st.query_params.pop("building", None)
        st.session_state["purposes"] = {}
        st.rerun()


def six_elements(summary: dict, current: dict | None, lang: str) -> None:
    """人、地、物、情、事、组织 of the current unit, with land use as a chart."""
    st.subheader(t("panel.title", lang))
    st.caption(current["name"] if current else t("nav.county", lang))
    land = summary["land_area_m2_by_use"]
    sections = [
        ("panel.people", [("kpi.residents", count_text(summary["residents"], lang)),
                          ("kpi.households", count_text(summary["households"], lang)),
                          ("kpi.elderly", count_text(summary["elderly"], lang))]),
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
            st.markdown(share_bars({t(f"landuse.{k}", lang): v for k, v in land.items()}),
                        unsafe_allow_html=True)
    if not may(principal(), "residents"):
        st.caption(t("panel.residents_hidden", lang))


def field_page(token: str, lang: str) -> None:
    """What a shared link opens on a phone: only its event (or its grid's open events), with
    their place, history and the actions of the field: accept, note, photo, resolve."""
    from twin import links

    eng = engine()
    st.title(t("field.title", lang))
    try:
        link = links.verify(eng, settings(), token)
    except links.LinkError as exc:
        st.error(f"{t('field.invalid', lang)}：{exc}")
        st.caption(t("field.invalid_help", lang))
        return
    st.caption(f"{t('field.scope_' + link.scope, lang)} · {t('field.expires', lang)} "
               f"{link.expires_at.astimezone(TZ):%Y-%m-%d %H:%M}")
    field_work(eng, links.events_in_scope(eng, link), f"link:{link.id}", token, lang)


def field_work(eng, events: list[dict], actor: str, token: str | None, lang: str) -> None:
    """The events of a field link or of a scoped account, each with its place, history and
    the actions of the field: accept, note, photo, resolve (``token``: a link's, for the
    map tiles of a page without a session)."""
    from twin import links
    from twin import workflow as wf

    if not events:
        st.info(t("field.none", lang))
        return
    houses = MapContext(current_versions(eng, {"buildings"}), link=token)
    for e in events:
        with st.container(border=True):
            st.subheader(plain(e["title"]))
            st.markdown(f"**{t('field.status', lang)}**：{t('status.' + e['status'], lang)} · "
                        f"{t('category.' + e['category'], lang)} · {e['code']}")
            st.caption(f"{t('field.place', lang)}：{e['microgrid']} · {t('field.deadline', lang)} "
                       f"{e['deadline_at'].astimezone(TZ):%m-%d %H:%M}" if e["deadline_at"]
                       else e["microgrid"])
            st.pydeck_chart(field_map(e, houses), height=220, key=f"map-{e['id']}")
            cols = st.columns(2)
            try:
                if cols[0].button(t("field.accept", lang), key=f"accept-{e['id']}",
                                  disabled=e["status"] == "handling" or e["status"] not in
                                  wf.OPEN, use_container_width=True):
                    wf.accept(eng, e["id"], actor=actor, expected_version=e["version"])
                    st.rerun()
                if cols[1].button(t("field.resolve", lang), key=f"resolve-{e['id']}",
                                  disabled=e["status"] != "handling", type="primary",
                                  use_container_width=True):
                    wf.transition(eng, e["id"], "resolved", actor=actor,
                                  expected_version=e["version"])
                    st.rerun()
                with st.form(key=f"note-{e['id']}", clear_on_submit=True):
                    note = st.text_area(t("field.note", lang), max_chars=2000)
                    photo = st.file_uploader(t("field.photo", lang),
                                             type=["jpg", "jpeg", "png", "webp"])
                    if st.form_submit_button(t("field.add_note", lang)):
                        if photo is not None:
                            links.save_photo(eng, settings(), e["id"], photo.getvalue(), actor)
                        if note.strip():
                            wf.add_note(eng, e["id"], actor=actor, note=note)
                        st.rerun()
            except (wf.WorkflowError, links.PhotoError) as exc:
                st.error(str(exc))
            if e.get("description") and e["description"] != e["title"]:
                st.text(e["description"])
            with st.expander(t("field.history", lang)):
                for h in links.history(eng, e["id"]):
                    st.text(f"{h['at'].astimezone(TZ):%m-%d %H:%M} · {h['actor']} · "
                            f"{t('status.' + h['to_status'], lang)}"
                            + (f" · {h['note']}" if h["note"] else ""))


def plain(text: str | None) -> str:
    """What a person typed, made inert for a Markdown element (a heading): every Markdown
    and HTML sign escaped, so a link or an image in it is shown, never followed or fetched."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", text or "")


def field_map(event: dict, ctx: MapContext):
    """A small flat map of one event among the houses around it (the twin's buildings)."""
    import pydeck as pdk

    from layers.base import mvt_layer

    houses = mvt_layer("buildings", ctx, id="field-buildings", min_zoom=14, max_zoom=16,
                       get_fill_color=[200, 190, 175, 255], get_line_color=[120, 110, 100],
                       line_width_min_pixels=1, pickable=False)
    point = pdk.Layer("ScatterplotLayer", data=[{"p": [event["lon"], event["lat"]]}],
                      get_position="p", get_radius=12, radius_min_pixels=8,
                      get_fill_color=[230, 60, 50, 230], get_line_color=[255, 255, 255],
                      stroked=True, line_width_min_pixels=2)
    return pdk.Deck(layers=[houses, point], map_provider=None, initial_view_state=pdk.ViewState(
        longitude=event["lon"], latitude=event["lat"], zoom=15, pitch=0))


def count_text(value: int | None, lang: str) -> str:
    """A count as shown: with thousands separators, "fewer than 5" when it was suppressed."""
    return t("count.few", lang) if value is None else f"{value:,}"


def share_bars(values: dict[str, float]) -> str:
    """Shares as plain HTML bars (label, bar, percent): readable at a glance, no chart script."""
    total = sum(values.values()) or 1
    rows = []
    for label, value in sorted(values.items(), key=lambda kv: -kv[1]):
        pct = 100 * value / total
        rows.append(
            "<div style='display:flex;align-items:center;gap:.4rem;font-size:.85rem'>"
            f"<span style='flex:0 0 4.5em'>{html.escape(label)}</span>"
            "<span style='flex:1;background:#e8eef5;border-radius:3px'>"
            f"<span style='display:block;width:{pct:.1f}%;height:.7rem;background:#3b7dd8;"
            "border-radius:3px'></span></span>"
            f"<span style='flex:0 0 3em;text-align:right'>{pct:.0f}%</span></div>")
    return "".join(rows)


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


def run() -> None:
    """The page; a database that is down or too slow anywhere in it gives one clear line
    (the next rerun retries), never a stack trace or a hung page."""
    try:
        main()
    except sa.exc.OperationalError as exc:
        import psycopg

        slow = isinstance(exc.orig, psycopg.errors.QueryCanceled)
        st.error(t("app.db_slow" if slow else "app.db_error", language()))


run()
