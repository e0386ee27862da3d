"""Exports: formats, CRS (GCJ-02 for web maps), a unit's part only, residents only counted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from geodata.vector import read_vector
from twin.domain.access import Principal
from twin.publish.exporter import ExportError, export_layer
from twin.runtime.cli import main

PLANNER = Principal("planner", (), "t-planner")


@pytest.fixture(scope="module")
def engine(sample_db):
    """A database of its own: every export is written to the audit log."""
    return sample_db("exporter")


def test_units_as_a_shapefile_read_back_with_readable_chinese(engine, village_sample,
                                                              tmp_path):
    n = export_layer(engine, "units", tmp_path / "units.shp", "shp", principal=PLANNER)
    assert n == len(village_sample.units)
    back = read_vector(tmp_path / "units.shp")
    assert set(back.frame["name"]) == set(village_sample.units["name"])
    assert back.encoding == "UTF-8"


def test_gcj02_export_comes_back_to_the_same_place(engine, village_sample, tmp_path):
    export_layer(engine, "stations", tmp_path / "s.geojson", crs="gcj02", principal=PLANNER)
    plain = read_vector(tmp_path / "s.geojson")  # as a web map sees it: shifted
    fixed = read_vector(tmp_path / "s.geojson", crs="gcj02")
    truth = village_sample.stations.set_index("code").geometry
    for code, shifted, back in zip(plain.frame["code"], plain.frame.geometry,
                                   fixed.frame.geometry, strict=True):
        assert 300 < shifted.distance(truth[code]) * 111_000 < 700
        assert back.distance(truth[code]) * 111_000 < 0.01


def test_a_units_part_and_residents_only_as_counts(engine, village_sample, tmp_path):
    micros = village_sample.units[village_sample.units["level"] == "microgrid"]
    home = village_sample.households.geometry.iloc[0]
    micro = micros[micros.geometry.contains(home)].iloc[0]
    cfg_out = tmp_path / "r.csv"
    out = CliRunner().invoke(main, ["export", "--layer", "residents", "--unit", micro["code"],
                                    "--format", "csv", "--output", str(cfg_out)],
                             obj={"settings": _settings(engine)})
    assert out.exit_code == 0, out.output
    text = cfg_out.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    assert header.split(",")[:3] == ["WKT", "building", "residents"]
    for name in village_sample.people["name"].head(200):
        assert name not in text
    shown = {line.split(",")[-2]: line.rsplit(",", 1)[1] for line in text.splitlines()[1:]}
    hh = village_sample.households.set_index("id")
    inside = village_sample.buildings.geometry.representative_point().within(micro.geometry)
    in_cell = village_sample.buildings.loc[inside.to_numpy()].set_index("id")["code"]
    per_building = (village_sample.people["household_id"].map(hh["building_id"])
                    .value_counts().reindex(in_cell.index).dropna().astype(int))
    expected = {in_cell[b]: str(n) if n >= 5 else "" for b, n in per_building.items()}
    assert shown == expected and sum(per_building) > 0  # below five: left empty
    unknown = CliRunner().invoke(main, ["export", "--layer", "units", "--unit", "9", "--output",
                                        str(tmp_path / "x.geojson")],
                                 obj={"settings": _settings(engine)})
    assert unknown.exit_code == 2 and "no unit with code '9'" in unknown.output


def test_bad_requests(engine, tmp_path):
    with pytest.raises(ExportError, match="unknown layer 'people'"):
        export_layer(engine, "people", tmp_path / "p.geojson", principal=PLANNER)
    with pytest.raises(ExportError, match="role screen may not export"):
        export_layer(engine, "units", tmp_path / "u.geojson", principal=Principal("screen"))
    with pytest.raises(ExportError, match="must name one of its units"):
        export_layer(engine, "units", tmp_path / "u.geojson",
                     principal=Principal("official", ("330483103001",), "o"))
    with pytest.raises(ExportError, match="unknown CRS 'EPSG:0'"):
        export_layer(engine, "stations", tmp_path / "p.geojson", crs="EPSG:0", principal=PLANNER)
    n = export_layer(engine, "buildings", tmp_path / "b.gpkg", "gpkg", crs="EPSG:4549", principal=PLANNER)
    back = read_vector(tmp_path / "b.gpkg")
    assert len(back.frame) == n and back.source_crs.endswith("4549")
    assert back.frame.geometry.representative_point().x.between(120.2, 120.8).all()  # lon/lat


def _settings(engine):
    from twin.config import Settings

    return Settings(database_url=engine.url.render_as_string(hide_password=False))


def test_an_empty_layer_exports_in_any_crs(engine, tmp_path):
    """A unit with nothing of a layer still gives a file, in the CRS asked for."""
    import pyogrio

    with engine.connect() as conn:
        unit = dict(conn.execute(sa.text(
            "SELECT u.id, u.code, u.level FROM units u WHERE u.level = 'microgrid' AND NOT "
            "EXISTS (SELECT 1 FROM workrooms w WHERE w.microgrid_id = u.id) LIMIT 1")
        ).one()._mapping)
    out = tmp_path / "w.gpkg"
    assert export_layer(engine, "workrooms", out, "gpkg", unit, "EPSG:4549",
                        principal=PLANNER) == 0
    assert pyogrio.read_info(out)["crs"] == "EPSG:4549"
