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


def period_bounds(eng=None) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last local hour the twin knows of (cached for a minute: two scans)."""
    eng = eng or read_engine()
    return _bounds(eng.url.render_as_string(hide_password=True), eng)


@st.cache_data(ttl=60, show_spinner=False)
def _bounds(database: str, _eng) -> tuple[dt.datetime, dt.datetime] | None:
    """The period of one database (the cache is the process's: keyed by which twin)."""
    period = data_period(_eng)
    if period is None:
        return None
    first = period[0].astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    last = period[1].astimezone(TZ).replace(minute=0, second=0, microsecond=0) + HOUR
    return first.replace(tzinfo=None), last.replace(tzinfo=None)


def _time_param(text: str, name: str, default: dt.datetime, first: dt.datetime,
                last: dt.datetime) -> dt.datetime:
    """A local time from the URL: ``2026-06-01T08:00`` or a day (``to=2026-06-30`` means the
    end of that day); out-of-range values are clamped, bad ones replaced by the default."""
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


def url_period(params: dict[str, str], eng=None) -> tuple[dt.datetime, dt.datetime] | None:
    """The period a URL opens (``from``/``to``, else the last 30 days), local and naive, as
    the slider starts; None when the twin has no times at all."""
    bounds = period_bounds(eng)
    if bounds is None:
        return None
    first, last = bounds
    return (_time_param(params.get("from", ""), "from", max(first, last - dt.timedelta(days=30)),
                        first, last),
            _time_param(params.get("to", ""), "to", last, first, last))


def aware(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A slider's period as the aware [start, end) the layers take (at least an hour)."""
    if end <= start:
        end = start + HOUR
    return start.replace(tzinfo=TZ), end.replace(tzinfo=TZ)


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
        st.session_state["period"] = url_period(st.query_params.to_dict())
    start, end = st.slider(t("time.period", lang), min_value=first, max_value=last,
                           step=HOUR, key="period", format="YYYY-MM-DD HH:mm")
    start, end = aware(start, end)
    st.query_params["from"], st.query_params["to"] = (start.strftime(URL_TIME),
                                                      end.strftime(URL_TIME))
    st.toggle(t("time.play", lang), key="playing")
    if st.session_state.get("playing"):
        _play(last)
    return start, end


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
