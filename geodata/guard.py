"""Every file a user hands in is opened only as what it claims to be.

GDAL picks a driver by a file's content, not its name: an OGR VRT (a few lines of XML)
saved as ``x.gpkg`` is opened as a VRT and reads any file or URL it names. So before GDAL
sees a user's file, :func:`plain_path` refuses a path GDAL would take for something else
(``/vsi…`` file systems, URLs, ``CSV:``/``GPKG:``/``PG:`` connection strings) and
:func:`check_file` refuses a file whose first bytes are not what its extension claims. A
GeoPackage is also refused when its schema holds something GDAL would evaluate beyond its
own tables (a view, a virtual table other than the R*Tree index, a generated column).

:func:`offline` turns GDAL's network access off in each GDAL copy loaded in this process
(pyogrio and rasterio bundle their own) and PROJ's; the readers call it when imported.
Errors are raised as the caller's error class, naming the file and the reason.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from urllib.parse import quote
from xml.parsers import expat

GDAL_OFFLINE = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".twin-offline",  # /vsicurl/, /vsis3/ … find nothing
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # any other HTTP request goes to a closed port
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no sidecar (.ovr, .aux.xml …) looked for
    "OGR_SQLITE_LIST_VIRTUAL_OGR": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "ALLOW_VIRTUAL_OGR_FROM_TRIGGER_AND_VIEW": "NO",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "PROJ_NETWORK": "OFF",
}

REFUSED = {
    ".gml": "GML is not read (GDAL's GML reader fetches schemas and follows links): "
            "convert it to GeoPackage or GeoJSON",
    ".kml": "KML is not read (GDAL's KML readers follow links): convert it to GeoPackage "
            "or GeoJSON",
    ".kmz": "KMZ is not read (GDAL's KML readers follow links): convert it to GeoPackage "
            "or GeoJSON",
    ".xls": "old Excel workbooks (.xls) are not read here: save it as .xlsx or .csv",
    ".vrt": "a GDAL virtual dataset is never opened (it can make GDAL read any file or URL)",
    ".ovf": "a GDAL virtual dataset is never opened (it can make GDAL read any file or URL)",
}

SQLITE = b"SQLite format 3\x00"
GPKG_IDS = (b"GPKG", b"GP10", b"GP11")  # application_id at offset 68
SHAPE_CODE = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
DBF_VERSIONS = frozenset({0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B,
                          0xCB, 0xF5, 0xFB})
FLATGEOBUF = b"fgb\x03fgb"
TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
XML_HEAD = 64 * 1024  # what GDAL's drivers look at when they guess, and more
OSM_ELEMENTS = frozenset({"osm", "bounds", "bound", "node", "way", "relation", "tag", "nd",
                          "member", "changeset", "note", "meta", "remark", "center"})

_CONNECTION = re.compile(r"[A-Za-z][A-Za-z0-9_+.-]*:")  # CSV:, GPKG:, PG:, WFS:, vrt: …
_VIEW = re.compile(r"\s*CREATE\s+(?:TEMP\w*\s+)?VIEW\b", re.I)
_VIRTUAL = re.compile(r"\s*CREATE\s+VIRTUAL\s+TABLE\b.*?\bUSING\s+(\w+)", re.I | re.S)
_GENERATED = re.compile(r"\bGENERATED\s+ALWAYS\b|\bAS\s*\(", re.I)
_FILE_IN_CRS = re.compile(r"\binit\s*=|grids\s*=\s*@?[/.~\\]|PARAMETERFILE\s*\[[^\]]*,"
                          r"\s*\"[/.~\\]", re.I)


def offline() -> None:
    """Switch GDAL's network access (and its riskier SQLite and VRT features) off in each
    GDAL copy loaded now, and PROJ's network; safe to call again."""
    os.environ["PROJ_NETWORK"] = "OFF"  # read by the PROJ of every wheel
    if "pyogrio" in sys.modules:
        sys.modules["pyogrio"].set_gdal_config_options(GDAL_OFFLINE)
    if "rasterio" in sys.modules:
        from rasterio.env import set_gdal_config

        for key, value in GDAL_OFFLINE.items():
            set_gdal_config(key, value)
    if "pyproj" in sys.modules:
        from pyproj.network import set_network_enabled

        set_network_enabled(active=False)


