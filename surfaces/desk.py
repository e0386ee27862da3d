"""The desk pages beside the map (``?page=``): which a role may open, the sidebar that
chooses one, and where each is drawn; who may open which page is asked of
``twin.domain.access``."""

from __future__ import annotations

import streamlit as st

from surfaces.session import account_box, principal
from twin.domain.access import Principal, may
from twin.i18n import t

# page → the action a role needs for it ("events": the event centre of a scoped account;
# "work": its open events as a phone list; "boards": 三治工作台, acting on 自治 and 德治;
# "law": 法治工作台, mediation; "matching": the administrator's weights of 智能匹配)
PAGES = {"events": "handle", "work": "handle", "boards": "handle", "law": "handle",
         "import": "import", "matching": "accounts",
         "export": "export", "audit": "audit", "accounts": "accounts"}
SCOPED = ("events", "work", "boards", "law")  # pages of an account's own units


def pages_for(principal: Principal) -> list[str]:
    """The desk pages this principal may open, in the sidebar's order."""
    return [page for page, action in PAGES.items() if may(principal, action)
            and (page not in SCOPED or principal.scope)]


def desk_choice(account, lang: str) -> str | None:
    """The sidebar's head: who is signed in, and the pages beside the map their role opens
    (``?page=``); returns the desk page chosen, None for the map."""
    pages = pages_for(principal())
    with st.sidebar:
        account_box(account, lang)
        if not pages:
            return None
        options = ["map", *pages]
        # A stable key, the URL read once per session: a radio without one is a new widget
        # whenever its index changes, so the press that left a desk page was lost (every
        # other press in the sidebar did nothing; tests/browser/test_desk.py).
        if "desk-page" not in st.session_state or st.session_state["desk-page"] not in options:
            current = st.query_params.get("page")
            st.session_state["desk-page"] = current if current in options else "map"
        chosen = st.radio(t("desk.page", lang), options, key="desk-page",
                          format_func=lambda p: t(f"desk.{p}", lang))
    if chosen != "map":
        st.query_params["page"] = chosen
    else:
        st.query_params.pop("page", None)
    return None if chosen == "map" else chosen
