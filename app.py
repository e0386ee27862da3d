"""Streamlit entry: a router over one module per surface (``surfaces/``). Which surface a
request opens is decided from its URL (``?link=``, ``?screen=1``, ``?page=``) and its
account; the surfaces themselves hold no SQL and no rules. (Not ``st.navigation``: its
pages live at URL paths of their own, and every link made so far is ``/?…``. Nor a folder
named ``pages/``: Streamlit would list each of its modules in the sidebar and serve it at
its own path, around this router.)

The view lives in the URL (`unit`, `apps`, `lang`, camera), so any view can be shared.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import sqlalchemy as sa
import streamlit as st

from surfaces import (
    accounts,
    audit,
    boards,
    desk,
    events,
    export,
    field,
    imports,
    law,
    screen,
)
from surfaces import map as map_page
from surfaces.session import engine, language, principal, settings, signed_in
from twin.errors import TwinError
from twin.i18n import t


def surface(lang: str) -> tuple[str, Callable[[], None]] | None:
    """The surface this request opens, as (name, how to draw it), or None when the way to
    sign in was shown instead."""
    if "link" in st.query_params:  # field staff from a shared link: a phone page, one scope
        st.set_page_config(page_title=t("field.title", lang), layout="centered",
                           initial_sidebar_state="collapsed")
        return "field", lambda: field.field_page(st.query_params["link"], lang)
    on_wall = st.query_params.get("screen") == "1"
    st.set_page_config(page_title=t("app.title", lang), layout="wide",
                       initial_sidebar_state="collapsed" if on_wall else "auto")
    account = signed_in(lang)
    if account is None:
        return None
    if on_wall or account.role == "screen":
        return "screen", lambda: screen.screen_page(lang)
    page = desk.desk_choice(account, lang)
    if page == "work":  # the open events of the account's units, to work on
        return "work", lambda: field.work_page(account, lang)
    desk_pages = {"events": events.events_page, "import": imports.import_page,
                  "export": export.export_page, "audit": audit.audit_page,
                  "accounts": accounts.accounts_page, "boards": boards.boards_page,
                  "law": law.law_page, "matching": law.matching_page}
    if page in desk_pages:
        return page, lambda: desk_pages[page](engine(), settings(), principal(), lang)
    return "map", lambda: map_page.map_page(lang)


def main() -> None:
    lang = language()
    try:
        chosen = surface(lang)
    except (TwinError, sa.exc.OperationalError):
        st.error(t("app.db_error", lang))
        return
    if chosen is None:
        return
    _, draw = chosen
    draw()


def run() -> None:
    """The page; a database that is down or too slow anywhere in it gives one clear line
    (the next rerun retries), never a stack trace or a hung page."""
    try:
        main()
    except sa.exc.OperationalError as exc:
        slow = isinstance(exc.orig, psycopg.errors.QueryCanceled)
        st.error(t("app.db_slow" if slow else "app.db_error", language()))


run()
