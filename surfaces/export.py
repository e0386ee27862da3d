"""The Export page: a layer of the twin (or a unit's part of it) as a file, audited."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from twin.domain.access import Principal
from twin.domain.units import unit_path
from twin.i18n import t
from twin.publish.exporter import FORMATS, LAYERS, ExportError, export_layer


# --- export ----------------------------------------------------------------------------------
def export_page(engine, settings, principal: Principal, lang: str) -> None:
    """A layer of the current unit (the URL's ``unit``) as a file to download."""

    st.header(t("desk.export", lang))
    path = unit_path(engine, st.query_params.get("unit"))
    unit = path[-1] if path else None
    st.caption(f"{t('desk.unit', lang)}：{unit['name'] if unit else t('nav.county', lang)}")
    cols = st.columns(3)
    layer = cols[0].selectbox(t("desk.layer", lang), list(LAYERS),
                              format_func=lambda v: t(f"kind.{v}", lang))
    fmt = cols[1].selectbox(t("desk.format", lang), list(FORMATS))
    crs = cols[2].selectbox(t("desk.crs", lang), ["EPSG:4326", "EPSG:4490", "EPSG:4549",
                                                  "gcj02", "bd09"])
    if not st.button(t("desk.prepare", lang), key="export-prepare"):
        return
    folder = Path(tempfile.mkdtemp(prefix="twin-export-"))
    name = f"{layer}-{unit['code'] if unit else 'county'}.{ 'zip' if fmt == 'shp' else fmt}"
    target = folder / (name if fmt != "shp" else f"{layer}.shp")
    try:
        n = export_layer(engine, layer, target, fmt, unit, crs, principal=principal)
    except ExportError as exc:
        st.error(str(exc))
        return
    if fmt == "shp":  # the parts of a Shapefile travel as one .zip
        import zipfile

        archive = folder / name
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for part in folder.glob(f"{layer}.*"):
                z.write(part, part.name)
        target = archive
    st.download_button(f"{t('desk.download', lang)} ({n:,})", target.read_bytes(),
                       file_name=name, key="export-download")
