"""Hostile files: every file a user hands in is opened only as what it claims to be.

GDAL picks a driver by content, so an OGR VRT (XML naming any file or URL) saved as
``x.gpkg`` would make the server read a local secret and show it in the preview. Each case
builds its file in ``tmp_path`` next to a secret holding ``MARKER``; the file must be
refused with the reason, and the marker must never appear in the error. Real files of each
format still read. GDAL's network access is off once ``geodata`` is imported (checked
against a local HTTP server that must receive nothing). Only the importer cases need the
database.
"""

from __future__ import annotations

import http.server
import json
import shutil
import sqlite3
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
import sqlalchemy as sa
from affine import Affine
from click.testing import CliRunner

from geodata import guard, raster
from geodata.raster import RasterError, raster_info, to_cog
from geodata.vector import VectorError, _unzip, read_table, read_vector

MARKER = "SECRET-MARKER-7f3a9c"
VECTOR_EXTENSIONS = (".gpkg", ".shp", ".fgb", ".osm", ".pbf", ".geojson", ".json", ".cityjson",
                     ".csv", ".txt", ".xlsx")
HOSTILE_PATHS = ("/vsicurl/http://127.0.0.1:9/x.geojson", "CSV:/etc/passwd",
                 "GPKG:/tmp/x.gpkg:layer", "vrt:///tmp/x.tif")


