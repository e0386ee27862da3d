"""Reading the vector files a county's GIS office delivers, as they really arrive.

GeoJSON (a FeatureCollection, a bare geometry, a list of features), Shapefile (a folder of
parts, a ``.shp`` or a ``.zip``; a missing ``.shx`` rebuilt; no ``.cpg`` → the text
encoding detected, UTF-8 then GB18030, and reported), GeoPackage, and CSV/XLSX with
longitude/latitude columns. The result is a GeoDataFrame in WGS84 plus what was found
out on the way (CRS, encoding, repairs), or a :class:`VectorError` naming the file and
the reason. Nothing here touches the database.

Every file is opened only as what its extension claims (``geodata.guard``): its path and
first bytes are checked before GDAL sees it, and GDAL's network access is off. GML and KML
are not read; GeoJSON, CityJSON, CSV and XLSX are parsed by Python, not GDAL.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geodata import guard
from geodata.chinacrs import CHINA, transform_geometries
from geodata.errors import GeodataError

guard.offline()

STORAGE_CRS = "EPSG:4326"
OFFSET_CRS = ("gcj02", "bd09")  # Chinese web-map offsets: lon/lat, then converted
MAX_ZIP_BYTES = 2 << 30          # uncompressed size a .zip may unpack to
MAX_ZIP_ENTRIES = 1000
MAX_FILE_BYTES = 2 << 30         # a bigger file is split before import, not read whole
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "東經", "东经")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬")
SUFFIXES = (".geojson", ".json", ".cityjson", ".shp", ".gpkg", ".fgb", ".osm", ".pbf", ".csv",
            ".txt", ".xlsx")
FORMATS = "GeoJSON, Shapefile, GeoPackage, FlatGeobuf, OSM, CityJSON, CSV or XLSX"
ZIP_KEPT = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".geojson", ".json", ".gpkg", ".csv")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx")


class VectorError(GeodataError):
    """A file that cannot be read as features, with the reason."""


@dataclass
class VectorFile:
    """What was read, and what was found out on the way."""

    frame: gpd.GeoDataFrame               # in WGS84
    source_crs: str                       # as declared, given, or assumed (and said so)
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def read_vector(path: str | Path, *, crs: str | None = None, encoding: str | None = None,
                layer: str | None = None) -> VectorFile:
    """Read ``path`` into WGS84. ``crs`` overrides what the file declares (``EPSG:…``,
    ``gcj02`` or ``bd09``); ``encoding`` overrides detection for Shapefiles and CSV."""
    path = guard.plain_path(path, VectorError)
    if not path.exists():
        raise VectorError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise VectorError(f"{path}: {path.stat().st_size / 1e9:.1f} GB is more than one import "
                          f"takes ({MAX_FILE_BYTES >> 30} GB): split it by town or by layer")
    original = path
    with tempfile.TemporaryDirectory(prefix="twin-import-") as tmp:
        try:
            result, path = _read_any(path, Path(tmp), encoding, layer)
        except VectorError as exc:  # name the user's file, not the working copy
            inside = f"{original}:" if original.suffix.lower() == ".zip" else \
                f"{original.parent}/"
            raise VectorError(str(exc).replace(f"{tmp}/shp/", inside)
                              .replace(f"{tmp}/", inside)) from None
    return _to_wgs84(result, original if original.suffix.lower() == ".zip" else path, crs)


def _read_any(path: Path, tmp: Path, encoding: str | None,
              layer: str | None) -> tuple[VectorFile, Path]:
    """The file's features as read (before any CRS change), and the path read."""
    if path.suffix.lower() == ".zip":
        path = _unzip(path, tmp)
    suffix = path.suffix.lower()
    if path.is_dir():
        shps = sorted(path.glob("*.shp"))
        if len(shps) != 1:
            raise VectorError(f"{path}: a folder must hold exactly one .shp, "
                              f"found {len(shps)}")
        path, suffix = shps[0], ".shp"
    guard.check_file(path, VectorError, accepted=SUFFIXES, hint=FORMATS)
    if path.name.lower().endswith((".city.json", ".cityjson")):
        result = _read_cityjson(path)
    elif suffix in (".geojson", ".json"):
        result = _read_geojson(path)
    elif suffix == ".shp":
        result = _read_shapefile(path, tmp, encoding)
    elif suffix in (".gpkg", ".fgb"):
        result = _read_ogr(path, layer)
    elif suffix in (".osm", ".pbf"):
        result = _read_osm(path, layer)
    elif suffix in TABLE_SUFFIXES:
        result = _read_table(path, encoding)
    else:
        raise VectorError(f"{path}: unknown format {suffix or '(no extension)'}: {FORMATS}")
    return result, path


