"""Roll-ups checked against counts made independently from the generated frames."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa

from geodata.crs import METRIC_CRS
from twin.domain.summary import rollup, unit_by_code
from twin.errors import NotFound

OPEN = {"reported", "triaged", "warned", "dispatched", "handling", "escalated", "reopened"}


@pytest.fixture(scope="module")
def cells(village_sample, sample_engine) -> dict[str, pd.DataFrame]:
    """Each element's micro-grid and ancestors, found with geopandas, not with PostGIS."""
    units = village_sample.units.set_index("id")
    micro = units[units["level"] == "microgrid"][["geometry"]].reset_index()
    parent = units["parent_id"]

    def ancestry(mg: pd.Series) -> pd.DataFrame:
        grid = mg.map(parent)
        village = grid.map(parent)
        return pd.DataFrame({"microgrid": mg.values, "grid": grid.values,
                             "village": village.values, "town": village.map(parent).values})

    def locate(frame: gpd.GeoDataFrame) -> pd.DataFrame:
        points = gpd.GeoDataFrame({"row": range(len(frame))},
                                  geometry=frame.geometry.representative_point(), crs=frame.crs)
        hit = gpd.sjoin(points, micro, predicate="intersects").groupby("row")["id"].min()
        assert len(hit) == len(frame), "every sample feature lies in a micro-grid"
        out = ancestry(hit.sort_index())
        out.index = frame.index
        return out

    s = village_sample
    found = {name: locate(getattr(s, name)) for name in
             ("buildings", "households", "land", "facilities", "stations", "events",
              "organizations")}
    # the party organisations the loader derives from the sample (twin.sample.party): their
    # points from the database, their cells found here
    with sample_engine.connect() as conn:
        derived = pd.read_sql_query(sa.text(
            "SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y FROM organizations WHERE id > :n "
            "ORDER BY id"), conn, params={"n": int(s.organizations["id"].max())})
    found["derived_organizations"] = locate(gpd.GeoDataFrame(
        derived, geometry=gpd.points_from_xy(derived["x"], derived["y"]), crs="EPSG:4326"))
    hh = found["households"].set_index(s.households["id"].values)
    found["people"] = hh.loc[s.people["household_id"].values].reset_index(drop=True)
    return found


def _expected(sample, cells, level: str | None, unit_id: int | None) -> dict:
    def pick(name):
        frame = cells[name]
        return slice(None) if level is None else (frame[level] == unit_id).to_numpy()

    events = sample.events[pick("events")]
    land = sample.land[pick("land")]
    area = land.to_crs(METRIC_CRS).area.groupby(land["use_class"].values).sum()
    return {
        "residents": int(pd.Series(pick("people")).sum()) if level else len(sample.people),
        "households": len(sample.households[pick("households")]),
        "buildings": len(sample.buildings[pick("buildings")]),
        "land_parcels": len(land),
        "facilities": len(sample.facilities[pick("facilities")]),
        "stations": len(sample.stations[pick("stations")]),
        "organizations": len(sample.organizations[pick("organizations")])
                         + int(pd.Series(pick("derived_organizations")).sum() if level
                               else len(cells["derived_organizations"])),
        "events": len(events),
        "events_open": int(events["status"].isin(OPEN).sum()),
        "land_area": area.to_dict(),
    }


@pytest.mark.parametrize("level", [None, "town", "village", "grid", "microgrid"])
def test_rollup_matches_independent_counts(sample_engine, village_sample, cells, level):
    if level is None:
        unit_id = None
    else:
        # the unit of this level holding the most buildings: a non-trivial check
        unit_id = int(cells["buildings"][level].value_counts().idxmax())
    got = rollup(sample_engine, unit_id)
    want = _expected(village_sample, cells, level, unit_id)
    assert got["buildings"] > 0
    for key, value in want.items():
        if key == "land_area":
            assert got["land_area_m2_by_use"].keys() == value.keys()
            for use, m2 in value.items():
                assert got["land_area_m2_by_use"][use] == pytest.approx(m2, rel=1e-3, abs=2)
        else:
            assert got[key] == value, key
    assert got["level"] == (level or "county")