# --- the hostile files ----------------------------------------------------------------------
@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A local file the server must never show: a CSV with coordinates, so that a VRT
    would turn it into a point layer for the preview map."""
    path = tmp_path / "secret" / "keys.csv"
    path.parent.mkdir()
    path.write_text(f"name,lon,lat\n{MARKER},120.5,30.7\n")
    return path


def ogr_vrt(source: str) -> str:
    return ('<OGRVRTDataSource><OGRVRTLayer name="keys">'
            f"<SrcDataSource>{source}</SrcDataSource><SrcLayer>keys</SrcLayer>"
            '<GeometryType>wkbPoint</GeometryType>'
            '<GeometryField encoding="PointFromColumns" x="lon" y="lat"/>'
            "</OGRVRTLayer></OGRVRTDataSource>\n")


def raster_vrt(secret: Path) -> str:
    """A raster VRT whose one band is the bytes of ``secret``."""
    return (f'<VRTDataset rasterXSize="16" rasterYSize="4"><SRS>EPSG:4326</SRS>'
            "<GeoTransform>120.5, 0.001, 0, 30.7, 0, -0.001</GeoTransform>"
            '<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
            f'<SourceFilename relativeToVRT="0">{secret}</SourceFilename>'
            "<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset>"
            "<LineOffset>16</LineOffset></VRTRasterBand></VRTDataset>\n")


def houses() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"名称": ["甲", "乙"], "层数": [2, 3]},
                            geometry=[shapely.box(120.5, 30.7, 120.5001, 30.7001),
                                      shapely.box(120.51, 30.71, 120.5101, 30.7101)],
                            crs="EPSG:4326")


def refused(error: pytest.ExceptionInfo, *words: str) -> None:
    """The error gives its reason and never the secret."""
    message = str(error.value)
    assert MARKER not in message and "root:" not in message
    for word in words:
        assert word in message, message


def test_the_hostile_vrt_really_reads_the_secret(tmp_path, secret):
    """Not a strawman: handed to GDAL directly, the VRT shows the secret."""
    path = tmp_path / "keys.vrt"
    path.write_text(ogr_vrt(f"CSV:{secret}"))
    assert list(pyogrio.read_dataframe(path)["name"]) == [MARKER]
    tif = tmp_path / "band.vrt"
    tif.write_text(raster_vrt(secret))
    with rasterio.open(tif) as src:
        assert MARKER.encode() in src.read(1).tobytes()


@pytest.mark.parametrize("ext", VECTOR_EXTENSIONS)
def test_a_vrt_under_any_vector_extension_is_refused(tmp_path, secret, ext):
    path = tmp_path / f"buildings{ext}"
    path.write_text(ogr_vrt(f"CSV:{secret}"))
    if ext == ".shp":  # with a real attribute table beside it
        houses().to_file(tmp_path / "real.shp")
        shutil.copy(tmp_path / "real.dbf", tmp_path / "buildings.dbf")
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, f"buildings{ext}", "GDAL VRT", "refused")
    if ext in (".csv", ".txt", ".xlsx"):  # registers are read through read_table
        with pytest.raises(VectorError) as err:
            read_table(path)
        refused(err, "GDAL VRT")


@pytest.mark.parametrize(("ext", "reason"), [(".gml", "GML is not read"),
                                             (".kml", "KML is not read"),
                                             (".xls", "save it as .xlsx or .csv"),
                                             (".vrt", "never opened")])
def test_gml_kml_xls_and_vrt_are_not_read(tmp_path, secret, ext, reason):
    path = tmp_path / f"layer{ext}"
    path.write_text(ogr_vrt(f"CSV:{secret}"))
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, reason)


def test_a_vrt_with_a_url_source_is_refused(tmp_path):
    path = tmp_path / "remote.gpkg"
    path.write_text(ogr_vrt("/vsicurl/http://127.0.0.1:9/keys.csv"))
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, "GDAL VRT")


def test_a_shapefile_whose_parts_are_not_shapefile_parts(tmp_path, secret):
    houses().to_file(tmp_path / "b.shp")
    assert len(read_vector(tmp_path / "b.shp").frame) == 2
    (tmp_path / "b.dbf").write_text(ogr_vrt(f"CSV:{secret}"))
    with pytest.raises(VectorError) as err:
        read_vector(tmp_path / "b.shp")
    refused(err, "b.dbf is not a dBASE file")
    houses().to_file(tmp_path / "c.shp")
    (tmp_path / "c.shx").write_text(ogr_vrt(f"CSV:{secret}"))
    with pytest.raises(VectorError) as err:
        read_vector(tmp_path / "c.shp")
    refused(err, "c.shx is not a Shapefile index")


@pytest.mark.parametrize("ext", [".tif", ".tiff"])
def test_a_raster_vrt_renamed_tif_is_refused(tmp_path, secret, ext):
    path = tmp_path / f"dem{ext}"
    path.write_text(raster_vrt(secret))
    out = tmp_path / "out" / "dem.tif"
    with pytest.raises(RasterError) as err:
        to_cog(path, out, kind="dem")
    refused(err, f"dem{ext}", "not a raster GeoTIFF but a GDAL VRT")
    assert not out.exists()


def test_a_raster_is_read_only_as_a_geotiff(tmp_path):
    png = tmp_path / "dem.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(RasterError, match=r"dem\.png: unknown format \.png: .*GeoTIFF"):
        to_cog(png, tmp_path / "x.tif", kind="dem")


# --- archives -------------------------------------------------------------------------------
def test_a_vrt_renamed_gpkg_inside_a_zip_is_refused(tmp_path, secret):
    path = tmp_path / "delivery.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data/buildings.gpkg", ogr_vrt(f"CSV:{secret}"))
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, f"{path}:data/buildings.gpkg", "GDAL VRT")
    assert "twin-import-" not in str(err.value)


def test_other_files_in_a_zip_are_never_unpacked(tmp_path, secret):
    path = tmp_path / "delivery.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("b.geojson", json.dumps(json.loads(houses().to_json())))
        z.writestr("b.vrt", ogr_vrt(f"CSV:{secret}"))
        z.writestr("b.ovf", ogr_vrt(f"CSV:{secret}"))
        z.writestr("b.geojson.aux.xml", "<PAMDataset/>")
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    assert _unzip(path, unpacked).name == "b.geojson"
    assert sorted(p.name for p in unpacked.rglob("*")) == ["b.geojson"]
    assert list(read_vector(path).frame["名称"]) == ["甲", "乙"]


# --- GeoPackages that are SQLite files but hold more than tables ----------------------------
def gpkg_with(tmp_path: Path, name: str, *statements: str, schema: bool = False) -> Path:
    """A real GeoPackage (layer ``houses``) changed with sqlite3; ``schema`` writes the
    statements' objects straight into sqlite_master, as an attacker can."""
    path = tmp_path / name
    houses().to_file(path, layer="houses")
    with sqlite3.connect(path) as db:
        if schema:
            db.execute("PRAGMA writable_schema = ON")
        for sql in statements:
            db.execute(sql)
    return path


def test_a_geopackage_with_a_view_over_another_database_is_refused(tmp_path, secret):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE keys (name TEXT)")
        db.execute("INSERT INTO keys VALUES (?)", (MARKER,))
    path = tmp_path / "view.gpkg"
    houses().to_file(path, layer="houses")
    with sqlite3.connect(path) as db:
        db.execute(f"ATTACH DATABASE '{other}' AS other")
        with pytest.raises(sqlite3.Error):  # SQLite itself refuses to create it …
            db.execute("CREATE VIEW leak AS SELECT * FROM other.keys")
        db.execute("DETACH DATABASE other")
        db.execute("PRAGMA writable_schema = ON")  # … so it is written into the schema
        db.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
                   "('view', 'leak', 'leak', 0, 'CREATE VIEW leak AS SELECT * FROM other.keys')")
        db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES "
                   "('leak', 'attributes', 'leak')")
    with pytest.raises(VectorError) as err:
        read_vector(path, layer="leak")
    refused(err, "view.gpkg", "the view 'leak'")


