"""Every real file in tests/data (``REAL``) is read, or refused for a stated reason, with
the right counts, readable names and true positions (see that folder's README: where each
file comes from, its licence, and how two of them were made smaller)."""

from __future__ import annotations

import pytest

from geodata.raster import raster_info
from geodata.vector import VectorError, read_vector
from tests.conftest import REAL


def test_every_real_file_is_covered_here():
    files = {p.name for p in REAL.rglob("*") if p.is_file() and p.name != "README.md"}
    assert files == {"jiaxing_city_gcj02.geojson", "pinghu_county_gcj02.geojson",
                     "zhejiang_districts.shp", "zhejiang_districts.dbf", "village_bavaria.osm",
                     "small_town_finland.osm.pbf", "delft.city.json", "landsat_rgb_utm18n.tif",
                     "elevation_sf.tif"}


def test_every_real_file_has_its_source_and_licence_in_the_readme():
    readme = (REAL / "README.md").read_text(encoding="utf-8")
    for path in REAL.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert f"`{path.relative_to(REAL)}`" in readme, path.name


def test_osm_xml_buildings_with_levels():
    got = read_vector(REAL / "village_bavaria.osm")
    buildings = got.frame[got.frame["building"].notna()]
    assert len(buildings) >= 30 and buildings["building:levels"].notna().sum() >= 9
    assert got.frame.total_bounds[0] == pytest.approx(10.07, abs=0.01)  # Bavaria
    assert any("outside China" in n for n in got.notes)


def test_osm_pbf_town_with_broken_rings_repaired():
    got = read_vector(REAL / "small_town_finland.osm.pbf")
    assert 2000 < got.frame["building"].notna().sum() < 2500
    # a relation GDAL cannot close stays empty: the importer drops and reports it
    assert got.frame.geometry.isna().sum() < 20  # of 2,302 areas
    assert 26.9 < got.frame.total_bounds[0] < 27.0 and 60.5 < got.frame.total_bounds[1] < 60.6


def test_cityjson_buildings_as_footprints_with_heights():
    got = read_vector(REAL / "delft.city.json")
    assert len(got.frame) == 160 and got.source_crs == "EPSG:28992"
    assert got.frame["height"].between(0.5, 60).all()
    metric = got.frame.geometry.to_crs(28992)
    assert got.frame.geometry.is_valid.all() and metric.area.between(1, 20_000).all()
    west, south, _, _ = got.frame.total_bounds
    assert 4.3 < west < 4.4 and 52.0 < south < 52.1  # Delft


@pytest.mark.parametrize(("name", "crs", "count"), [
    ("elevation_sf.tif", "EPSG:4326", 1), ("landsat_rgb_utm18n.tif", "EPSG:32618", 3)])
@pytest.mark.filterwarnings("ignore::rio_tiler.errors.NoOverviewWarning")
def test_rasters_are_described(name, crs, count):
    info = raster_info(REAL / name)
    assert info["crs"] == crs and info["count"] == count


def test_a_raster_is_not_a_vector_file():
    with pytest.raises(VectorError, match="unknown format .tif"):
        read_vector(REAL / "elevation_sf.tif")
