"""The desk pages beside the map (``?page=``): import and export of data, the audit log and
the accounts. Widgets in, one call into ``twin/`` out; who may open which page is asked
of ``twin.access`` (imports, accounts and the audit log are for admins; exports for the
roles that export, an official only inside their units)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from twin.access import Principal, may
from twin.i18n import t

# page → the action a role needs for it ("work": the open events of a scoped account)
PAGES = {"work": "handle", "import": "import", "export": "export", "audit": "audit",
         "accounts": "accounts"}
# what the uploader takes: the formats twin.importer reads (and GeoTIFF for dem/imagery)
UPLOAD_TYPES = ["geojson", "json", "zip", "gpkg", "shp", "csv", "txt", "xlsx", "osm", "pbf",
                "tif", "tiff"]
RASTER_KINDS = ("dem", "imagery")
PREVIEW_FEATURES = 3000


def pages_for(principal: Principal) -> list[str]:
    """The desk pages this principal may open, in the sidebar's order."""
    return [page for page, action in PAGES.items() if may(principal, action)
            and (page != "work" or principal.scope)]


def show(page: str, engine, settings, principal: Principal, lang: str) -> None:
    """Draw a desk page (refused pages say so: the URL can name any)."""
    if page not in pages_for(principal) or page == "work":  # work is drawn by app.py
        st.error(t("desk.refused", lang))
        return
    {"import": import_page, "export": export_page, "audit": audit_page,
     "accounts": accounts_page}[page](engine, settings, principal, lang)


# --- import ----------------------------------------------------------------------------------
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
    from twin.importer import KINDS, LEVELS, ImportError_, import_file
    from twin.pii import PiiKey

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
               "pii_key": PiiKey.from_settings(settings) if kind == "people" else None}
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
    from geodata.vector import read_vector

    found = read_vector(path, crs=crs, encoding=encoding)
    return found.frame.head(PREVIEW_FEATURES), len(found.frame)


def _preview(path: Path, options: dict, lang: str) -> None:
    """The file's features on a small map and its fields (first rows), before import."""
    import pydeck as pdk

    from geodata.vector import VectorError

    try:
        frame, total = _preview_features(str(path), options["crs"], options["encoding"])
    except VectorError:
        return  # a register without coordinates: nothing to draw
    st.dataframe(pd.DataFrame(frame.drop(columns=frame.geometry.name)).head(20),
                 use_container_width=True)
    if frame.empty:
        return
    minx, miny, maxx, maxy = frame.total_bounds
    layer = pdk.Layer("GeoJsonLayer", data=frame.__geo_interface__, stroked=True, filled=True,
                      get_fill_color=[60, 130, 230, 120], get_line_color=[20, 60, 140],
                      line_width_min_pixels=1, point_radius_min_pixels=4)
    from layers.units import view_for

    more = total > PREVIEW_FEATURES
    st.caption(t("desk.preview", lang) + (f" ({PREVIEW_FEATURES:,})" if more else ""))
    st.pydeck_chart(pdk.Deck(layers=[layer], map_provider=None, map_style=None,
                             initial_view_state=view_for([minx, miny, maxx, maxy])),
                    height=360)


def _import_raster(settings, path: Path, kind: str, principal: Principal, lang: str) -> None:
    from twin.errors import TwinError
    from twin.importer import import_raster

    if st.button(t("desk.import_now", lang), type="primary", key="import-raster"):
        with st.spinner(t("desk.writing", lang)):
            try:
                message, note = import_raster(settings, path, kind)
            except TwinError as exc:
                st.error(f"{path.name}: {str(exc).replace(str(path.parent) + '/', '')}")
                return
        st.success(message.replace(str(path.parent) + "/", ""))
        if note:
            st.warning(note)


def _audit_import(engine, principal: Principal, name: str, kind: str, report) -> None:
    from twin.access import audit

    with engine.begin() as conn:
        audit(conn, principal, "import", f"{kind}:{name}",
              detail={"read": report.read, "written": report.written,
                      "rejected": report.rejected})


# --- export ----------------------------------------------------------------------------------
def export_page(engine, settings, principal: Principal, lang: str) -> None:
    """A layer of the current unit (the URL's ``unit``) as a file to download."""
    from twin.exporter import FORMATS, LAYERS, ExportError, export_layer
    from twin.units import unit_path

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
                 use_container_width=True, hide_index=True)


# --- accounts ----------------------------------------------------------------------------------
def accounts_page(engine, settings, principal: Principal, lang: str) -> None:
    """The accounts; new ones get a one-time password shown here once."""
    from twin import accounts

    st.header(t("desk.accounts", lang))
    users = accounts.list_users(engine)
    st.dataframe(pd.DataFrame([{
        t("auth.username", lang): a.username, t("desk.display_name", lang): a.display_name,
        t("desk.role", lang): t(f"role.{a.role}", lang), t("desk.scope", lang): ", ".join(a.scope),
        t("desk.state", lang): t("desk.disabled" if a.disabled else "desk.active", lang)}
        for a in users]), use_container_width=True, hide_index=True)
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