@pytest.mark.parametrize(("statements", "schema", "reason"), [
    (["CREATE VIEW leak AS SELECT * FROM houses",
      "INSERT INTO gpkg_contents (table_name, data_type) VALUES ('leak', 'attributes')"],
     False, "the view 'leak'"),
    (["INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', "
      "'leak', 'leak', 0, 'CREATE VIRTUAL TABLE leak USING VirtualOGR(''/etc/passwd'')')"],
     True, "the virtual table 'leak' (USING VirtualOGR)"),
    (["INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', "
      "'sneaky', 'sneaky', 0, 'CREATE VIEW sneaky AS SELECT 1')"],
     True, "the view 'sneaky'"),
    (["CREATE TABLE calc (a TEXT, b TEXT GENERATED ALWAYS AS (upper(a)) VIRTUAL)"],
     False, "table 'calc' has generated columns"),
], ids=["view", "virtual-ogr", "view-disguised-as-table", "generated-column"])
def test_geopackage_objects_gdal_would_evaluate_are_refused(tmp_path, statements, schema,
                                                           reason):
    path = gpkg_with(tmp_path, "b.gpkg", *statements, schema=schema)
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, "b.gpkg", reason, "refused")


def test_plain_sqlite_and_uncommitted_journals_are_refused(tmp_path):
    plain = tmp_path / "plain.gpkg"
    with sqlite3.connect(plain) as db:
        db.execute("CREATE TABLE t (a)")
    with pytest.raises(VectorError, match="an SQLite database but not a GeoPackage"):
        read_vector(plain)
    path = gpkg_with(tmp_path, "b.gpkg")
    (tmp_path / "b.gpkg-wal").write_bytes(b"\x00" * 32)
    with pytest.raises(VectorError, match="uncommitted -wal file"):
        read_vector(path)


# --- OSM XML: GDAL's other XML readers pick a file by strings in its first bytes ----------
OSM_HEAD = "<?xml version='1.0' encoding='UTF-8'?>\n"
OSM_BODY = ('<osm version="0.6"><node id="1" lat="30.7" lon="120.5"/>'
            '<node id="2" lat="30.7" lon="120.501"/><node id="3" lat="30.701" lon="120.501"/>'
            '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>'
            '<tag k="building" v="house"/></way></osm>\n')


def test_a_plain_osm_file_reads(tmp_path):
    path = tmp_path / "village.osm"
    path.write_text(OSM_HEAD + OSM_BODY)
    got = read_vector(path)
    assert list(got.frame["building"]) == ["house"]


@pytest.mark.parametrize(("text", "reason"), [
    ('<osm version="0.6"/>\n{vrt}', "GDAL VRT"),
    (OSM_HEAD + "<!-- {vrt} -->\n" + OSM_BODY, "GDAL VRT"),
    (OSM_HEAD + "<!-- <kml> -->\n" + OSM_BODY, "markup in a comment"),
    (OSM_HEAD + '<!DOCTYPE osm [<!ENTITY s SYSTEM "file://{secret}">]>\n'
     + OSM_BODY.replace('v="house"', 'v="&s;"'), "DOCTYPE"),
    (OSM_BODY.replace('<osm version="0.6">',
                      '<osm version="0.6" xmlns:gml="http://www.opengis.net/gml">'), "GML"),
    (OSM_BODY.replace("<way", "<gml:FeatureCollection/><way"), "not an OSM element"),
    ("<kml><Document/></kml>\n", "root element is <kml>"),
], ids=["vrt-after-root", "vrt-in-comment", "kml-in-comment", "entity", "gml-namespace",
        "foreign-element", "kml"])
def test_osm_xml_that_is_also_something_else_is_refused(tmp_path, secret, text, reason):
    path = tmp_path / "village.osm"
    path.write_text(text.format(vrt=ogr_vrt(f"CSV:{secret}"), secret=secret))
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, "village.osm", reason)


def test_json_and_csv_holding_xml_are_refused_with_a_reason(tmp_path):
    for name in ("b.geojson", "t.csv"):
        (tmp_path / name).write_text("\ufeff  <svg/>")
        with pytest.raises(VectorError, match=f"{name}: not .* but XML"):
            read_vector(tmp_path / name)


def test_a_crs_naming_a_file_is_refused(tmp_path, secret):
    path = tmp_path / "b.geojson"
    data = json.loads(houses().to_json())
    data["crs"] = {"type": "name", "properties": {"name": f"+init={secret}:x"}}
    path.write_text(json.dumps(data))
    with pytest.raises(VectorError) as err:
        read_vector(path)
    refused(err, "names a file")
    with pytest.raises(VectorError, match="names a file"):
        read_vector(tmp_path / "b.geojson", crs="+proj=longlat +nadgrids=/etc/passwd")


