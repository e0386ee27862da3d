"""The residents' and parties' pages of 桐解码 · 云司法 under ``/api/law``, without an
account: apply for mediation in one form and follow it by signed link (``/law/s/<token>``);
each party reads and signs the agreement on their own signed page (``/law/sign/<token>``)
and downloads its PDF; anyone checks a PDF or its SHA-256 (``/law/verify``: no names); book
a slot at a public legal service place and cancel it (``/law/b/<token>``).

Plain HTML forms that work without script, in the style of the report pages
(``twin.api.resident``, whose helpers they share): Simplified Chinese by default, English
with ``?lang=en``; every POST is bounded in size, throttled per client address, refuses NUL
characters, and the application and booking forms are idempotent (the form's own key). ID
and phone numbers typed here are never shown back: the domain (``twin.domain.law``) keeps
them as hash and mask; names are shown masked except in the PDF a party signs.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from twin.api.auth import Throttle, client_address
from twin.api.deps import get_engine
from twin.api.resident import TZ, _e, _lang, _map, _page, _root, _when
from twin.domain import law
from twin.domain import workflow as wf
from twin.domain.pii import PiiKey, mask_name, scrub_text
from twin.errors import NotFound
from twin.i18n import t

router = APIRouter(prefix="/law", tags=["law"])
MAX_FORM = 32 << 10          # a form of words: the application, a signature, a booking
MAX_PDF = 5 << 20            # an agreement to verify
POSTS_PER_10_MIN = 5         # per client address, for each kind of form (like the reports)
BOOK_AHEAD_DAYS = 14         # the days offered as links on a place's page
STYLE = """a{color:#1664ff}.top{display:flex;justify-content:space-between;font-size:.9em}
a.big{display:block;background:#fff;border-radius:10px;padding:1.1em 1em;margin:.8em 0;
color:#1d2129;text-decoration:none;border-left:6px solid #1664ff}
a.big b{display:block;font-size:1.3em;color:#1664ff}
input[type=tel],input[type=number],input[type=file]{width:100%;box-sizing:border-box;
font-size:1em;padding:.6em;border:1px solid #c9cdd4;border-radius:6px;background:#fff}
label.check{display:flex;gap:.5em;align-items:flex-start;font-weight:400}
a.button{display:block;text-align:center;padding:.7em 1.2em;border-radius:6px;
background:#1664ff;color:#fff;text-decoration:none;margin-top:.8em}
.days a,.days span{display:inline-block;padding:.35em .55em;margin:.2em;border-radius:6px;
background:#e8f0ff;color:#1664ff;text-decoration:none;font-size:.9em}
.days .on{background:#1664ff;color:#fff}.days .off{background:#f2f3f5;color:#9ca3af}
.slots label{display:inline-block;font-weight:400;margin:.3em .5em .3em 0;padding:.35em .6em;
border:1px solid #c9cdd4;border-radius:6px}code.hash{word-break:break-all;font-size:.85em}
h2{font-size:1.1em;margin:.2em 0 .5em}ul.places{list-style:none;padding:0}
ul.places li{border-bottom:1px solid #eef0f3;padding:.5em 0}"""

# the domain's reasons (English, for logs and officials) in the words of these pages
_REASONS = (
    ("kind of dispute", "law.page.err.kind"),
    ("what happened is empty", "law.page.err.facts"),
    ("characters: at most", "law.page.err.long"),
    ("amount in dispute", "law.page.err.amount"),
    ("respondent's name", "law.page.err.other_name"),
    ("name is empty", "law.page.err.name"),
    ("resident ID", "law.page.err.id"),
    ("phone number is needed", "law.page.err.phone_needed"),
    ("respondent's not an 11-digit", "law.page.err.other_phone"),
    ("11-digit mobile", "law.page.err.phone"),
    ("no village with code", "law.page.err.village"),
    ("check the place of the dispute", "law.page.err.village"),
    ("tick that you have read", "law.page.err.consent"),
    ("type your full name", "law.page.err.typed_name"),
    ("redrafted after you opened it", "law.page.err.redrafted"),
    ("signed this agreement already", "law.page.err.signed"),
    ("nothing to sign", "law.page.err.no_sign"),
    ("no agreement to sign", "law.page.err.no_sign"),
    ("booked by someone else", "law.page.err.taken"),
    ("does not offer", "law.page.err.service"),
    ("is not a slot of", "law.page.err.slot"),
    ("book a slot from now", "law.page.err.when"),
    ("cannot be cancelled", "law.page.err.cancel"),
)


def _say(exc: Exception, lang: str) -> str:
    """Why the domain refused, in the page's language (its own words when not known)."""
    text = str(exc)
    for part, key in _REASONS:
        if part in text:
            return t(key, lang).format(days=law.BOOK_DAYS)
    return text


def _kind(kind: str, lang: str) -> str:
    return t(f"law.kind.{kind}", lang)


def _url(request: Request, path: str, lang: str, **params: str) -> str:
    """A link of these pages (``path`` under /law), keeping the language; HTML-escaped."""
    query = "".join(f"&{k}={quote(str(v), safe='')}" for k, v in params.items())
    return _e(f"{_root(request)}/law{path}?lang={lang}{query}")


def _show(request: Request, lang: str, title: str, inner: str, status: int = 200) -> HTMLResponse:
    """A page of 桐解码: the way back to the start, the title, what it holds."""
    other = "en" if lang == "zh" else "zh"
    # the same page in the other language: a link of the query alone keeps the path
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "new")]
    switch = _e("?" + urlencode([("lang", other), *keep])) if request.method == "GET" else ""
    top = (f'<p class="top"><a href="{_url(request, "", lang)}">{_e(t("law.page.brand", lang))}'
           f'</a>' + (f'<a href="{switch}">{_e(t("law.page.other_lang", lang))}</a>'
                      if switch else "") + "</p>")
    return _page(lang, title, f"{top}<h1>{_e(title)}</h1>{inner}", status, style=STYLE)


def _error(text: str) -> str:
    return f'<p class="err" role="alert">{_e(text)}</p>' if text else ""


def _missing(request: Request, lang: str) -> HTMLResponse:
    return _show(request, lang, t("law.page.brand", lang), _error(t("law.page.not_found", lang)),
                 404)


def _limit(request: Request, what: str) -> bool:
    """One throttle per kind of form (apply, sign, verify, book, cancel), per address."""
    state = request.app.state
    if getattr(state, "law_throttles", None) is None:
        state.law_throttles = {}
    throttle = state.law_throttles.setdefault(what, Throttle(limit=POSTS_PER_10_MIN,
                                                             window=600))
    return throttle.allow(client_address(request))


async def _form(request: Request, what: str, limit: int,
                **limits: int) -> tuple[FormData | None, str, int]:
    """The form of a POST, or why it is refused: too big (413), too often (429), a NUL (400)."""
    size = request.headers.get("content-length", "")
    if not size.isdigit() or int(size) > limit:
        return None, "law.page.err.big", 413
    if not _limit(request, what):
        return None, "law.page.busy", 429
    form = await request.form(**limits)
    if any("\x00" in v for v in form.values() if isinstance(v, str)):
        return None, "law.page.err.nul", 400
    return form, "", 200


def _text(form: FormData | None, name: str) -> str:
    value = form.get(name) if form is not None else None
    return value.strip() if isinstance(value, str) else ""


def _settings(request: Request) -> Any:
    return request.app.state.settings


# --- the start ------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse, name="law_home")
def home(request: Request) -> HTMLResponse:
    """Three choices: apply for mediation, book a legal service, verify an agreement."""
    lang = _lang(request)
    choices = "".join(
        f'<a class="big" href="{_url(request, path, lang)}"><b>{_e(t(key, lang))}</b>'
        f'<span class="hint">{_e(t(key + "_hint", lang))}</span></a>'
        for path, key in (("/apply", "law.page.apply"), ("/book", "law.page.book"),
                          ("/verify", "law.page.verify")))
    return _show(request, lang, t("law.page.brand", lang),
                 f'<p class="hint">{_e(t("law.page.intro", lang))}</p>{choices}')


# --- apply ----------------------------------------------------------------------------------
def _apply_form(request: Request, engine: Engine, lang: str, message: str = "",
                kept: dict[str, str] | None = None) -> str:
    """The one-click application; ``kept``: what was typed, without the numbers."""
    v = kept or {}
    _, villages = _map(engine, int(dt.datetime.now().timestamp() // 60))
    if v.get("village"):
        code = f'value="{_e(v["village"])}"'
        villages = villages.replace(code, f"{code} selected", 1)
    kinds = "".join(f'<option value="{k}"{" selected" if k == v.get("kind") else ""}>'
                    f"{_e(_kind(k, lang))}</option>" for k in law.KINDS)

    def field(name: str, key: str, kind: str = "text", extra: str = "") -> str:
        value = f' value="{_e(v[name])}"' if v.get(name) else ""
        return (f'<label for="{name}">{_e(t(key, lang))}</label><input type="{kind}" '
                f'id="{name}" name="{name}"{value} {extra}>')

    return f"""<p class="hint">{_e(t('law.page.apply_hint', lang))}</p>{_error(message)}
<form method="post" action="{_url(request, '/apply', lang)}">
<input type="hidden" name="client_key" value="{secrets.token_urlsafe(16)}">
<section><label for="kind">{_e(t('law.page.kind', lang))}</label>
<select id="kind" name="kind" required>{kinds}</select>
<label for="facts">{_e(t('law.page.facts', lang))}</label>
<textarea id="facts" name="facts" maxlength="{law.MAX_TEXT}" required>{_e(v.get('facts', ''))}\
</textarea><p class="hint">{_e(t('law.page.facts_hint', lang))}</p>
<label for="claim">{_e(t('law.page.claim', lang))}</label>
<textarea id="claim" name="claim" maxlength="{law.MAX_TEXT}">{_e(v.get('claim', ''))}</textarea>
{field('amount', 'law.page.amount', 'number', 'min="0" step="0.01" inputmode="decimal"')}
<label for="village">{_e(t('law.page.village', lang))}</label>
<select id="village" name="village" required><option value="">\
{_e(t('law.page.choose', lang))}</option>{villages}</select>
<label class="check"><input type="checkbox" name="online" value="1"\
{' checked' if v.get('online') else ''}> {_e(t('law.page.online', lang))}</label></section>
<section><h2>{_e(t('law.page.you', lang))}</h2>
{field('name', 'law.page.name', extra='maxlength="40" required autocomplete="name"')}
{field('id_number', 'law.page.id_number', extra='maxlength="18" autocomplete="off"')}
{field('phone', 'law.page.phone', 'tel', 'maxlength="20" required autocomplete="tel"')}
<p class="hint">{_e(t('law.page.numbers_hint', lang))}</p></section>
<section><h2>{_e(t('law.page.other', lang))}</h2>
{field('other_name', 'law.page.name', extra='maxlength="40" required autocomplete="off"')}
{field('other_phone', 'law.page.phone_optional', 'tel', 'maxlength="20" autocomplete="off"')}
</section><button type="submit" class="wide">{_e(t('law.page.submit_apply', lang))}</button>
</form>"""


@router.get("/apply", response_class=HTMLResponse, name="law_apply_page")
def apply_page(request: Request, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """The application form."""
    lang = _lang(request)
    return _show(request, lang, t("law.page.apply", lang), _apply_form(request, engine, lang))


@router.post("/apply", response_class=HTMLResponse, name="law_apply")
async def apply(request: Request, engine: Engine = Depends(get_engine)) -> Response:
    """File the application; then the applicant's progress page (303)."""
    lang = _lang(request)
    kept: dict[str, str] = {}

    def again(message: str, status: int) -> HTMLResponse:
        return _show(request, lang, t("law.page.apply", lang),
                     _apply_form(request, engine, lang, message, kept), status)

    form, key, status = await _form(request, "apply", MAX_FORM, max_files=0, max_fields=16,
                                    max_part_size=4 * MAX_FORM)
    if form is None:
        return await run_in_threadpool(again, t(key, lang), status)
    # what was typed comes back on a refusal — never the ID or phone numbers
    kept = {name: scrub_text(_text(form, name)) or "" for name in (
        "kind", "facts", "claim", "amount", "name", "other_name", "village", "online")}
    try:
        amount = float(_text(form, "amount")) if _text(form, "amount") else None
    except ValueError:
        return await run_in_threadpool(again, t("law.page.err.amount", lang), 400)
    settings = _settings(request)

    def file() -> dict:
        return law.apply(
            engine, PiiKey.from_settings(settings), kind=_text(form, "kind"),
            facts=_text(form, "facts"), claim=_text(form, "claim") or None, amount=amount,
            online=bool(_text(form, "online")), channel="resident", actor="resident:web",
            village=_text(form, "village") or None,
            applicant=law.PartyIn(_text(form, "name"), _text(form, "id_number") or None,
                                  _text(form, "phone") or None),
            respondent=law.PartyIn(_text(form, "other_name"), None,
                                   _text(form, "other_phone") or None),
            client_key=_text(form, "client_key")[:64] or None)

    try:
        made = await run_in_threadpool(file)
    except law.LawError as exc:
        return await run_in_threadpool(again, _say(exc, lang), 400)
    token = law.token(settings, "dispute", made["id"])
    return RedirectResponse(f"{_root(request)}/law/s/{token}?lang={lang}&new=1",
                            status_code=303)


# --- the applicant's progress page ------------------------------------------------------------
def _step(row: dict, lang: str) -> str:
    """A move says where the dispute went; a line that moves nothing (a draft, a signature),
    that there is news (its note says what)."""
    if row["from_status"] == row["to_status"]:
        return t("law.page.step.update", lang)
    return t(f"law.page.status.{row['to_status']}", lang)


@router.get("/s/{token}", response_class=HTMLResponse, name="law_status")
def status_page(request: Request, token: str,
                engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """The dispute as its applicant sees it: the steps, the team and sessions (names
    masked), and the way to their own signing page once an agreement is drafted."""
    lang = _lang(request)
    settings = _settings(request)
    try:
        dispute_id = law.token_id(settings, "dispute", token)
        c = law.case(engine, dispute_id, names=False)
    except NotFound:
        return _missing(request, lang)
    notice = (f'<p class="ok">{_e(t("law.page.thanks", lang))}</p>'
              if request.query_params.get("new") else "")
    steps = "".join(f'<li>{_e(_step(r, lang))} <span class="when">{_when(r["at"])}</span>'
                    + (f'<br><span class="hint">{_e(r["note"])}</span>' if r["note"] else "")
                    + "</li>" for r in c["log"])
    handed = (f'<p><b>{_e(t("law.page.handed_to", lang))}</b>：{_e(c["handed_to"])}</p>'
              if c.get("handed_to") else "")
    if c["mediator"] or c["organization"]:
        team = "".join(f'<p>{_e(t(key, lang))}：{_e(c[name])}</p>' for name, key in (
            ("organization", "law.page.organization"), ("mediator", "law.page.mediator"),
            ("judge", "law.page.judge")) if c[name])
    else:
        team = f'<p class="hint">{_e(t("law.page.no_team", lang))}</p>'
    sessions = "".join(
        f'<li>{_when(s["scheduled_at"])} · '
        + _e(s["place"] if s["mode"] == "in_person"
             else t("law.page.session.online", lang).format(room=s["room"] or ""))
        + (f' <span class="when">（{_e(t("law.page.session.held", lang))} '
           f'{_when(s["held_at"])}）</span>' if s["held_at"] else "") + "</li>"
        for s in law.sessions_of(engine, dispute_id))
    sessions = (f"<ol>{sessions}</ol>" if sessions
                else f'<p class="hint">{_e(t("law.page.no_sessions", lang))}</p>')
    agreement = ""
    current = law.current_agreement(engine, dispute_id)
    applicant = next((p for p in c["parties"] if p["role"] == "applicant"), None)
    if current is not None and applicant is not None:
        sign = law.token(settings, "sign", applicant["id"])
        agreement = (f'<section><p class="ok">{_e(t("law.page.agreement_ready", lang))}</p>'
                     f'<a class="button" href="{_url(request, "/sign/" + sign, lang)}">'
                     f'{_e(t("law.page.to_sign", lang))}</a></section>')
    body = f"""{notice}<section><p>{_e(t('law.page.code', lang))} <code>{_e(c['code'])}</code>
 · {_e(_kind(c['kind'], lang))} · {_e(c['town'] or '')} {_e(c['village'] or '')}</p>
<p class="hint">{_e(c['facts'])}</p>
<p><b>{_e(t('law.page.now', lang))}</b>：{_e(t('law.page.status.' + c['status'], lang))}</p>
{handed}</section>{agreement}
<section><h2>{_e(t('law.page.team', lang))}</h2>{team}</section>
<section><h2>{_e(t('law.page.sessions', lang))}</h2>{sessions}</section>
<section><h2>{_e(t('law.page.steps', lang))}</h2><ol>{steps}</ol></section>"""
    return _show(request, lang, t("law.page.progress", lang), body)


# --- a party's signing page ---------------------------------------------------------------------
def _sign_page(request: Request, engine: Engine, token: str, party_id: int, lang: str,
               message: str = "", status: int = 200) -> HTMLResponse:
    p = law.party(engine, party_id)
    current = law.current_agreement(engine, p["dispute_id"])
    title = t("law.page.sign_title", lang)
    role = t(f"law.role.{p['role']}", lang)
    head = (f'<section><p>{_e(t("law.page.code", lang))} <code>{_e(p["code"])}</code> · '
            f'{_e(_kind(p["kind"], lang))}</p><p class="hint">'
            f'{_e(t("law.page.you_are", lang).format(role=role, name=mask_name(p["name"])))}'
            f"</p></section>")
    if current is None:
        return _show(request, lang, title, head + _error(message)
                     + f'<p class="ok">{_e(t("law.page.not_drafted", lang))}</p>', status)
    notice = ""
    if request.method == "GET" and request.query_params.get("msg") == "signed":
        notice = f'<p class="ok">{_e(t("law.page.msg.signed", lang))}</p>'
    if p["status"] in law.SETTLED:
        notice += f'<p class="ok">{_e(t("law.page.in_force", lang))}</p>'
    here = f"/sign/{token}"
    terms = "".join(f"<li>{_e(term)}</li>" for term in current["terms"])
    body = f"""{head}{notice}{_error(message)}<section>
<p><b>{_e(t('law.page.version', lang).format(n=current['version']))}</b> ·
{_e(t('law.page.drafted', lang))} {_when(current['drafted_at'])}</p>
<h2>{_e(t('law.page.terms', lang))}</h2><ol>{terms}</ol>
<p>{_e(t('law.page.sha256', lang))}<br><code class="hash">{_e(current['sha256'])}</code></p>
<a class="button" href="{_url(request, here + '/agreement.pdf', lang)}">\
{_e(t('law.page.pdf', lang))}</a></section>"""
    signed = current["signed"].get(party_id)
    if signed is not None:
        body += (f'<section><p class="ok">'
                 f'{_e(t("law.page.signed_at", lang).format(at=_when(signed)))}</p></section>')
    elif p["status"] == "mediating":
        body += f"""<section><form method="post" action="{_url(request, here, lang)}">
<input type="hidden" name="sha256" value="{_e(current['sha256'])}">
<label for="typed_name">{_e(t('law.page.typed_name', lang))}</label>
<input type="text" id="typed_name" name="typed_name" maxlength="40" required autocomplete="off">
<label class="check"><input type="checkbox" name="consent" value="1" required>
{_e(t('law.page.consent', lang))}</label>
<button type="submit" class="wide">{_e(t('law.page.submit_sign', lang))}</button></form>
</section>"""
    elif p["status"] not in law.SETTLED:
        now = t(f"law.page.status.{p['status']}", lang)
        body += (f'<section><p class="hint">'
                 f'{_e(t("law.page.nothing_to_sign", lang).format(status=now))}</p></section>')
    return _show(request, lang, title, body, status)


@router.get("/sign/{token}", response_class=HTMLResponse, name="law_sign_page")
def sign_page(request: Request, token: str, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """The agreement a party is to sign (its terms, fingerprint and PDF), and the form."""
    lang = _lang(request)
    try:
        party_id = law.token_id(_settings(request), "sign", token)
        return _sign_page(request, engine, token, party_id, lang)
    except NotFound:
        return _missing(request, lang)


@router.post("/sign/{token}", response_class=HTMLResponse, name="law_sign")
async def sign(request: Request, token: str, engine: Engine = Depends(get_engine)) -> Response:
    """Sign the version shown (its SHA-256) by typing one's name and ticking consent."""
    lang = _lang(request)
    try:
        party_id = law.token_id(_settings(request), "sign", token)
    except NotFound:
        return _missing(request, lang)

    def again(message: str, status: int) -> HTMLResponse:
        try:
            return _sign_page(request, engine, token, party_id, lang, message, status)
        except NotFound:
            return _missing(request, lang)

    form, key, status = await _form(request, "sign", MAX_FORM, max_files=0, max_fields=6,
                                    max_part_size=4096)
    if form is None:
        return await run_in_threadpool(again, t(key, lang), status)
    try:
        await run_in_threadpool(
            law.sign, engine, party_id, sha256=_text(form, "sha256"),
            typed_name=_text(form, "typed_name"), consent=bool(_text(form, "consent")))
    except NotFound:
        return _missing(request, lang)
    except law.LawError as exc:
        return await run_in_threadpool(again, _say(exc, lang), 400)
    return RedirectResponse(f"{_root(request)}/law/sign/{token}?lang={lang}&msg=signed",
                            status_code=303)


@router.get("/sign/{token}/agreement.pdf", name="law_agreement_pdf")
def agreement_pdf(request: Request, token: str,
                  engine: Engine = Depends(get_engine)) -> Response:
    """The current version of the agreement, as drafted (the bytes its SHA-256 is of)."""
    lang = _lang(request)
    try:
        p = law.party(engine, law.token_id(_settings(request), "sign", token))
    except NotFound:
        return _missing(request, lang)
    current = law.current_agreement(engine, p["dispute_id"])
    if current is None:
        return _missing(request, lang)
    return Response(current["pdf"], media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{p["code"]}-v{current["version"]}.pdf"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer"})


# --- verify an agreement ------------------------------------------------------------------------
def _verify_form(request: Request, lang: str) -> str:
    return f"""<section><form method="post" enctype="multipart/form-data"
 action="{_url(request, '/verify', lang)}">
<label for="pdf">{_e(t('law.page.verify_pdf', lang))}</label>
<input type="file" id="pdf" name="pdf" accept="application/pdf,.pdf">
<label for="sha256">{_e(t('law.page.verify_sha', lang))}</label>
<input type="text" id="sha256" name="sha256" maxlength="80" autocomplete="off"
 spellcheck="false">
<button type="submit" class="wide">{_e(t('law.page.submit_verify', lang))}</button></form>
</section>"""


def _verdict(found: dict | None, lang: str) -> str:
    """What a fingerprint matched: the code, version, times and sides — never a name."""
    if found is None:
        return f'<p class="err" role="alert">{_e(t("law.page.no_match", lang))}</p>'
    signed = "".join(f'<li>{_e(t("law.role." + role, lang))} '
                     f'<span class="when">{_when(at)}</span></li>'
                     for role, at in found["signatures"])
    signed = (f"<ol>{signed}</ol>" if signed
              else f'<p class="hint">{_e(t("law.page.no_signatures", lang))}</p>')
    counts = {"n": len(found["signatures"]), "of": found["parties"]}
    whole = (f'<p class="ok">{_e(t("law.page.complete", lang).format(**counts))}</p>'
             if found["complete"] else
             f'<p class="err">{_e(t("law.page.incomplete", lang).format(**counts))}</p>')
    old = (f'<p class="err">{_e(t("law.page.superseded", lang))}</p>'
           if found["superseded"] else "")
    return f"""<section><p class="ok" role="status">{_e(t('law.page.match', lang))}</p>
<p>{_e(t('law.page.code', lang))} <code>{_e(found['code'])}</code> ·
{_e(t('law.page.version', lang).format(n=found['version']))} ·
{_e(t('law.page.drafted', lang))} {_when(found['drafted_at'])}</p>
<p><b>{_e(t('law.page.now', lang))}</b>：{_e(t('law.page.status.' + found['status'], lang))}</p>
<h2>{_e(t('law.page.signatures', lang))}</h2>{signed}{whole}{old}
<p>{_e(t('law.page.sha256', lang))}<br><code class="hash">{_e(found['sha256'])}</code></p>
</section>"""


@router.get("/verify", response_class=HTMLResponse, name="law_verify_page")
def verify_page(request: Request) -> HTMLResponse:
    """Upload an agreement's PDF or paste its SHA-256."""
    lang = _lang(request)
    return _show(request, lang, t("law.page.verify", lang),
                 f'<p class="hint">{_e(t("law.page.verify_intro", lang))}</p>'
                 + _verify_form(request, lang))


@router.post("/verify", response_class=HTMLResponse, name="law_verify")
async def verify(request: Request, engine: Engine = Depends(get_engine)) -> Response:
    """Whether the file (hashed, never opened but as bytes that must be a PDF) or the hash
    is an agreement the twin holds."""
    lang = _lang(request)

    def answer(inner: str, status: int = 200) -> HTMLResponse:
        return _show(request, lang, t("law.page.verify", lang),
                     inner + _verify_form(request, lang), status)

    form, key, status = await _form(request, "verify", MAX_PDF + (64 << 10), max_files=1,
                                    max_fields=4, max_part_size=1024)
    if form is None:
        return answer(_error(t(key, lang)), status)
    upload = form.get("pdf")
    typed = "".join(_text(form, "sha256").split()).lower()
    if upload is not None and not isinstance(upload, str) and upload.filename:
        data = await upload.read(MAX_PDF + 1)
        if len(data) > MAX_PDF:
            return answer(_error(t("law.page.err.pdf_big", lang)), 413)
        if not data.startswith(b"%PDF-"):
            return answer(_error(t("law.page.err.not_pdf", lang)), 400)
        found = await run_in_threadpool(law.verify, engine, pdf=data)
    elif typed:
        if not re.fullmatch(r"[0-9a-f]{64}", typed):
            return answer(_error(t("law.page.err.sha", lang)), 400)
        found = await run_in_threadpool(law.verify, engine, sha256=typed)
    else:
        return answer(_error(t("law.page.err.nothing", lang)), 400)
    return answer(_verdict(found, lang))


# --- book a legal service ------------------------------------------------------------------------
def _service(service: str, lang: str) -> str:
    return t(f"law.page.service.{service}", lang)


def _place_path(code: str) -> str:
    return f"/book/{quote(code, safe='')}"


@router.get("/book", response_class=HTMLResponse, name="law_book_page")
def book_page(request: Request, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """Choose a service (and a village): the places that offer it, each to book."""
    lang = _lang(request)
    service = request.query_params.get("service", "")
    service = service if service in law.SERVICES else ""
    village = request.query_params.get("village", "")[:40]
    _, villages = _map(engine, int(dt.datetime.now().timestamp() // 60))
    if village:
        code = f'value="{_e(village)}"'
        villages = villages.replace(code, f"{code} selected", 1)
    services = "".join(f'<option value="{s}"{" selected" if s == service else ""}>'
                       f"{_e(_service(s, lang))}</option>" for s in law.SERVICES)
    body = f"""<p class="hint">{_e(t('law.page.book_hint', lang))}</p>
<section><form method="get" action="{_e(_root(request))}/law/book">
<input type="hidden" name="lang" value="{lang}">
<label for="service">{_e(t('law.page.service', lang))}</label>
<select id="service" name="service" required>{services}</select>
<label for="village">{_e(t('law.page.your_village', lang))}</label>
<select id="village" name="village"><option value="">{_e(t('law.page.any_village', lang))}\
</option>{villages}</select>
<button type="submit" class="wide">{_e(t('law.page.find', lang))}</button></form></section>"""
    if service:
        found = law.places(engine, service=service, village=village or None)
        items = "".join(
            f'<li><a href="{_url(request, _place_path(p["code"]), lang, service=service)}">'
            f'<b>{_e(p["name"])}</b></a><br><span class="hint">'
            f'{_e(t("law.page.place." + p["kind"], lang))} · {_e(p["town"] or "")} · '
            f'{_e(t("law.page.hours", lang))} {_e(p["opening_hours"])}</span></li>'
            for p in found)
        body += (f'<section><h2>{_e(t("law.page.places", lang))}</h2>'
                 + (f'<ul class="places">{items}</ul>' if items else
                    f'<p class="hint">{_e(t("law.page.no_places", lang))}</p>') + "</section>")
    return _show(request, lang, t("law.page.book", lang), body)


def _today() -> dt.date:
    return dt.datetime.now(TZ).date()


def _day(value: str) -> dt.date:
    """The day asked for, if one of the days offered; else today (Beijing)."""
    today = _today()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return today
    return day if today <= day < today + dt.timedelta(days=BOOK_AHEAD_DAYS) else today


def _slot_page(request: Request, engine: Engine, lang: str, row: dict, service: str,
               day: dt.date, message: str = "", kept: dict[str, str] | None = None,
               status: int = 200) -> HTMLResponse:
    """A place's next days as links and the free slots of one day, to book."""
    v = kept or {}
    path = _place_path(row["code"])
    weekdays = t("law.page.weekday", lang).split()
    today = _today()
    days = []
    for n in range(BOOK_AHEAD_DAYS):
        d = today + dt.timedelta(days=n)
        label = f"{d:%m-%d} {weekdays[d.weekday()]}"
        if not law.slots(row, d):
            days.append(f'<span class="off">{_e(label)}</span>')
        else:
            on = ' class="on" aria-current="date"' if d == day else ""
            link = _url(request, path, lang, service=service, day=d.isoformat())
            days.append(f'<a{on} href="{link}">{_e(label)}</a>')
    free = law.free_slots(engine, row, day)
    services = "".join(f'<option value="{_e(s)}"{" selected" if s == service else ""}>'
                       f"{_e(_service(s, lang))}</option>" for s in row["services"])
    head = f"""<section><p><b>{_e(row['name'])}</b></p><p class="hint">
{_e(t('law.page.place.' + row['kind'], lang))} · {_e(t('law.page.hours', lang))}
{_e(row['opening_hours'])}</p></section>{_error(message)}
<section><h2>{_e(t('law.page.choose_day', lang))}</h2><div class="days">{''.join(days)}</div>
</section>"""
    if not free:
        body = head + f'<p class="hint">{_e(t("law.page.no_slots", lang))}</p>'
        return _show(request, lang, t("law.page.book", lang), body, status)
    slots = "".join(f'<label><input type="radio" name="slot" value="{_e(s.isoformat())}" '
                    f'required> {s.astimezone(TZ):%H:%M}</label>' for s in free)
    body = head + f"""<form method="post" action="{_url(request, path, lang)}">
<input type="hidden" name="client_key" value="{secrets.token_urlsafe(16)}">
<section><label for="service">{_e(t('law.page.service', lang))}</label>
<select id="service" name="service" required>{services}</select>
<label>{_e(t('law.page.choose_time', lang))} ({day:%Y-%m-%d})</label>
<div class="slots">{slots}</div></section>
<section><label for="name">{_e(t('law.page.name', lang))}</label>
<input type="text" id="name" name="name" maxlength="40" required autocomplete="name"\
{f' value="{_e(v["name"])}"' if v.get('name') else ''}>
<label for="phone">{_e(t('law.page.phone_optional', lang))}</label>
<input type="tel" id="phone" name="phone" maxlength="20" autocomplete="tel">
<label for="note">{_e(t('law.page.note', lang))}</label>
<textarea id="note" name="note" maxlength="500">{_e(v.get('note', ''))}</textarea>
<p class="hint">{_e(t('law.page.numbers_hint', lang))}</p></section>
<button type="submit" class="wide">{_e(t('law.page.submit_book', lang))}</button></form>"""
    return _show(request, lang, t("law.page.book", lang), body, status)


@router.get("/book/{place_code}", response_class=HTMLResponse, name="law_place_page")
def place_page(request: Request, place_code: str,
               engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """A place: its next days, the free slots of the day chosen, the booking form."""
    lang = _lang(request)
    try:
        row = law.place(engine, place_code)
    except NotFound:
        return _missing(request, lang)
    service = request.query_params.get("service", "")
    if service not in row["services"]:
        service = row["services"][0] if row["services"] else ""
    return _slot_page(request, engine, lang, row, service,
                      _day(request.query_params.get("day", "")))


@router.post("/book/{place_code}", response_class=HTMLResponse, name="law_book")
async def book(request: Request, place_code: str,
               engine: Engine = Depends(get_engine)) -> Response:
    """Book the slot chosen; then the booking's page (303). A slot taken first by someone
    else: the place's page again (409)."""
    lang = _lang(request)
    kept: dict[str, str] = {}
    starts_at: dt.datetime | None = None

    def again(message: str, status: int) -> HTMLResponse:
        try:
            row = law.place(engine, place_code)
        except NotFound:
            return _missing(request, lang)
        service = kept.get("service", "")
        day = _day(starts_at.astimezone(TZ).date().isoformat() if starts_at else "")
        return _slot_page(request, engine, lang, row, service, day, message, kept, status)

    form, key, status = await _form(request, "book", MAX_FORM, max_files=0, max_fields=8,
                                    max_part_size=4096)
    if form is None:
        return await run_in_threadpool(again, t(key, lang), status)
    kept = {name: scrub_text(_text(form, name)) or "" for name in ("service", "name", "note")}
    try:
        starts_at = dt.datetime.fromisoformat(_text(form, "slot"))
        if starts_at.tzinfo is None:
            raise ValueError("a slot carries its offset")
    except ValueError:
        starts_at = None
        return await run_in_threadpool(again, t("law.page.err.slot", lang), 400)
    settings = _settings(request)
    when = starts_at

    def take() -> dict:
        return law.book(engine, PiiKey.from_settings(settings), place_code,
                        service=_text(form, "service"), starts_at=when,
                        name=_text(form, "name"), phone=_text(form, "phone") or None,
                        note=_text(form, "note") or None,
                        client_key=_text(form, "client_key")[:64] or None)

    try:
        made = await run_in_threadpool(take)
    except NotFound:
        return _missing(request, lang)
    except law.SlotTaken as exc:
        return await run_in_threadpool(again, _say(exc, lang), 409)
    except law.LawError as exc:
        return await run_in_threadpool(again, _say(exc, lang), 400)
    token = law.token(settings, "booking", made["id"])
    return RedirectResponse(f"{_root(request)}/law/b/{token}?lang={lang}&new=1",
                            status_code=303)


@router.get("/b/{token}", response_class=HTMLResponse, name="law_booking")
def booking_page(request: Request, token: str,
                 engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """A booking as its holder sees it (the name masked), and the way to cancel it."""
    lang = _lang(request)
    try:
        b = law.booking(engine, law.token_id(_settings(request), "booking", token))
    except NotFound:
        return _missing(request, lang)
    msg = request.query_params.get("msg", "")
    notice = {"cancelled": f'<p class="ok">{_e(t("law.page.msg.cancelled", lang))}</p>',
              "cannot": _error(t("law.page.err.cancel", lang))}.get(msg, "")
    if request.query_params.get("new"):
        notice += f'<p class="ok">{_e(t("law.page.booked", lang))}</p>'
    body = f"""{notice}<section>
<p>{_e(t('law.page.code', lang))} <code>{_e(b['code'])}</code></p>
<p><b>{_e(t('law.page.time', lang))}</b>：{_when(b['starts_at'])}</p>
<p><b>{_e(t('law.page.place', lang))}</b>：{_e(b['place'])}
<span class="hint">（{_e(b['opening_hours'])}）</span></p>
<p><b>{_e(t('law.page.service', lang))}</b>：{_e(_service(b['service'], lang))}</p>
<p><b>{_e(t('law.page.name', lang))}</b>：{_e(b['name_masked'])}</p>
<p><b>{_e(t('law.page.now', lang))}</b>：{_e(t('law.page.booking.' + b['status'], lang))}</p>
</section>"""
    if b["status"] == "booked" and b["starts_at"] > wf.now_utc():
        body += f"""<form method="post" action="{_url(request, f'/b/{token}/cancel', lang)}">
<input type="hidden" name="cancel" value="1">
<button type="submit" class="wide alt">{_e(t('law.page.cancel', lang))}</button></form>"""
    return _show(request, lang, t("law.page.booking", lang), body)


@router.post("/b/{token}/cancel", name="law_cancel")
async def cancel(request: Request, token: str, engine: Engine = Depends(get_engine)) -> Response:
    """The holder cancels the booking; back to it with what happened."""
    lang = _lang(request)
    try:
        booking_id = law.token_id(_settings(request), "booking", token)
    except NotFound:
        return _missing(request, lang)
    back = f"{_root(request)}/law/b/{token}?lang={lang}"
    form, key, status = await _form(request, "cancel", MAX_FORM, max_files=0, max_fields=2,
                                    max_part_size=256)
    if form is None:
        return _show(request, lang, t("law.page.booking", lang), _error(t(key, lang)), status)
    try:
        await run_in_threadpool(law.cancel, engine, booking_id)
    except law.LawError:
        return RedirectResponse(f"{back}&msg=cannot", status_code=303)
    return RedirectResponse(f"{back}&msg=cancelled", status_code=303)
