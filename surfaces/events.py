"""事件中心, the event centre (officials and grid workers): the events of the account's
units as a list, most urgent first, with filters; an event's page with its timeline,
photos, place among its houses, owner and deadline; every move of the loop the role makes,
as buttons; moves for many selected events at once; and field links to send, with a QR
code. Widgets in, one call into ``twin.domain`` out."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import urlsplit

import pandas as pd
import pydeck as pdk
import segno
import streamlit as st

from layers.application import MapContext, mvt_layer
from surfaces.period import TZ
from surfaces.session import engine as session_engine
from surfaces.session import once_done, once_key, plain, settings
from twin.domain import links
from twin.domain import workflow as wf
from twin.domain.access import Principal, may, may_move
from twin.domain.departments import all_departments
from twin.domain.inbox import Inbox, InboxFilter, act, act_many, event_page, inbox
from twin.domain.workflow import DONE, OPEN, SOURCES
from twin.errors import NotFound
from twin.i18n import t
from twin.publish.tiles import current_versions

BUTTONS = ("accept", "triage", "resolve", "escalate", "hand_back", "reopen")  # no words needed
STATUS_GROUPS = {"open": OPEN, "done": DONE, "all": OPEN + DONE}
PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365, "all": None}


def events_page(engine, settings_, principal: Principal, lang: str) -> None:
    """The list, the selected event's page, and the moves."""
    st.header(t("desk.events", lang))
    f = _filters(lang)
    found = inbox(engine, principal, f)
    _counts(found, lang)
    picked: list[int] = []
    if found.rows.empty:
        st.info(t("events.none", lang))
    else:
        left, right = st.columns([3, 2])
        with left:
            picked = _table(found, lang)
        with right:
            st.pydeck_chart(_list_map(engine, found.rows), height=360, key="events-map")
    if len(picked) > 1:
        _bulk(engine, principal, found.rows[found.rows["id"].isin(picked)], lang)
        return
    if len(picked) == 1:  # the event's page is in the URL: it can be sent on
        st.query_params["event"] = found.rows.loc[found.rows["id"] == picked[0], "code"].iloc[0]
    if "event" in st.query_params:
        _event(engine, principal, st.query_params["event"], lang)
    elif not found.rows.empty:
        st.caption(t("events.pick", lang))


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


def _table(found: Inbox, lang: str) -> list[int]:
    """The list; returns the ids of the selected rows."""
    rows = found.rows
    shown = pd.DataFrame({
        t("events.col.code", lang): rows["code"],
        t("events.col.title", lang): rows["title"].fillna("—"),
        t("events.col.category", lang): rows["name_zh"] if lang == "zh" else rows["name_en"],
        t("events.col.status", lang): [t(f"status.{s}", lang) for s in rows["status"]],
        t("events.col.owner", lang): [_owner(v, d, lang) for v, d in
                                      zip(rows["owner_level"], rows["department"], strict=True)],
        t("events.col.deadline", lang): [_when(d) for d in rows["deadline_at"]],
        t("events.col.overdue", lang): ["⚠" if o else "" for o in rows["overdue"]],
        t("events.col.place", lang): rows["microgrid"],
        t("events.col.assignee", lang): rows["assignee"].fillna(""),
    })
    event = st.dataframe(shown, hide_index=True, on_select="rerun",
                         selection_mode="multi-row", key="events-table",
                         width="stretch", height=360)
    chosen = event.selection.rows if event and event.selection else []
    return [int(rows["id"].iloc[i]) for i in chosen if i < len(rows)]


def _list_map(engine, rows: pd.DataFrame) -> pdk.Deck:
    """The listed events on the grids: red overdue, amber open, grey finished."""
    data = [{"p": [r.lon, r.lat], "c": [220, 50, 40, 230] if r.overdue else
             [240, 160, 30, 220] if r.status in OPEN else [150, 150, 150, 180],
             "code": r.code} for r in rows.itertuples()]
    dots = pdk.Layer("ScatterplotLayer", data=data, id="events-dots", get_position="p",
                     get_fill_color="c", get_radius=30, radius_min_pixels=3,
                     radius_max_pixels=10, pickable=True)
    view = pdk.data_utils.compute_view([d["p"] for d in data]) if len(data) > 1 else \
        pdk.ViewState(longitude=data[0]["p"][0], latitude=data[0]["p"][1], zoom=14)
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
    if level == "county" and department:
        d = _department_names().get(department)
        if d:
            return d[0] if lang == "zh" else d[1]
    return t(f"level.{level}", lang)


@st.cache_data(ttl=600)
def _department_names() -> dict[str, tuple[str, str]]:
    return {d.code: (d.name_zh, d.name_en) for d in all_departments(session_engine())}