# --- paths GDAL would take for something else ---------------------------------------------
@pytest.mark.parametrize("raw", HOSTILE_PATHS)
def test_paths_that_are_not_plain_files_are_refused(tmp_path, raw):
    for given in (raw, Path(raw)):  # a Path collapses "://" but stays refused
        with pytest.raises(VectorError, match="not a plain file: refused"):
            read_vector(given)
        with pytest.raises(VectorError, match="not a plain file: refused"):
            read_table(given)
        with pytest.raises(RasterError, match="not a plain file: refused"):
            to_cog(given, tmp_path / "x.tif", kind="dem")


# --- GDAL offline ---------------------------------------------------------------------------
@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server (base URL, requests it received) serving anything asked."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "FeatureCollection", "features": []}')

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def test_gdal_is_offline_even_when_called_directly(tmp_path, web):
    base, seen = web
    assert pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS") == ".twin-offline"
    assert rasterio.env.get_gdal_config("GDAL_HTTP_PROXY") == "127.0.0.1:9"
    for path in (f"/vsicurl/{base}/x.geojson", f"{base}/x.geojson", f"WFS:{base}/wfs"):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_dataframe(path)
    vrt = tmp_path / "remote.vrt"
    vrt.write_text(ogr_vrt(f"/vsicurl/{base}/keys.csv"))
    with pytest.raises(pyogrio.errors.DataLayerError, match="Failed to open datasource"):
        pyogrio.read_dataframe(vrt)
    for path in (f"/vsicurl/{base}/x.tif", f"{base}/x.tif"):
        with pytest.raises(rasterio.errors.RasterioIOError):
            rasterio.open(path)
    assert seen == []
    guard.offline()  # again: harmless
    with rasterio.Env(GDAL_HTTP_PROXY=""):  # a block that changes it gives it back
        pass
    assert rasterio.env.get_gdal_config("GDAL_HTTP_PROXY") == "127.0.0.1:9"


# --- real files still read ------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".gpkg", ".shp", ".fgb"])
def test_real_files_written_by_gdal_still_read(tmp_path, ext):
    path = tmp_path / f"b{ext}"
    houses().to_file(path, encoding="GB18030" if ext == ".shp" else None)
    got = read_vector(path)
    assert sorted(got.frame["名称"]) == ["乙", "甲"] and got.frame.crs.to_epsg() == 4326


def test_a_real_geotiff_still_becomes_a_cog_and_the_twins_own_cogs_use_vrt(tmp_path):
    src = tmp_path / "dem.tif"
    data = np.arange(48 * 64, dtype=np.float32).reshape(48, 64)
    with rasterio.open(src, "w", driver="GTiff", count=1, height=48, width=64,
                       dtype="float32", crs="EPSG:4549",
                       transform=Affine(10, 0, 545_000, 0, -10, 3_402_000)) as dst:
        dst.write(data, 1)
    cog = to_cog(src, tmp_path / "out" / "dem.tif", kind="dem")
    with rasterio.open(cog) as d:
        np.testing.assert_array_equal(d.read(1), data)
    dataset, crs = raster._open_dataset(str(cog))  # the twin's own file: vrt:// allowed
    with dataset:
        assert dataset.name.startswith("vrt://") and crs.to_epsg() == 4549
    assert raster_info(cog)["crs"] == "EPSG:4549"


# --- through the importer -------------------------------------------------------------------
def test_the_importer_writes_nothing_from_a_hostile_file(scratch, settings, tmp_path, secret):
    from twin.errors import LoadError
    from twin.ingest.importer import import_file, import_raster
    from twin.runtime.cli import main

    path = tmp_path / "buildings.gpkg"
    path.write_text(ogr_vrt(f"CSV:{secret}"))
    with pytest.raises(VectorError) as err:
        import_file(scratch, path, "facilities", dry_run=True)
    refused(err, "GDAL VRT")
    with pytest.raises(VectorError) as err:
        import_file(scratch, path, "buildings")
    refused(err, "GDAL VRT")
    cfg = settings.model_copy(update={
        "database_url": scratch.url.render_as_string(hide_password=False)})
    out = CliRunner().invoke(main, ["import", str(path), "--as", "facilities"],
                             obj={"settings": cfg})
    assert out.exit_code != 0 and "GDAL VRT" in out.output and MARKER not in out.output
    with scratch.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM buildings")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM facilities")).scalar() == 0
    tif = tmp_path / "dem.tif"
    tif.write_text(raster_vrt(secret))
    with pytest.raises(LoadError) as err:
        import_raster(SimpleNamespace(data_dir=tmp_path / "twin"), tif, "dem")
    refused(err, "GDAL VRT")
    assert not list((tmp_path / "twin" / "rasters").iterdir())
