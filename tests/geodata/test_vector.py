"""Reading delivered vector files as they really arrive: the real files' faults, encodings,
CRS declared or not, and hostile archives."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from geodata.vector import VectorError, read_vector
from tests.conftest import REAL


def test_the_zhejiang_shapefile_without_shx_prj_or_cpg():
    got = read_vector(REAL / "zhejiang_districts" / "zhejiang_districts.shp", crs="gcj02")
    assert len(got.frame) == 90 and got.encoding == "UTF-8"
    names = set(got.frame["name"])
    assert {"桐乡市", "平湖市", "嘉善县"} <= names  # readable Chinese, not mojibake
    assert any("index was rebuilt" in n for n in got.notes)
    assert any("no .prj" in n for n in got.notes)
    tongxiang = got.frame[got.frame["name"] == "桐乡市"].geometry.iloc[0]
    # Tongxiang's centre, WGS84, within a few hundred metres
    assert tongxiang.representative_point().distance(
        tongxiang.centroid) < 0.1 and 120.3 < tongxiang.centroid.x < 120.7


def test_without_a_crs_the_shapefile_is_read_as_lonlat_and_says_so():
    got = read_vector(REAL / "zhejiang_districts" / "zhejiang_districts.shp")
    assert any("no CRS declared" in n for n in got.notes)


@pytest.mark.parametrize("name", ["jiaxing_city_gcj02.geojson", "pinghu_county_gcj02.geojson"])
def test_a_bare_geometry_becomes_one_feature(name):
    plain = read_vector(REAL / name)
    fixed = read_vector(REAL / name, crs="gcj02")
    assert len(plain.frame) == len(fixed.frame) == 1
    assert any("bare geometry" in n for n in plain.notes)
    shift = plain.frame.geometry.iloc[0].centroid.x - fixed.frame.geometry.iloc[0].centroid.x
    assert 0.003 < shift < 0.006  # ~450 m east, as the data's README says


def test_metric_coordinates_without_a_crs_are_refused_with_a_suggestion(tmp_path):
    path = tmp_path / "grid.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"名称": "第1网格"},
         "geometry": {"type": "Point", "coordinates": [548765.2, 3398765.2]}}]}))
    with pytest.raises(VectorError, match=r"grid.geojson: the CRS is not declared .* "
                                          r"EPSG:4549"):
        read_vector(path)
    got = read_vector(path, crs="EPSG:4549")
    assert 120.4 < got.frame.geometry.iloc[0].x < 120.6 and got.frame["名称"][0] == "第1网格"


def test_a_gbk_csv_with_chinese_column_names(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_bytes("名称,经度,纬度\n乌镇东栅游客中心,120.4965,30.7412\n公厕,120.49,30.74\n"
                     .encode("gbk"))
    got = read_vector(path)
    assert got.encoding == "gb18030" and list(got.frame["名称"]) == ["乌镇东栅游客中心", "公厕"]
    assert np.allclose(got.frame.geometry.iloc[0].coords[0], (120.4965, 30.7412))
    path.write_text("名称,经度,纬度\n甲,120.5,abc\n", encoding="utf-8")
    with pytest.raises(VectorError, match="row 2: 经度/纬度 is not a number"):
        read_vector(path)


def test_hostile_archives_are_refused(tmp_path):
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("../../etc/evil.geojson", "{}")
    with pytest.raises(VectorError, match="points outside the archive"):
        read_vector(slip)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i in range(1001):
            z.writestr(f"f{i}.txt", "")
    with pytest.raises(VectorError, match="1001 entries"):
        read_vector(bomb)
    with pytest.raises(VectorError, match="not a readable .zip"):
        (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
        read_vector(tmp_path / "broken.zip")


def test_a_truncated_shapefile_is_refused(tmp_path):
    src = REAL / "zhejiang_districts"
    (tmp_path / "z.shp").write_bytes((src / "zhejiang_districts.shp").read_bytes()[:5000])
    (tmp_path / "z.dbf").write_bytes((src / "zhejiang_districts.dbf").read_bytes())
    with pytest.raises(VectorError, match="z.shp") as err:
        got = read_vector(tmp_path / "z.shp", crs="gcj02")
        assert got.frame.geometry.notna().all()  # reached only if GDAL read it all
    assert f"{tmp_path}/z.shp" in str(err.value) and "twin-import-" not in str(err.value)


def test_an_xlsx_facility_list(tmp_path):
    import pandas as pd

    path = tmp_path / "设施清单.xlsx"
    pd.DataFrame({"名称": ["桐乡市第一人民医院", "梧桐街道卫生院"], "类型": ["clinic", "clinic"],
                  "经度": [120.5512, 120.5643], "纬度": [30.6301, 30.6188]}).to_excel(
        path, index=False)
    got = read_vector(path)
    assert list(got.frame["名称"]) == ["桐乡市第一人民医院", "梧桐街道卫生院"]
    assert got.frame.geometry.iloc[1].coords[0] == (120.5643, 30.6188)
