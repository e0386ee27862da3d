"""The Import page (administrators): upload, a dry run with the counts, notes, a preview
map and the fields, then the import with a progress bar, audited."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from geodata.errors import GeodataError
from geodata.vector import VectorError, read_vector
from surfaces.deck import view_for
from twin.domain.access import Principal, audit
from twin.domain.pii import PiiKey
from twin.errors import TwinError
from twin.i18n import t
from twin.ingest import RASTER_KINDS
from twin.ingest.importer import (
    KINDS,
    LEVELS,
    WITH_KEY,
    ImportError_,
    import_file,
    import_raster,
)

# what the uploader takes: the formats twin.ingest.importer reads (and GeoTIFF for dem/imagery)
UPLOAD_TYPES = ["geojson", "json", "zip", "gpkg", "shp", "csv", "txt", "xlsx", "osm", "pbf",
                "tif", "tiff"]
PREVIEW_FEATURES = 3000


def _saved(upload) -> Path:
    """The upload written once (per upload, not per rerun) to a private folder under its own
    base name only — no path from the browser is used; the previous upload's folder goes."""
    import shutil

    kept = st.session_state.get("import_upload")
    if kept and kept[0] == upload.file_id and Path(kept[1]).exists():
        return Path(kept[1])
    if kept:
        shutil.rmtree(Path(kept[1]).parent, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="twin-import-"))
    name = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", Path(upload.name).name)[:120] or "upload"
    target = folder / name
    target.write_bytes(upload.getvalue())
    st.session_state["import_upload"] = (upload.file_id, str(target))
    return target


def _mapping(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        target, sep, source = line.partition("=")
        if sep and target.strip() and source.strip():
            pairs[target.strip()] = source.strip()
    return pairs


def import_page(engine, settings, principal: Principal, lang: str) -> None:
    """Upload, check (a dry run: what would be read, repaired, rejected, written, with a map
    of the features and their fields), then import in one transaction with progress."""

    st.header(t("desk.import", lang))
    st.caption(t("desk.import_help", lang))
    kinds = list(KINDS) + list(RASTER_KINDS)
    kind = st.selectbox(t("desk.kind", lang), kinds,
                        format_func=lambda k: t(f"kind.{k}", lang))
    cols = st.columns(3)
    level = cols[0].selectbox(t("desk.level", lang), LEVELS,
                              format_func=lambda v: t(f"level.{v}", lang),
                              disabled=kind != "units")
    crs = cols[1].text_input(t("desk.crs", lang), placeholder="EPSG:4549 / gcj02 / bd09")
    encoding = cols[2].text_input(t("desk.encoding", lang), placeholder="gb18030")
    mapping = _mapping(st.text_area(t("desk.mapping", lang), placeholder="floors=层数\nname=名称",
                                    height=80))
    upload = st.file_uploader(t("desk.file", lang), type=UPLOAD_TYPES, key="import-file")
    if upload is None:
        return
    path = _saved(upload)
    folder = path.parent
    if kind in RASTER_KINDS:
        _import_raster(settings, path, kind, principal, lang)
        return
    options = {"crs": crs.strip() or None, "encoding": encoding.strip() or None,
               "mapping": mapping, "level": level if kind == "units" else None,
               "pii_key": PiiKey.from_settings(settings) if kind in WITH_KEY else None}
    check_key = (upload.file_id, kind, repr(sorted((k, v) for k, v in options.items()
                                                   if k != "pii_key")))
    try:
        cached = st.session_state.get("import_checked")
        if cached and cached[0] == check_key:  # this file with these options: checked already
            checked = cached[1]
        else:
            checked = import_file(engine, path, kind, dry_run=True, **options)
            st.session_state["import_checked"] = (check_key, checked)
    except ImportError_ as exc:  # the message names the file, the feature and the reason
        st.error(str(exc).replace(str(folder) + "/", ""))
        return
    except Exception as exc:  # noqa: BLE001 - any reader error is the file's, said plainly
        st.error(f"{upload.name}: {str(exc).replace(str(folder) + '/', '')}")
        return
    _report(checked, lang, dry_run=True)
    if kind not in ("people",):  # residents are never drawn or listed before import
        _preview(path, options, lang)
    if st.button(t("desk.import_now", lang), type="primary", key="import-now"):
        bar = st.progress(0.0, text=t("desk.writing", lang))
        try:
            done = import_file(engine, path, kind, progress=lambda n, total: bar.progress(
                min(1.0, n / max(total, 1)), text=f"{t('desk.writing', lang)} {n:,}/{total:,}"),
                **options)
        except ImportError_ as exc:
            st.error(str(exc).replace(str(folder) + "/", ""))
            return
        st.session_state.pop("import_checked", None)  # the twin changed: check again
        _audit_import(engine, principal, upload.name, kind, done)
        st.success(t("desk.imported", lang))
        _report(done, lang, dry_run=False)


def _report(report, lang: str, dry_run: bool) -> None:
    cols = st.columns(4)
    for col, (key, value) in zip(cols, (("read", report.read), ("repaired", report.repaired),
                                        ("rejected", report.rejected),
                                        ("would_write" if dry_run else "written",
                                         report.written)), strict=True):
        col.metric(t(f"desk.{key}", lang), f"{value:,}")
    for note in report.notes:
        st.caption(f"· {note}")


@st.cache_data(max_entries=4, show_spinner=False)
def _preview_features(path: str, crs: str | None, encoding: str | None):
    """The first features of an uploaded file and how many it holds, read once per upload
    (each upload has its own folder) rather than on every rerun of the page."""
    found = read_vector(path, crs=crs, encoding=encoding)
    return found.frame.head(PREVIEW_FEATURES), len(found.frame)


def _preview(path: Path, options: dict, lang: str) -> None:
    """The file's features on a small map and its fields (first rows), before import."""
    import pydeck as pdk

    try:
        frame, total = _preview_features(str(path), options["crs"], options["encoding"])
    except VectorError:
        return  # a register without coordinates: nothing to draw
    st.dataframe(pd.DataFrame(frame.drop(columns=frame.geometry.name)).head(20),
                 width="stretch")
    if frame.empty:
        return
    minx, miny, maxx, maxy = frame.total_bounds
    layer = pdk.Layer("GeoJsonLayer", data=frame.__geo_interface__, stroked=True, filled=True,
                      get_fill_color=[60, 130, 230, 120], get_line_color=[20, 60, 140],
                      line_width_min_pixels=1, point_radius_min_pixels=4)
    more = total > PREVIEW_FEATURES
    st.caption(t("desk.preview", lang) + (f" ({PREVIEW_FEATURES:,})" if more else ""))
    st.pydeck_chart(pdk.Deck(layers=[layer], map_provider=None, map_style=None,
                             initial_view_state=view_for([minx, miny, maxx, maxy])),
                    height=360)


def _import_raster(settings, path: Path, kind: str, principal: Principal, lang: str) -> None:

    if st.button(t("desk.import_now", lang), type="primary", key="import-raster"):
        with st.spinner(t("desk.writing", lang)):
            try:
                message, note = import_raster(settings, path, kind)
            except (TwinError, GeodataError) as exc:
                st.error(f"{path.name}: {str(exc).replace(str(path.parent) + '/', '')}")
                return
        st.success(message.replace(str(path.parent) + "/", ""))
        if note:
            st.warning(note)


def _audit_import(engine, principal: Principal, name: str, kind: str, report) -> None:
    with engine.begin() as conn:
        audit(conn, principal, "import", f"{kind}:{name}",
              detail={"read": report.read, "written": report.written,
                      "rejected": report.rejected})
