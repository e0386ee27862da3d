"""三治工作台 (``?page=boards``): where a village's officials and grid workers act on the
自治 and 德治 boards — raise a matter for consultation, record a sitting with its minutes,
decision and vote (which may open an event of the loop), close a matter with the livelihood
matters it solved; and at a household of their units, award points by the standard (a
manual award needs a reason and who approved it), redeem at the points shop, and record
consent to the credit file. The surface holds no SQL and no rules: it asks
``twin.domain.selfgov`` and ``twin.domain.points``, which check the scope."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from surfaces.session import once_done, once_key
from twin.domain import points, residents, selfgov
from twin.domain.access import Principal
from twin.domain.pii import PiiKey
from twin.domain.units import unit_path
from twin.domain.workflow import now_utc
from twin.errors import TwinError
from twin.i18n import t

OPEN = ("raised", "consulting", "decided")
FLASH = "boards-done"


def _written(message: str) -> None:
    """Say what was written after the page is drawn again with it."""
    st.session_state[FLASH] = message
    st.rerun()


def boards_page(engine, settings, principal: Principal, lang: str) -> None:
    st.header(t("desk.boards", lang))
    done = st.session_state.pop(FLASH, None)  # what the press before the rerun wrote
    if done:
        st.success(done)
    consult, household, woodpecker = st.tabs([t("boards.consult", lang),
                                               t("boards.household", lang),
                                               t("boards.woodpecker", lang)])
    units = _scope_units(engine, principal)
    with consult:
        _consultations(engine, principal, units, lang)
    with household:
        _household(engine, principal, lang)
    with woodpecker:
        _woodpecker(engine, settings, principal, units, lang)


def _scope_units(engine, principal: Principal) -> list[dict]:
    found = [unit_path(engine, code) for code in principal.scope]
    return [path[-1] for path in found if path]


def _consultations(engine, principal: Principal, units: list[dict], lang: str) -> None:
    if not units:
        st.info(t("boards.no_scope", lang))
        return
    unit = st.selectbox(t("desk.unit", lang), units, format_func=lambda u: u["name"],
                        key="boards-unit")
    rows = selfgov.matters(engine, unit, limit=200)
    if rows:
        st.dataframe(pd.DataFrame({
            t("self.matter", lang): [r["title"] for r in rows],
            t("self.state", lang): [t("self.status." + r["status"], lang) for r in rows],
            t("kpi.sessions", lang): [r["sessions"] for r in rows],
            t("kpi.matters_solved", lang): [r["matters_solved"] for r in rows],
        }, index=[r["code"] for r in rows]), width="stretch")
    _raise(engine, principal, unit, lang)
    open_rows = {r["id"]: r for r in rows if r["status"] in OPEN}
    if not open_rows:
        return
    chosen = st.selectbox(t("boards.matter", lang), list(open_rows),  # ids: a stable choice
                          format_func=lambda i: f"{open_rows[i]['code']} · {open_rows[i]['title']}",
                          key="boards-matter")
    matter = open_rows[chosen]
    sittings = selfgov.sessions_of(engine, matter["id"])
    if sittings:
        st.dataframe(pd.DataFrame({
            t("boards.held_on", lang): [s["held_at"].date().isoformat() for s in sittings],
            t("boards.attendees", lang): [s["attendees"] for s in sittings],
            t("boards.minutes", lang): [s["minutes"] for s in sittings],
            t("self.decision", lang): [s["decision"] or "—" for s in sittings],
            t("boards.votes", lang): ["—" if s["votes_for"] is None else
                                      f"{s['votes_for']}/{s['votes_against']}/"
                                      f"{s['votes_abstain']}" for s in sittings],
        }), width="stretch", hide_index=True)
    _sitting(engine, principal, matter, lang)
    if matter["status"] == "decided":
        _finish(engine, principal, matter, lang)


def _raise(engine, principal: Principal, unit: dict, lang: str) -> None:
    with st.expander(t("boards.raise", lang)):
        form = f"raise-{unit['code']}"
        once = once_key(form)
        with st.form(key=form, clear_on_submit=True):
            title = st.text_input(t("self.matter", lang), max_chars=200)
            cols = st.columns(2)
            brand = cols[0].selectbox(t("self.brand", lang), selfgov.BRANDS)
            raised_by = cols[1].selectbox(t("boards.raised_by", lang), selfgov.RAISED_BY[:4],
                                          format_func=lambda v: t("boards.by." + v, lang))
            if st.form_submit_button(t("boards.raise", lang)):
                try:
                    lon, lat = selfgov.place_of(engine, unit["code"])
                    made = selfgov.raise_matter(
                        engine, title=title, lon=lon, lat=lat, raised_by=raised_by,
                        brand=brand, actor=principal.name, client_key=once,
                        principal=principal)
                except TwinError as exc:
                    st.error(str(exc))
                    return
                once_done(form)
                _written(t("boards.raised", lang).format(code=made["code"]))


def _sitting(engine, principal: Principal, matter: dict, lang: str) -> None:
    form = f"sitting-{matter['id']}"
    once = once_key(form)
    with st.form(key=form, clear_on_submit=True):
        st.subheader(t("boards.sitting", lang))
        cols = st.columns(2)
        held = cols[0].date_input(t("boards.held_on", lang), value=now_utc().date())
        attendees = cols[1].number_input(t("boards.attendees", lang), 1, 10_000, 20)
        minutes = st.text_area(t("boards.minutes", lang), max_chars=2000, height=80)
        decision = st.text_area(t("boards.decision", lang), max_chars=2000, height=60)
        voted = st.checkbox(t("boards.voted", lang))
        cols = st.columns(3)
        votes = (cols[0].number_input(t("boards.for", lang), 0, 10_000, 0),
                 cols[1].number_input(t("boards.against", lang), 0, 10_000, 0),
                 cols[2].number_input(t("boards.abstain", lang), 0, 10_000, 0))
        event_title = st.text_input(t("boards.opens", lang), max_chars=60)
        if st.form_submit_button(t("boards.record", lang)):
            try:
                selfgov.hold_session(
                    engine, matter["id"], actor=principal.name, principal=principal,
                    held_at=dt.datetime.combine(held, dt.time(19), dt.UTC),
                    attendees=int(attendees), minutes=minutes,
                    decision=decision or None,
                    votes=tuple(int(v) for v in votes) if voted else None,
                    opens=("livelihood", event_title) if event_title.strip() else None,
                    client_key=once)
            except TwinError as exc:
                st.error(str(exc))
                return
            once_done(form)
            _written(t("boards.recorded", lang))


def _finish(engine, principal: Principal, matter: dict, lang: str) -> None:
    with st.form(key=f"finish-{matter['id']}"):
        solved = st.number_input(t("kpi.matters_solved", lang), 0, 1000, 1)
        if st.form_submit_button(t("boards.finish", lang)):
            try:
                selfgov.finish(engine, matter["id"], actor=principal.name,
                               matters_solved=int(solved), principal=principal)
            except TwinError as exc:
                st.error(str(exc))
                return
            _written(f"{matter['code']} · {t('self.status.done', lang)}")


def _household(engine, principal: Principal, lang: str) -> None:
    code = st.text_input(t("boards.household_code", lang), key="boards-household").strip()
    if not code:
        return
    card = points.household_card(engine, principal, code)
    if card is None:
        st.warning(t("boards.no_household", lang))
        return
    cols = st.columns(4)
    cols[0].metric(t("kpi.balance", lang), f"{card['balance']:,}")
    cols[1].metric(t("kpi.earned", lang), f"{card['earned']:,}")
    cols[2].metric(t("kpi.credit_level", lang), card["level"] or "—")
    cols[3].metric(t("boards.consent", lang), t("boards.yes" if card["consented"] else
                                                  "boards.no", lang))
    rules = list(points.current_rules(engine).values())
    form = f"award-{card['id']}"
    once = once_key(form)
    with st.form(key=form, clear_on_submit=True):
        st.subheader(t("boards.award", lang))
        rule = st.selectbox(t("boards.rule", lang), rules, format_func=lambda r: (
            f"{t('board.' + r.board, lang)} · {r.name_zh if lang == 'zh' else r.name_en} "
            f"({r.points:+d}{t('boards.per_hour', lang) if r.per == 'hour' else ''})"))
        cols = st.columns(3)
        quantity = cols[0].number_input(t("boards.quantity", lang), 0.5, 100.0, 1.0, 0.5)
        reason = cols[1].text_input(t("boards.reason", lang), max_chars=200)
        approver = cols[2].text_input(t("boards.approver", lang), max_chars=60)
        if st.form_submit_button(t("boards.award", lang)):
            try:
                points.award(engine, card["id"], rule.code, source="manual",
                             actor=principal.name, quantity=quantity, reason=reason,
                             approver=approver, client_key=once)
            except TwinError as exc:
                st.error(str(exc))
                return
            once_done(form)
            st.rerun()
    items = points.shop(engine, {"id": card["village_id"]})
    if items:
        form = f"redeem-{card['id']}"
        once = once_key(form)
        with st.form(key=form, clear_on_submit=True):
            st.subheader(t("moral.shop", lang))
            item = st.selectbox(t("boards.item", lang), items, format_func=lambda i: (
                f"{i['name']} · {i['cost']} {t('kpi.points', lang)} · "
                f"{t('shop.stock', lang)} {i['stock']}"))
            count = st.number_input(t("boards.quantity", lang), 1, 100, 1)
            if st.form_submit_button(t("boards.redeem", lang)):
                try:
                    points.redeem(engine, card["id"], item["id"], actor=principal.name,
                                  quantity=int(count), client_key=once)
                except TwinError as exc:
                    st.error(str(exc))
                    return
                once_done(form)
                st.rerun()
    if st.button(t("boards.withdraw" if card["consented"] else "boards.give_consent", lang),
                 key=f"consent-{card['id']}"):
        try:
            points.consent(engine, card["id"], actor=principal.name,
                           withdraw=card["consented"])
        except TwinError as exc:
            st.error(str(exc))
            return
        st.rerun()


def _woodpecker(engine, settings, principal: Principal, units: list[dict],
                lang: str) -> None:
    """A 文明啄木鸟's report taken down for them (随手拍 by phone, a call, a note): the volunteer
    by ID-card number (compared as its keyed hash, never kept), where in the account's
    units, and what; it enters the loop as an event of source volunteer."""
    if not units:
        st.info(t("boards.no_scope", lang))
        return
    kinds = {c.code: (c.name_zh if lang == "zh" else c.name_en)
             for c in residents.categories(engine)}
    form = "woodpecker"
    once = once_key(form)
    with st.form(key=form, clear_on_submit=True):
        cols = st.columns(2)
        number = cols[0].text_input(t("boards.volunteer_id", lang), max_chars=18,
                                    type="password")
        unit = cols[1].selectbox(t("desk.unit", lang), units, format_func=lambda u: u["name"])
        category = st.selectbox(t("resident.category", lang), list(kinds),
                                format_func=kinds.get)
        title = st.text_input(t("boards.what", lang), max_chars=60)
        if st.form_submit_button(t("boards.report", lang)):
            try:
                person = selfgov.volunteer_by_id(engine, PiiKey.from_settings(settings),
                                                 number)
                lon, lat = selfgov.place_of(engine, unit["code"])
                event = selfgov.woodpecker_report(
                    engine, person, category=category, title=title, lon=lon, lat=lat,
                    actor=principal.name, client_key=once, principal=principal)
            except TwinError as exc:
                st.error(str(exc))
                return
            once_done(form)
            _written(t("boards.reported", lang).format(code=event.code))
