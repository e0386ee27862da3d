"""The Accounts page (administrators): who may sign in, with which role and scope."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from twin.domain import accounts
from twin.domain.access import Principal
from twin.i18n import t


# --- accounts ----------------------------------------------------------------------------------
def accounts_page(engine, settings, principal: Principal, lang: str) -> None:
    """The accounts; new ones get a one-time password shown here once."""
    st.header(t("desk.accounts", lang))
    users = accounts.list_users(engine)
    st.dataframe(pd.DataFrame([{
        t("auth.username", lang): a.username, t("desk.display_name", lang): a.display_name,
        t("desk.role", lang): t(f"role.{a.role}", lang), t("desk.scope", lang): ", ".join(a.scope),
        t("desk.state", lang): t("desk.disabled" if a.disabled else "desk.active", lang)}
        for a in users]), width="stretch", hide_index=True)
    with st.form("add-user", clear_on_submit=True):
        st.subheader(t("desk.add_user", lang))
        cols = st.columns(4)
        username = cols[0].text_input(t("auth.username", lang), max_chars=40)
        name = cols[1].text_input(t("desk.display_name", lang), max_chars=40)
        role = cols[2].selectbox(t("desk.role", lang), accounts.ACCOUNT_ROLES,
                                 format_func=lambda r: t(f"role.{r}", lang))
        scope = cols[3].text_input(t("desk.scope", lang), placeholder="330483103001")
        if st.form_submit_button(t("desk.add_user", lang)):
            try:
                password = accounts.add_user(
                    engine, username, role, display_name=name or None,
                    scope=tuple(c.strip() for c in scope.split(",") if c.strip()))
            except accounts.AccountError as exc:
                st.error(str(exc))
            else:
                st.text_input(t("desk.one_time", lang), value=password, key="new-password")
    active = [a.username for a in users if not a.disabled and a.username != principal.name]
    if active:
        cols = st.columns([2, 1, 1])
        chosen = cols[0].selectbox(t("auth.username", lang), active, key="manage-user")
        if cols[1].button(t("desk.reset", lang), key="reset-user"):
            st.text_input(f"{chosen} · {t('desk.one_time', lang)}",
                          value=accounts.set_password(engine, chosen), key="reset-password")
        if cols[2].button(t("desk.disable", lang), key="disable-user"):
            accounts.disable(engine, chosen)
            st.rerun()
