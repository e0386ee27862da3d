"""Sign-in, password change and sign-out as plain HTML forms under ``/api/auth``, and the
principal of every API request.

The session token travels only as an HttpOnly, SameSite=Strict cookie set here (Streamlit
reads it from its websocket handshake through ``st.context.cookies``); it is never in a
URL. The forms carry a double-submit CSRF token; sign-in attempts are limited per client
address, on top of the account lock-out in ``twin.domain.accounts``. The pages load nothing from
anywhere, not even their own host, and forbid framing.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
from collections import deque
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from twin.api.deps import get_engine
from twin.domain.access import ANONYMOUS, CHANNELS, Principal, may, uses
from twin.domain.accounts import (
    COOKIE,
    AccountError,
    SignInRefused,
    change_password,
    session_lifetime,
    sign_in,
    sign_out,
)
from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

router = APIRouter(prefix="/auth", tags=["auth"])
CSRF_COOKIE = "twin_csrf"
ATTEMPTS_PER_MINUTE = 10
# what a field link may read besides its own page: the houses drawn around its events
LINK_READS = re.compile(r"/tiles/buildings/\d+/\d+/\d+\.mvt$")
PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


class Throttle:
    """At most ``limit`` attempts per ``window`` seconds per client address."""

    def __init__(self, limit: int = ATTEMPTS_PER_MINUTE, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 50_000:
                self._seen.clear()
            seen = self._seen.setdefault(client, deque())
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a configured proxy says it forwarded for
    (uvicorn trusts ``X-Forwarded-For`` only from ``TWIN_TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "?"


class Throttled(HTTPException):
    """Too many credential checks from one address: 429 with Retry-After."""

    def __init__(self) -> None:
        super().__init__(429, "too many sign-in attempts from this address: wait a minute",
                         headers={"Retry-After": "60"})


def principal_of(request: Request) -> Principal:
    """Who makes a request: the account of its session cookie, else of its HTTP Basic
    credentials (GIS clients), else the field link it carries (``?link=``: the field page's
    own map tiles), else ANONYMOUS. Basic credentials not checked recently count against
    the address's sign-in throttle, like the sign-in form (Throttled when over)."""
    state = request.app.state
    found = state.sessions.get(request.cookies.get(COOKIE))
    header = request.headers.get("authorization", "")
    if found is None and header[:6].lower() == "basic ":
        if state.basic.peek(header) is state.basic.MISS and \
                not state.throttle.allow(client_address(request)):
            raise Throttled()
        found = state.basic.get(header, client_address(request))
    if found is None and "link" in request.query_params and LINK_READS.search(
            request.url.path):  # a link reads its page's house tiles: its scope never widens
        found = state.links.get(request.query_params["link"])
    return found or ANONYMOUS


async def current_principal(request: Request) -> Principal:
    """The principal of a request. A session the cache knows is answered on the event loop
    (a map asks for dozens of tiles a second); only a miss goes to the database, in the
    thread pool."""
    known = request.app.state.sessions.peek(request.cookies.get(COOKIE))
    if known is not None and known is not request.app.state.sessions.MISS:
        return known
    return await run_in_threadpool(principal_of, request)


def require_channel(channel: str):
    """A dependency giving the principal if its role may use ``channel`` (twin.domain.access
    ``USES``): 401 for nobody, 403 for a role that may not."""
    async def check(request: Request) -> Principal:
        principal = await current_principal(request)
        if not uses(principal, channel):
            if not principal.signed_in:
                raise HTTPException(401, "sign in first (/api/auth/login), or send HTTP "
                                    "Basic credentials", headers={
                                        "WWW-Authenticate": 'Basic realm="Village Twin"'})
            raise HTTPException(403, f"this role may not read {channel}")
        return principal
    check.__name__ = f"require_{channel}"
    return check


# one dependency per channel: FastAPI runs each once per request however often it is named
READERS = {channel: require_channel(channel) for channel in CHANNELS}


def require(action: str):
    """A dependency refusing principals whose role does not allow ``action``."""
    async def check(request: Request) -> Principal:
        principal = await current_principal(request)
        if not may(principal, action):
            raise HTTPException(401 if not principal.signed_in else 403,
                                f"this role may not {action}")
        return principal
    return check


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def safe_next(target: str | None) -> str:
    """Only a path of this site: no scheme, no host, no protocol-relative ``//``."""
    target = target or "/"
    if not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _root(request: Request) -> str:
    """Where the API is mounted (``/api`` in the product)."""
    return request.scope.get("root_path", "").rstrip("/")


def _secure(request: Request) -> bool:
    """HTTPS to the browser: the scheme as served, or as a trusted proxy forwarded it (uvicorn
    applies ``X-Forwarded-Proto`` only from ``TWIN_TRUSTED_PROXIES``)."""
    return request.url.scheme == "https"


def _page(request: Request, title: str, fields: list[tuple[str, str, str]], action: str,
          message: str | None, next_url: str, status: int = 200) -> HTMLResponse:
    lang = _lang(request)
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    inputs = "".join(
        f'<label>{html.escape(label)}<input name="{name}" type="{kind}" required '
        f'autocomplete="{"username" if kind == "text" else "current-password"}"></label>'
        for name, kind, label in fields)
    error = f'<p class="err" role="alert">{html.escape(message)}</p>' if message else ""
    resident = (f'<p><a href="{_root(request)}/report?lang={lang}">'
                f'{html.escape(t("auth.resident", lang))}</a></p>'
                if action == "/auth/login" else "")
    body = f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)} · {html.escape(t('app.title', lang))}</title><style>
