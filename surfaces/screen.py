"""The command-centre wall (``?screen=1``, and every page of a screen account): the county
or a unit in 3D with live figures; ``&tour=1`` flies through the units."""

from __future__ import annotations

import datetime as dt
import html
import time

import pydeck as pdk
import streamlit as st
from shapely.geometry import shape

from layers.application import pct_text
from layers.governance import loop_kpis
from layers.law import duration_text
from layers.registry import APPLICATIONS, parse
from surfaces.deck import view_for
from surfaces.map import build_map
from surfaces.period import TZ, period_bounds
from surfaces.session import count_text, principal, read_engine
from twin.domain import law, party, selfgov
from twin.domain.access import published
from twin.domain.summary import events_daily, loop_measures, rollup, ticker
from twin.domain.units import child_level, unit_path, units_geojson
from twin.errors import TwinError
from twin.i18n import t

# The cockpit (驾驶舱) of a command centre: the 3D map fills the wall; the four boards and
# the loop stand in translucent panels on the left and right over it, a header carries the
# unit, the date and a clock, and a ticker at the bottom shows what just happened. Sizes
# are in rem of a root that grows with the wall's width, so a 4K wall reads as a 1080p one.
# Each part refreshes on its own (fragments); the map keeps the operator's camera.
WALL_CSS = """
<style>
  html { font-size: clamp(14px, calc(0.62vw + 4px), 30px); }
  .stApp, [data-testid="stHeader"] { background: #0b1220; color: #e6edf7; }
  [data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stToolbar"],
  [data-testid="stSidebarCollapsedControl"] { display: none; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: 100%; }
  h1, h2, h3, h4, h5, p, span, label, small, b { color: #e6edf7; }
  .st-key-wall-map { position: fixed; inset: 0; z-index: 0; }
  .st-key-wall-map [data-testid="stDeckGlJsonChart"] { height: 100vh !important; }
  .st-key-wall-head { position: fixed; top: 0; left: 0; right: 0; height: 3.6rem; z-index: 3;
    padding: 0 1.4rem; justify-content: center;
    background: linear-gradient(180deg, rgba(8, 16, 34, 0.95), rgba(8, 16, 34, 0.55)); }
  .wall-headline { display: flex; align-items: center; justify-content: space-between; }
  .wall-title { font-size: 1.7rem; font-weight: 700; letter-spacing: 0.12em; color: #9fe0ff; }
  .wall-unit { font-size: 1.15rem; margin-left: 1rem; color: #cfe3ff; }
  .wall-clock { font-size: 1.15rem; color: #cfe3ff; font-variant-numeric: tabular-nums; }
  .wall-clock b { font-size: 1.6rem; margin-left: 0.8rem; color: #9fe0ff; }
  .st-key-wall-left, .st-key-wall-right { position: fixed; top: 4.2rem;
    max-height: calc(100vh - 8.6rem);
    width: 24vw; z-index: 2; overflow-y: auto; scrollbar-width: none; border-radius: 0.5rem;
    padding: 0.5rem 0.9rem 1.4rem;
    background: rgba(11, 22, 44, 0.72); border: 1px solid rgba(127, 209, 255, 0.28); }
  .st-key-wall-left { left: 0.8rem; }
  .st-key-wall-right { right: 0.8rem; }
  .wall-sec h5 { font-size: 1.2rem; margin: 0.5rem 0 0.2rem; padding: 0;
    color: #9fe0ff; border-left: 0.25rem solid #3aa0ff; padding-left: 0.45rem; }
  .wall-figs { display: grid; grid-template-columns: repeat(2, 1fr); gap: 0 0.8rem; }
  .wall-figs div { line-height: 1.15; padding: 0.15rem 0; }
  .wall-figs b { display: block; font-size: 1.85rem; color: #7fd1ff; font-weight: 700; }
  .wall-figs small { font-size: 0.88rem; color: #b8c7e0; }
  .wall-chart { margin-top: 0.2rem; }
  .wall-chart svg { width: 100%; height: 4.2rem; }
  .wall-bar { display: flex; align-items: center; gap: 0.4rem; font-size: 0.78rem; }
  .wall-bar span:first-child { flex: 0 0 4em; color: #b8c7e0; }
  .wall-bar i { flex: 1; height: 0.55rem; background: rgba(255, 255, 255, 0.12);
    border-radius: 0.3rem; }
  .wall-bar i em { display: block; height: 100%; background: #3aa0ff; border-radius: 0.3rem; }
  .wall-bar span:last-child { flex: 0 0 7.5em; text-align: right; white-space: nowrap; }
  .st-key-wall-ticker { position: fixed; bottom: 0.8rem; left: 26vw; right: 26vw; z-index: 3;
    height: 3rem; overflow: hidden; border-radius: 0.5rem; white-space: nowrap;
    background: rgba(11, 22, 44, 0.85); border: 1px solid rgba(127, 209, 255, 0.28); }
  .wall-ticker { display: flex; align-items: center; height: 3rem; }
  .wall-ticker strong { flex: 0 0 auto; padding: 0 0.8rem; color: #ffcf6a;
    font-size: 1.05rem; border-right: 1px solid rgba(127, 209, 255, 0.28); }
  .wall-window { flex: 1; overflow: hidden; }
  .wall-track { display: inline-block; white-space: nowrap; font-size: 0.95rem;
    animation: wall-scroll 60s linear infinite; }
  .wall-tick { margin-right: 2.2rem; }
  .wall-tick.warned b, .wall-tick.escalated b { color: #ff7b6b; }
  .wall-tick.fresh { animation: wall-flash 0.8s ease-in-out 8; }
  .wall-flash { position: fixed; top: 4.6rem; left: 50%; transform: translateX(-50%);
    z-index: 3; padding: 0.4rem 1.2rem; border-radius: 0.4rem; font-size: 1.2rem;
    background: rgba(200, 40, 40, 0.85); color: #fff; animation: wall-flash 0.8s ease-in-out 8; }
  .st-key-wall-tour p { position: fixed; top: 4.3rem; left: 50%; z-index: 2; }
  @keyframes wall-scroll { from { transform: translateX(40%); }
                           to { transform: translateX(-100%); } }
  @keyframes wall-flash { 50% { opacity: 0.25; } }
</style>
"""

