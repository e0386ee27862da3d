"""What every page of the product shares: the settings and engines (cached once per
process), who is signed in, the language, and small ways of showing things."""

from __future__ import annotations

import html
import io
from urllib.parse import urlencode, urlsplit

import segno
import streamlit as st

from twin.config import Settings
from twin.domain.access import ANONYMOUS, Principal
from twin.domain.accounts import COOKIE, session_account
from twin.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from twin.store.db import make_read_engine, open_twin


@st.cache_resource
def settings() -> Settings:
    return Settings()


@st.cache_resource
def engine():
    """The primary: writes, sessions, and everything personal."""
    return open_twin(settings())


@st.cache_resource
def read_engine():
    """Reads that may lag a little (the map, roll-ups, charts, the big screen): the replica
    when ``TWIN_DATABASE_READ_URL`` is set, else the primary."""
    return make_read_engine(settings()) or engine()


def principal() -> Principal:
    """Who is looking: the account of this session, found once per run by ``main``."""
    return st.session_state.get("_principal", ANONYMOUS)


def signed_in(lang: str):
    """The account of the browser's session cookie (set by /api/auth/login), or None after
    showing the way to sign in."""
    # the cookie set by /api/auth/login; server-side session state only in AppTest (no
    # browser, no cookies): nothing a client sends can write it
    cookie = st.context.cookies.get(COOKIE)
    token = cookie if isinstance(cookie, str) and cookie else st.session_state.get(
        "_session_token")
    account = session_account(engine(), token)
    st.session_state["_principal"] = account.principal() if account else ANONYMOUS
    if account is not None and not account.must_change:
        return account
    query = urlencode({k: st.query_params.get(k) for k in st.query_params})
    target = (urlsplit(st.context.url or "/").path or "/") + (f"?{query}" if query else "")
    st.title(t("app.title", lang))
    st.caption(t("auth.notice", lang))
    page = "password" if account is not None else "login"
    label = t("auth.change_title" if account is not None else "auth.sign_in", lang)
    href = html.escape(f"/api/auth/{page}?{urlencode({'lang': lang, 'next': target})}")
    st.markdown(f'<a href="{href}" target="_self" class="twin-sign-in" style="font-size:1.3em">'
                f"{html.escape(label)} →</a>", unsafe_allow_html=True)
    return None


def account_box(account, lang: str) -> None:
    """Who is signed in, and the way out."""
    st.caption(f"{t('auth.signed_in_as', lang)}：{account.display_name} · "
               f"{t('role.' + account.role, lang)}")
    st.markdown(f'<a href="/api/auth/logout?lang={lang}" target="_self">'
                f"{html.escape(t('auth.sign_out', lang))}</a>", unsafe_allow_html=True)


def language() -> str:
    lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def go_to(code: str | None) -> None:
    """Drill to a unit (None = the county): the unit goes into the URL, the camera follows."""
    if code:
        st.query_params["unit"] = code
    else:
        st.query_params.pop("unit", None)
    for key in ("lon", "lat", "zoom", "pitch", "bearing", "building"):
        st.query_params.pop(key, None)


def count_text(value: int | None, lang: str) -> str:
    """A count as shown: with thousands separators, "fewer than 5" when it was suppressed."""
    return t("count.few", lang) if value is None else f"{value:,}"


def plain(text: str | None) -> str:
    """What a person typed, made inert for a Markdown element (a heading): every Markdown
    and HTML sign escaped, so a link or an image in it is shown, never followed or fetched."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", text or "")


def share_bars(values: dict[str, float]) -> str:
    """Shares as plain HTML bars (label, bar, percent): readable at a glance, no chart script."""
    total = sum(values.values()) or 1
    rows = []
    for label, value in sorted(values.items(), key=lambda kv: -kv[1]):
        pct = 100 * value / total
        rows.append(
            "<div style='display:flex;align-items:center;gap:.4rem;font-size:.85rem'>"
            f"<span style='flex:0 0 4.5em'>{html.escape(label)}</span>"
            "<span style='flex:1;background:#e8eef5;border-radius:3px'>"
            f"<span style='display:block;width:{pct:.1f}%;height:.7rem;background:#3b7dd8;"
            "border-radius:3px'></span></span>"
            f"<span style='flex:0 0 3em;text-align:right'>{pct:.0f}%</span></div>")
    return "".join(rows)


def once_key(form: str) -> str:
    """A key for one submission of a form: the same until the submission is written
    (``once_done``), so a submission the phone sends again is written once."""
    import secrets

    key = f"once-{form}"
    if key not in st.session_state:
        st.session_state[key] = secrets.token_hex(8)
    return st.session_state[key]


def once_done(form: str) -> None:
    """The submission under the form's key is written: the next one gets a new key."""
    st.session_state.pop(f"once-{form}", None)


def site() -> str:
    """This site's address as the browser reached it (TWIN_PUBLIC_URL takes precedence)."""
    url = urlsplit(st.context.url or "")
    return f"{url.scheme}://{url.netloc}" if url.netloc else ""


def link_card(url: str, caption: str) -> None:
    """A link to send: its address to copy and a QR code to scan from a phone."""
    st.code(url, language=None)
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=5, border=2)
    st.image(buf.getvalue(), caption=caption)