def _unzip(path: Path, into: Path) -> Path:
    """Unpack a .zip safely: bounded entries and size, no path leaving the folder, and only
    data files and Shapefile parts (``ZIP_KEPT``) written: anything else (a .vrt …) is
    never opened."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_ENTRIES:
                raise VectorError(f"{path}: {len(members)} entries in the archive "
                                  f"(at most {MAX_ZIP_ENTRIES})")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise VectorError(f"{path}: unpacks to more than "
                                  f"{MAX_ZIP_BYTES >> 30} GB: refused")
            root = into.resolve()
            for m in members:
                target = (into / m.filename).resolve()
                if root not in target.parents and target != root:
                    raise VectorError(f"{path}: entry {m.filename!r} points outside the "
                                      "archive's folder: refused")
            written = 0
            for m in members:
                if m.is_dir() or Path(m.filename).suffix.lower() not in ZIP_KEPT:
                    continue
                target = into / m.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(m) as src, target.open("wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_ZIP_BYTES:  # sizes in the header can lie
                            raise VectorError(f"{path}: unpacks to more than "
                                              f"{MAX_ZIP_BYTES >> 30} GB: refused")
                        dst.write(chunk)
    except zipfile.BadZipFile as exc:
        raise VectorError(f"{path}: not a readable .zip ({exc})") from None
    found = [p for p in into.rglob("*") if p.suffix.lower() in (".shp", ".geojson", ".json",
                                                                 ".gpkg", ".csv")]
    if len(found) != 1:
        raise VectorError(f"{path}: the archive must hold one data file, found "
                          f"{', '.join(p.name for p in found) or 'none'}")
    return found[0]


def _read_geojson(path: Path) -> VectorFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VectorError(f"{path}: not valid GeoJSON ({exc})") from None
    notes = []
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    elif isinstance(data, list):
        features, notes = data, ["a bare list of features, read as a FeatureCollection"]
    elif isinstance(data, dict) and data.get("type") == "Feature":
        features = [data]
    elif isinstance(data, dict) and "coordinates" in data or (
            isinstance(data, dict) and data.get("type") == "GeometryCollection"):
        features, notes = [{"type": "Feature", "geometry": data, "properties": {}}], [
            "a bare geometry, read as one feature"]
    else:
        raise VectorError(f"{path}: neither a FeatureCollection, a feature list nor a "
                          "geometry")
    geoms, props = [], []
    for i, f in enumerate(features, start=1):
        try:
            geoms.append(shapely.from_geojson(json.dumps(f.get("geometry")))
                         if f.get("geometry") else None)
        except (shapely.errors.GEOSException, TypeError, ValueError) as exc:
            raise VectorError(f"{path}: feature {i}: unreadable geometry ({exc})") from None
        props.append(f.get("properties") or {})
    declared = (data.get("crs") or {}).get("properties", {}).get("name") if isinstance(
        data, dict) else None
    frame = gpd.GeoDataFrame(pd.DataFrame(props), geometry=geoms, crs=None)
    return VectorFile(frame, declared or "", "utf-8", notes)


def _detect_dbf_encoding(shp: Path) -> tuple[str, str]:
    """(encoding, how it was decided) for a Shapefile's attributes."""
    cpg = shp.with_suffix(".cpg")
    if cpg.exists():
        return cpg.read_text().strip() or "UTF-8", f"{cpg.name} says so"
    raw = pyogrio.read_dataframe(shp, read_geometry=False, encoding="latin1")
    texts = [v.encode("latin1") for c in raw.columns if raw[c].dtype == object
             for v in raw[c].dropna() if isinstance(v, str)]
    for candidate in ("utf-8", "gb18030"):
        try:
            for t in texts:
                t.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate.upper(), "no .cpg: detected from the text"
    return "latin1", "no .cpg and neither UTF-8 nor GB18030 fits: read as Latin-1"