@pytest.mark.parametrize("level", [None, "town", "village", "grid"])
def test_party_coverage_matches_an_independent_count(sample_engine, village_sample, level):
    """Grids covered by a party organisation ÷ grids, per unit: the roll-up against the
    unit hierarchy of the sample's frames and the coverage rows; the sample covers all."""
    units = village_sample.units.set_index("id")
    grids = units[units["level"] == "grid"]
    parent = units["parent_id"]
    ancestors = pd.DataFrame({"grid": grids.index, "village": grids["parent_id"].to_numpy()})
    ancestors["town"] = ancestors["village"].map(parent)
    with sample_engine.connect() as conn:
        covered = {r.grid_id for r in conn.execute(sa.text(
            "SELECT DISTINCT grid_id FROM party_coverage"))}
        unit_id = None if level is None else int(ancestors[level].iloc[0])
        inside = ancestors if level is None else ancestors[ancestors[level] == unit_id]
        want = (len(inside), len(set(inside["grid"]) & covered))
        got = rollup(sample_engine, unit_id)
    assert (got["grids"], got["grids_party"]) == want
    assert want[0] > 0 and want[1] == want[0]  # the sample: every grid covered


def test_a_micro_grids_coverage_is_its_grids(sample_engine, village_sample):
    units = village_sample.units
    micro = units[units["level"] == "microgrid"].iloc[0]
    got = rollup(sample_engine, int(micro["id"]))
    grid = rollup(sample_engine, int(micro["parent_id"]))
    assert (got["grids"], got["grids_party"]) == (grid["grids"], grid["grids_party"]) == (1, 1)


def test_coverage_follows_a_grid_losing_its_organisations(sample_db):
    engine = sample_db("coverage")
    with engine.begin() as conn:
        grid = conn.execute(sa.text("SELECT min(grid_id) FROM party_coverage")).scalar()
        village = conn.execute(sa.text("SELECT village_id FROM units WHERE id = :g"),
                               {"g": grid}).scalar()
        before = rollup(engine, village)
        conn.execute(sa.text("DELETE FROM party_coverage WHERE grid_id = :g"), {"g": grid})
    after = rollup(engine, village)
    assert after["grids"] == before["grids"]
    assert after["grids_party"] == before["grids_party"] - 1


def test_rollup_counts_stations_in_alarm_from_latest_readings(sample_engine):
    with sample_engine.connect() as conn:
        expected = conn.execute(sa.text("""
            SELECT count(DISTINCT station_id) FROM (
              SELECT DISTINCT ON (o.station_id, o.parameter) o.station_id, o.parameter, o.value
                FROM observations o ORDER BY o.station_id, o.parameter, o.observed_at DESC) l
              JOIN parameters p ON p.code = l.parameter
             WHERE l.value > p.warn_above OR l.value < p.warn_below""")).scalar()
    assert rollup(sample_engine)["stations_in_alarm"] == expected


def test_rollup_of_unknown_unit(sample_engine):
    with pytest.raises(NotFound):
        rollup(sample_engine, 10**9)
    with pytest.raises(NotFound):
        unit_by_code(sample_engine, "000000000")


def test_units_tile_their_parents_in_postgis(sample_engine):
    """Children cover their parent with no gap and no overlap (areas in EPSG:4549 m²)."""
    with sample_engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT p.code,
                   ST_Area(ST_Transform(ST_SymDifference(p.geom, ST_Union(c.geom)), 4549)) AS gap,
                   sum(c.area_m2) - p.area_m2 AS overlap
              FROM units p JOIN units c ON c.parent_id = p.id
             GROUP BY p.id""")).all()
        pairs = conn.execute(sa.text("""
            SELECT count(*) FROM units a JOIN units b
              ON a.level = b.level AND a.id < b.id AND a.geom && b.geom
             AND ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 4549)) > 1""")).scalar()
    assert rows, "the sample has parents with children"
    for code, gap, overlap in rows:
        assert gap < 1.0 and abs(overlap) < 1.0, code
    assert pairs == 0