body{{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,sans-serif;
background:#0e1117;color:#fafafa;display:flex;justify-content:center;padding-top:12vh;margin:0}}
form{{background:#1b1f2a;padding:2em;border-radius:8px;width:min(22em,90vw)}}
label{{display:block;margin:.8em 0}}input{{display:block;width:100%;box-sizing:border-box;
padding:.6em;margin-top:.3em;border-radius:4px;border:1px solid #444;background:#0e1117;
color:#fafafa;font-size:1em}}button{{width:100%;padding:.7em;margin-top:1em;border:0;
border-radius:4px;background:#ff4b4b;color:#fff;font-size:1em}}.err{{color:#ff8080}}
small{{color:#aaa}}a{{color:#8ab4ff}}</style></head><body>
<form method="post" action="{_root(request)}{action}?lang={lang}">
<h2>{html.escape(t('app.title', lang))} · {html.escape(title)}</h2>{error}
<input type="hidden" name="csrf" value="{token}">
<input type="hidden" name="next" value="{html.escape(next_url)}">{inputs}
<button type="submit">{html.escape(title)}</button>
<p><small>{html.escape(t('auth.notice', lang))}</small></p>{resident}</form></body></html>"""
    response = HTMLResponse(body, status_code=status,
                            headers={"Content-Security-Policy": PAGE_CSP,
                                     "X-Frame-Options": "DENY", "Cache-Control": "no-store"})
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), path=f"{_root(request)}/auth")
    return response


def _csrf_ok(request: Request, form) -> bool:
    sent, kept = form.get("csrf") or "", request.cookies.get(CSRF_COOKIE) or ""
    return bool(kept) and secrets.compare_digest(str(sent), kept)


def _login_fields(lang: str) -> list[tuple[str, str, str]]:
    return [("username", "text", t("auth.username", lang)),
            ("password", "password", t("auth.password", lang))]


@router.get("/login", response_class=HTMLResponse, name="login_page")
async def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
    lang = _lang(request)
    return _page(request, t("auth.sign_in", lang), _login_fields(lang), "/auth/login",
                 None, safe_next(next))


@router.post("/login", name="login", response_class=HTMLResponse)
async def login(request: Request, engine=Depends(get_engine)) -> Response:
    lang = _lang(request)
    form = await request.form()
    next_url = safe_next(str(form.get("next") or "/"))

    def again(key: str, status: int) -> HTMLResponse:
        return _page(request, t("auth.sign_in", lang), _login_fields(lang), "/auth/login",
                     t(key, lang), next_url, status)

    if not _csrf_ok(request, form):
        return again("auth.expired", 400)
    if any("\x00" in str(v) for v in form.values()):
        return again("auth.bad_characters", 400)
    client = client_address(request)
    if not request.app.state.throttle.allow(client):
        return again("auth.refused", 429)  # one answer for every refusal
    try:
        token, account = await run_in_threadpool(
            sign_in, engine, str(form.get("username") or ""), str(form.get("password") or ""),
            address=client)
    except SignInRefused:
        return again("auth.refused", 401)
    target = (f"{_root(request)}/auth/password?lang={lang}&next={quote(next_url)}"
              if account.must_change else next_url)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=_secure(request),
                        max_age=int(session_lifetime(account.role).total_seconds()))
    return response


def _password_fields(lang: str) -> list[tuple[str, str, str]]:
    return [("old", "password", t("auth.old_password", lang)),
            ("new", "password", t("auth.new_password", lang)),
            ("repeat", "password", t("auth.repeat_password", lang))]


@router.get("/password", response_class=HTMLResponse, name="password_page")
async def password_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
    lang = _lang(request)
    return _page(request, t("auth.change_title", lang), _password_fields(lang),
                 "/auth/password", t("auth.change_hint", lang), safe_next(next))


@router.post("/password", response_class=HTMLResponse, name="change_password")
async def password(request: Request, engine=Depends(get_engine)) -> Response:
    lang = _lang(request)
    form = await request.form()
    next_url = safe_next(str(form.get("next") or "/"))

    def again(message: str, status: int) -> HTMLResponse:
        return _page(request, t("auth.change_title", lang), _password_fields(lang),
                     "/auth/password", message, next_url, status)

    if not _csrf_ok(request, form):
        return again(t("auth.expired", lang), 400)
    if any("\x00" in str(v) for v in form.values()):
        return again(t("auth.bad_characters", lang), 400)
    if not request.app.state.throttle.allow(client_address(request)):
        return again(t("auth.refused", lang), 429)
    if form.get("new") != form.get("repeat"):
        return again(t("auth.mismatch", lang), 400)
    token = request.cookies.get(COOKIE)
    try:
        await run_in_threadpool(change_password, engine, token or "", str(form.get("old") or ""),
                                str(form.get("new") or ""))
    except AccountError as exc:
        return again(f"{t('auth.change_failed', lang)}: {exc}", 400)
    request.app.state.sessions.forget(token)
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout", name="logout_post", include_in_schema=False)
@router.get("/logout", name="logout")
async def logout(request: Request, engine=Depends(get_engine)) -> Response:
    token = request.cookies.get(COOKIE)
    await run_in_threadpool(sign_out, engine, token)
    request.app.state.sessions.forget(token)
    response = RedirectResponse(f"{_root(request)}/auth/login?lang={_lang(request)}",
                                status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/me", name="me")
async def me(request: Request) -> JSONResponse:
    """Who the session belongs to (for the UI and for tests); 401 when nobody."""
    principal = await run_in_threadpool(principal_of, request)
    if not principal.signed_in:
        return JSONResponse({"status": 401, "detail": "not signed in"}, status_code=401)
    return JSONResponse({"user": principal.name, "role": principal.role,
                         "scope": list(principal.scope)},
                        headers={"Cache-Control": "no-store"})

