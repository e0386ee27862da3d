"""The phone page of field work: what a shared link opens (one event, or one grid's open
events), and the work list of a scoped account — each event with its place, history and
the actions of the field."""

from __future__ import annotations

import streamlit as st

from layers.application import MapContext, mvt_layer
from surfaces.period import TZ
from surfaces.session import engine, once_done, once_key, plain, settings
from twin.domain import links
from twin.domain import workflow as wf
from twin.i18n import t
from twin.publish.tiles import current_versions


def field_page(token: str, lang: str) -> None:
    """What a shared link opens on a phone: only its event (or its grid's open events), with
    their place, history and the actions of the field: accept, note, photo, resolve."""
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
                                  wf.OPEN, width="stretch"):
                    wf.accept(eng, e["id"], actor=actor, expected_version=e["version"])
                    st.rerun()
                if cols[1].button(t("field.resolve", lang), key=f"resolve-{e['id']}",
                                  disabled=e["status"] != "handling", type="primary",
                                  width="stretch"):
                    wf.transition(eng, e["id"], "resolved", actor=actor,
                                  expected_version=e["version"])
                    st.rerun()
                once = once_key(f"note-{e['id']}")  # a resent submission carries the same
                with st.form(key=f"note-{e['id']}", clear_on_submit=True):
                    note = st.text_area(t("field.note", lang), max_chars=2000)
                    photo = st.file_uploader(t("field.photo", lang),
                                             type=["jpg", "jpeg", "png", "webp"])
                    if st.form_submit_button(t("field.add_note", lang)):
                        if photo is not None:
                            links.save_photo(eng, settings(), e["id"], photo.getvalue(), actor)
                        if note.strip():  # a resent submission is written once
                            wf.add_note(eng, e["id"], actor=actor, note=note,
                                        client_key=once)
                        once_done(f"note-{e['id']}")
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


def field_map(event: dict, ctx: MapContext):
    """A small flat map of one event among the houses around it (the twin's buildings)."""
    import pydeck as pdk

    houses = mvt_layer("buildings", ctx, id="field-buildings", min_zoom=14, max_zoom=16,
                       get_fill_color=[200, 190, 175, 255], get_line_color=[120, 110, 100],
                       line_width_min_pixels=1, pickable=False)
    point = pdk.Layer("ScatterplotLayer", data=[{"p": [event["lon"], event["lat"]]}],
                      get_position="p", get_radius=12, radius_min_pixels=8,
                      get_fill_color=[230, 60, 50, 230], get_line_color=[255, 255, 255],
                      stroked=True, line_width_min_pixels=2)
    return pdk.Deck(layers=[houses, point], map_provider=None, initial_view_state=pdk.ViewState(
        longitude=event["lon"], latitude=event["lat"], zoom=15, pitch=0))


def work_page(account, lang: str) -> None:
    """待办事件: the open events of a scoped account's units, to work on."""
    st.title(t("field.title", lang))
    field_work(engine(), links.events_for(engine(), account.principal()), account.username,
               None, lang)
