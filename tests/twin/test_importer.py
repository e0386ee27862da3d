"""Imports: all or nothing, field mapping, repairs and rejections counted, GCJ-02 data
landing on its true position, errors naming the file and the feature."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from click.testing import CliRunner

from geodata.chinacrs import transform_geometries
from geodata.vector import read_vector
from tests.conftest import REAL
from twin.ingest.importer import ImportError_, import_file
from twin.runtime.cli import main


@pytest.fixture(scope="module")
def engine(sample_db):
    """A database of its own (these tests write), holding the village sample."""
    return sample_db("importer")


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608


def _houses(village_sample, n=5, offset=0.0, prefix="NEW"):
    """New footprints next to sample buildings (same micro-grids), as GeoJSON features."""
    feats = []
    for i, b in enumerate(village_sample.buildings.geometry.iloc[:n]):
        moved = shapely.affinity.translate(b, xoff=offset, yoff=0.0)
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(moved)),
                      "properties": {"编号": f"{prefix}-{i}", "层数": str(2 + i % 3),
                                     "用途": "住宅"}})
    return feats


def _write(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def test_buildings_with_chinese_fields_and_gcj02_coordinates(engine, village_sample, tmp_path):
    feats = _houses(village_sample)
    truth = [shapely.from_geojson(json.dumps(f["geometry"])) for f in feats]
    shifted = transform_geometries(np.array(truth, dtype=object), "wgs84", "gcj02")
    for f, g in zip(feats, shifted, strict=True):
        f["geometry"] = json.loads(shapely.to_geojson(g))
    before = _count(engine, "buildings")
    report = import_file(engine, _write(tmp_path / "b.geojson", feats), "buildings",
                         crs="gcj02")
    assert (report.read, report.written, report.rejected) == (5, 5, 0)
    assert _count(engine, "buildings") == before + 5
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT code, floors, height_m, use, ST_AsBinary(ST_Centroid(geom)) FROM buildings "
            "WHERE code LIKE 'NEW-%' ORDER BY code")).all()
    assert [(r.code, r.floors, r.use) for r in rows[:2]] == [("NEW-0", 2, "residential"),
                                                            ("NEW-1", 3, "residential")]
    for r, g in zip(rows, truth, strict=True):  # back on the true position, within 1 m
        c = shapely.from_wkb(r[4])
        assert c.distance(g.centroid) * 111_000 < 1.0


def test_nothing_is_written_when_one_feature_is_outside(engine, village_sample, tmp_path):
    feats = _houses(village_sample, n=3, prefix="OUT")
    feats[2]["geometry"] = {"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.41, 39.9],
                                                                [116.41, 39.91], [116.4, 39.9]]]}
    before = _count(engine, "buildings")
    with pytest.raises(ImportError_, match=r"o.geojson: buildings: row .* lies outside every "
                                           r"micro-grid"):
        import_file(engine, _write(tmp_path / "o.geojson", feats), "buildings")
    assert _count(engine, "buildings") == before


def test_repairs_and_rejections_are_counted(engine, village_sample, tmp_path):
    feats = _houses(village_sample, n=3, prefix="REP")
    feats.append(feats[0])  # a duplicate
    feats.append({"type": "Feature", "geometry": None, "properties": {}})  # empty
    b = village_sample.buildings.geometry.iloc[3].bounds
    bowtie = [[b[0], b[1]], [b[2], b[3]], [b[2], b[1]], [b[0], b[3]], [b[0], b[1]]]
    feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [bowtie]},
                  "properties": {"编号": "BOWTIE"}})
    report = import_file(engine, _write(tmp_path / "r.geojson", feats), "buildings",
                         dry_run=True)
    assert (report.read, report.repaired, report.rejected, report.written) == (6, 1, 2, 4)
    assert any("duplicate" in n for n in report.notes)


def test_facilities_from_a_gbk_csv_through_the_command_line(engine, settings, tmp_path,
                                                           village_sample):
    p = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[0].geometry
    x, y = p.representative_point().x, p.representative_point().y
    path = tmp_path / "toilets.csv"
    path.write_bytes(f"名称,类型,管理单位,经度,纬度\n东栅公厕,toilet,镇环卫所,{x},{y}\n"
                     .encode("gbk"))
    cfg = settings.model_copy(update={
        "database_url": engine.url.render_as_string(hide_password=False)})
    out = CliRunner().invoke(main, ["import", str(path), "--as", "facilities", "--dry-run"],
                             obj={"settings": cfg})
    assert out.exit_code == 0, out.output
    assert "would write 1 facilities" in out.output and "gb18030" in out.output
    before = _count(engine, "facilities")
    done = CliRunner().invoke(main, ["import", str(path), "--as", "facilities"],
                              obj={"settings": cfg})
    assert done.exit_code == 0 and _count(engine, "facilities") == before + 1
    with engine.connect() as conn:
        props = conn.execute(sa.text(
            "SELECT props FROM facilities WHERE name = '东栅公厕'")).scalar()
    assert props == {"管理单位": "镇环卫所"}
    bad = CliRunner().invoke(main, ["import", str(path), "--as", "facilities",
                                    "--map", "kind"], obj={"settings": cfg})
    assert bad.exit_code == 2 and "write TARGET=SOURCE" in bad.output


def test_a_facilitys_columns_about_a_person_are_left_out(engine, village_sample, tmp_path):
    from twin.ingest.importer import import_file

    p = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[1].geometry
    x, y = p.representative_point().x, p.representative_point().y
    path = tmp_path / "stays.csv"
    path.write_text(f"名称,类型,床位,负责人,联系电话,备注,经度,纬度\n"
                    f"枕水人家,homestay,12,张三,13812345678,前台电话13912345678,{x},{y}\n",
                    encoding="utf-8")
    report = import_file(engine, path, "facilities")
    with engine.connect() as conn:
        props = conn.execute(sa.text(
            "SELECT props FROM facilities WHERE name = '枕水人家'")).scalar()
    assert props == {"床位": 12, "备注": "前台电话139****5678"}
    assert any("负责人" in n and "联系电话" in n for n in report.notes)


def test_mapping_errors_name_the_field(engine, village_sample, tmp_path):
    path = _write(tmp_path / "m.geojson", _houses(village_sample, n=1, prefix="MAP"))
    with pytest.raises(ImportError_, match="no field '楼层'"):
        import_file(engine, path, "buildings", mapping={"floors": "楼层"})
    feats = _houses(village_sample, n=1, prefix="NUM")
    feats[0]["properties"]["层数"] = "三层半"
    with pytest.raises(ImportError_, match="feature 1: floors '三层半' is not a number"):
        import_file(engine, _write(tmp_path / "n.geojson", feats), "buildings")


def test_real_files_outside_the_county_are_refused_for_that_reason(engine):
    before = _count(engine, "buildings")
    for name in ("village_bavaria.osm", "delft.city.json"):
        with pytest.raises(ImportError_, match=rf"{name}: buildings: row .* lies outside every "
                                               r"micro-grid"):
            import_file(engine, REAL / name, "buildings")
    assert _count(engine, "buildings") == before


def _units_file(path, units, **rename):
    feats = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(u.geometry)),
              "properties": {"编码": u.code, "名称": u.name, **{k: getattr(u, v)
                                                            for k, v in rename.items()}}}
             for u in units.itertuples()]
    return _write(path, feats)


def test_units_level_by_level_nest_by_place_or_by_parent_code(scratch, village_sample,
                                                              tmp_path):
    units = village_sample.units
    towns, villages = units[units["level"] == "town"], units[units["level"] == "village"]
    vfile = _units_file(tmp_path / "villages.geojson", villages)
    with pytest.raises(ImportError_, match=r"villages.geojson: feature 1 \(.*\): it lies in "
                                           r"no town of the twin: import the towns first"):
        import_file(scratch, vfile, "units", level="village")
    assert _count(scratch, "units") == 0
    report = import_file(scratch, _units_file(tmp_path / "towns.geojson", towns), "units",
                         level="town")
    assert report.written == len(towns)
    report = import_file(scratch, vfile, "units", level="village")  # parents by place
    assert report.written == len(villages)
    with scratch.connect() as conn:
        pairs = set(conn.execute(sa.text(
            "SELECT v.code, t.code FROM units v JOIN units t ON t.id = v.parent_id "
            "WHERE v.level = 'village'")).all())
    code = units.set_index("id")["code"]
    assert pairs == {(v.code, code[v.parent_id]) for v in villages.itertuples()}
    grids = units[units["level"] == "grid"].copy()
    grids["parent_code"] = grids["parent_id"].map(code)
    gfile = _units_file(tmp_path / "grids.geojson", grids, 上级编码="parent_code")
    assert import_file(scratch, gfile, "units", level="grid").written == len(grids)
    bad = _units_file(tmp_path / "bad.geojson", grids.head(1).assign(code="12AB"))
    with pytest.raises(ImportError_, match="feature 1: code '12AB' is not an official unit"):
        import_file(scratch, bad, "units", level="grid")
    with pytest.raises(ImportError_, match="units need --level"):
        import_file(scratch, bad, "units")


@pytest.mark.parametrize(("code", "name"), [("XZQDM", "XZQMC"), ("adcode", "name"),
                                           ("行政区划代码", "名称"), ("代码", "名称")])
def test_units_by_the_field_names_of_admin_data(scratch, village_sample, tmp_path, code,
                                                name):
    """The land survey's XZQDM/XZQMC, DataV/Amap's adcode/name and plain 代码/名称 need no
    --map."""
    towns = village_sample.units[village_sample.units["level"] == "town"]
    feats = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(u.geometry)),
              "properties": {code: u.code, name: u.name}} for u in towns.itertuples()]
    report = import_file(scratch, _write(tmp_path / "towns.geojson", feats), "units",
                         level="town", dry_run=True)
    assert report.written == len(towns) and report.rejected == 0


def test_grid_registers_name_their_grids(scratch, village_sample, tmp_path):
    units = village_sample.units
    import_file(scratch, _units_file(tmp_path / "t.geojson", units[units.level == "town"]),
                "units", level="town")
    import_file(scratch, _units_file(tmp_path / "v.geojson", units[units.level == "village"]),
                "units", level="village")
    grids = units[units["level"] == "grid"]
    feats = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(g.geometry)),
              "properties": {"网格编码": g.code, "网格名称": g.name}} for g in grids.itertuples()]
    assert import_file(scratch, _write(tmp_path / "g.geojson", feats), "units",
                       level="grid").written == len(grids)
    with scratch.connect() as conn:
        assert set(conn.execute(sa.text("SELECT code, name FROM units WHERE level = 'grid'"))
                   .all()) == {(g.code, g.name) for g in grids.itertuples()}


def test_a_polygon_with_no_area_left_after_repair_is_dropped_not_fatal():
    """OSM buildings drawn as relations: a ring of too few points repairs to a line."""
    from twin.ingest.importer import ImportReport, _clean

    path = REAL / "small_town_finland.osm.pbf"
    found = read_vector(path)
    report = ImportReport(read=len(found.frame))
    kept = _clean(found.frame, path, True, report)
    assert any("no area left after repair dropped (first: feature 19)" in n
               for n in report.notes)
    assert len(kept) == len(found.frame) - report.rejected > 2000
    assert set(kept.geometry.geom_type) == {"MultiPolygon"}


def test_hostile_sizes_are_refused_with_bounded_work(engine, tmp_path):
    import math

    ring = [[120.5 + 0.01 * math.cos(2 * math.pi * k / 1_000_000),
             30.7 + 0.01 * math.sin(2 * math.pi * k / 1_000_000)] for k in range(1_000_000)]
    ring.append(ring[0])
    huge = _write(tmp_path / "huge.geojson", [{"type": "Feature", "properties": {},
                                               "geometry": {"type": "Polygon",
                                                            "coordinates": [ring]}}])
    with pytest.raises(ImportError_, match=r"feature 1: 1,000,001 vertices \(at most 100,000\)"):
        import_file(engine, huge, "buildings")
    big = tmp_path / "county.geojson"
    with big.open("wb") as f:
        f.truncate(3 << 30)  # a sparse 3 GB file: nothing is read
    from geodata.vector import VectorError

    with pytest.raises(VectorError, match="3.2 GB is more than one import takes"):
        import_file(engine, big, "buildings")


@pytest.mark.filterwarnings("ignore::rio_tiler.errors.NoOverviewWarning")
def test_rasters_import_as_cogs_and_far_ones_are_flagged(settings, tmp_path):
    cfg = settings.model_copy(update={"data_dir": tmp_path})
    out = CliRunner().invoke(main, ["import", str(REAL / "landsat_rgb_utm18n.tif"),
                                    "--as", "imagery"], obj={"settings": cfg})
    assert out.exit_code == 0, out.output
    assert "791×718 px, EPSG:32618" in out.output and "far from the county" in out.output
    assert (tmp_path / "rasters" / "imagery.tif").is_file()
    bad = CliRunner().invoke(main, ["import", str(REAL / "landsat_rgb_utm18n.tif"),
                                    "--as", "dem"], obj={"settings": cfg})
    assert bad.exit_code == 1 and "landsat_rgb_utm18n.tif" in bad.output
    assert not (tmp_path / "rasters" / "dem.tif").exists()


@pytest.mark.parametrize(("word", "cls"), [
    ("水田", "farmland"), ("旱地", "farmland"), ("农村宅基地", "homestead"), ("乔木林地", "forest"),
    ("坑塘水面", "water"), ("农村道路", "road"), ("果园", "garden"), ("工业用地", "construction"),
    ("farmland", "farmland"), ("residential", "construction"), ("meadow", "other"),
    (None, "other")])
def test_land_classes_from_survey_and_osm_words(word, cls):
    from twin.ingest.importer import land_class

    assert land_class(word) == cls


def test_land_parcels_from_a_survey_file(engine, village_sample, tmp_path):
    parcels = village_sample.land.head(4)
    words = ["水田", "农村宅基地", "坑塘水面", "果园"]
    feats = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)),
              "properties": {"DLMC": w}} for g, w in zip(parcels.geometry, words, strict=True)]
    before = _count(engine, "land_parcels")
    report = import_file(engine, _write(tmp_path / "dltb.geojson", feats), "land")
    assert report.written == 4 and _count(engine, "land_parcels") == before + 4
    with engine.connect() as conn:
        got = conn.execute(sa.text(
            "SELECT use_class FROM land_parcels WHERE code LIKE 'IMP-L%' ORDER BY id")).scalars()
        assert list(got) == ["farmland", "homestead", "water", "garden"]


def test_stations_and_organizations_from_registers(engine, village_sample, tmp_path):
    p = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[0].geometry
    x, y = p.representative_point().x, p.representative_point().y
    stations = tmp_path / "stations.csv"
    stations.write_text(f"编号,名称,经度,纬度\nWQ-IMP-1,运河水质自动站,{x},{y}\n"
                        f"AQ-IMP-1,镇大气监测点,{x},{y}\n", encoding="utf-8")
    report = import_file(engine, stations, "stations")
    assert report.written == 2
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.text(
            "SELECT code, kind FROM stations WHERE code LIKE '%-IMP-%'")).all())
    assert kinds == {"WQ-IMP-1": "water", "AQ-IMP-1": "air"}
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(f"编号,名称,经度,纬度\nX-1,某某站,{x},{y}\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="feature 1: what does station '某某站' measure"):
        import_file(engine, unknown, "stations")
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(f"名称,人数,经度,纬度\n新联村党支部,56,{x},{y}\n新联村股份经济合作社,0,{x},{y}\n"
                    f"新联村乡贤参事会,12,{x},{y}\n", encoding="utf-8")
    assert import_file(engine, orgs, "organizations").written == 3
    with engine.connect() as conn:
        got = dict(conn.execute(sa.text(
            "SELECT name, kind FROM organizations WHERE name LIKE '新联村%'")).all())
    assert got == {"新联村党支部": "party_branch", "新联村股份经济合作社": "cooperative",
                   "新联村乡贤参事会": "other"}
