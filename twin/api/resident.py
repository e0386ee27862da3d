"""The residents' pages under ``/api/report``: a phone page to report a problem without an
account, and the reporter's status page (``/api/report/s/<token>``) to follow it, rate it
and reopen it. Plain HTML forms that work without script; one small script of this site
(``report.js``) adds the phone's position and a map to tap. Submissions are limited per
client address, bounded in size, idempotent (the form's own key), and go through
``twin.domain.residents`` (an event of source ``resident``, seen in Open311 like any
other). Nothing is loaded from any other host.
"""

from __future__ import annotations

import datetime as dt
import html
import secrets
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from twin.api.auth import Throttle, client_address
from twin.api.deps import get_engine
from twin.domain import residents
from twin.domain import workflow as wf
from twin.domain.residents import MAX_PHOTOS, MAX_TEXT, ReportError
from twin.errors import NotFound
from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

router = APIRouter(prefix="/report", tags=["residents"])
SCRIPT = Path(__file__).with_name("resident.js")
# the whole body of a report: three photos of 8 MB and the words
MAX_BODY = MAX_PHOTOS * (8 << 20) + (256 << 10)
REPORTS_PER_10_MIN = 5
# connect-src: the leader's page (twin.api.leader) sends the visits kept on the phone
CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
       "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
TZ = dt.timezone(dt.timedelta(hours=8))  # what residents read: Beijing time
STYLE = """body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,
sans-serif;margin:0;background:#f4f5f7;color:#1d2129;font-size:17px;line-height:1.5}
main{max-width:34em;margin:0 auto;padding:1em}h1{font-size:1.4em;margin:.3em 0}
section{background:#fff;border-radius:10px;padding:1em;margin:.8em 0}
label{display:block;font-weight:600;margin:.6em 0 .3em}
select,textarea,input[type=text]{width:100%;box-sizing:border-box;font-size:1em;padding:.6em;
border:1px solid #c9cdd4;border-radius:6px;background:#fff}textarea{min-height:6em}
button{font-size:1em;padding:.7em 1.2em;border:0;border-radius:6px;background:#1664ff;
color:#fff}button.alt{background:#e8f0ff;color:#1664ff}.wide{width:100%;margin-top:.8em}
.hint{color:#6b7280;font-size:.9em}.err{background:#ffece8;color:#cb2634;padding:.8em;
border-radius:6px}.ok{background:#e8ffea;color:#00a03e;padding:.8em;border-radius:6px}
svg{width:100%;height:auto;background:#eef3ea;border-radius:6px;touch-action:manipulation}
svg path{fill:#dfe9d5;stroke:#7a8f6a;stroke-width:1;vector-effect:non-scaling-stroke}svg path.on{fill:#bcd7ff}
ol{padding-left:1.2em}li{margin:.3em 0}.when{color:#6b7280;font-size:.9em}
.stars label{display:inline-block;font-weight:400;margin-right:.8em}
code{font-size:1.1em;background:#f2f3f5;padding:.1em .4em;border-radius:4px}"""


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _page(lang: str, title: str, body: str, status: int = 200, script: str = "",
          style: str = "") -> HTMLResponse:
    page = f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)} · {html.escape(t('app.title', lang))}</title>