def _read_shapefile(shp: Path, tmp: Path, encoding: str | None) -> VectorFile:
    if not shp.with_suffix(".dbf").exists():
        raise VectorError(f"{shp}: the .dbf with its attributes is missing")
    notes = []
    if not shp.with_suffix(".shx").exists() and not shp.with_suffix(".SHX").exists():
        # GDAL rebuilds the index next to the file: work on a copy (the original may be
        # read-only, and is not ours to change)
        copy = tmp / "shp"
        copy.mkdir(exist_ok=True)
        for part in shp.parent.glob(shp.stem + ".*"):
            shutil.copy(part, copy / part.name)
        shp = copy / shp.name
        notes.append("no .shx: the index was rebuilt from the .shp")
    try:
        with pyogrio_config(SHAPE_RESTORE_SHX="YES"):
            if encoding is None:
                encoding, how = _detect_dbf_encoding(shp)
                notes.append(f"attributes read as {encoding} ({how})")
            frame = pyogrio.read_dataframe(shp, encoding=encoding)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FeatureError, pyogrio.errors.GeometryError,
            pyogrio.errors.FieldError, pyogrio.errors.CRSError) as exc:
        raise VectorError(f"{shp}: not a readable Shapefile ({exc})") from None
    declared = frame.crs.to_string() if frame.crs is not None else ""
    frame = frame.set_crs(None, allow_override=True) if frame.crs is not None else frame
    if not shp.with_suffix(".prj").exists():
        notes.append("no .prj: the CRS is not declared")
    return VectorFile(frame, declared, encoding, notes)


class pyogrio_config:  # noqa: N801 - used like a function
    """Set GDAL config options for the duration of a block."""

    def __init__(self, **options: str) -> None:
        self.options = options

    def __enter__(self):
        self.before = {k: pyogrio.get_gdal_config_option(k) for k in self.options}
        pyogrio.set_gdal_config_options(self.options)
        return self

    def __exit__(self, *exc) -> None:
        pyogrio.set_gdal_config_options(self.before)


def _read_ogr(path: Path, layer: str | None) -> VectorFile:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise VectorError(f"{path}: not readable ({exc})") from None
    declared = frame.crs.to_string() if frame.crs is not None else ""
    return VectorFile(frame.set_crs(None, allow_override=True), declared, None, [])


_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
OSM_TAGS = ("building:levels", "height", "name:zh", "addr:street", "addr:housenumber")


def _read_osm(path: Path, layer: str | None) -> VectorFile:
    """OSM XML or PBF through GDAL: the areas (buildings, land use …) by default, with the
    tags the twin uses lifted out of ``other_tags``; broken rings repaired."""
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", RuntimeWarning)
            frame = pyogrio.read_dataframe(path, layer=layer or "multipolygons",
                                           on_invalid="fix")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise VectorError(f"{path}: not readable OSM data ({exc})") from None
    unclosed = sum("Non closed ring" in str(w.message) for w in seen)
    if "other_tags" in frame:
        tags = frame["other_tags"].map(lambda t: dict(_HSTORE.findall(t)) if isinstance(t, str)
                                       else {})
        for key in OSM_TAGS:
            frame[key] = tags.map(lambda d, k=key: d.get(k))
        frame = frame.drop(columns="other_tags")
    frame = frame.set_crs(None, allow_override=True)
    notes = [f"OSM layer {layer or 'multipolygons'}"]
    if unclosed:
        notes.append("unclosed rings closed by GDAL")
    return VectorFile(frame, "EPSG:4326", "utf-8", notes)