def _when(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert(TZ).strftime("%m-%d %H:%M")


def _event(engine, principal: Principal, code: str, lang: str) -> None:
    """An event's page: what, where, who owns it until when, its timeline and photos, the
    moves the role makes, a note, and a field link to send."""
    e = event_page(engine, principal, code)
    if e is None:  # gone from the scope meanwhile
        st.warning(t("events.gone", lang))
        return
    e["version"] = _seen(e["id"], e["version"])
    st.subheader(f"{e['code']} · " + plain(e["title"] or t(f"category.{e['category']}", lang)))
    left, right = st.columns([3, 2])
    with left:
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
        _note(engine, principal, e, lang)
    with right:
        st.pydeck_chart(_event_map(engine, e), height=280, key=f"event-map-{e['id']}")
        for photo in e["photos"]:
            path = links.photo_path(settings().data_dir, e["id"], photo["sha256"])
            if path.exists():
                st.image(str(path), caption=f"{_when(photo['at'])} · {photo['actor']}",
                         width="stretch")
        if may(principal, "links"):
            with st.expander(t("events.link", lang)):
                _link(engine, principal, e, lang)
    st.markdown(f"**{t('field.history', lang)}**")
    st.table(pd.DataFrame({
        t("events.col.when", lang): [_when(h["at"]) for h in e["history"]],
        t("events.col.who", lang): [h["actor"] for h in e["history"]],
        t("events.col.status", lang): [t(f"status.{h['to_status']}", lang)
                                       for h in e["history"]],
        t("events.col.note", lang): [h["note"] or "" for h in e["history"]],
    }))


def _seen(event_id: int, version: int) -> int:
    """The version of the event the person saw when they clicked: a click reruns the page,
    which reads the event again, so the version drawn last time is kept to move from (a
    change by someone else in between is then a StaleVersion, said to the person)."""
    key = f"events-seen-{event_id}"
    shown = st.session_state.get(key, version)
    st.session_state[key] = version
    return shown


def _moves(engine, principal: Principal, e: dict, lang: str) -> None:
    """A button for every move the loop allows the event and the role makes; the moves that
    need words (to whom, why, onto which event, how satisfied) are small forms."""
    moves = [m for m in wf.legal_moves(e["status"], e["owner_level"])
             if may_move(principal, m)]
    if not moves:
        return

    def do(move: str, **kw) -> None:
        _do(lambda: act(engine, principal, e["id"], move, expected_version=e["version"],
                        **kw), lang)

    buttons = [m for m in moves if m in BUTTONS]
    cols = st.columns(max(len(buttons), 1))
    for col, move in zip(cols, buttons, strict=False):
        if col.button(t(f"move.{move}", lang), key=f"move-{move}-{e['id']}",
                      width="stretch",
                      type="primary" if move in ("accept", "resolve") else "secondary"):
            do(move)
    if "dispatch" in moves:
        with st.form(key=f"dispatch-{e['id']}", clear_on_submit=True):
            depts = {d.code: d for d in all_departments(engine)}
            cols = st.columns(2)
            to = cols[0].text_input(t("move.dispatch_to", lang), max_chars=100,
                                    placeholder=t("move.dispatch_hint", lang))
            department = cols[1].selectbox(
                t("move.department", lang), ["", *depts], key=f"dept-{e['id']}",
                format_func=lambda c: (f"{depts[c].name_zh if lang == 'zh' else depts[c].name_en}"
                                       f" · {depts[c].hours:g}h") if c else "—")
            if st.form_submit_button(t("move.dispatch", lang)):
                do("dispatch", to=to, department=department or None)
    if "close" in moves:
        with st.form(key=f"close-{e['id']}"):
            # the resident's last rating, if they gave one (回访 records what they said)
            score = st.select_slider(t("move.satisfaction", lang), options=[1, 2, 3, 4, 5],
                                     value=e["satisfaction"] or 5)
            if st.form_submit_button(t("move.close", lang)):
                do("close", satisfaction=score)
    if "reject" in moves or "merge" in moves:
        with st.expander(t("move.reject_or_merge", lang)):
            if "reject" in moves:
                with st.form(key=f"reject-{e['id']}", clear_on_submit=True):
                    reason = st.text_input(t("move.reason", lang), max_chars=500)
                    if st.form_submit_button(t("move.reject", lang)):
                        do("reject", reason=reason)
            if "merge" in moves:
                with st.form(key=f"merge-{e['id']}", clear_on_submit=True):
                    into = st.text_input(t("move.merge_into", lang), max_chars=40)
                    if st.form_submit_button(t("move.merge", lang)):
                        do("merge", into=into)


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
    st.rerun()


def _note(engine, principal: Principal, e: dict, lang: str) -> None:
    kind, text = st.session_state.pop("events-message", (None, None))
    if kind:
        getattr(st, kind)(text)
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
        st.session_state[f"link-{e['id']}"] = links.link_url(settings(), made, _site())
    url = st.session_state.get(f"link-{e['id']}")
    if url:
        st.code(url, language=None)
        buf = io.BytesIO()
        segno.make(url, error="m").save(buf, kind="png", scale=5, border=2)
        st.image(buf.getvalue(), caption=t("events.link_qr", lang).format(
            hours=settings().link_hours))
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


def _site() -> str:
    """This site's address as the browser reached it (TWIN_PUBLIC_URL takes precedence)."""
    url = urlsplit(st.context.url or "")
    return f"{url.scheme}://{url.netloc}" if url.netloc else ""


def _bulk(engine, principal: Principal, chosen: pd.DataFrame, lang: str) -> None:
    """Moves for many selected events: dispatch them, or close the resolved ones."""
    st.subheader(t("events.bulk", lang).format(n=len(chosen)))
    pairs = [(int(r.id), _seen(int(r.id), int(r.version))) for r in chosen.itertuples()]
    cols = st.columns(2)
    with cols[0].form(key="bulk-dispatch", clear_on_submit=True):
        to = st.text_input(t("move.dispatch_to", lang), max_chars=100)
        if st.form_submit_button(t("move.dispatch", lang),
                                 disabled=not may_move(principal, "dispatch")):
            _bulk_done(act_many(engine, principal, pairs, "dispatch", to=to), len(pairs), lang)
    if cols[1].button(t("move.close", lang), key="bulk-close",
                      disabled=not may_move(principal, "close")):
        _bulk_done(act_many(engine, principal, pairs, "close"), len(pairs), lang)
    kind, text = st.session_state.pop("events-message", (None, None))
    if kind:
        getattr(st, kind)(text)


def _bulk_done(result: tuple[int, list[str]], n: int, lang: str) -> None:
    done, _ = result
    st.session_state["events-message"] = ("success" if done == n else "warning",
                                          t("events.bulk_done", lang).format(done=done, n=n))
    st.rerun()
