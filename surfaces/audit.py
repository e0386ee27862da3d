"""The Audit page (administrators): the personal-data audit log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from twin.domain.access import Principal
from twin.i18n import t


# --- audit -------------------------------------------------------------------------------------
def audit_page(engine, settings, principal: Principal, lang: str) -> None:
    """The last views and exports of personal data (and imports, exports), newest first."""
    import sqlalchemy as sa

    st.header(t("desk.audit", lang))
    who = st.text_input(t("desk.actor", lang), max_chars=60).strip()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT at, actor, action, object, unit_code, purpose FROM audit_log "
            "WHERE (CAST(:who AS text) = '' OR actor = :who) ORDER BY id DESC LIMIT 500"),
            {"who": who}).all()
    frame = pd.DataFrame(rows, columns=["at", "actor", "action", "object", "unit", "purpose"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_convert("Asia/Shanghai") \
        .dt.strftime("%Y-%m-%d %H:%M:%S")
    st.dataframe(frame.rename(columns=lambda c: t(f"audit.{c}", lang)),
                 width="stretch", hide_index=True)
