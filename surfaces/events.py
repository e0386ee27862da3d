"""事件中心, the event centre (officials and grid workers): the events of the account's
units as a list, most urgent first, with filters; an event's page with its timeline,
photos, place among its houses, owner and deadline; every move of the loop the role makes,
as buttons; moves for many selected events at once; and field links to send, with a QR
code. Widgets in, one call into ``twin.domain`` out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from layers.application import MapContext, mvt_layer
from surfaces.deck import view_for
from surfaces.period import TZ
from surfaces.session import engine as session_engine
from surfaces.session import link_card, once_done, once_key, plain, settings, site
from twin.domain import links
from twin.domain import workflow as wf
from twin.domain.access import Principal, may, may_move
from twin.domain.departments import all_departments
from twin.domain.inbox import (
    Inbox,
    InboxFilter,
    act,
    act_many,
    area_bbox,
    event_page,
    inbox,
)
from twin.domain.workflow import DONE, OPEN, SOURCES
from twin.errors import NotFound
from twin.i18n import t
from twin.publish.tiles import current_versions

BUTTONS = ("accept", "triage", "resolve", "escalate", "hand_back", "reopen")  # no words needed
STATUS_GROUPS = {"open": OPEN, "done": DONE, "all": OPEN + DONE}
LATE, OPEN_COLOUR, DONE_COLOUR = (220, 50, 40, 230), (240, 160, 30, 220), (150, 150, 150, 180)
PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365, "all": None}


def events_page(engine, settings_, principal: Principal, lang: str) -> None:
    """The list with its map on the left, the chosen event's page (or the moves for many
    chosen events) on the right.

    The right is drawn first: a move clicked there is answered before the list and its map
    (the heavier half: up to 500 rows of an inbox of 20,000) are drawn again."""
    st.header(t("desk.events", lang))
    f = _filters(lang)
    chosen = _chosen()
    left, right = st.columns([11, 9], gap="medium")
    with right:
        if len(chosen) > 1:
            _bulk(engine, principal, chosen, lang)
        elif "event" in st.query_params:
            _event(engine, principal, st.query_params["event"], lang)
        else:
            st.caption(t("events.pick", lang))
    with left:
        found = inbox(engine, principal, f)
        _counts(found, lang)
        if found.rows.empty:
            st.info(t("events.none", lang))
            st.session_state["events-shown"] = []
            return
        _table(found, lang)
        st.session_state["events-shown"] = list(found.rows[["id", "code", "version"]]
                                                .itertuples(index=False, name=None))
        st.pydeck_chart(_list_map(engine, principal, found.rows), height=320,
                        key="events-map")


def _chosen() -> list[tuple[int, str, int]]:
    """The (id, code, version) of the rows chosen in the list as it was drawn last; one
    chosen row becomes the event in the URL (the page can be sent on). A selection is
    applied once, when it changes: the rows move under it as events change."""
    state = st.session_state.get("events-table") or {}
    rows = tuple((state.get("selection") or {}).get("rows", ()))
    shown = st.session_state.get("events-shown", [])
    chosen = [shown[i] for i in rows if i < len(shown)]
    if rows == st.session_state.get("events-applied", ()):
        return chosen if len(chosen) > 1 else []
    st.session_state["events-applied"] = rows
    if len(chosen) == 1:
        st.query_params["event"] = chosen[0][1]
    return chosen


def _filters(lang: str) -> InboxFilter:
    cols = st.columns([1.1, 1.8, 1.4, 1.4, 0.9, 1.1, 1.4])
    group = cols[0].selectbox(t("events.status", lang), tuple(STATUS_GROUPS),
                              format_func=lambda g: t(f"events.group.{g}", lang),
                              key="events-group")
    categories = cols[1].multiselect(t("filter.category", lang), _categories(),
                                     format_func=lambda c: t(f"category.{c}", lang),
                                     placeholder=t("filter.all", lang), key="events-cat")
    levels = cols[2].multiselect(t("events.level", lang), tuple(reversed(wf.LEVELS)),
                                 format_func=lambda v: t(f"level.{v}", lang),
                                 placeholder=t("filter.all", lang), key="events-level")
    sources = cols[3].multiselect(t("events.source", lang), SOURCES,
                                  format_func=lambda v: t(f"source.{v}", lang),
                                  placeholder=t("filter.all", lang), key="events-source")
    overdue = cols[4].toggle(t("kpi.events_overdue", lang), key="events-overdue")
    # open events stay in the list however old they are; the period narrows by report date
    period = cols[5].selectbox(t("events.period", lang), tuple(PERIODS), index=4,
                               format_func=lambda p: t(f"events.period.{p}", lang),
                               key="events-period")
    search = cols[6].text_input(t("events.search", lang), max_chars=60, key="events-search")
    days = PERIODS[period]
    return InboxFilter(
        statuses=STATUS_GROUPS[group], categories=tuple(categories), levels=tuple(levels),
        sources=tuple(sources), overdue=overdue, search=search,
        since=dt.datetime.now(dt.UTC) - dt.timedelta(days=days) if days else None)


def _categories() -> tuple[str, ...]:
    from layers.governance import CATEGORIES

    return CATEGORIES


def _counts(found: Inbox, lang: str) -> None:
    cols = st.columns(4)
    cols[0].metric(t("events.matched", lang), f"{found.matched:,}")
    cols[1].metric(t("kpi.events_overdue", lang), f"{found.overdue:,}")
    open_ = sum(n for s, n in found.by_status.items() if s in OPEN)
    cols[2].metric(t("kpi.events_open", lang), f"{open_:,}")
    if found.matched > len(found.rows):
        cols[3].caption(t("events.first", lang).format(n=len(found.rows)))


def _table(found: Inbox, lang: str) -> None:
    """The list, most urgent first; its selection is read by _chosen on the next run."""
    rows = found.rows
    shown = pd.DataFrame({
        t("events.col.code", lang): rows["code"],
        t("events.col.title", lang): rows["title"].fillna("—"),
        t("events.col.category", lang): rows["name_zh"] if lang == "zh" else rows["name_en"],
        t("events.col.status", lang): [t(f"status.{s}", lang) for s in rows["status"]],
        t("events.col.owner", lang): [_owner(v, d, lang) for v, d in
                                      zip(rows["owner_level"], rows["department"], strict=True)],
        t("events.col.deadline", lang): _times(rows["deadline_at"]),
        t("events.col.overdue", lang): ["⚠" if o else "" for o in rows["overdue"]],
        t("events.col.place", lang): rows["microgrid"],
        t("events.col.assignee", lang): rows["assignee"].fillna(""),
    })
    st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="multi-row",
                 key="events-table", width="stretch", height=360)


def _list_map(engine, principal: Principal, rows: pd.DataFrame) -> pdk.Deck:
    """The listed events on the grids: red overdue, amber open, grey finished. The view
    frames the person's area, not the rows: a filter then changes the dots only and the
    grids' tiles stay loaded (a view that followed the rows cost ~4 s a rerun in Chromium,
    scripts/bench_centre.py)."""
    late = rows["overdue"].to_numpy(bool)[:, None]
    open_ = rows["status"].isin(OPEN).to_numpy()[:, None]
    colours = np.where(late, LATE, np.where(open_, OPEN_COLOUR, DONE_COLOUR)).tolist()
    # five decimals of a degree are ~1 m: the page's JSON is a third smaller
    data = [{"p": p, "c": c, "code": code} for p, c, code in zip(
        rows[["lon", "lat"]].to_numpy(float).round(5).tolist(), colours, rows["code"].tolist(),
        strict=True)]
    dots = pdk.Layer("ScatterplotLayer", data=data, id="events-dots", get_position="p",
                     get_fill_color="c", get_radius=30, radius_min_pixels=3,
                     radius_max_pixels=10, pickable=True)
    view = view_for(_area(engine, principal))
    view.pitch = 0
    grids = mvt_layer("grids", MapContext(current_versions(engine, {"grids"})), id="events-grids",
                      min_zoom=10, max_zoom=16, stroked=True, filled=True,
                      get_fill_color=[236, 238, 230, 255], get_line_color=[150, 155, 140, 255],
                      line_width_min_pixels=1, pickable=False)
    return pdk.Deck(layers=[grids, dots], map_provider=None, initial_view_state=view,
                    tooltip={"text": "{code}"})


def _event_map(engine, e: dict) -> pdk.Deck:
    """The event's place among its houses, in 3D (the twin's buildings, extruded)."""
    houses = mvt_layer("buildings", MapContext(current_versions(engine, {"buildings"})),
                       id="event-buildings", min_zoom=14, max_zoom=16, extruded=True,
                       get_elevation="properties.height_m",
                       get_fill_color=[205, 195, 180, 255], pickable=False)
    point = pdk.Layer("ColumnLayer", data=[{"p": [e["lon"], e["lat"]]}], id="event-here",
                      get_position="p", get_elevation=40, radius=6, extruded=True,
                      get_fill_color=[230, 60, 50, 240])
    return pdk.Deck(layers=[houses, point], map_provider=None, initial_view_state=pdk.ViewState(
        longitude=e["lon"], latitude=e["lat"], zoom=16.5, pitch=50, bearing=20))


def _owner(level: str, department: str | None, lang: str) -> str:
    """Who owns an event: its level, or at the county the department's name."""
    d = _departments().get(department) if level == "county" else None
    if d:
        return d.name_zh if lang == "zh" else d.name_en
    return t(f"level.{level}", lang)