def _read_cityjson(path: Path) -> VectorFile:
    """CityJSON buildings as footprints with their height (from ``measuredHeight``, else the
    extent of the geometry), in the file's horizontal CRS."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        scale = data.get("transform", {}).get("scale", [1, 1, 1])
        shift = data.get("transform", {}).get("translate", [0, 0, 0])
        vertices = np.asarray(data["vertices"], dtype=float) * scale + shift
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, ValueError) as exc:
        raise VectorError(f"{path}: not valid CityJSON ({exc})") from None
    rows, geoms = [], []
    for oid, obj in data.get("CityObjects", {}).items():
        if obj.get("type") != "Building" or not obj.get("geometry"):
            continue
        geom = obj["geometry"][0]
        shells = geom["boundaries"] if geom["type"] == "Solid" else [geom["boundaries"]]
        rings = [surface[0] for shell in shells for surface in shell]
        idx = np.unique(np.concatenate([np.asarray(r) for r in rings]))
        z = vertices[idx, 2]
        bottom = [r for r in rings if len(r) >= 3
                  and np.allclose(vertices[r, 2], z.min(), atol=0.01)]
        floor = [p for p in (shapely.make_valid(shapely.Polygon(vertices[r, :2]))
                             for r in bottom) if p.area > 0]
        footprint = (shapely.union_all(floor) if floor  # else the outline of the solid
                     else shapely.convex_hull(shapely.multipoints(vertices[idx, :2])))
        if not footprint.is_valid:
            footprint = shapely.make_valid(footprint)
        height = (obj.get("attributes") or {}).get("measuredHeight") or float(z.max() - z.min())
        rows.append({"code": oid, "height": height})
        geoms.append(footprint)
    ref = str(data.get("metadata", {}).get("referenceSystem", ""))
    code = re.search(r"EPSG/\d+/(\d+)|EPSG:(\d+)", ref)
    source = ""
    if code:
        crs = CRS.from_epsg(int(code.group(1) or code.group(2)))
        horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
        source = horizontal.to_string()
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=None)
    return VectorFile(frame, source, "utf-8", [f"CityJSON {data.get('version')}: "
                                              f"{len(rows)} buildings"])


def find_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    return next((lowered[n] for n in names if n in lowered), None)


def read_table(path: str | Path, encoding: str | None = None, *, as_text: bool = True
               ) -> tuple[pd.DataFrame, str | None, list[str]]:
    """A CSV (UTF-8, else GB18030, or ``encoding``) or XLSX register without geometry:
    (frame, encoding used, notes). With ``as_text`` every cell is read as text (ID numbers
    keep their leading digits and X) and the importer types it."""
    path = guard.plain_path(path, VectorError)
    if not path.is_file():
        raise VectorError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise VectorError(f"{path}: {path.stat().st_size / (1 << 30):.1f} GB is more than one "
                          f"import takes ({MAX_FILE_BYTES >> 30} GB): split it by town")
    guard.check_file(path, VectorError, accepted=TABLE_SUFFIXES,
                     hint="a register is read from .csv or .xlsx")
    notes = []
    if path.suffix.lower() == ".xlsx":
        try:
            frame = pd.read_excel(path, dtype=str if as_text else None)
        except (ValueError, ImportError, OSError) as exc:
            raise VectorError(f"{path}: not a readable spreadsheet ({exc})") from None
        return frame, None, notes
    raw = path.read_bytes()
    used = encoding
    if used is None:
        for candidate in ("utf-8-sig", "gb18030"):
            try:
                raw.decode(candidate)
                used = candidate
                break
            except UnicodeDecodeError:
                continue
        if used is None:
            raise VectorError(f"{path}: the text is neither UTF-8 nor GB18030: give --encoding")
        notes.append(f"text read as {used}")
    import io

    try:
        text = raw.decode(used)
    except (UnicodeDecodeError, LookupError) as exc:
        raise VectorError(f"{path}: cannot be read as {used}: {exc}") from None
    try:
        frame = (pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                             na_values=[""]) if as_text else pd.read_csv(io.StringIO(text)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise VectorError(f"{path}: not a readable CSV table ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, used, notes


def _read_table(path: Path, encoding: str | None) -> VectorFile:
    frame, used, notes = read_table(path, encoding, as_text=False)
    lon, lat = find_column(frame, LON_NAMES), find_column(frame, LAT_NAMES)
    if lon is None or lat is None:
        raise VectorError(f"{path}: no longitude/latitude columns (looked for "
                          f"{'/'.join(LON_NAMES[:4])} and {'/'.join(LAT_NAMES[:2])}, 经度/纬度)")
    x = pd.to_numeric(frame[lon], errors="coerce")
    y = pd.to_numeric(frame[lat], errors="coerce")
    bad = np.flatnonzero(x.isna() | y.isna())
    if len(bad):
        raise VectorError(f"{path}: row {bad[0] + 2}: {lon}/{lat} is not a number")
    geoms = shapely.points(x.to_numpy(), y.to_numpy())
    frame = gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=geoms, crs=None)
    return VectorFile(frame, "", used, notes)


def _likely_crs(bounds: np.ndarray) -> str:
    """A suggestion for coordinates that are not longitude/latitude."""
    minx, miny, maxx, maxy = bounds
    if 3.0e5 <= minx and maxx <= 7.0e5 and 2.0e6 <= miny and maxy <= 6.0e6:
        return ("they look like metres in a 3° Gauss–Krüger zone without zone prefix: "
                "try --crs EPSG:4549 (CGCS2000, CM 120°E) for Tongxiang")
    if 3.0e7 <= minx <= 4.6e7:
        zone = int(minx // 1e6)
        return (f"they look like metres with the zone number {zone} in front: try the "
                f"CGCS2000 3° zone {zone} (EPSG:{4513 + zone - 25})")
    return "give the file's CRS with --crs"


def _to_wgs84(result: VectorFile, path: Path, override: str | None) -> VectorFile:
    frame = result.frame
    source = (override or result.source_crs or "").strip()
    bounds = np.array(frame.total_bounds) if len(frame) else np.zeros(4)
    plausible = (len(frame) == 0 or (-180 <= bounds[0] and bounds[2] <= 180
                                     and -90 <= bounds[1] and bounds[3] <= 90))
    if not source:
        if not plausible:
            raise VectorError(f"{path}: the CRS is not declared and the coordinates "
                              f"({bounds[0]:.0f}, {bounds[1]:.0f}) are not longitude/latitude: "
                              f"{_likely_crs(bounds)}")
        source = STORAGE_CRS
        result.notes.append("no CRS declared: read as WGS84 longitude/latitude (give --crs "
                            "gcj02 or bd09 if it comes from a Chinese web map)")
    if source.lower() in OFFSET_CRS:
        geoms = transform_geometries(frame.geometry.to_numpy(), source.lower())
        frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms,
                                 crs=STORAGE_CRS)
        result.notes.append(f"{source.upper()} converted to WGS84")
    else:
        if guard.crs_names_a_file(source):
            raise VectorError(f"{path}: the CRS {source[:80]!r} names a file (PROJ +init= or a "
                              "grid path): refused; give --crs EPSG:…")
        try:
            declared = CRS.from_user_input(source)
        except Exception as exc:  # noqa: BLE001 - pyproj raises several kinds
            raise VectorError(f"{path}: unknown CRS {source!r} ({exc})") from None
        frame = frame.set_crs(declared, allow_override=True).to_crs(STORAGE_CRS)
    if len(frame):
        west, south, east, north = frame.total_bounds
        cw, cs, ce, cn = CHINA
        if east < cw or west > ce or north < cs or south > cn:
            result.notes.append(f"the features lie outside China (around {(west + east) / 2:.3f}, "
                                f"{(south + north) / 2:.3f}): check the CRS")
    result.frame, result.source_crs = frame, source
    return result