<style>{STYLE}{style}</style></head><body><main>{body}</main>{script}</body></html>"""
    return HTMLResponse(page, status_code=status, headers={
        "Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})


def _e(text: object) -> str:
    return html.escape(str(text))


@lru_cache(maxsize=4)
def _map(engine: Engine, _minute: int) -> tuple[str, str]:
    """The villages as one SVG (x = lon, y = −lat) and as the options of a select; kept a
    minute (a county's villages are ~180 simplified outlines, ~100 KB)."""
    villages = residents.places(engine)
    if not villages:
        return "", ""
    paths = "".join(f'<path data-code="{_e(v["code"])}" data-name="{_e(v["name"])}" '
                    f'd="{v["svg"]}"><title>{_e(v["town"] or "")} {_e(v["name"])}</title>'
                    f"</path>" for v in villages)
    options = "".join(f'<option value="{_e(v["code"])}">{_e(v["town"] or "")} · '
                      f'{_e(v["name"])}</option>' for v in villages)
    return paths, options


def _report_form(request: Request, engine: Engine, lang: str, message: str = "",
                 category: str = "", text: str = "") -> str:
    paths, options = _map(engine, int(dt.datetime.now().timestamp() // 60))
    cats = "".join(f'<option value="{_e(c.code)}"{" selected" if c.code == category else ""}>'
                   f'{_e(c.name_zh if lang == "zh" else c.name_en)}</option>'
                   for c in residents.categories(engine))
    error = f'<p class="err" role="alert">{_e(message)}</p>' if message else ""
    photos = "".join('<input type="file" name="photo" accept="image/jpeg,image/png,'
                     'image/webp">' for _ in range(MAX_PHOTOS))
    return f"""<h1>{_e(t('resident.title', lang))}</h1>
<p class="hint">{_e(t('resident.intro', lang))}</p>{error}
<form method="post" enctype="multipart/form-data" action="{_root(request)}/report?lang={lang}">
<input type="hidden" name="client_key" value="{secrets.token_urlsafe(16)}">
<section><label for="category">{_e(t('resident.category', lang))}</label>
<select id="category" name="category" required>{cats}</select>
<label for="text">{_e(t('resident.text', lang))}</label>
<textarea id="text" name="text" maxlength="{MAX_TEXT}" required>{_e(text)}</textarea>
<p class="hint">{_e(t('resident.text_hint', lang))}</p></section>
<section><label>{_e(t('resident.place', lang))}</label>
<button type="button" class="alt" id="locate" hidden
 data-fail="{_e(t('resident.no_gps', lang))}">{_e(t('resident.locate', lang))}</button>
<p class="hint" id="tap" hidden>{_e(t('resident.tap', lang))}</p>
<svg id="map" hidden xmlns="http://www.w3.org/2000/svg">{paths}</svg>
<button type="button" class="alt" id="whole" hidden>{_e(t('resident.whole', lang))}</button>
<p class="ok" id="chosen" hidden data-label="{_e(t('resident.chosen', lang))}"></p>
<input type="hidden" name="lon" id="lon"><input type="hidden" name="lat" id="lat">
<label for="village">{_e(t('resident.village', lang))}</label>
<select id="village" name="village"><option value="">{_e(t('resident.none', lang))}</option>
{options}</select></section>
<section><label>{_e(t('resident.photos', lang))}</label>{photos}</section>
<button type="submit" class="wide">{_e(t('resident.submit', lang))}</button></form>"""


@router.get("", response_class=HTMLResponse, name="resident_report_page")
def report_page(request: Request, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """The report form."""
    lang = _lang(request)
    return _page(lang, t("resident.title", lang), _report_form(request, engine, lang),
                 script=f'<script src="{_root(request)}/report/report.js"></script>')


@router.get("/report.js", name="resident_script")
def script() -> FileResponse:
    return FileResponse(SCRIPT, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})


def _throttle(request: Request) -> Throttle:
    state = request.app.state
    if getattr(state, "report_throttle", None) is None:
        state.report_throttle = Throttle(limit=REPORTS_PER_10_MIN, window=600)
    return state.report_throttle


@router.post("", response_class=HTMLResponse, name="resident_report")
async def report(request: Request, engine: Engine = Depends(get_engine)) -> Response:
    """File the report; then the reporter's status page (303)."""
    lang = _lang(request)

    def again(key: str, status: int, **values) -> HTMLResponse:
        body = _report_form(request, engine, lang, t(key, lang).format(**values),
                            str(form.get("category") or "") if form else "",
                            str(form.get("text") or "") if form else "")
        return _page(lang, t("resident.title", lang), body, status,
                     script=f'<script src="{_root(request)}/report/report.js"></script>')

    form = None
    size = request.headers.get("content-length", "")
    if not size.isdigit() or int(size) > MAX_BODY:
        return await run_in_threadpool(again, "resident.err.big", 413)
    if not _throttle(request).allow(client_address(request)):
        return await run_in_threadpool(again, "resident.busy", 429)
    form = await request.form(max_files=MAX_PHOTOS, max_fields=12,
                              max_part_size=16 * MAX_TEXT)
    if any("\x00" in str(v) for v in form.values() if isinstance(v, str)):
        return await run_in_threadpool(again, "resident.err.where", 400)
    photos = [await f.read() for f in form.getlist("photo")
              if hasattr(f, "read") and f.filename]

    def coordinate(name: str) -> float | None:
        try:
            return float(form.get(name) or "")
        except ValueError:
            return None

    try:
        event, token = await run_in_threadpool(
            residents.report, engine, request.app.state.settings,
            category=str(form.get("category") or ""), text=str(form.get("text") or ""),
            lon=coordinate("lon"), lat=coordinate("lat"),
            village=str(form.get("village") or "") or None, photos=photos,
            client_key=str(form.get("client_key") or "")[:64] or None)
    except ReportError as exc:
        return await run_in_threadpool(again, exc.key, 400, **exc.values)
    return RedirectResponse(f"{_root(request)}/report/s/{token}?lang={lang}&new=1",
                            status_code=303)


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if at else ""


@router.get("/s/{token}", response_class=HTMLResponse, name="resident_status")
def status_page(request: Request, token: str,
                engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """What happened to the report and when, in plain words; rate and reopen it."""
    lang = _lang(request)
    try:
        s = residents.status(engine, residents.event_of(request.app.state.settings, token))
    except NotFound:
        return _page(lang, t("resident.progress", lang),
                     f'<p class="err">{_e(t("resident.not_found", lang))}</p>', 404)
    here = f"{_root(request)}/report/s/{token}"
    notice = ""
    if request.query_params.get("new"):
        notice = f'<p class="ok">{_e(t("resident.thanks", lang))}</p>'
    msg = request.query_params.get("msg", "")
    if msg in ("rated", "reopened", "stale"):
        notice += f'<p class="{"err" if msg == "stale" else "ok"}">' \
                  f'{_e(t("resident.msg." + msg, lang))}</p>'
    elif msg.startswith("resident.err.") and msg in _ERRORS:
        notice += f'<p class="err">{_e(t(msg, lang).format(days=residents.REOPEN_DAYS))}</p>'
    steps = "".join(f'<li>{_e(t("resident.step." + step, lang))} '
                    f'<span class="when">{_when(at)}</span></li>' for at, step in s.steps)
    reason = (f'<p><b>{_e(t("resident.reason", lang))}</b>：{_e(s.reason)}</p>'
              if s.status == "rejected" and s.reason else "")
    body = f"""<h1>{_e(t('resident.progress', lang))}</h1>{notice}
<section><p>{_e(t('resident.code', lang))} <code>{_e(s.code)}</code> ·
{_e(s.category if lang == 'zh' else s.category_en)} · {_e(s.place)}</p>
<p class="hint">{_e(s.text)}</p>
<p><b>{_e(t('resident.now', lang))}</b>：{_e(t('resident.step.' + s.status, lang))}</p>
{reason}<ol>{steps}</ol></section>"""
    if s.may_rate():
        rated = (f'<p>{_e(t("resident.rated", lang).format(n=s.satisfaction))}</p>'
                 if s.satisfaction else "")
        stars = "".join(f'<label><input type="radio" name="score" value="{n}" required'
                        f'{" checked" if s.satisfaction == n else ""}> '
                        f'{_e(t("resident.stars", lang).format(n=n))}</label>'
                        for n in range(5, 0, -1))
        body += f"""<section><form method="post" action="{here}/rate?lang={lang}">
<label>{_e(t('resident.rate', lang))}</label>{rated}<div class="stars">{stars}</div>
<input type="hidden" name="version" value="{s.version}">
<button type="submit" class="wide">{_e(t('resident.rate_submit', lang))}</button></form>
</section>"""
    until = s.reopen_until()
    if until is not None and dt.datetime.now(dt.UTC) <= until:
        body += f"""<section><form method="post" action="{here}/reopen?lang={lang}">
<label for="reason">{_e(t('resident.reopen', lang))}</label>
<p class="hint">{_e(t('resident.reopen_until', lang).format(until=_when(until)))}</p>
<textarea id="reason" name="reason" maxlength="{MAX_TEXT}" required
 placeholder="{_e(t('resident.reopen_reason', lang))}"></textarea>
<input type="hidden" name="version" value="{s.version}">
<button type="submit" class="wide alt">{_e(t('resident.reopen_submit', lang))}</button>
</form></section>"""
    return _page(lang, t("resident.progress", lang), body)


_ERRORS = ("resident.err.reason", "resident.err.not_resolved", "resident.err.too_late")


async def _follow_up(request: Request, token: str, engine: Engine, move: str) -> Response:
    """A rating or a reopening from the status page; back to it with what happened."""
    lang = _lang(request)
    settings = request.app.state.settings
    back = f"{_root(request)}/report/s/{token}?lang={lang}"
    try:
        event_id = residents.event_of(settings, token)
    except NotFound:
        return RedirectResponse(back, status_code=303)
    if not _throttle(request).allow(client_address(request)):
        return _page(lang, t("resident.progress", lang),
                     f'<p class="err">{_e(t("resident.busy", lang))}</p>', 429)
    form = await request.form(max_files=0, max_fields=4, max_part_size=16 * MAX_TEXT)
    try:
        version = int(str(form.get("version") or ""))
        if move == "rate":
            await run_in_threadpool(residents.rate, engine, event_id,
                                    int(str(form.get("score") or "")), version)
        else:
            await run_in_threadpool(residents.reopen, engine, event_id,
                                    str(form.get("reason") or "").replace("\x00", ""), version)
    except wf.StaleVersion:
        return RedirectResponse(f"{back}&msg=stale", status_code=303)
    except ReportError as exc:
        return RedirectResponse(f"{back}&msg={exc.key}", status_code=303)
    except (ValueError, wf.WorkflowError):
        return RedirectResponse(f"{back}&msg=stale", status_code=303)
    return RedirectResponse(f"{back}&msg={'rated' if move == 'rate' else 'reopened'}",
                            status_code=303)


@router.post("/s/{token}/rate", name="resident_rate")
async def rate(request: Request, token: str, engine: Engine = Depends(get_engine)) -> Response:
    return await _follow_up(request, token, engine, "rate")


@router.post("/s/{token}/reopen", name="resident_reopen")
async def reopen(request: Request, token: str,
                 engine: Engine = Depends(get_engine)) -> Response:
    return await _follow_up(request, token, engine, "reopen")