def plain_path(path: str | os.PathLike[str], error: type[Exception]) -> Path:
    """``path`` as a local file path; ``error`` if GDAL would read it as something else."""
    raw = os.fspath(path)
    if raw.lower().startswith("/vsi"):
        why = "a GDAL virtual file system path (/vsi…)"
    elif "://" in raw:
        why = f"a URL or GDAL connection string ({raw.split('://', 1)[0]}://…)"
    elif _CONNECTION.match(raw):
        why = f"a GDAL connection string ({raw.split(':', 1)[0]}:…)"
    elif "\x00" in raw:
        why = "a path with a NUL byte"
    else:
        return Path(raw)
    raise error(f"{raw}: {why}, not a plain file: refused")


def check_file(path: Path, error: type[Exception], *, accepted: tuple[str, ...],
               hint: str) -> None:
    """Refuse ``path`` (raising ``error``) unless its extension is ``accepted`` and its
    first bytes are what that extension claims; ``hint`` says what is accepted."""
    suffix = path.suffix.lower()
    if suffix in REFUSED:
        raise error(f"{path}: {REFUSED[suffix]}")
    if suffix not in accepted or suffix not in _CHECKS:
        raise error(f"{path}: unknown format {suffix or '(no extension)'}: {hint}")
    reason = _CHECKS[suffix](path)
    if reason:
        raise error(f"{path}: {reason}")


