"""The micro-grid leader's phone page (``/api/leader/<token>``): "四个一" in the hand — the
leader's households on a small map of the micro-grid (visited in the last 30 days or
not), the WeChat group's record, and the visit form of the 民情笔记.

A leader has no account: an official sends a signed link (``twin.domain.links``, scope
``leader``) that opens this page and nothing else. Plain HTML that works without script;
``leader.js`` of this site lets a dot on the map choose the household, and keeps a visit
that could not be sent (no network in the fields) on the phone until the network takes it.
Visits are idempotent by the form's own key, so a visit sent twice is written once. The page
shows addresses, never a resident's name.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from twin.api.auth import Throttle, client_address
from twin.api.deps import get_engine
from twin.api.resident import _e, _lang, _page, _root
from twin.domain import links, party, residents
from twin.domain.links import LinkError
from twin.errors import NotFound
from twin.i18n import t

router = APIRouter(prefix="/leader", tags=["party"])
SCRIPT = Path(__file__).with_name("leader.js")
VISITS_PER_10_MIN = 60
NOTEBOOK_ROWS = 60  # the notebook lists the households longest unvisited first
# dots by when the household was last visited: within 30 days, within 90, longer or never
RECENCY = (("recent", 30, "#00a03e"), ("due", 90, "#ff9a2e"), ("overdue", None, "#cb2634"))
STYLE = """.dot{stroke:#fff;stroke-width:1.5;vector-effect:non-scaling-stroke;cursor:pointer}
.dot.on{stroke:#1664ff;stroke-width:4}.legend span{display:inline-block;margin-right:1em}
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em}
table{width:100%;border-collapse:collapse;font-size:.92em}td{padding:.35em .2em;
border-bottom:1px solid #eef0f3}.kinds label{display:inline-block;font-weight:400;
margin-right:1em}.queued{background:#fff7e8;color:#d25f00;padding:.8em;border-radius:6px}"""


def _recency(days: int | None) -> tuple[str, str]:
    for name, limit, color in RECENCY:
        if limit is None or (days is not None and days < limit):
            return name, color
    raise AssertionError("unreachable")


def _leader(request: Request, engine: Engine, token: str) -> int:
    link = links.verify(engine, request.app.state.settings, token, scopes=("leader",))
    return link.scope_id


def _map(page: party.LeaderPage) -> str:
    """The micro-grid and its households as one SVG (x = lon, y = −lat)."""
    if not page.households:
        return ""
    lons = [h["lon"] for h in page.households]
    lats = [-h["lat"] for h in page.households]
    pad = 0.0006
    x0, y0 = min(lons) - pad, min(lats) - pad
    w, h = max(lons) - x0 + pad, max(lats) - y0 + pad
    r = max(w, h) / 80
    dots = "".join(
        f'<circle class="dot" data-id="{home["id"]}" cx="{home["lon"]:.6f}" '
        f'cy="{-home["lat"]:.6f}" r="{r:.6f}" fill="{_recency(home["days"])[1]}">'
        f'<title>{_e(home["address"] or home["code"])}</title></circle>'
        for home in page.households)
    return (f'<svg id="homes" viewBox="{x0:.6f} {y0:.6f} {w:.6f} {h:.6f}" '
            f'xmlns="http://www.w3.org/2000/svg"><path d="{page.outline}"/>{dots}</svg>')


def _body(request: Request, engine: Engine, token: str, page: party.LeaderPage, lang: str,
          notice: str = "") -> str:
    here = f"{_root(request)}/leader/{token}"
    homes = sorted(page.households, key=lambda h: (-(h["days"] if h["days"] is not None
                                                     else 10_000), h["code"]))
    options = "".join(
        f'<option value="{h["id"]}">{_e(h["address"] or h["code"])} · '
        f'{_e(_ago(h["days"], lang))}</option>' for h in homes)
    kinds = "".join(
        f'<label><input type="radio" name="kind" value="{k}" required'
        f'{" checked" if k == "patrol" else ""}> {_e(t("visit.kind." + k, lang))}</label>'
        for k in party.VISIT_KINDS)
    cats = "".join(f'<option value="{_e(c.code)}">{_e(c.name_zh if lang == "zh" else c.name_en)}'
                   f'</option>' for c in residents.categories(engine))
    legend = "".join(f'<span><i style="background:{color}"></i>'
                     f'{_e(t("visit.recency." + name, lang))}</span>'
                     for name, _, color in RECENCY)
    rows = "".join(f'<tr><td>{_e(h["address"] or h["code"])}</td>'
                   f'<td style="color:{_recency(h["days"])[1]}">{_e(_ago(h["days"], lang))}'
                   f'</td></tr>' for h in homes[:NOTEBOOK_ROWS])
    if len(homes) > NOTEBOOK_ROWS:  # a block of flats: the longest unvisited, and how many more
        rows += (f'<tr><td colspan="2" class="hint">'
                 f'{_e(t("leader.more", lang).format(n=len(homes) - NOTEBOOK_ROWS))}</td></tr>')
    group = ""
    if page.wechat_group:
        group = (f'<p>{_e(t("leader.wechat", lang))}：{_e(page.wechat_group)} · '
                 f'{_e(t("leader.members", lang).format(n=page.wechat_members or 0))}</p>')
    return f"""<h1>{_e(t('leader.title', lang))}</h1>
<p class="hint">{_e(page.village)} · {_e(page.microgrid)} ·
{_e(t('leader.term_end', lang))} {page.term_end:%Y-%m-%d}</p>{notice}
<section><p><b>{page.visited_30d}</b> / {len(page.households)}
{_e(t('leader.visited_30d', lang))}</p>{group}
<div class="legend hint">{legend}</div>{_map(page)}</section>
<form method="post" action="{here}/visit?lang={lang}" id="visit"
 data-queued="{_e(t('leader.queued', lang))}" data-sent="{_e(t('leader.sent_later', lang))}">
<input type="hidden" name="client_key" value="{secrets.token_urlsafe(16)}">
<section><label for="household">{_e(t('leader.household', lang))}</label>
<select id="household" name="household" required>{options}</select>
<label>{_e(t('leader.kind', lang))}</label><div class="kinds">{kinds}</div>
<label for="heard">{_e(t('leader.heard', lang))}</label>
<textarea id="heard" name="heard" maxlength="{party.MAX_HEARD}"
 placeholder="{_e(t('leader.heard_hint', lang))}"></textarea>
<label><input type="checkbox" name="needs_handling" value="1">
{_e(t('leader.needs_handling', lang))}</label>
<select name="category" aria-label="{_e(t('resident.category', lang))}">{cats}</select>
<p class="hint">{_e(t('resident.text_hint', lang))}</p>
<button type="submit" class="wide">{_e(t('leader.submit', lang))}</button></section></form>
<section><label>{_e(t('leader.notebook', lang))}</label><table>{rows}</table></section>"""


def _ago(days: int | None, lang: str) -> str:
    if days is None:
        return t("visit.never", lang)
    return t("visit.days_ago", lang).format(n=days)


def _refused(lang: str, message: str, status: int) -> HTMLResponse:
    return _page(lang, t("leader.title", lang), f'<p class="err">{_e(message)}</p>', status)


def _show(request: Request, engine: Engine, token: str, lang: str, notice: str = "",
          status: int = 200) -> HTMLResponse:
    try:
        page = party.leader_page(engine, _leader(request, engine, token))
    except (LinkError, NotFound):
        return _refused(lang, t("leader.bad_link", lang), 404)
    body = _body(request, engine, token, page, lang, notice)
    return _page(lang, t("leader.title", lang), body, status, style=STYLE,
                 script=f'<script src="{_root(request)}/leader/leader.js"></script>')


@router.get("/leader.js", name="leader_script")
def script() -> FileResponse:
    return FileResponse(SCRIPT, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/{token}", response_class=HTMLResponse, name="leader_page")
def leader_page(request: Request, token: str, engine: Engine = Depends(get_engine)
                ) -> HTMLResponse:
    """The leader's households, their visits and the visit form."""
    lang = _lang(request)
    msg = request.query_params.get("msg", "")
    notice = ""
    if msg in ("saved", "event"):
        notice = f'<p class="ok" role="status">{_e(t("leader.msg." + msg, lang))}</p>'
        code = request.query_params.get("code", "")
        if msg == "event" and code.replace("-", "").isalnum():
            notice = notice.replace("</p>", f" <code>{_e(code)}</code></p>")
    elif msg.startswith("err."):
        notice = f'<p class="err" role="alert">{_e(t("leader." + msg, lang))}</p>' \
            if f"leader.{msg}" in _ERRORS else ""
    return _show(request, engine, token, lang, notice)


_ERRORS = ("leader.err.visit", "leader.err.heard")


def _throttle(request: Request) -> Throttle:
    state = request.app.state
    if getattr(state, "visit_throttle", None) is None:
        state.visit_throttle = Throttle(limit=VISITS_PER_10_MIN, window=600)
    return state.visit_throttle


@router.post("/{token}/visit", name="leader_visit")
async def visit(request: Request, token: str, engine: Engine = Depends(get_engine)) -> Response:
    """Record a visit (and, when it needs handling, its event); back to the page (303)."""
    lang = _lang(request)
    back = f"{_root(request)}/leader/{token}?lang={lang}"
    try:
        leader_id = await run_in_threadpool(_leader, request, engine, token)
    except LinkError:
        return _refused(lang, t("leader.bad_link", lang), 404)
    if not _throttle(request).allow(client_address(request)):
        return _refused(lang, t("resident.busy", lang), 429)
    form = await request.form(max_files=0, max_fields=8, max_part_size=8 * party.MAX_HEARD)
    text = {k: str(v).replace("\x00", "") for k, v in form.items() if isinstance(v, str)}
    try:
        household = int(text.get("household", ""))
    except ValueError:
        return RedirectResponse(f"{back}&msg=err.visit", status_code=303)
    finding = text.get("category") if text.get("needs_handling") else None
    try:
        _, event = await run_in_threadpool(
            party.record_visit, engine, household_id=household, leader_id=leader_id,
            visitor=f"leader:{leader_id}", kind=text.get("kind", ""),
            heard=text.get("heard"), finding=finding,
            client_key=f"leader:{text['client_key'][:64]}" if text.get("client_key") else None)
    except party.VisitError as exc:
        key = "err.heard" if "needs the words" in str(exc) else "err.visit"
        return RedirectResponse(f"{back}&msg={key}", status_code=303)
    except NotFound:
        return RedirectResponse(f"{back}&msg=err.visit", status_code=303)
    if event is not None:
        return RedirectResponse(f"{back}&msg=event&code={event.code}", status_code=303)
    return RedirectResponse(f"{back}&msg=saved", status_code=303)

