"""The period a page shows: the first and last hour the twin knows of, the slider with
its play button, and times in the URL (local time, China Standard Time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

from surfaces.session import read_engine
from twin.domain.summary import LOCAL_TZ, data_period
from twin.i18n import t

STEP = dt.timedelta(days=1)


TZ = ZoneInfo(LOCAL_TZ)


HOUR = dt.timedelta(hours=1)


URL_TIME = "%Y-%m-%dT%H:%M"


def period_bounds() -> tuple[dt.datetime, dt.datetime] | None:
    """First and last local hour the twin knows of (cached for a minute: two scans)."""
    return _bounds(read_engine().url.render_as_string(hide_password=True))


@st.cache_data(ttl=60, show_spinner=False)
def _bounds(database: str) -> tuple[dt.datetime, dt.datetime] | None:
    """The period of one database (the cache is the process's: keyed by which twin)."""
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