@st.cache_data(ttl=3600, hash_funcs={Principal: lambda p: (p.role, p.scope)})
def _area(_engine, principal: Principal) -> list[float] | None:
    return area_bbox(_engine, principal)


@st.cache_data(ttl=600)
def _departments() -> dict[str, Any]:
    """The county's departments by code (a seeded table that rarely changes)."""
    return {d.code: d for d in all_departments(session_engine())}


def _times(values: pd.Series) -> pd.Series:
    """_when of a column at once (the list has up to 500 rows)."""
    local = pd.to_datetime(values, utc=True).dt.tz_convert(TZ)
    return local.dt.strftime("%m-%d %H:%M").fillna("")


def _when(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert(TZ).strftime("%m-%d %H:%M")


@st.fragment
def _event(engine, principal: Principal, code: str, lang: str) -> None:
    """An event's page: what, where, who owns it until when, its timeline and photos, the
    moves the role makes, a note, and a field link to send.

    A fragment: a move made here redraws this page only, not the list of up to 500 rows
    and its map (the list catches up at the next change of filter or selection)."""
    e = event_page(engine, principal, code)
    if e is None:  # gone from the scope meanwhile
        st.warning(t("events.gone", lang))
        return
    st.subheader(f"{e['code']} · " + plain(e["title"] or t(f"category.{e['category']}", lang)))
    kind, text = st.session_state.pop("events-message", (None, None))
    said = st.container()  # always there: what follows keeps its place (and expanders theirs)
    if kind:  # what the last move did, first
        getattr(said, kind)(text)
    st.markdown(
        f"**{t('field.status', lang)}**：{t('status.' + e['status'], lang)} · "
        f"{t('category.' + e['category'], lang)} · "
        f"{t('events.col.owner', lang)}：{_owner(e['owner_level'], e['department'], lang)}"
        + (f" · {t('events.col.assignee', lang)}：{plain(e['assignee'])}"
           if e["assignee"] else ""))
    st.caption(f"{t('field.place', lang)}：{e['microgrid']} · {t('field.deadline', lang)} "
               f"{_when(e['deadline_at'])} · {t('events.reported', lang)} "
               f"{_when(e['reported_at'])} · {t('source.' + e['source'], lang)}"
               + (f" · {t('events.satisfaction', lang)} {e['satisfaction']}/5"
                  if e["satisfaction"] else ""))
    if e["description"]:
        st.text(e["description"])
    _moves(engine, principal, e, lang)
    st.pydeck_chart(_event_map(engine, e), height=260, key=f"event-map-{e['id']}")
    photos = [(p, links.photo_path(settings().data_dir, e["id"], p["sha256"]))
              for p in e["photos"]]
    photos = [(p, path) for p, path in photos if path.exists()]
    for row in range(0, len(photos), 3):  # three to a row
        for col, (photo, path) in zip(st.columns(3), photos[row:row + 3], strict=False):
            col.image(str(path), caption=f"{_when(photo['at'])} · {photo['actor']}",
                      width="stretch")
    _note(engine, principal, e, lang)
    if may(principal, "links"):
        panel = st.expander(t("events.link", lang), key=f"link-panel-{e['id']}",
                            on_change="rerun")
        if panel.open:  # its buttons and the links made are read only when it is open
            with panel:
                _link(engine, principal, e, lang)
    st.markdown(f"**{t('field.history', lang)}**")
    st.table(pd.DataFrame({
        t("events.col.when", lang): [_when(h["at"]) for h in e["history"]],
        t("events.col.who", lang): [h["actor"] for h in e["history"]],
        t("events.col.status", lang): [t(f"status.{h['to_status']}", lang)
                                       for h in e["history"]],
        t("events.col.note", lang): [h["note"] or "" for h in e["history"]],
    }))


def _moves(engine, principal: Principal, e: dict, lang: str) -> None:
    """A button for every move the loop allows the event and the role makes; the moves that
    need words (to whom, why, onto which event, how satisfied) are small forms.

    Each move is the widget's callback, run before the page is drawn again: one run per
    click, and the move starts from the version of the event on the screen the person
    clicked (someone else's change in between is then a StaleVersion, said to them)."""
    moves = [m for m in wf.legal_moves(e["status"], e["owner_level"])
             if may_move(principal, m)]
    if not moves:
        return
    seen, key = e["version"], e["id"]

    def do(move: str, **fields: str) -> Callable[[], None]:
        """The callback making ``move``; ``fields`` name the form's widgets it reads."""
        def run() -> None:
            kw = {name: st.session_state.get(widget) for name, widget in fields.items()}
            if move == "dispatch":
                kw["department"] = kw["department"] or None
            _do(lambda: act(engine, principal, key, move, expected_version=seen, **kw), lang)
        return run

    buttons = [m for m in moves if m in BUTTONS]
    cols = st.columns(max(len(buttons), 1))
    for col, move in zip(cols, buttons, strict=False):
        col.button(t(f"move.{move}", lang), key=f"move-{move}-{key}", width="stretch",
                   type="primary" if move in ("accept", "resolve") else "secondary",
                   on_click=do(move))
    if "dispatch" in moves:
        with st.form(key=f"dispatch-{key}", clear_on_submit=True):
            depts = _departments()
            cols = st.columns(2)
            cols[0].text_input(t("move.dispatch_to", lang), max_chars=100, key=f"to-{key}",
                               placeholder=t("move.dispatch_hint", lang))
            cols[1].selectbox(
                t("move.department", lang), ["", *depts], key=f"dept-{key}",
                format_func=lambda c: (f"{depts[c].name_zh if lang == 'zh' else depts[c].name_en}"
                                       f" · {depts[c].hours:g}h") if c else "—")
            st.form_submit_button(t("move.dispatch", lang), on_click=do(
                "dispatch", to=f"to-{key}", department=f"dept-{key}"))
    if "close" in moves:
        with st.form(key=f"close-{key}"):
            # the resident's last rating, if they gave one (回访 records what they said)
            st.select_slider(t("move.satisfaction", lang), options=[1, 2, 3, 4, 5],
                             value=e["satisfaction"] or 5, key=f"score-{key}")
            st.form_submit_button(t("move.close", lang),
                                  on_click=do("close", satisfaction=f"score-{key}"))
    if "reject" in moves or "merge" in moves:
        panel = st.expander(t("move.reject_or_merge", lang), key=f"reject-panel-{key}",
                            on_change="rerun")
        if not panel.open:  # drawn when opened: a move elsewhere redraws less
            return
        with panel:
            if "reject" in moves:
                with st.form(key=f"reject-{key}", clear_on_submit=True):
                    st.text_input(t("move.reason", lang), max_chars=500, key=f"reason-{key}")
                    st.form_submit_button(t("move.reject", lang),
                                          on_click=do("reject", reason=f"reason-{key}"))
            if "merge" in moves:
                with st.form(key=f"merge-{key}", clear_on_submit=True):
                    st.text_input(t("move.merge_into", lang), max_chars=40, key=f"into-{key}")
                    st.form_submit_button(t("move.merge", lang),
                                          on_click=do("merge", into=f"into-{key}"))


def _do(action, lang: str) -> None:
    """Make a move; someone else's change in between is said, not overwritten."""
    try:
        action()
    except wf.StaleVersion:
        st.session_state["events-message"] = ("warning", t("events.stale", lang))
    except (wf.WorkflowError, NotFound) as exc:
        st.session_state["events-message"] = ("error", str(exc))
    else:
        st.session_state["events-message"] = ("success", t("events.done", lang))


def _note(engine, principal: Principal, e: dict, lang: str) -> None:
    once = once_key(f"note-{e['id']}")  # drawn with the form: a resend carries the same
    with st.form(key=f"note-{e['id']}", clear_on_submit=True):
        note = st.text_area(t("field.note", lang), max_chars=2000, height=80)
        photo = st.file_uploader(t("field.photo", lang), type=["jpg", "jpeg", "png", "webp"])
        if st.form_submit_button(t("field.add_note", lang)):
            try:
                if photo is not None:
                    links.save_photo(engine, settings(), e["id"], photo.getvalue(),
                                     principal.name)
                if note.strip():  # a resent submission is written once
                    wf.add_note(engine, e["id"], actor=principal.name, note=note,
                                client_key=once)
                once_done(f"note-{e['id']}")
            except (wf.WorkflowError, links.PhotoError) as exc:
                st.error(str(exc))
                return
            st.rerun()


def _link(engine, principal: Principal, e: dict, lang: str) -> None:
    """A field link to this event or to its grid: the URL and a QR code to scan, with its
    expiry; and the links this account made that still work, to revoke."""
    cols = st.columns(2)
    made = None
    if cols[0].button(t("events.link_event", lang), key=f"link-event-{e['id']}"):
        made = links.create(engine, settings(), "event", e["id"], principal.name)
    if cols[1].button(t("events.link_grid", lang), key=f"link-grid-{e['id']}"):
        made = links.create(engine, settings(), "grid", e["grid_id"], principal.name)
    if made:
        st.session_state[f"link-{e['id']}"] = links.link_url(settings(), made, site())
    url = st.session_state.get(f"link-{e['id']}")
    if url:
        link_card(url, t("events.link_qr", lang).format(hours=settings().link_hours))
    mine = links.links_by(engine, principal.name)
    if mine:
        st.caption(t("events.my_links", lang))
    for link in mine[:10]:
        cols = st.columns([3, 1])
        cols[0].caption(f"#{link['id']} · {t('events.link_' + link['scope'], lang)} · "
                        f"{t('field.expires', lang)} {_when(link['expires_at'])}")
        if cols[1].button(t("events.revoke", lang), key=f"revoke-{link['id']}"):
            links.revoke(engine, link["id"], created_by=principal.name)
            st.rerun()


def _bulk(engine, principal: Principal, chosen: list[tuple[int, str, int]], lang: str) -> None:
    """Moves for many selected events: dispatch them, or close the resolved ones (each from
    the version the list showed, as callbacks: one run per click)."""
    st.subheader(t("events.bulk", lang).format(n=len(chosen)))
    pairs = [(int(event_id), int(version)) for event_id, _, version in chosen]

    def done(move: str, **kw) -> None:
        moved, _ = act_many(engine, principal, pairs, move, **kw)
        st.session_state["events-message"] = (
            "success" if moved == len(pairs) else "warning",
            t("events.bulk_done", lang).format(done=moved, n=len(pairs)))

    cols = st.columns(2)
    with cols[0].form(key="bulk-dispatch", clear_on_submit=True):
        st.text_input(t("move.dispatch_to", lang), max_chars=100, key="bulk-to")
        st.form_submit_button(t("move.dispatch", lang),
                              disabled=not may_move(principal, "dispatch"),
                              on_click=lambda: done("dispatch",
                                                    to=st.session_state.get("bulk-to", "")))
    cols[1].button(t("move.close", lang), key="bulk-close",
                   disabled=not may_move(principal, "close"), on_click=lambda: done("close"))
    kind, text = st.session_state.pop("events-message", (None, None))
    if kind:
        getattr(st, kind)(text)
