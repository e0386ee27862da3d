"""Tests of the sample-twin generator (pure Python, no database).

``people.id_number`` and ``people.phone`` are sensitive in spirit: the tests check them
without ever printing them (assertion messages carry counts only).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.crs import METRIC_CRS, STORAGE_CRS, to_metric, to_storage
from tests.conftest import SAMPLE_END
from twin.sample.generate import SCALES, SampleError, SampleTwin, generate
from twin.sample.people import id_check_digit

GEO_TABLES = ("units", "land", "buildings", "households", "facilities", "routes", "stations",
              "events", "organizations", "workrooms")
TABLES = GEO_TABLES + ("people", "observations", "event_log")


@pytest.fixture(scope="module")
def village() -> SampleTwin:
    return generate("village", seed=0, end=SAMPLE_END)


@pytest.fixture(scope="module")
def town() -> SampleTwin:
    return generate("town", seed=3, end=SAMPLE_END)


def _metric(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return gdf.geometry.to_crs(METRIC_CRS)


def _assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    secret = [c for c in ("id_number", "phone") if c in a.columns]
    for c in secret:
        same = bool((a[c].to_numpy() == b[c].to_numpy()).all())
        assert same, f"column {c} differs"
    plain_a, plain_b = a.drop(columns=secret), b.drop(columns=secret)
    if isinstance(a, gpd.GeoDataFrame):
        same_geom = bool(shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(),
                                              tolerance=0).all())
        assert same_geom, "geometry differs"
        plain_a = pd.DataFrame(plain_a.drop(columns="geometry"))
        plain_b = pd.DataFrame(plain_b.drop(columns="geometry"))
    pd.testing.assert_frame_equal(plain_a, plain_b)


def test_crs_constants_and_transformers():
    assert STORAGE_CRS == "EPSG:4326"
    assert METRIC_CRS == "EPSG:4549"
    x, y = to_metric.transform(120.49, 30.74)
    assert 540_000 < x < 555_000 and 3_395_000 < y < 3_410_000
    lon, lat = to_storage().transform(x, y)
    assert lon == pytest.approx(120.49, abs=1e-7) and lat == pytest.approx(30.74, abs=1e-7)


def test_unknown_scale_lists_valid_scales():
    assert SCALES == ("village", "town", "county")
    with pytest.raises(SampleError, match="unknown scale 'xx': choose one of village, town, county"):
        generate("xx")
    assert issubclass(SampleError, ValueError)


def test_same_seed_same_output(village):
    again = generate("village", seed=0, end=SAMPLE_END)
    assert again.counts() == village.counts()
    for name in TABLES:
        _assert_same_table(getattr(village, name), getattr(again, name))


def test_different_seed_different_output(village):
    other = generate("village", seed=1, end=SAMPLE_END)
    assert other.seed == 1
    same_units = len(other.units) == len(village.units) and bool(
        shapely.equals_exact(other.units.geometry.to_numpy(), village.units.geometry.to_numpy(),
                             tolerance=0).all())
    assert not same_units
    assert other.people["name"].head(50).tolist() != village.people["name"].head(50).tolist()


def test_tables_and_crs(village):
    counts = village.counts()
    assert set(counts) == set(TABLES)
    assert all(n > 0 for n in counts.values()), counts
    for name in GEO_TABLES:
        gdf = getattr(village, name)
        assert gdf.crs == STORAGE_CRS, name
        assert gdf["id"].tolist() == list(range(1, len(gdf) + 1)), name
    for name in ("units", "land", "buildings"):
        geoms = getattr(village, name).geometry
        assert (geoms.geom_type == "MultiPolygon").all(), name
        assert geoms.is_valid.all() and not geoms.is_empty.any(), name
    for name in ("households", "facilities", "stations", "events", "organizations"):
        assert (getattr(village, name).geometry.geom_type == "Point").all(), name
    assert village.land["code"].is_unique and village.buildings["code"].is_unique
    assert village.units["code"].is_unique and village.households["code"].is_unique


def test_village_scale_shape(village):
    units = village.units
    assert units["level"].value_counts().to_dict().keys() >= {"town", "village", "grid",
                                                               "microgrid"}
    assert (units["level"] == "town").sum() == 1 and (units["level"] == "village").sum() == 1
    vill = units[units["level"] == "village"].geometry.iloc[0]
    assert vill.contains(shapely.Point(120.49, 30.74))
    town = units[units["level"] == "town"]
    assert town["parent_id"].isna().all()
    assert town["code"].iloc[0] == "330483103" and town["name"].iloc[0] == "乌镇镇"
    assert set(village.stations["kind"]) == {"air", "water", "water_level", "noise", "visitors"}
    assert len(village.events) >= 60
    assert (village.facilities["kind"] == "scenic_spot").any()


def _check_tiling(twin: SampleTwin) -> None:
    units = twin.units
    geom = _metric(units).to_numpy()
    by_id = dict(zip(units["id"], range(len(units)), strict=True))
    parents = units["parent_id"].dropna().astype(int)
    children = parents.groupby(parents.to_numpy()).groups
    for level in ("town", "village", "grid"):
        for pid in units.loc[units["level"] == level, "id"]:
            kids = [by_id[i] for i in units.loc[children[pid], "id"]]
            parent = geom[by_id[pid]]
            kid_geoms = geom[kids]
            assert abs(shapely.union_all(kid_geoms).area - parent.area) < 1.0, pid
            assert abs(shapely.area(kid_geoms).sum() - parent.area) < 1.0, pid
            assert shapely.area(kid_geoms).min() > 100.0, pid  # no slivers


def test_units_tile_their_parents(village):
    _check_tiling(village)
    codes = village.units.set_index("id")["code"]
    for _, row in village.units.dropna(subset=["parent_id"]).iterrows():
        assert row["code"].startswith(codes[int(row["parent_id"])])
        assert len(row["code"]) == len(codes[int(row["parent_id"])]) + 3


@pytest.mark.slow
def test_town_scale_tiles(town):
    levels = town.units["level"].value_counts()
    assert levels["town"] == 1 and 10 <= levels["village"] <= 40
    assert 800 <= levels["microgrid"] <= 3000
    _check_tiling(town)


def test_land_tiles_each_microgrid(village):
    mg = village.units[village.units["level"] == "microgrid"]
    mg_geom = dict(zip(mg["code"], _metric(mg), strict=True))
    land = village.land.assign(mg_code=village.land["code"].str.split("-").str[0])
    land_geom = _metric(land).to_numpy()
    assert set(land["mg_code"]) == set(mg_geom)
    assert set(land["use_class"]) >= {"water", "road", "farmland", "homestead"}
    for code, idx in land.groupby("mg_code").indices.items():
        cell = mg_geom[code]
        parts = land_geom[idx]
        assert abs(shapely.area(parts).sum() - cell.area) < 1.0, code
        assert abs(shapely.union_all(parts).area - cell.area) < 1.0, code
        assert shapely.area(shapely.difference(parts, cell)).max() < 0.01, code


def test_buildings_inside_parcels_and_disjoint(village):
    b = _metric(village.buildings).to_numpy()
    parcels = _metric(village.land).to_numpy()
    tree = shapely.STRtree(parcels)
    bi, pi = tree.query(shapely.point_on_surface(b), predicate="within")
    assert np.array_equal(np.sort(bi), np.arange(len(b)))  # each building in one parcel
    assert shapely.area(shapely.difference(b[bi], parcels[pi])).max() < 1e-3
    cls = village.land["use_class"].to_numpy()[pi]
    assert set(cls) <= {"homestead", "construction"}
    btree = shapely.STRtree(b)
    a, c = btree.query(b, predicate="intersects")
    pairs = a != c
    assert not pairs.any() or shapely.area(shapely.intersection(b[a[pairs]], b[c[pairs]])).max() \
        < 1e-6
    bld = village.buildings
    assert (bld["floors"] >= 1).all() and (bld["height_m"] > bld["floors"] * 2.5).all()
    assert set(bld["use"]) <= {"residential", "commercial", "industrial", "public", "agricultural"}


def test_households_inside_their_buildings(village):
    hh = village.households
    b = village.buildings.set_index("id").geometry
    geoms = b.loc[hh["building_id"]].to_numpy()
    assert shapely.contains_properly(geoms, hh.geometry.to_numpy()).all()
    uses = village.buildings.set_index("id").loc[hh["building_id"], "use"]
    assert (uses == "residential").all()
    assert hh["address"].str.startswith("乌镇镇").all()


def test_point_features_inside_microgrids(village):
    mg = village.units[village.units["level"] == "microgrid"].geometry.to_numpy()
    tree = shapely.STRtree(mg)
    for name in ("households", "facilities", "stations", "events", "organizations"):
        pts = getattr(village, name).geometry.to_numpy()
        idx, _ = tree.query(pts, predicate="within")
        assert set(idx) == set(range(len(pts))), name


def test_foreign_keys(village):
    t = village
    ids = {name: set(getattr(t, name)["id"]) for name in GEO_TABLES}
    assert set(t.units["parent_id"].dropna().astype(int)) <= ids["units"]
    assert set(t.households["building_id"]) <= ids["buildings"]
    assert set(t.people["household_id"]) == ids["households"]
    assert set(t.people["id"]) == set(range(1, len(t.people) + 1))
    assert set(t.observations["station_id"]) == ids["stations"]
    assert set(t.event_log["event_id"]) == ids["events"]
    villages = set(t.units.loc[t.units["level"] == "village", "id"])
    assert set(t.organizations["unit_id"]) <= villages
    kinds = set(t.organizations["kind"])
    assert {"village_committee", "mediation_committee", "volunteer_team"} <= kinds
    assert kinds & {"party_branch", "party_general_branch"}  # a village's party organisation
    heads = t.people[t.people["relation"] == "户主"].groupby("household_id").size()
    assert len(heads) == len(t.households) and (heads == 1).all()


def test_people_identity_fields_are_valid(village):
    p = village.people
    ids = p["id_number"].to_numpy()
    assert all(len(s) == 18 and s.startswith("330483") for s in ids), "bad id shape"
    bad_check = sum(id_check_digit(s[:17]) != s[17] for s in ids)
    assert bad_check == 0, f"{bad_check} ids with a wrong check digit"
    births = pd.to_datetime(p["birth_date"]).dt.strftime("%Y%m%d").to_numpy()
    bad_birth = sum(s[6:14] != d for s, d in zip(ids, births, strict=True))
    assert bad_birth == 0, f"{bad_birth} ids not matching birth dates"
    odd = np.array([int(s[16]) % 2 == 1 for s in ids])
    bad_sex = int((odd != (p["sex"] == "M").to_numpy()).sum())
    assert bad_sex == 0, f"{bad_sex} ids with the wrong sex digit"
    unique = bool(pd.Series(ids).is_unique)
    assert unique, "duplicate id numbers"
    phones = p["phone"].to_numpy()
    bad_phone = sum(not (len(s) == 11 and s.isdigit() and s[0] == "1") for s in phones)
    assert bad_phone == 0, f"{bad_phone} malformed phones"
    assert set(p["sex"]) == {"M", "F"}
    tags = set().union(*p["tags"])
    assert {"elderly", "party_member"} <= tags <= {"elderly", "party_member", "disability",
                                                   "low_income", "veteran", "left_behind_child"}


def test_observations_have_cycles_and_breaches(village):
    obs = village.observations
    assert str(obs["observed_at"].dt.tz) == "UTC"
    assert len(obs) == len(village.stations.merge(obs, left_on="id", right_on="station_id")) > 0
    hours = obs.loc[obs["parameter"] == "pm25", "observed_at"]
    assert hours.nunique() == 30 * 24
    v = obs.groupby("parameter")["value"]
    assert v.max()["pm25"] > 75
    assert v.max()["nh3n"] > 1.0 and v.min()["do"] < 5
    assert v.max()["water_level"] > 2.8
    noise = obs[obs["parameter"] == "noise"]
    local_hour = noise["observed_at"].dt.tz_convert("Asia/Shanghai").dt.hour
    night = (local_hour >= 22) | (local_hour < 6)
    assert noise.loc[night, "value"].max() > 70
    assert noise.loc[~night, "value"].mean() > noise.loc[night & (noise["value"] < 60),
                                                         "value"].mean()


def test_event_logs_match_statuses(village):
    ev = village.events.set_index("id")
    log = village.event_log
    for eid, rows in log.groupby("event_id", sort=True):
        e = ev.loc[eid]
        assert rows["from_status"].iloc[0] is None and rows["to_status"].iloc[0] == "reported"
        assert (rows["from_status"].iloc[1:].to_numpy() == rows["to_status"].iloc[:-1]
                .to_numpy()).all()
        assert rows["at"].is_monotonic_increasing and rows["at"].is_unique
        assert rows["at"].iloc[0] == e["reported_at"]
        assert rows["to_status"].iloc[-1] == e["status"]
        assert (rows["to_status"] == "escalated").sum() == e["escalations"]
        resolved = rows.loc[rows["to_status"] == "resolved", "at"]
        assert (pd.isna(e["resolved_at"]) and resolved.empty) or resolved.iloc[0] == e[
            "resolved_at"]
        closed = rows.loc[rows["to_status"] == "closed", "at"]
        assert (pd.isna(e["closed_at"]) and closed.empty) or closed.iloc[0] == e["closed_at"]
        assert pd.isna(e["satisfaction"]) == (e["status"] != "closed")
        assert e["deadline_at"] > e["reported_at"]
    end = pd.Timestamp("2026-11-01", tz="UTC")
    assert (log["at"] <= end).all()
    assert (ev["reported_at"] >= end - pd.Timedelta(days=365)).all()
    assert set(ev["owner_level"]) <= {"microgrid", "grid", "village", "town", "county"}
    assert (ev["department"].notna() == (ev["owner_level"] == "county")).all()
    assert ev.loc[ev["status"] == "closed", "satisfaction"].between(1, 5).all()


def test_routes_run_through_the_scenic_spots_they_name(village):
    spots = village.facilities[village.facilities["kind"] == "scenic_spot"].set_index("name")
    assert len(village.routes) >= 1
    for route in village.routes.itertuples():
        line = route.geometry
        assert line.geom_type == "LineString" and route.kind in ("walking", "cycling", "boat")
        stops = route.props["stops"]
        assert len(stops) >= 2
        first, last = spots.geometry[stops[0]], spots.geometry[stops[-1]]
        assert line.coords[0] == pytest.approx(first.coords[0], abs=1e-6)
        assert line.coords[-1] == pytest.approx(last.coords[0], abs=1e-6)


def test_a_sample_is_lived_in_up_to_its_end():
    """It ends where it is told (a demo: now); the same seed gives the same rows relative
    to the end; open events are with the owner whose deadline is ahead, as the sweep would
    have left them (only the town, the last level, can be overdue)."""
    import datetime as dt

    later = SAMPLE_END + dt.timedelta(days=40, hours=5)
    a, b = generate("village", seed=0, end=SAMPLE_END), generate("village", seed=0, end=later)
    shift = later - SAMPLE_END
    # floods keep to the June–September season, which a later end moves: the rest
    def dated(t):
        return t.events.loc[t.events["category"] != "flood", "reported_at"].reset_index(
            drop=True)

    pd.testing.assert_series_equal(dated(a) + shift, dated(b))
    assert (b.observations["observed_at"].max() - later) == (
        a.observations["observed_at"].max() - SAMPLE_END)
    open_ = b.events[b.events["status"].isin(("reported", "triaged", "dispatched",
                                               "handling", "escalated"))]
    assert len(open_) > 0
    overdue = open_[open_["deadline_at"] < later]
    assert (overdue["owner_level"] == "town").all()
    assert len(overdue) <= 0.1 * len(open_)
