"""The map page (planners and officials): one 3D map with the chosen applications, the
unit's breadcrumb and children, the building panel and the six elements, charts on
request. The view lives in the URL (`unit`, `apps`, `lang`, camera, filters)."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from layers.application import Application, Chart, Filter, MapContext, Scope
from layers.registry import APPLICATIONS, parse
from surfaces.deck import twin_basemap, units_deck, view_for, view_from_params
from surfaces.mapshell import page_map
from surfaces.period import aware, time_window, url_period
from surfaces.session import (
    count_text,
    engine,
    go_to,
    link_card,
    principal,
    read_engine,
    settings,
    share_bars,
    site,
)
from twin.domain import links, party
from twin.domain.access import Principal, may, published, sees_in
from twin.domain.buildings import building_detail
from twin.domain.scenes import current_scenes
from twin.domain.summary import rollup
from twin.domain.units import child_level, unit_of_element, unit_path, units_geojson
from twin.errors import NotFound, TwinError
from twin.i18n import LANGUAGES, t
from twin.publish.tiles import current_versions

# The map is the page: it fills the window below a slim header; the six elements and the
# charts stand in a panel over it on the right (a sheet at the bottom on a phone), the
# legend floats at the bottom left, and the sidebar (applications, period, filters) slides
# over it. Panels are Streamlit containers with keys (class ``st-key-<key>``). The map
# itself is the page's (surfaces/mapshell): drawn before Streamlit starts, it stays put
# while the script reruns; the script hands it each deck through ``page_map``.
HEAD = "3.2rem"
FIT_PX = 640  # the unit framed in the part of a laptop's map between the sidebar and panel
MAP_CSS = f"""
<style>
  [data-testid="stHeader"] {{ background: transparent; height: {HEAD}; }}
  [data-testid="stHeader"], [data-testid="stHeader"] div {{ pointer-events: none !important; }}
  [data-testid="stHeader"] button, [data-testid="stHeader"] a {{
    pointer-events: auto !important; }}
  [data-testid="stMainBlockContainer"] {{ padding: 0 0.8rem !important; max-width: 100%; }}
  .st-key-twin-head {{ position: sticky; top: 0; z-index: 5; height: {HEAD};
    box-sizing: border-box; overflow-x: auto; overflow-y: hidden; scrollbar-width: none;
    padding: 0.2rem 3.2rem 0.2rem 2.6rem; background: rgba(255, 255, 255, 0.94);
    border-bottom: 1px solid #d9dee7; margin: -1rem -0.8rem 0;
    width: calc(100% + 1.6rem) !important; }}
  .st-key-twin-head h1 {{ font-size: 1.15rem; padding: 0; margin: 0; white-space: nowrap; }}
  .st-key-twin-head button {{ padding: 0.1rem 0.6rem; min-height: 2rem; white-space: nowrap; }}
  .st-key-twin-head > div {{ flex-shrink: 0; }}
  .st-key-twin-map {{ position: fixed; width: 0; height: 0; overflow: hidden; }}
  .st-key-twin-legend {{ position: fixed; bottom: 0.6rem; z-index: 4; max-width: 16rem;
    background: rgba(255, 255, 255, 0.9); border-radius: 8px; padding: 0.4rem 0.7rem;
    font-size: 0.8rem; line-height: 1.35; box-shadow: 0 2px 8px rgba(20, 40, 80, 0.15); }}
  .st-key-twin-legend p {{ margin: 0; }}
  .st-key-twin-legend details {{ max-height: 38vh; overflow-y: auto; }}
  .st-key-twin-legend summary {{ cursor: pointer; font-weight: 600; }}
  @media (max-width: 700px) {{
    .st-key-twin-head {{ padding-right: 2.8rem; }}
    .st-key-twin-head h1, .st-key-twin-head [data-testid="stCheckbox"] p {{ display: none; }}
    .st-key-twin-legend {{ display: none; }}
  }}