def crs_names_a_file(text: str) -> bool:
    """Whether a CRS definition would make PROJ read a file (``+init=``, a grid path)."""
    return bool(_FILE_IN_CRS.search(text))


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def _what(head: bytes) -> str:
    """What a file's first bytes show it to be, for the message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text[:XML_HEAD].lower()
    if b"<ogrvrtdatasource" in lowered or b"<vrtdataset" in lowered:
        return "a GDAL VRT (XML that makes GDAL read other files or URLs)"
    if text.startswith(b"<"):
        return "XML"
    for magic, name in ((SQLITE, "an SQLite database"), (b"PK\x03\x04", "a ZIP archive"),
                        (SHAPE_CODE, "a Shapefile"), (FLATGEOBUF, "a FlatGeobuf file"),
                        *((m, "a TIFF") for m in TIFF)):
        if head.startswith(magic):
            return name
    if not head:
        return "an empty file"
    return "something else" if b"\x00" in head else "text"


def _mismatch(label: str, head: bytes) -> str:
    return (f"not {label} but {_what(head)}: refused (a file is opened only as what its "
            "extension claims)")


def _gpkg(path: Path) -> str | None:
    head = _head(path, 100)
    if not head.startswith(SQLITE):
        return _mismatch("a GeoPackage", head)
    if head[68:72] not in GPKG_IDS:
        return (f"an SQLite database but not a GeoPackage (application_id {head[68:72]!r}): "
                "refused")
    for journal in ("-wal", "-journal"):
        if path.with_name(path.name + journal).exists():
            return (f"a GeoPackage with an uncommitted {journal} file beside it: close it "
                    "in the program that edits it first")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("PRAGMA writable_schema = ON")  # list a schema SQLite would not load
            schema = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"not a readable GeoPackage ({exc})"
    for kind, name, sql in schema:
        sql = sql or ""
        if kind == "view" or _VIEW.match(sql):
            return (f"a GeoPackage holding the view {name!r}: refused (GDAL would run it, and a "
                    "view can read beyond the file's own tables: save the layer as a table)")
        virtual = _VIRTUAL.match(sql)
        if virtual and virtual.group(1).lower() not in ("rtree", "rtree_i32"):
            return (f"a GeoPackage holding the virtual table {name!r} (USING "
                    f"{virtual.group(1)}): refused (it reads from outside the file)")
        if not virtual and kind == "table" and _GENERATED.search(sql):
            return (f"a GeoPackage whose table {name!r} has generated columns: refused (GDAL "
                    "would compute them)")
    return None


def _shapefile(path: Path) -> str | None:
    head = _head(path, 100)
    if head[:4] != SHAPE_CODE:
        return _mismatch("a Shapefile", head)
    for index in {path.with_suffix(".shx"), path.with_suffix(".SHX")}:
        if index.exists() and (head := _head(index, 100))[:4] != SHAPE_CODE:
            return f"its index {index.name} is {_mismatch('a Shapefile index', head)}"
    for table in {path.with_suffix(".dbf"), path.with_suffix(".DBF")}:
        if table.exists() and ((head := _head(table, 100))[:1] == b""
                               or head[0] not in DBF_VERSIONS):
            return f"its attribute table {table.name} is {_mismatch('a dBASE file', head)}"
    return None


def _flatgeobuf(path: Path) -> str | None:
    head = _head(path, 100)
    return None if head.startswith(FLATGEOBUF) else _mismatch("a FlatGeobuf file", head)


def _osm_pbf(path: Path) -> str | None:
    head = _head(path, 64)
    size = int.from_bytes(head[:4], "big")
    if 0 < size < 64 * 1024 and b"OSMHeader" in head[4:]:
        return None
    return _mismatch("OSM PBF", head)


class _NotOsm(Exception):
    """Why the head of an .osm file is not plain OSM XML."""


def _refuse(why: str) -> None:
    raise _NotOsm(why)


def _osm_xml(path: Path) -> str | None:
    """Plain OSM XML: one root ``<osm>``, only OSM's elements, no DOCTYPE, entities,
    namespaces, CDATA, processing instructions or markup in comments — GDAL's other XML
    readers (VRT, GML, KML …) pick a file by such strings in its first bytes."""
    head = _head(path, XML_HEAD)
    if _what(head) != "XML":
        return _mismatch("OSM XML", head)
    if b"opengis.net/gml" in head.lower():
        return ("not plain OSM XML: it names the GML namespace, and GDAL would read it as GML: "
                "refused")
    parser = expat.ParserCreate()
    roots: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if not roots:
            roots.append(name)
            if name != "osm":
                _refuse(f"its root element is <{name}>, not <osm>")
        if name not in OSM_ELEMENTS:
            _refuse(f"<{name}> is not an OSM element")
        if any(":" in a or a.startswith("xmlns") for a in attrs):
            _refuse(f"<{name}> declares a namespace")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = lambda *_: _refuse("it has a DOCTYPE (entities)")
    parser.EntityDeclHandler = lambda *_: _refuse("it declares an entity")
    parser.ProcessingInstructionHandler = lambda *_: _refuse("it has a processing instruction")
    parser.StartCdataSectionHandler = lambda: _refuse("it has a CDATA section")
    parser.CommentHandler = lambda text: _refuse("it has markup in a comment") if (
        "<" in text) else None
    parser.CharacterDataHandler = lambda text: _refuse("it has text outside attributes") if (
        text.strip()) else None
    try:
        parser.Parse(head, len(head) < XML_HEAD)
    except _NotOsm as exc:
        return f"not plain OSM XML: {exc}: refused"
    except expat.ExpatError as exc:
        return f"not well-formed OSM XML ({exc}): refused"
    return None if roots else "not OSM XML: no element in its first 64 KB: refused"


def _not_xml(label: str) -> Callable[[Path], str | None]:
    """A text format read by Python's own parsers: refuse XML under its name, said plainly."""

    def check(path: Path) -> str | None:
        head = _head(path, 4096)
        return _mismatch(label, head) if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(
            b"<") else None

    return check


def _xlsx(path: Path) -> str | None:
    head = _head(path, 100)
    return None if head.startswith(b"PK\x03\x04") else _mismatch("an Excel workbook", head)


def _tiff(path: Path) -> str | None:
    head = _head(path, 100)
    return None if head[:4] in TIFF else _mismatch("a raster GeoTIFF", head)


_CHECKS: dict[str, Callable[[Path], str | None]] = {
    ".gpkg": _gpkg, ".shp": _shapefile, ".fgb": _flatgeobuf, ".osm": _osm_xml,
    ".pbf": _osm_pbf, ".geojson": _not_xml("GeoJSON"), ".json": _not_xml("JSON"),
    ".cityjson": _not_xml("CityJSON"), ".csv": _not_xml("a CSV table"),
    ".txt": _not_xml("a CSV table"), ".xlsx": _xlsx, ".tif": _tiff, ".tiff": _tiff,
}
