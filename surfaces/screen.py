"""The command-centre wall (``?screen=1``, and every page of a screen account): the county
or a unit in 3D with live figures; ``&tour=1`` flies through the units."""

from __future__ import annotations

import datetime as dt
import time

import streamlit as st
from shapely.geometry import shape

from layers.application import pct_text
from layers.governance import loop_kpis
from layers.law import duration_text
from layers.registry import APPLICATIONS, parse
from surfaces.deck import view_for
from surfaces.map import build_map
from surfaces.period import TZ, period_bounds
from surfaces.session import count_text, read_engine
from twin.domain import law, party, selfgov
from twin.domain.access import published
from twin.domain.summary import loop_measures, rollup
from twin.domain.units import child_level, unit_path, units_geojson
from twin.errors import TwinError
from twin.i18n import t

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

    summary = published(rollup(read_engine(), unit["id"] if unit else None))
    cols = st.columns(len(SCREEN_KPIS))
    for col, key in zip(cols, SCREEN_KPIS, strict=True):
        col.metric(t(f"kpi.{key}", lang), count_text(summary[key], lang))
    party_figures(unit, summary, lang)
    bounds = period_bounds()
    if bounds is None:
        return
    end = bounds[1].replace(tzinfo=TZ)
    boards_figures(unit, summary, end, lang)
    law_figures(unit, end, lang)
    measures = loop_measures(read_engine(), unit, end - dt.timedelta(days=30), end)
    shown = loop_kpis(measures, lang)
    st.caption(t("loop.recent", lang))
    cols = st.columns(len(shown))
    for col, (label, value) in zip(cols, shown.itertuples(index=False), strict=True):
        col.metric(label, value)
    cols = st.columns(len(measures["loops"]))  # the three loops: how much each closes
    for col, (loop, m) in zip(cols, measures["loops"].items(), strict=True):
        col.metric(t(f"loop.{loop}", lang), f"{m['resolved']:,} / {m['reported']:,}",
                   help=t("loop.resolved", lang))


def party_figures(unit: dict | None, summary: dict, lang: str) -> None:
    """党建统领 on the wall: grids covered, leaders, visits in 30 days, projects done."""
    m = party.measures(read_engine(), unit)
    v = party.visit_measures(read_engine(), unit)
    st.caption(t("party.figures", lang))
    cols = st.columns(4)
    cols[0].metric(t("kpi.party_coverage", lang),
                   f"{summary.get('grids_party', 0):,} / {summary.get('grids', 0):,}")
    cols[1].metric(t("kpi.leaders", lang), f"{m['leaders']:,}",
                   help=t("kpi.leaders_party", lang))
    cols[2].metric(t("kpi.visits_30d", lang), f"{v['visits_30d']:,}")
    cols[3].metric(t("kpi.projects", lang), "{} / {}".format(*party.progress(m, "project")))


def boards_figures(unit: dict | None, summary: dict, end: dt.datetime, lang: str) -> None:
    """自治 and 德治 on the wall: consultation projects done, livelihood matters solved, the
    文明啄木鸟 reports of the last year solved; households with 三治积分 and with credit."""
    m = selfgov.measures(read_engine(), unit, end - dt.timedelta(days=365), end)
    homes = summary.get("households") or 0
    credited = summary.get("households_credit", 0)
    st.caption(t("screen.boards", lang))
    cols = st.columns(5)
    cols[0].metric(t("kpi.consultations_done", lang),
                   f"{summary.get('consultations_done', 0):,} / "
                   f"{summary.get('consultations', 0):,}")
    cols[1].metric(t("kpi.matters_solved", lang), f"{summary.get('matters_solved', 0):,}")
    cols[2].metric(t("kpi.woodpecker_solved", lang),
                   pct_text(m["reports_pct"]),
                   help=f"{m['reports_solved']:,} / {m['reports']:,}")
    cols[3].metric(t("kpi.points_households", lang),
                   count_text(summary.get("households_points", 0), lang))
    cols[4].metric(t("kpi.credit_households", lang), count_text(credited, lang),
                   help=t("kpi.credit_share", lang)
                   + (f" {100.0 * credited / homes:.1f}%" if homes else ""))


def law_figures(unit: dict | None, end: dt.datetime, lang: str) -> None:
    """法治 on the wall, for the last year: disputes, the mediation success rate, the share
    settled before court, and the median time from application to agreement."""
    m = law.measures(read_engine(), unit, end - dt.timedelta(days=365), end)
    st.caption(t("screen.law", lang))
    cols = st.columns(4)
    cols[0].metric(t("law.kpi.disputes", lang), f"{m['disputes']:,}",
                   help=f"{t('law.kpi.settled', lang)} {m['settled']:,}")
    cols[1].metric(t("law.kpi.success", lang), pct_text(
        None if m["success_pct"] is None else round(m["success_pct"], 1)))
    cols[2].metric(t("law.kpi.prelitigation", lang), pct_text(
        None if m["prelitigation_pct"] is None else round(m["prelitigation_pct"], 1)))
    cols[3].metric(t("law.kpi.median", lang), duration_text(m["median_minutes"], lang),
                   help=t("law.seed_note", lang))


def screen_page(lang: str) -> None:
    """The wall of the unit in the URL (the county when none)."""
    try:
        big_screen(read_engine(), unit_path(read_engine(), st.query_params.get("unit")), lang)
    except TwinError as exc:
        st.error(f"{t('app.db_error', lang)}: {exc}")