</style>
"""


# The panel of the six elements, over the map on the right (a sheet at the bottom on a
# phone). Also in the page's <head> (server.py): the page draws the first view's panel
# (``#twin-first-panel``, from /api/map/first) before Streamlit runs.
PANEL_CSS = f"""
<style>
  .st-key-twin-panel, #twin-first-panel {{ position: fixed; top: calc({HEAD} + 0.6rem);
    right: 0.6rem; width: min(23rem, 30vw); max-height: calc(100vh - {HEAD} - 1.2rem);
    overflow-y: auto; z-index: 4; background: rgba(255, 255, 255, 0.92); border-radius: 8px;
    padding: 0.6rem 0.9rem; box-shadow: 0 2px 10px rgba(20, 40, 80, 0.18); }}
  #twin-first-panel {{ box-sizing: border-box; font-family: "Source Sans", "Source Sans 3",
    "Noto Sans CJK SC", sans-serif; color: rgb(49, 51, 63); line-height: 1.6; }}
  .st-key-twin-panel [data-testid="stMetricValue"] {{ font-size: 1.45rem; }}
  .st-key-twin-panel h3 {{ font-size: 1.2rem; padding: 0.2rem 0; }}
  .twin-panel-title {{ font-size: 1.2rem; font-weight: 600; padding: 0.2rem 0 0; }}
  .twin-panel-unit {{ color: rgba(49, 51, 63, 0.6); font-size: 0.875rem; }}
  .twin-figs {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.1rem 0.6rem; }}
  .twin-figs .head {{ grid-column: 1 / -1; font-weight: 600; margin-top: 0.3rem; }}
  .twin-figs small {{ display: block; color: #5b6573; font-size: 0.78rem; }}
  .twin-figs b {{ font-size: 1.15rem; font-weight: 600; }}
  @media (max-width: 700px) {{
    .st-key-twin-panel, #twin-first-panel {{ top: auto; bottom: 0.4rem; left: 0.4rem;
      right: 0.4rem; width: auto; max-height: 38vh; }}
  }}