# The loop's measures on the wall (of layers.governance.LOOP_UNITS)
WALL_LOOP = ("resolution_rate", "on_time_rate", "within_grid", "satisfaction")

# How often the live part (the ticker, new alerts on the map) and the figures refresh.
LIVE_EVERY = dt.timedelta(seconds=15)
FIGURES_EVERY = dt.timedelta(seconds=60)
CLOCK_EVERY = dt.timedelta(seconds=15)


def big_screen(eng, path: list[dict], lang: str) -> None:
    """``?screen=1``: the cockpit of the unit in the URL (the county when none);
    ``&tour=1`` flies through the units below it, one every TOUR_STOP."""
    st.markdown(WALL_CSS, unsafe_allow_html=True)
    current = path[-1] if path else None
    wall_head(current, lang)
    level = child_level(current["level"] if current else None) or "microgrid"
    parent = current["id"] if current and level != "microgrid" else None
    names = parse(st.query_params.get("apps"))
    touring = st.query_params.get("tour") == "1"
    if touring:
        tour_map(level, parent, names, lang)
    live(current, level, parent, names, lang, draw_map=not touring)
    wall_panels(current, lang)


@st.fragment(run_every=CLOCK_EVERY)
def wall_head(unit: dict | None, lang: str) -> None:
    """The title, the unit, the date and a clock (local time)."""
    now = dt.datetime.now(TZ)
    day = (f"{now.year}年{now.month}月{now.day}日 {t(f'weekday.{now.weekday()}', lang)}"
           if lang == "zh" else f"{now:%A %d %B %Y}")
    name = unit["name"] if unit else t("nav.county", lang)
    with st.container(key="wall-head"):
        st.markdown(
            "<div class='wall-headline'><div>"
            f"<span class='wall-title'>{html.escape(t('screen.title', lang))}</span>"
            f"<span class='wall-unit'>{html.escape(name)}</span></div>"
            f"<div class='wall-clock'>{html.escape(day)}<b>{now:%H:%M}</b></div></div>",
            unsafe_allow_html=True)


TOUR_STOP = dt.timedelta(seconds=20)


