"""法治工作台 · 桐解码 (``?page=law``): where the officials and grid workers of a unit work
its disputes — accept an application, confirm the mediation team the matching proposes
(or choose another, with the reason), schedule and record sessions, draft the agreement
and send each party their signing link, request judicial confirmation, or guide a dispute
to court — take an application in person or from a dispute event, and see the day's
appointments at the legal service places. ``?page=matching`` is the administrator's: the
weights of the matching. The surface holds no SQL and no rules: it asks
``twin.domain.law``, which checks the scope."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from surfaces.session import link_card, once_done, once_key, site
from twin import urls
from twin.domain import law
from twin.domain.access import Principal, may
from twin.domain.pii import PiiKey, mask_name
from twin.domain.units import unit_path
from twin.domain.workflow import StaleVersion, now_utc
from twin.errors import TwinError
from twin.i18n import t

FLASH = "law-done"


def _written(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(law.TZ).strftime("%Y-%m-%d %H:%M") if at else "—"


def _scope_units(engine, principal: Principal) -> list[dict]:
    found = [unit_path(engine, code) for code in principal.scope]
    return [path[-1] for path in found if path]


def law_page(engine, settings, principal: Principal, lang: str) -> None:
    st.header(t("desk.law", lang))
    done = st.session_state.pop(FLASH, None)
    if done:
        st.success(done)
    units = _scope_units(engine, principal)
    if not units:
        st.info(t("boards.no_scope", lang))
        return
    cases, new, bookings = st.tabs([t("law.tab.cases", lang), t("law.tab.new", lang),
                                    t("law.tab.bookings", lang)])
    with cases:
        _cases(engine, settings, principal, units, lang)
    with new:
        _new(engine, settings, principal, units, lang)
    with bookings:
        _bookings(engine, principal, units, lang)


def _cases(engine, settings, principal: Principal, units: list[dict], lang: str) -> None:
    unit = st.selectbox(t("desk.unit", lang), units, format_func=lambda u: u["name"],
                        key="law-unit")
    only_open = st.toggle(t("law.only_open", lang), value=True, key="law-open")
    rows = law.disputes_in(engine, unit, statuses=(*law.OPEN, "agreed", "confirm_requested")
                           if only_open else None)
    if not rows:
        st.info(t("law.none", lang))
        return
    st.dataframe(pd.DataFrame({
        t("law.kind", lang): [t("law.kind." + r["kind"], lang) for r in rows],
        t("law.title", lang): [r["title"] for r in rows],
        t("law.state", lang): [t("law.status." + r["status"], lang) for r in rows],
        t("law.applied", lang): [_when(r["applied_at"]) for r in rows],
        t("law.organization", lang): [r["organization"] or "—" for r in rows],
    }, index=[r["code"] for r in rows]), width="stretch")
    by_id = {r["id"]: r for r in rows}
    chosen = st.selectbox(t("law.case", lang), list(by_id), key="law-case",
                          format_func=lambda i: f"{by_id[i]['code']} · {by_id[i]['title']}")
    _case(engine, settings, principal, chosen, lang)


def _case(engine, settings, principal: Principal, dispute_id: int, lang: str) -> None:
    names = may(principal, "residents")  # a grid worker reads the parties' names masked
    c = law.case(engine, dispute_id, names=names)
    st.subheader(f"{c['code']} · {t('law.kind.' + c['kind'], lang)} · "
                 f"{t('law.status.' + c['status'], lang)}")
    st.markdown(f"**{t('law.facts', lang)}**：{c['facts']}")
    if c["claim"]:
        st.markdown(f"**{t('law.claim', lang)}**：{c['claim']}")
    cols = st.columns(4)
    cols[0].markdown(f"**{t('law.place_of', lang)}**：{c['town']} {c['village']}")
    cols[1].markdown(f"**{t('law.channel', lang)}**：{t('law.channel.' + c['channel'], lang)}"
                     + (f" · {t('law.online', lang)}" if c["online"] else ""))
    cols[2].markdown(f"**{t('law.team', lang)}**：{c['organization'] or '—'} "
                     f"{c['mediator'] or ''}")
    cols[3].markdown(f"**{t('law.judge', lang)}**：{c['judge'] or '—'}")
    parties = c["parties"]
    st.dataframe(pd.DataFrame({
        t("law.role", lang): [t("law.role." + p["role"], lang) for p in parties],
        t("law.name", lang): [p["name"] if names else mask_name(p["name"]) for p in parties],
        t("law.id", lang): [p["id_masked"] or "—" if names else "—" for p in parties],
        t("law.phone", lang): [p["phone_masked"] or "—" if names else "—" for p in parties],
    }), hide_index=True, width="stretch")
    with st.expander(t("law.log", lang)):
        st.dataframe(pd.DataFrame({
            t("law.when", lang): [_when(r["at"]) for r in c["log"]],
            t("law.state", lang): [t("law.status." + r["to_status"], lang) for r in c["log"]],
            t("law.note", lang): [r["note"] or "" for r in c["log"]],
            t("law.who", lang): [r.get("actor", "") for r in c["log"]],
        }), hide_index=True, width="stretch")
    status = c["status"]
    try:
        if status == "applied":
            _accept(engine, principal, c, lang)
        if status in ("accepted", "matched"):
            _match(engine, principal, c, lang)
        if status in ("matched", "mediating"):
            _sessions(engine, principal, c, lang)
        if status == "mediating":
            _agreement(engine, settings, principal, c, lang)
        if status in ("agreed", "confirm_requested"):
            _confirm(engine, principal, c, lang)
        if status in law.OPEN:
            _close(engine, principal, c, lang)
    except StaleVersion:
        st.warning(t("law.stale", lang))


def _do(action, message: str, lang: str) -> None:
    try:
        result = action()
    except StaleVersion:
        st.warning(t("law.stale", lang))
        return
    except TwinError as exc:
        st.error(str(exc))
        return
    _written(message.format(**result) if isinstance(result, dict) else message)


def _accept(engine, principal: Principal, c: dict, lang: str) -> None:
    if st.button(t("law.accept", lang), type="primary", key=f"law-accept-{c['id']}"):
        _do(lambda: law.move(engine, c["id"], "accepted", actor=principal.name,
                             version=c["version"], principal=principal),
            t("law.done.accepted", lang).format(code=c["code"]), lang)
    with st.form(key=f"law-reject-{c['id']}"):
        reason = st.text_input(t("law.reject_reason", lang), max_chars=200)
        if st.form_submit_button(t("law.reject", lang)):
            _do(lambda: law.move(engine, c["id"], "rejected", actor=principal.name,
                                 note=reason, version=c["version"], principal=principal),
                t("law.done.rejected", lang).format(code=c["code"]), lang)


def _match(engine, principal: Principal, c: dict, lang: str) -> None:
    st.markdown(f"#### {t('law.matching', lang)}")
    ranked = law.candidates(engine, c["id"])
    if not ranked:
        st.warning(t("law.no_candidates", lang))
        return
    w = law.weights(engine)
    st.caption(t("law.weights_now", lang).format(**{k: f"{w[k]:g}" for k in law.WEIGHTS},
                                                 reach=f"{w['reach_km']:g}"))
    st.dataframe(pd.DataFrame({
        t("law.rank", lang): [r["rank"] for r in ranked],
        t("law.mediator", lang): [r["name"] for r in ranked],
        t("law.organization", lang): [r["organization"] or "—" for r in ranked],
        t("law.score", lang): [round(r["score"], 3) for r in ranked],
        t("law.why", lang): [law.reasons(r, c["kind"]) for r in ranked],
    }), hide_index=True, width="stretch")
    by_id = {r["id"]: r for r in ranked}
    with st.form(key=f"law-match-{c['id']}"):
        pick = st.selectbox(t("law.choose_team", lang), list(by_id),
                            format_func=lambda i: f"{by_id[i]['rank']}. {by_id[i]['name']} · "
                                                  f"{by_id[i]['organization'] or ''}")
        reason = st.text_input(t("law.override_reason", lang), max_chars=200)
        if st.form_submit_button(t("law.confirm_team", lang), type="primary"):
            _do(lambda: law.match(engine, c["id"], pick, actor=principal.name,
                                  override_reason=reason, version=c["version"],
                                  principal=principal),
                t("law.done.matched", lang).format(code=c["code"]), lang)


def _sessions(engine, principal: Principal, c: dict, lang: str) -> None:
    st.markdown(f"#### {t('law.sessions', lang)}")
    sessions = law.sessions_of(engine, c["id"])
    if sessions:
        st.dataframe(pd.DataFrame({
            t("law.scheduled", lang): [_when(s["scheduled_at"]) for s in sessions],
            t("law.where", lang): [s["room"] or s["place"] for s in sessions],
            t("law.held", lang): [_when(s["held_at"]) for s in sessions],
            t("law.attendees", lang): [s["attendees"] or "—" for s in sessions],
            t("law.note", lang): [s["notes"] or "" for s in sessions],
        }), hide_index=True, width="stretch")
    form = f"law-schedule-{c['id']}"
    once = once_key(form)
    with st.form(key=form):
        cols = st.columns(3)
        now = now_utc().astimezone(law.TZ)
        day = cols[0].date_input(t("law.day", lang), value=now.date())
        at = cols[1].time_input(t("law.time", lang), value=(now + dt.timedelta(minutes=30))
                                .time().replace(second=0, microsecond=0))
        mode = cols[2].radio(t("law.mode", lang), law.MODES, horizontal=True,
                             index=1 if c["online"] else 0,
                             format_func=lambda m: t("law.mode." + m, lang))
        where = st.text_input(t("law.where_hint", lang), value=(
            f"桐解码-{c['code']}" if c["online"] else f"{c['village']}调解室"), max_chars=120)
        if st.form_submit_button(t("law.schedule", lang)):
            _do(lambda: (law.schedule(
                engine, c["id"], at=dt.datetime.combine(day, at, law.TZ), mode=mode,
                place=where if mode == "in_person" else None,
                room=where if mode == "online" else None, actor=principal.name,
                client_key=once, principal=principal), once_done(form)),
                t("law.done.scheduled", lang), lang)
    waiting = [s for s in sessions if s["held_at"] is None]
    if not waiting:
        return
    parties = {p["id"]: p for p in c["parties"]}
    with st.form(key=f"law-hold-{c['id']}"):
        session = st.selectbox(t("law.session", lang), [s["id"] for s in waiting],
                               format_func=lambda i: next(_when(s["scheduled_at"]) + " · " + (
                                   s["room"] or s["place"]) for s in waiting if s["id"] == i))
        present = st.multiselect(t("law.present", lang), list(parties), default=list(parties),
                                 format_func=lambda i: t("law.role." + parties[i]["role"], lang)
                                 + " " + parties[i]["name"])
        attendees = st.number_input(t("law.attendees", lang), 1, 500, value=3)
        notes = st.text_area(t("law.notes", lang), max_chars=2000)
        if st.form_submit_button(t("law.hold", lang), type="primary"):
            _do(lambda: law.hold(engine, session, held_at=now_utc(), present=present,
                                 attendees=int(attendees), notes=notes, actor=principal.name,
                                 principal=principal),
                t("law.done.held", lang), lang)


def _agreement(engine, settings, principal: Principal, c: dict, lang: str) -> None:
    st.markdown(f"#### {t('law.agreement', lang)}")
    current = law.current_agreement(engine, c["id"])
    signed = current["signed"] if current else {}
    if not signed:
        terms = current["terms"] if current else law.default_terms(engine, c["id"])
        with st.form(key=f"law-draft-{c['id']}"):
            text = st.text_area(t("law.terms", lang), value="\n".join(terms), height=160,
                                help=t("law.terms_hint", lang))
            if st.form_submit_button(t("law.draft", lang), type="primary"):
                _do(lambda: law.draft(engine, c["id"], text.splitlines(), actor=principal.name,
                                      principal=principal),
                    t("law.done.drafted", lang), lang)
    if current is None:
        return
    st.markdown(f"{t('law.version', lang).format(v=current['version'])} · "
                f"{_when(current['drafted_at'])} · SHA-256 `{current['sha256']}`")
    if not may(principal, "residents"):  # the PDF names the parties: an official's to send
        st.caption(t("law.official_sends", lang))
        return
    st.download_button(t("law.pdf", lang), current["pdf"], mime="application/pdf",
                       file_name=f"{c['code']}-v{current['version']}.pdf",
                       key=f"law-pdf-{c['id']}-{current['version']}")
    base = (settings.public_url or site() or "http://localhost:8501").rstrip("/")
    for p in c["parties"]:
        role = t("law.role." + p["role"], lang)
        if p["id"] in signed:
            st.success(t("law.signed_at", lang).format(role=role, at=_when(signed[p["id"]])))
            continue
        with st.expander(t("law.sign_link", lang).format(role=role, name=p["name"])):
            link_card(base + urls.law_page(f"sign/{law.token(settings, 'sign', p['id'])}"),
                      t("law.sign_caption", lang))


def _confirm(engine, principal: Principal, c: dict, lang: str) -> None:
    move = "confirm_requested" if c["status"] == "agreed" else "confirmed"
    if st.button(t("law.move." + move, lang), type="primary", key=f"law-{move}-{c['id']}"):
        _do(lambda: law.move(engine, c["id"], move, actor=principal.name, version=c["version"],
                             principal=principal),
            t("law.status." + move, lang), lang)


def _close(engine, principal: Principal, c: dict, lang: str) -> None:
    with st.expander(t("law.not_settled", lang)):
        with st.form(key=f"law-court-{c['id']}"):
            court = st.text_input(t("law.court", lang), value="桐乡市人民法院", max_chars=80)
            note = st.text_input(t("law.court_note", lang), max_chars=200)
            if st.form_submit_button(t("law.move.litigation", lang)):
                _do(lambda: law.move(engine, c["id"], "litigation", actor=principal.name,
                                     court=court, note=note, version=c["version"],
                                     principal=principal),
                    t("law.done.litigation", lang).format(code=c["code"]), lang)
        if st.button(t("law.move.withdrawn", lang), key=f"law-withdraw-{c['id']}"):
            _do(lambda: law.move(engine, c["id"], "withdrawn", actor=principal.name,
                                 version=c["version"], principal=principal),
                t("law.status.withdrawn", lang), lang)


def _new(engine, settings, principal: Principal, units: list[dict], lang: str) -> None:
    events = law.dispute_events(engine, principal)
    source = None
    if events:
        by_id = {e["id"]: e for e in events}
        source = st.selectbox(t("law.from_event", lang), [None, *by_id], key="law-from-event",
                              format_func=lambda i: t("law.no_event", lang) if i is None else
                              f"{by_id[i]['code']} · {by_id[i]['title']}")
    villages = sorted({(u["code"], u["name"]) for u in units if u["level"] == "village"} |
                      {(v["code"], v["name"]) for u in units if u["level"] == "town"
                       for v in law.villages_of(engine, u["id"])})
    form = "law-new"
    once = once_key(form)
    with st.form(key=form, clear_on_submit=True):
        cols = st.columns(2)
        kind = cols[0].selectbox(t("law.kind", lang), law.KINDS,
                                 format_func=lambda k: t("law.kind." + k, lang))
        village = cols[1].selectbox(t("law.village", lang), villages,
                                    format_func=lambda v: v[1], disabled=source is not None)
        facts = st.text_area(t("law.facts", lang), max_chars=2000)
        cols = st.columns(2)
        claim = cols[0].text_input(t("law.claim", lang), max_chars=500)
        amount = cols[1].number_input(t("law.amount", lang), min_value=0.0, value=0.0,
                                      step=100.0)
        cols = st.columns(3)
        a_name = cols[0].text_input(t("law.applicant", lang), max_chars=40)
        a_id = cols[1].text_input(t("law.id", lang), max_chars=18)
        a_phone = cols[2].text_input(t("law.phone", lang), max_chars=20)
        cols = st.columns(2)
        r_name = cols[0].text_input(t("law.respondent", lang), max_chars=40)
        r_phone = cols[1].text_input(t("law.phone", lang) + " ", max_chars=20)
        online = st.checkbox(t("law.online", lang))
        if st.form_submit_button(t("law.apply", lang), type="primary"):
            def apply() -> dict:
                made = law.apply(
                    engine, PiiKey.from_settings(settings), kind=kind, facts=facts,
                    claim=claim or None, amount=amount or None, online=online,
                    channel="event" if source else "official", event_id=source,
                    village=None if source else (village[0] if village else None),
                    applicant=law.PartyIn(a_name, a_id or None, a_phone or None),
                    respondent=law.PartyIn(r_name, None, r_phone or None),
                    actor=principal.name, client_key=once, principal=principal)
                once_done(form)
                return made
            _do(apply, t("law.done.applied", lang), lang)


def _bookings(engine, principal: Principal, units: list[dict], lang: str) -> None:
    cols = st.columns(2)
    unit = cols[0].selectbox(t("desk.unit", lang), units, format_func=lambda u: u["name"],
                             key="law-book-unit")
    day = cols[1].date_input(t("law.day", lang), value=now_utc().astimezone(law.TZ).date(),
                             key="law-book-day")
    rows = law.appointments(engine, unit, day)
    if not rows:
        st.info(t("law.no_bookings", lang))
        return
    st.dataframe(pd.DataFrame({
        t("law.time", lang): [r["starts_at"].astimezone(law.TZ).strftime("%H:%M")
                              for r in rows],
        t("law.place", lang): [r["place"] for r in rows],
        t("law.service", lang): [t("law.service." + r["service"], lang) for r in rows],
        t("law.name", lang): [r["name_masked"] for r in rows],
        t("law.phone", lang): [r["phone_masked"] or "—" for r in rows],
        t("law.state", lang): [t("law.booking." + r["status"], lang) for r in rows],
    }, index=[r["code"] for r in rows]), width="stretch")
    waiting = {r["id"]: r for r in rows if r["status"] == "booked"}
    if waiting:
        with st.form(key="law-mark"):
            which = st.selectbox(t("law.booking", lang), list(waiting),
                                 format_func=lambda i: waiting[i]["code"])
            came = st.radio(t("law.came", lang), ("attended", "missed"), horizontal=True,
                            format_func=lambda s: t("law.booking." + s, lang))
            if st.form_submit_button(t("law.mark", lang)):
                _do(lambda: law.mark(engine, which, came, principal=principal),
                    t("law.booking." + came, lang), lang)


def matching_page(engine, settings, principal: Principal, lang: str) -> None:
    """The administrator's: the matching weights in force, and a change to them."""
    st.header(t("desk.matching", lang))
    done = st.session_state.pop(FLASH, None)
    if done:
        st.success(done)
    w = law.weights(engine)
    st.caption(t("law.weights_set", lang).format(by=w["set_by"], at=_when(w["set_at"])))
    with st.form(key="law-weights"):
        cols = st.columns(5)
        values = {k: cols[i].number_input(t("law.weight." + k, lang), 0.0, 10.0,
                                          value=float(w[k]), step=0.05)
                  for i, k in enumerate(law.WEIGHTS)}
        reach = cols[4].number_input(t("law.reach", lang), 1.0, 200.0,
                                     value=float(w["reach_km"]), step=1.0)
        if st.form_submit_button(t("law.save_weights", lang), type="primary"):
            _do(lambda: law.set_weights(engine, principal, **values, reach_km=reach),
                t("law.done.weights", lang), lang)