</style>
"""


def map_page(lang: str) -> None:
    """The planner's and official's map."""
    # the panel's styles again after Streamlit's own, which the page's <head> precedes
    st.markdown(MAP_CSS + PANEL_CSS, unsafe_allow_html=True)
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
        st.caption(t("app.subtitle", lang))
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
        st.title(t("app.title", lang))
        st.info(t("app.no_data", lang))
        return
    level, units = units_shown(eng, current)
    with st.container(key="twin-head", horizontal=True, vertical_alignment="center",
                      gap="small", wrap=False):
        st.title(t("app.title", lang), anchor=False)
        breadcrumb(path, lang)
        if current is None or current["level"] != "microgrid":
            children_picker(units, lang)
        panel = st.toggle(t("app.panel", lang), value=st.query_params.get("panel") != "0",
                          key="show-panel")
    if panel:
        st.query_params.pop("panel", None)
    else:
        st.query_params["panel"] = "0"
    with st.container(key="twin-map"):
        deck = build_map(eng, chosen, units, level, window, lang, filters,
                         view=view_from_params(st.query_params.to_dict()))
        # a click reruns the script, which follows it before drawing (follow_click)
        page_map(deck=deck.to_json(), key="map")
    legends = "".join(float_legend(app, lang) for app in chosen)
    if legends:  # one box, folded away with a click, scrolling when the legends are long
        with st.container(key="twin-legend"):
            st.markdown(f"<details open><summary>{html.escape(t('app.legend', lang))}</summary>"
                        f"{legends}</details>", unsafe_allow_html=True)
    if not panel:
        return
    with st.container(key="twin-panel"):
        building_panel(engine(), lang)  # personal data and its audit: the primary
        if current and current["level"] == "microgrid" and "party" in [a.name for a in chosen]:
            leader_link(engine(), current, lang)
        six_elements(summary, current, lang)
        if chosen and window:
            application_charts(eng, chosen, Scope(current, window[0], window[1], lang,
                                                  principal=principal()), filters)


def units_shown(eng, current: dict | None) -> tuple[str, dict]:
    """(level, units) the map shows at a unit: its children, or a micro-grid among its
    siblings."""
    level = child_level(current["level"] if current else None)
    if level is None:
        return "microgrid", units_geojson(eng, "microgrid", current["parent_id"])
    return level, units_geojson(eng, level, current["id"] if current else None)


def first_deck(eng, data_dir: Path, params: dict[str, str]) -> str | None:
    """The deck JSON the map page draws first for a URL's parameters — its unit,
    applications, period and filters as the URL says, else at their defaults — for the
    page's own map to draw before the script has run (/api/map/first); None when the twin
    has no units yet."""
    return _first_deck(eng, data_dir, params, _url_unit(eng, params))


def _url_unit(eng, params: dict[str, str]) -> dict | None:
    path = unit_path(eng, params.get("unit"))
    return path[-1] if path else None


def _first_deck(eng, data_dir: Path, params: dict[str, str], current: dict | None) -> str | None:
    level, units = units_shown(eng, current)
    if not units["features"] and current is None:
        return None
    chosen = [APPLICATIONS.get(name) for name in parse(params.get("apps"))]
    period = url_period(params, eng)
    window = aware(*period) if period else None
    filters = {app.name: {f.key: values for f in app.filters
                          if (values := initial_filter(app, f, params))}
               for app in chosen}
    return build_map(eng, chosen, units, level, window, _language(params), filters,
                     view=view_from_params(params), data_dir=data_dir).to_json()


def first_view(eng, data_dir: Path, params: dict[str, str],
               reader: Principal) -> dict[str, str | None] | None:
    """What the page draws before its script has run (/api/map/first), for a URL's
    parameters and its reader (a Principal): ``deck``, the first deck (``first_deck``), and
    ``panel``, the six elements as the script's panel shows them (None with ``panel=0``);
    None when the twin has no units yet."""
    current = _url_unit(eng, params)
    deck = _first_deck(eng, data_dir, params, current)
    if deck is None:
        return None
    panel = None
    if params.get("panel") != "0":
        summary = published(rollup(eng, current["id"] if current else None))
        panel = panel_html(summary, current, _language(params), may(reader, "residents"))
    return {"deck": deck, "panel": panel}


def _language(params: dict[str, str]) -> str:
    return params.get("lang") if params.get("lang") in LANGUAGES else LANGUAGES[0]


def children_picker(units: dict, lang: str) -> None:
    """The units one level down, to go into (as a click on the map does)."""
    children = {f["properties"]["code"]: f["properties"]["name"] for f in units["features"]}
    target = st.selectbox(t("nav.children", lang), [""] + list(children),
                          format_func=lambda c: children.get(c, t("nav.choose", lang)),
                          label_visibility="collapsed", width=140)
    if target:
        go_to(target)
        st.rerun()


def build_map(eng, chosen: list[Application], units: dict, level: str,
              window: tuple[dt.datetime, dt.datetime] | None, lang: str,
              filters: dict[str, dict[str, tuple[str, ...]]] | None = None, view=None,
              data_dir: Path | None = None):
    """The deck: the twin's terrain, the units of ``level``, the chosen applications; the
    camera at ``view``, else framing the units."""
    view = view or view_for(units.get("bbox"), FIT_PX)
    basemap, on_terrain = twin_basemap(data_dir or settings().data_dir, view.zoom)
    needed = {layer for app in chosen for layer in app.tile_layers}
    versions = current_versions(eng, needed)
    epochs = (int(window[0].timestamp()), int(window[1].timestamp())) if window else None
    scenes = current_scenes(eng) if any(app.scenes for app in chosen) else []
    above = [layer for app in chosen for layer in app.layers(MapContext(
        versions, on_terrain, lang, epochs, (filters or {}).get(app.name, {}),
        scenes=scenes))]
    fill = next((f for app in chosen if (f := app.unit_fill(units))), None)
    return units_deck(units, level, below=basemap, above=above, view=view,
                      on_terrain=on_terrain, fill=fill)


def application_filters(app: Application, lang: str) -> dict[str, tuple[str, ...]]:
    """The application's sidebar filters; their values live in the URL as ``<app>.<key>``
    (only known options are kept, so URL text never reaches a layer)."""
    values = {}
    params = st.query_params.to_dict()
    for f in app.filters:
        param = f"{app.name}.{f.key}"
        initial = initial_filter(app, f, params)
        label = f"{app.title(lang)} · {t(f.label_key, lang)}"
        if f.multi:
            chosen = tuple(st.multiselect(label, f.options, default=list(initial),
                                          format_func=_option_label(f, lang),
                                          placeholder=t("filter.all", lang),
                                          key=f"filter-{param}"))
        else:
            chosen = (st.radio(label, f.options, index=f.options.index(initial[0]),
                               format_func=_option_label(f, lang), horizontal=True,
                               key=f"filter-{param}"),)
        if chosen and chosen != (f.default or ()):
            st.query_params[param] = ",".join(chosen)
        else:
            st.query_params.pop(param, None)
        if chosen:
            values[f.key] = chosen
    return values


def initial_filter(app: Application, f: Filter, params: dict[str, str]) -> tuple[str, ...]:
    """A filter's values as a URL opens it: the known options it names, else the default
    (a one-choice filter: one value, the first option when it has no default)."""
    picked = tuple(v for v in params.get(f"{app.name}.{f.key}", "").split(",")
                   if v in f.options)
    if f.multi:
        return picked or tuple(f.default or ())
    return ((picked or f.default or f.options)[0],)


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
                                           filters.get(app.name, {}), scope.principal))
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


def share_link(lang: str) -> None:
    """The view as a link to copy. A text field, not ``st.code``: the code block would load
    a 1.5 MB syntax highlighter into every browser."""
    base = (st.context.url or "").split("?", 1)[0]
    query = urlencode({k: st.query_params.get(k) for k in st.query_params})
    link = f"{base}?{query}" if query else base
    st.session_state["share_link"] = link  # always the current view, whatever was typed
    st.text_input(t("app.share", lang), key="share_link")


def breadcrumb(path: list[dict], lang: str) -> None:
    """County › town › village › … as buttons; each one drills back up."""
    steps = [(None, t("nav.county", lang))] + [(u["code"], u["name"]) for u in path]
    for i, (code, name) in enumerate(steps):
        last = i == len(steps) - 1
        if st.button(name, key=f"crumb-{i}", disabled=last, width="content"):
            go_to(code)
            st.rerun()


def _picked(click, layer_id: str, prop: str):
    """A property of the feature of ``layer_id`` clicked on the map, if one was clicked
    (``click``: the page map's value, ``{"layer", "object", "click"}``)."""
    if not isinstance(click, dict) or click.get("layer") != layer_id:
        return None
    props = click.get("object")
    return props.get(prop) if isinstance(props, dict) else None


# Map layers of elements → their table: a click on an event, a station, a POI … drills into
# the unit below that holds it, as a click on the unit itself would.
ELEMENT_LAYERS = {"governance-events": "events", "environment-stations": "stations",
                  "tourism-pois": "facilities", "tourism-routes": "routes",
                  "organizations": "organizations", "land": "land_parcels"}


def follow_click(eng, path: list[dict]) -> bool:
    """Act on a click on the map (the page map's value, read before anything is drawn so
    that one run shows the result): a unit, or anything inside one, drills into it; a
    building opens its panel. Returns whether the unit changed."""
    click = st.session_state.get("map")
    if not _new_pick(click):  # act on each click once
        return False
    current = path[-1] if path else None
    building = _picked(click, "buildings", "id")
    if building:
        st.query_params["building"] = str(building)
        return False
    level = child_level(current["level"] if current else None) or "microgrid"
    picked = _picked(click, f"units-{level}", "code") or _unit_of_picked(eng, click, level)
    if picked and picked != (current or {}).get("code"):
        go_to(picked)
        return True
    return False


def _new_pick(click) -> bool:
    """Whether the map's last click is one not yet acted on (its value outlives reruns)."""
    if not isinstance(click, dict) or "click" not in click:
        return False
    previous = st.session_state.get("last_pick")
    st.session_state["last_pick"] = click["click"]
    return click["click"] != previous


def _unit_of_picked(eng, click, level: str) -> str | None:
    for layer_id, table in ELEMENT_LAYERS.items():
        element = _picked(click, layer_id, "id")
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


def leader_link(eng, microgrid: dict, lang: str) -> None:
    """党建统领 at a micro-grid: the link to its leader's phone page (民情笔记), for the
    officials of the unit, to send through the chat app the leader uses."""
    who = principal()
    with eng.connect() as conn:
        allowed = may(who, "links") and sees_in(conn, who, "households", microgrid["id"])
    if not allowed:
        return
    try:
        leader = party.leader_of_microgrid(eng, microgrid["code"])
    except NotFound:
        st.caption(t("leader.none", lang))
        return
    key = f"leader-link-{microgrid['id']}"
    if st.button(t("leader.make_link", lang), key=f"{key}-make"):
        token = links.create(eng, settings(), "leader", leader, who.name)
        st.session_state[key] = links.link_url(settings(), token, site(), scope="leader")
    if st.session_state.get(key):
        link_card(st.session_state[key], t("leader.link_qr", lang).format(
            hours=settings().link_hours))


def six_elements(summary: dict, current: dict | None, lang: str) -> None:
    """人、地、物、情、事、组织 of the current unit, with land use as bars."""
    st.markdown(panel_html(summary, current, lang, may(principal(), "residents")),
                unsafe_allow_html=True)


def panel_html(summary: dict, current: dict | None, lang: str, residents: bool) -> str:
    """The six elements of the current unit as the panel shows them, in HTML: the page's
    script and the first view (/api/map/first, before Streamlit runs) draw the same.
    ``residents``: whether the reader may see residents (else a note says they are hidden)."""
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
    parts = [f"<div class='twin-panel-title'>{html.escape(t('panel.title', lang))}</div>",
             "<div class='twin-panel-unit'>"
             f"{html.escape(current['name'] if current else t('nav.county', lang))}</div>"]
    for title, figures in sections:  # small figures, three to a row: the map stays in view
        cells = "".join(
            f"<div><small>{html.escape(t(key, lang))}</small><b>"
            f"{html.escape(f'{value:,}' if isinstance(value, int) else str(value))}</b></div>"
            for key, value in figures)
        parts.append(f"<div class='twin-figs'><div class='head'>"
                     f"{html.escape(t(title, lang))}</div>{cells}</div>")
        if title == "panel.land" and land:
            parts.append(share_bars({t(f"landuse.{k}", lang): v for k, v in land.items()}))
    if not residents:
        parts.append(f"<div class='twin-panel-unit'>"
                     f"{html.escape(t('panel.residents_hidden', lang))}</div>")
    return "".join(parts)


def show_application(app: Application, summary: dict, lang: str) -> None:
    """An application's KPIs in the sidebar."""
    st.subheader(app.title(lang))
    for kpi in app.kpis(summary, lang):
        st.metric(kpi.label, f"{kpi.value:,}{kpi.unit}")


def float_legend(app: Application, lang: str) -> str:
    """An application's legend as HTML, for the box floating over the map."""
    legend = app.legend(lang)
    if not legend.entries:
        return ""
    swatches = " ".join(
        f"<span style='white-space:nowrap'><span style='color:rgb({e.color[0]},{e.color[1]},"
        f"{e.color[2]})'>■</span> {html.escape(e.label)}</span>" for e in legend.entries)
    return f"<p><b>{html.escape(legend.title)}</b><br>{swatches}</p>"
