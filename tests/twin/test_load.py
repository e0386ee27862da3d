"""The COPY loader: escaping, errors that name the row, and all-or-nothing writes."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from shapely import MultiPolygon, Point, box

from twin.errors import LoadError
from twin.ingest.load import copy_frame

CELL = MultiPolygon([box(120.49, 30.70, 120.50, 30.71)])


def _units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": [1, 2, 3, 4],
        "level": ["town", "village", "grid", "microgrid"],
        "code": ["330483101", "330483101201", "330483101201001", "330483101201001001"],
        "name": ["乌镇镇", "新桥村", "新桥村第1网格", "新桥村第1网格第1微网格"],
        "parent_id": pd.array([None, 1, 2, 3], dtype="Int64"),
    }, geometry=[CELL] * 4, crs="EPSG:4326")


def _facilities(points) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame({
        "id": range(1, n + 1), "kind": ["toilet"] * n,
        "name": [f"公厕\t{i}\\号\n" for i in range(n)],
        "props": [{"开放": "全天", "n": i} for i in range(n)],
    }, geometry=[Point(*p) for p in points], crs="EPSG:4326")


def test_copy_round_trips_awkward_text_and_json(scratch):
    with scratch.begin() as conn:
        for level in ("town", "village", "grid", "microgrid"):
            units = _units()
            copy_frame(conn, "units", units[units["level"] == level])
        copy_frame(conn, "facilities", _facilities([(120.495, 30.705)]))
        name, props, wkt = conn.execute(sa.text(
            "SELECT name, props, ST_AsEWKT(geom) FROM facilities")).one()
    assert name == "公厕\t0\\号\n"
    assert props == {"开放": "全天", "n": 0}
    assert wkt == "SRID=4326;POINT(120.495 30.705)"


def test_feature_outside_is_named_and_nothing_is_written(scratch):
    with pytest.raises(LoadError) as err, scratch.begin() as conn:
        for level in ("town", "village", "grid", "microgrid"):
            units = _units()
            copy_frame(conn, "units", units[units["level"] == level])
        copy_frame(conn, "facilities", _facilities([(120.495, 30.705), (121.5, 30.0)]))
    assert str(err.value) == (
        "facilities: row 2 at POINT(121.500000 30.000000) lies outside every micro-grid "
        "(input row 2); nothing was written")
    with scratch.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM units")).scalar() == 0


def test_missing_field_is_named(scratch):
    with pytest.raises(LoadError, match="units: missing field"), scratch.begin() as conn:
        copy_frame(conn, "units", _units().drop(columns=["code"]))


def test_array_literals_survive_awkward_elements(scratch):
    from twin.ingest.load import _array_literal

    items = ["party_member", 'a,"b"', "back\\slash", "{brace}", "空 格"]
    with scratch.connect() as conn:
        back = conn.execute(sa.text("SELECT CAST(:lit AS text[])"),
                            {"lit": _array_literal(items)}).scalar()
    assert back == items