@st.fragment(run_every=TOUR_STOP)
def tour_map(level: str, parent: int | None, names: list[str], lang: str) -> None:
    """The slow tour of a command-centre wall: the whole area, then each unit in turn; the
    camera flies (deck.gl transition) and only this map is redrawn."""
    eng = read_engine()
    units = units_geojson(eng, level, parent)
    stops = [(None, view_for(units.get("bbox"), FIT_PX))] + [
        (f["properties"]["name"], view_for(list(shape(f["geometry"]).bounds), FIT_PX))
        for f in units["features"]]
    name, view = stops[int(time.time() // TOUR_STOP.total_seconds()) % len(stops)]
    view.transitionDuration = 4000
    view.bearing = 20
    with st.container(key="wall-tour"):
        st.caption(f"{t('screen.tour', lang)} · {name or t('nav.county', lang)}")
    chosen = [APPLICATIONS.get(n) for n in names]
    with st.container(key="wall-map"):
        st.pydeck_chart(build_map(eng, chosen, units, level, None, lang, view=view),
                        height=1080)


# The wall's map frames its unit larger than a laptop's (the panels cover a quarter each).
FIT_PX = 820


@st.fragment(run_every=LIVE_EVERY)
def live(unit: dict | None, level: str, parent: int | None, names: list[str], lang: str,
         draw_map: bool = True) -> None:
    """The map with what is new since the last refresh ringed on it, a banner and the
    ticker; the first drawing of a wall marks nothing as new."""
    eng = read_engine()
    items = ticker(eng, principal(), unit)
    seen = st.session_state.get("wall_seen")
    fresh = [i for i in items if seen is not None and i["id"] > seen]
    st.session_state["wall_seen"] = max([seen or 0] + [i["id"] for i in items])
    if draw_map:
        units = units_geojson(eng, level, parent)
        chosen = [APPLICATIONS.get(n) for n in names]
        deck = build_map(eng, chosen, units, level, None, lang,
                         view=view_for(units.get("bbox"), FIT_PX))
        deck.layers.append(alerts_layer(fresh))
        with st.container(key="wall-map"):
            st.pydeck_chart(deck, height=1080, key="wall-map-chart")
    if fresh:
        st.markdown(f"<div class='wall-flash'>{html.escape(tick_text(fresh[0], lang))}</div>",
                    unsafe_allow_html=True)
    with st.container(key="wall-ticker"):
        ticks = "".join(
            f"<span class='wall-tick {i['move']}{' fresh' if i in fresh else ''}'>"
            f"{html.escape(tick_text(i, lang))}</span>" for i in items)
        ticks = ticks or html.escape(t("screen.quiet", lang))
        st.markdown(f"<div class='wall-ticker'><strong>{html.escape(t('screen.ticker', lang))}"
                    f"</strong><div class='wall-window'><div class='wall-track'>{ticks}</div></div>"
                    "</div>",
                    unsafe_allow_html=True)


def tick_text(item: dict, lang: str) -> str:
    """One line of the ticker: local time, village, category and what happened."""
    at = item["at"].astimezone(TZ)
    when = f"{at:%H:%M}" if at.date() == dt.datetime.now(TZ).date() else f"{at:%m-%d %H:%M}"
    category = item["name_zh"] if lang == "zh" else item["name_en"]
    return f"{when} {item['village']} {category} · {t('screen.move.' + item['move'], lang)}"


def alerts_layer(fresh: list[dict]) -> pdk.Layer:
    """Rings at what is new since the last refresh (always present, so the deck's layers
    stay the same between refreshes)."""
    return pdk.Layer(
        "ScatterplotLayer", id="wall-alerts",
        data=[{"p": [i["lon"], i["lat"]]} for i in fresh if i["lon"] is not None],
        get_position="p", get_radius=500, radius_min_pixels=16, stroked=True, filled=True,
        get_fill_color=[255, 70, 60, 70], get_line_color=[255, 70, 60, 255],
        line_width_min_pixels=4)


@st.fragment(run_every=FIGURES_EVERY)
def wall_panels(unit: dict | None, lang: str) -> None:
    """The four boards and the loop: 党建统领, 自治, the six elements and the environment on
    the left; 法治, 德治 and the loop on the right; a small chart on each side."""
    eng = read_engine()
    summary = published(rollup(eng, unit["id"] if unit else None))
    bounds = period_bounds()
    end = (bounds[1] if bounds else dt.datetime.now(TZ).replace(tzinfo=None)).replace(tzinfo=TZ)
    month = end - dt.timedelta(days=30)
    with st.container(key="wall-left"):
        section(t("party.figures", lang), party_figures(unit, summary, lang))
        section(t("screen.selfgov", lang), selfgov_figures(unit, summary, end, lang))
        daily = events_daily(eng, unit, month, end)
        section(t("screen.elements", lang), [
            (t("kpi.residents", lang), count_text(summary["residents"], lang)),
            (t("kpi.households", lang), count_text(summary["households"], lang)),
            (t("kpi.events_open", lang), f"{summary['events_open']:,}"),
            (t("kpi.events_overdue", lang), f"{summary['events_overdue']:,}")],
            sparkline(daily, t("screen.daily", lang)))
        section(t("screen.environment", lang), [
            (t("kpi.stations", lang), f"{summary['stations']:,}"),
            (t("kpi.stations_in_alarm", lang), f"{summary['stations_in_alarm']:,}")])
    with st.container(key="wall-right"):
        section(t("screen.law", lang), law_figures(unit, end, lang))
        section(t("screen.moral", lang), moral_figures(summary, lang))
        measures = loop_measures(eng, unit, month, end)
        kpis = loop_kpis(measures, lang)
        shown = kpis[kpis["label"].isin([t(f"loop.{k}", lang) for k in WALL_LOOP])]
        section(t("loop.recent", lang), list(shown.itertuples(index=False)), loop_bars(
            {t(f"loop.{k}", lang): (m["resolved"], m["reported"])
             for k, m in measures["loops"].items()}))


def section(title: str, figures: list[tuple[str, str]], chart: str = "") -> None:
    """A board on a panel: its title, large figures two to a row, and a small chart."""
    cells = "".join(f"<div><b>{html.escape(str(value))}</b><small>{html.escape(label)}</small>"
                    "</div>" for label, value in figures)
    st.markdown(f"<div class='wall-sec'><h5>{html.escape(title)}</h5>"
                f"<div class='wall-figs'>{cells}</div>{chart}</div>", unsafe_allow_html=True)


def sparkline(daily, label: str) -> str:
    """Reported and resolved per day as two lines of an inline SVG (no chart script)."""
    if daily.empty:
        return ""
    top = max(int(daily["reported"].max()), int(daily["resolved"].max()), 1)
    step = 300 / max(len(daily) - 1, 1)

    def line(column: str, colour: str) -> str:
        points = " ".join(f"{i * step:.1f},{58 - 54 * v / top:.1f}"
                          for i, v in enumerate(daily[column]))
        return (f"<polyline points='{points}' fill='none' stroke='{colour}' "
                "stroke-width='2.5'/>")

    return (f"<div class='wall-chart'><small>{html.escape(label)}</small>"
            "<svg viewBox='0 0 300 60' preserveAspectRatio='none'>"
            f"{line('reported', '#7fd1ff')}{line('resolved', '#5ad19a')}</svg></div>")


def loop_bars(values: dict[str, tuple[int, int]]) -> str:
    """Resolved of reported per loop as bars."""
    rows = []
    for label, (done, total) in values.items():
        pct = 100 * done / total if total else 0
        rows.append(f"<div class='wall-bar'><span>{html.escape(label.split('（')[0])}</span>"
                    f"<i><em style='width:{pct:.1f}%'></em></i>"
                    f"<span>{done:,} / {total:,}</span></div>")
    return "<div class='wall-chart'>" + "".join(rows) + "</div>"


def party_figures(unit: dict | None, summary: dict, lang: str) -> list[tuple[str, str]]:
    """党建统领: grids covered, leaders, visits in 30 days, projects done."""
    m = party.measures(read_engine(), unit)
    v = party.visit_measures(read_engine(), unit)
    return [(t("kpi.party_coverage", lang),
             f"{summary.get('grids_party', 0):,} / {summary.get('grids', 0):,}"),
            (t("kpi.leaders", lang), f"{m['leaders']:,}"),
            (t("kpi.visits_30d", lang), f"{v['visits_30d']:,}"),
            (t("kpi.projects", lang), "{} / {}".format(*party.progress(m, "project")))]


def selfgov_figures(unit: dict | None, summary: dict, end: dt.datetime,
                    lang: str) -> list[tuple[str, str]]:
    """自治: consultation projects done, livelihood matters solved, and the 文明啄木鸟
    reports of the last year solved."""
    m = selfgov.measures(read_engine(), unit, end - dt.timedelta(days=365), end)
    return [(t("kpi.consultations_done", lang),
             f"{summary.get('consultations_done', 0):,} / {summary.get('consultations', 0):,}"),
            (t("kpi.matters_solved", lang), f"{summary.get('matters_solved', 0):,}"),
            (t("kpi.woodpecker_solved", lang), pct_text(m["reports_pct"]))]


def moral_figures(summary: dict, lang: str) -> list[tuple[str, str]]:
    """德治: households with 三治积分 and with a credit level, and that share."""
    homes = summary.get("households") or 0
    credited = summary.get("households_credit", 0)
    return [(t("kpi.points_households", lang),
             count_text(summary.get("households_points", 0), lang)),
            (t("kpi.credit_households", lang), count_text(credited, lang)),
            (t("kpi.credit_share", lang), f"{100.0 * credited / homes:.1f}%" if homes else "—")]


def law_figures(unit: dict | None, end: dt.datetime, lang: str) -> list[tuple[str, str]]:
    """法治, for the last year: disputes, the mediation success rate, the share settled
    before court, and the median time from application to agreement."""
    m = law.measures(read_engine(), unit, end - dt.timedelta(days=365), end)
    return [(t("law.kpi.disputes", lang), f"{m['disputes']:,}"),
            (t("law.kpi.success", lang), pct_text(
                None if m["success_pct"] is None else round(m["success_pct"], 1))),
            (t("law.kpi.prelitigation", lang), pct_text(
                None if m["prelitigation_pct"] is None else round(m["prelitigation_pct"], 1))),
            (t("law.kpi.median", lang), duration_text(m["median_minutes"], lang))]


def screen_page(lang: str) -> None:
    """The wall of the unit in the URL (the county when none)."""
    try:
        big_screen(read_engine(), unit_path(read_engine(), st.query_params.get("unit")), lang)
    except TwinError as exc:
        st.error(f"{t('app.db_error', lang)}: {exc}")
