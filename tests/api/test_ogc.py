"""``/ogc``: OGC API – Features on the village sample, through TestClient and real clients."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from tests.api.conftest import serving
from tests.conftest import TEST_PASSWORD, sign_in
from twin.publish.ogc import COLLECTIONS, MAX_LIMIT

ALL_IDS = {"towns", "villages", "grids", "microgrids", "buildings", "land", "facilities",
           "stations", "observations", "events", "organizations", "households", "residents",
           "workrooms", "party_projects", "consultations", "disputes", "legal_places"}
# Inside the sample's extent (120.4857..120.5070, 30.7261..30.7485), cutting through it.
BOX = (120.490, 30.730, 120.500, 30.740)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
PERSONAL = {"name", "id_hash", "id_masked", "phone", "phone_hash", "phone_masked", "id_number",
            "birth_date", "sex", "person_id"}


def _items(client, cid: str, **params):
    r = client.get(f"/ogc/collections/{cid}/items", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    return r.json()


def _rel(doc: dict, rel: str) -> str | None:
    return next((link["href"] for link in doc["links"] if link["rel"] == rel), None)


def _in_box(geoms, box) -> int:
    return int(shapely.intersects(np.asarray(geoms), shapely.box(*box)).sum())


# --- discovery ------------------------------------------------------------------------
def test_landing_links_built_from_the_request(client):
    r = client.get("/ogc")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert _rel(doc, "self") == "http://testserver/ogc"
    assert _rel(doc, "service-desc") == "http://testserver/openapi.json"
    assert _rel(doc, "conformance") == "http://testserver/ogc/conformance"
    assert _rel(doc, "data") == "http://testserver/ogc/collections"
    assert client.get("/ogc/", params={"f": "json"}).json() == doc
    assert client.get("/ogc", params={"f": "xml"}).status_code == 400


def test_conformance_claims_only_what_is_served(client):
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for c in ("core", "geojson", "html"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{c}" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    # the API definition is OpenAPI 3.1 (FastAPI's): Part 1's oas30 class is not claimed
    assert not [c for c in classes if c.endswith("/oas30")]
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    desc = next(link for link in client.get("/ogc").json()["links"]
                if link["rel"] == "service-desc")
    assert desc["type"].endswith("version=3.1")


def test_collections_list_every_collection_with_extent(official, village_sample):
    client = official  # the village's official sees every collection (households in scope)
    doc = client.get("/ogc/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == ALL_IDS == set(COLLECTIONS)
    b = by_id["buildings"]
    assert b["itemType"] == "feature"
    assert b["crs"] == [CRS84, *(f"{EPSG}{code}" for code in (4490, 4549, 4528))]
    assert b["storageCrs"] == CRS84
    assert b["extent"]["spatial"]["bbox"][0] == pytest.approx(
        list(village_sample.buildings.total_bounds), abs=1e-6)
    assert _rel(b, "items") == "http://testserver/ogc/collections/buildings/items"
    lo, hi = by_id["events"]["extent"]["temporal"]["interval"][0]
    assert pd.Timestamp(lo) == village_sample.events["reported_at"].min()
    assert pd.Timestamp(hi) == village_sample.events["reported_at"].max()
    assert "temporal" in by_id["observations"]["extent"]
    assert "temporal" not in b["extent"]
    one = client.get("/ogc/collections/events").json()
    assert one["id"] == "events" and one["extent"] == by_id["events"]["extent"]


# --- items ----------------------------------------------------------------------------
def test_items_paging_with_next_and_prev(client, village_sample):
    n = len(village_sample.buildings)
    first = _items(client, "buildings", limit=1000)
    assert first["type"] == "FeatureCollection"
    assert first["numberMatched"] == n and first["numberReturned"] == 1000
    assert first["timeStamp"].endswith("Z")
    assert _rel(first, "prev") is None
    seen = [f["id"] for f in first["features"]]
    page = first
    while (nxt := _rel(page, "next")) is not None:
        assert nxt.startswith("http://testserver/ogc/collections/buildings/items?")
        page = client.get(nxt).json()
        assert _rel(page, "prev") is not None
        seen += [f["id"] for f in page["features"]]
    assert page["numberReturned"] == n - 2000
    assert seen == sorted(seen) and len(set(seen)) == n
    f = first["features"][0]
    assert f["type"] == "Feature" and f["geometry"]["type"] == "MultiPolygon"
    assert {"code", "use", "floors", "height_m", "footprint_m2", "microgrid_code"} <= set(
        f["properties"])


def test_items_default_limit_and_offset(client, village_sample):
    doc = _items(client, "land")
    assert doc["numberReturned"] == 100 and doc["numberMatched"] == len(village_sample.land)
    tail = _items(client, "land", offset=len(village_sample.land) - 5)
    assert tail["numberReturned"] == 5 and _rel(tail, "next") is None
    assert _items(client, "land", offset=10**6)["features"] == []


def test_bbox_filter_matches_shapely(client, official, village_sample):
    doc = _items(client, "buildings", bbox=",".join(map(str, BOX)), limit=MAX_LIMIT)
    expected = _in_box(village_sample.buildings.geometry, BOX)
    assert 0 < expected < len(village_sample.buildings)
    assert doc["numberMatched"] == doc["numberReturned"] == expected
    hh = _items(official, "households", bbox=",".join(map(str, BOX)), limit=1)
    assert hh["numberMatched"] == _in_box(village_sample.households.geometry, BOX)


def test_datetime_on_events(client, village_sample):
    ev = village_sample.events
    lo, hi = pd.Timestamp("2026-03-01T00:00:00Z"), pd.Timestamp("2026-06-30T12:00:00Z")
    doc = _items(client, "events", datetime="2026-03-01T00:00:00Z/2026-06-30T12:00:00Z",
                 limit=MAX_LIMIT)
    expected = ev[(ev.reported_at >= lo) & (ev.reported_at <= hi)]
    assert doc["numberMatched"] == len(expected) > 0
    assert sorted(f["properties"]["code"] for f in doc["features"]) == sorted(expected.code)
    open_start = _items(client, "events", datetime="../2026-03-01T00:00:00Z")
    assert open_start["numberMatched"] == int((ev.reported_at <= lo).sum())
    open_end = _items(client, "events", datetime="2026-03-01T00:00:00Z/..")
    assert open_end["numberMatched"] == int((ev.reported_at >= lo).sum())
    day = _items(client, "events", datetime="2025-11-07")
    assert day["numberMatched"] == int((ev.reported_at.dt.date.astype(str) == "2025-11-07").sum())
    first = ev.sort_values("id").iloc[0]
    instant = first.reported_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _items(client, "events", datetime=instant)["features"][0]["properties"]["code"] == (
        first.code)


def test_datetime_on_observations(client, village_sample):
    obs = village_sample.observations
    at = obs.observed_at.max()
    doc = _items(client, "observations", datetime=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 parameter="pm25")
    expected = obs[(obs.observed_at == at) & (obs.parameter == "pm25")]
    assert doc["numberMatched"] == len(expected) > 0
    f = doc["features"][0]
    assert f["geometry"]["type"] == "Point"
    assert f["properties"]["unit"] == "µg/m³"
    one = client.get(f"/ogc/collections/observations/items/{f['id']}")
    assert one.status_code == 200 and one.json()["properties"] == f["properties"]


def test_property_filters(client, village_sample):
    ev, b = village_sample.events, village_sample.buildings
    doc = _items(client, "events", status="closed", category="livelihood", limit=MAX_LIMIT)
    assert doc["numberMatched"] == int(((ev.status == "closed")
                                        & (ev.category == "livelihood")).sum())
    assert {f["properties"]["status"] for f in doc["features"]} <= {"closed"}
    assert _items(client, "buildings", use="residential")["numberMatched"] == int(
        (b.use == "residential").sum())
    code = village_sample.units.query("level == 'village'").code.iloc[0]
    villages = _items(client, "villages", code=code)
    assert villages["numberMatched"] == 1
    assert villages["features"][0]["properties"]["code"] == code
    station = village_sample.stations.code.iloc[0]
    obs = _items(client, "observations", station_code=station, limit=1)
    sid = village_sample.stations.id.iloc[0]
    assert obs["numberMatched"] == int((village_sample.observations.station_id == sid).sum())
    kind = village_sample.facilities.kind.iloc[0]
    assert _items(client, "facilities", kind=kind)["numberMatched"] == int(
        (village_sample.facilities.kind == kind).sum())
    assert _items(client, "land", use_class="no_such_class")["numberMatched"] == 0


# --- Part 2: CRS by reference ------------------------------------------------------------
def _points(geometry: dict) -> np.ndarray:
    """Every position of a GeoJSON geometry, as rows."""
    return np.asarray(shapely.get_coordinates(shapely.geometry.shape(geometry)))


@pytest.mark.parametrize("code, tolerance", [(4549, 1e-3), (4528, 1e-3), (4490, 1e-8)])
def test_items_in_cgcs2000_are_pyproj_of_crs84_in_the_authority_axis_order(
        client, code, tolerance):
    from pyproj import Transformer

    plain = _items(client, "buildings", limit=40)
    r = client.get("/ogc/collections/buildings/items",
                   params={"limit": 40, "crs": f"<{EPSG}{code}>"})
    assert r.status_code == 200, r.text
    assert r.headers["content-crs"] == f"<{EPSG}{code}>"
    assert _items(client, "buildings", limit=1)  # CRS84 stays the default
    to = Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # latitude / northing first
    served = r.json()["features"]
    assert [f["id"] for f in served] == [f["id"] for f in plain["features"]]
    for mine, ref in zip(served, plain["features"], strict=True):
        lon_lat = _points(ref["geometry"])
        expected = np.column_stack(to.transform(lon_lat[:, 0], lon_lat[:, 1]))
        assert np.abs(_points(mine["geometry"]) - expected).max() <= tolerance
    if code == 4490:  # latitude first: the sample lies at 30.7°N, 120.5°E
        assert 30 < _points(served[0]["geometry"])[0, 0] < 31


def test_bbox_crs_selects_the_same_features_in_any_crs(client, village_sample):
    from pyproj import Transformer

    def ids(**params):
        doc = _items(client, "buildings", limit=MAX_LIMIT, **params)
        return {f["id"] for f in doc["features"]}

    plain = ids(bbox=",".join(map(str, BOX)))
    assert len(plain) == _in_box(village_sample.buildings.geometry, BOX) > 0
    lat_first = f"{BOX[1]},{BOX[0]},{BOX[3]},{BOX[2]}"
    assert ids(bbox=lat_first, **{"bbox-crs": f"{EPSG}4490"}) == plain
    to = Transformer.from_crs("OGC:CRS84", "EPSG:4549")
    n0, e0 = to.transform(BOX[0], BOX[1])
    n1, e1 = to.transform(BOX[2], BOX[3])
    gk = ids(bbox=f"{min(n0, n1)},{min(e0, e1)},{max(n0, n1)},{max(e0, e1)}",
             **{"bbox-crs": f"{EPSG}4549"})
    assert plain <= gk  # the metric box covers the degree box (its edges are not parallel)
    assert len(gk) <= len(plain) * 1.2


def test_a_single_item_in_cgcs2000(client):
    r = client.get("/ogc/collections/buildings/items/1", params={"crs": f"{EPSG}4549"})
    assert r.status_code == 200, r.text
    assert r.headers["content-crs"] == f"<{EPSG}4549>"
    north, east = _points(r.json()["geometry"])[0]
    assert 3.3e6 < north < 3.5e6 and 4e5 < east < 6e5
    plain = client.get("/ogc/collections/buildings/items/1")
    assert plain.headers["content-crs"] == f"<{CRS84}>"


@pytest.mark.parametrize("params, mentions", [
    ({"crs": f"{EPSG}3857"}, "is not served"),
    ({"crs": "EPSG:4549"}, "is not served"),
    ({"bbox-crs": f"{EPSG}4549"}, "bbox-crs given without a bbox"),
    ({"bbox": "3.4e6,5.5e5,3.3e6,5.6e5", "bbox-crs": f"{EPSG}4549"}, "lower corner"),
])
def test_bad_crs_parameters_are_400(client, params, mentions):
    r = client.get("/ogc/collections/buildings/items", params=params)
    assert r.status_code == 400, r.text
    assert mentions in r.json()["detail"]
    if "crs" in params:
        one = client.get("/ogc/collections/buildings/items/1", params={"crs": params["crs"]})
        assert one.status_code == 400


def test_queryables_are_typed_by_the_database_and_leave_out_what_people_typed(client):
    r = client.get("/ogc/collections/events/queryables")
    assert r.headers["content-type"].startswith("application/schema+json")
    props = r.json()["properties"]
    assert {"status", "category", "owner_level", "source"} <= set(props)
    assert props["status"]["type"] == "string"
    assert props["escalations"]["type"] == "integer"
    assert props["reported_at"] == {"title": "reported_at", "type": "string",
                                    "format": "date-time"}
    assert props["geometry"]["format"] == "geometry-any"
    assert "title" not in props  # typed by people: never a queryable
    b = client.get("/ogc/collections/buildings/queryables").json()["properties"]
    assert b["floors"]["type"] == "integer" and b["height_m"]["type"] == "number"
    stations = client.get("/ogc/collections/stations/queryables").json()["properties"]
    assert stations["in_alarm"]["type"] == "boolean" and "latest" not in stations  # json


# --- Part 3: CQL2 filters ---------------------------------------------------------------
def _matched(client, cid: str, text: str, lang: str = "cql2-text", **params) -> int:
    doc = _items(client, cid, filter=text, **{"filter-lang": lang}, limit=MAX_LIMIT, **params)
    return doc["numberMatched"]


def test_cql2_text_comparisons_like_in_between_and_null(client, village_sample):
    b, ev = village_sample.buildings, village_sample.events
    assert _matched(client, "buildings", "floors > 3") == int((b.floors > 3).sum()) > 0
    assert _matched(client, "buildings", "3 < floors") == int((b.floors > 3).sum())
    assert _matched(client, "buildings", "floors BETWEEN 2 AND 3 AND use = 'residential'") \
        == int(((b.floors >= 2) & (b.floors <= 3) & (b.use == "residential")).sum())
    assert _matched(client, "buildings", "use IN ('commercial', 'public')") == int(
        b.use.isin(["commercial", "public"]).sum())
    prefix = b.code.iloc[0][:-2]
    assert _matched(client, "buildings", f"code LIKE '{prefix}%'") == int(
        b.code.str.startswith(prefix).sum())
    assert _matched(client, "events", "closed_at IS NULL OR NOT (status = 'closed')") == int(
        (ev.closed_at.isna() | (ev.status != "closed")).sum())
    assert _matched(client, "buildings", "height_m >= 10.5") == int((b.height_m >= 10.5).sum())


def test_cql2_json_is_the_same_filter(client, village_sample):
    b = village_sample.buildings
    tree = {"op": "and", "args": [{"op": ">", "args": [{"property": "floors"}, 3]},
                                  {"op": "in", "args": [{"property": "use"},
                                                        ["residential", "commercial"]]}]}
    assert _matched(client, "buildings", json.dumps(tree), "cql2-json") == _matched(
        client, "buildings", "floors > 3 AND use IN ('residential', 'commercial')") == int(
        ((b.floors > 3) & b.use.isin(["residential", "commercial"])).sum())


def test_cql2_spatial_and_temporal_functions(client, village_sample):
    from pyproj import Transformer

    b, ev = village_sample.buildings, village_sample.events
    in_box = _in_box(b.geometry, BOX)
    x0, y0, x1, y1 = BOX
    polygon = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    assert _matched(client, "buildings", f"S_INTERSECTS(geometry, {polygon})") == in_box
    assert _matched(client, "buildings", f"S_INTERSECTS(geometry, BBOX({x0},{y0},{x1},{y1}))"
                    ) == in_box
    assert _matched(client, "buildings", f"S_DISJOINT(geometry, {polygon})") == len(b) - in_box
    to = Transformer.from_crs("OGC:CRS84", "EPSG:4549")  # northing first, as filter-crs says
    corners = [to.transform(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    ring = ", ".join(f"{n} {e}" for n, e in [*corners, corners[0]])
    gk = _matched(client, "buildings", f"S_INTERSECTS(geometry, POLYGON(({ring})))",
                  **{"filter-crs": f"{EPSG}4549"})
    assert abs(gk - in_box) <= max(2, in_box // 50)  # the same box, its edges reprojected
    times = ev.reported_at.sort_values()
    mid = times.iloc[len(times) // 2]
    stamp = mid.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _matched(client, "events", f"T_AFTER(reported_at, TIMESTAMP('{stamp}'))") == int(
        (ev.reported_at > mid).sum())
    assert _matched(client, "events", f"reported_at <= TIMESTAMP('{stamp}')") == int(
        (ev.reported_at <= mid).sum())
    day = mid.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d")  # a local day
    local = ev.reported_at.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d")
    assert _matched(client, "events", f"T_INTERSECTS(reported_at, DATE('{day}'))") == int(
        (local == day).sum()) > 0
    assert _matched(client, "events", f"T_DURING(reported_at, INTERVAL('{day}', '..'))") == \
        int((local >= day).sum())


def test_cql2_filters_keep_to_the_readers_scope(client, api, village_sample, sample_engine):
    from fastapi.testclient import TestClient

    from tests.conftest import sign_in

    everyone = _matched(client, "events", "status <> 'nothing'")
    assert everyone == len(village_sample.events)
    grid = village_sample.units[village_sample.units.level == "grid"]
    with TestClient(api) as field:  # a grid worker: the grid's events only
        assert sign_in(field, "t-field").status_code == 303
        mine = _matched(field, "events", "status <> 'nothing'")
    with sample_engine.connect() as conn:
        in_grid = conn.execute(sa.text(
            "SELECT count(*) FROM events WHERE grid_id = (SELECT id FROM units WHERE code = :c)"
        ), {"c": grid.code.iloc[0]}).scalar()
    assert mine == in_grid < everyone


@pytest.mark.parametrize("text, mentions", [
    ("floors >", "not valid cql2-text"),
    ("colour = 'red'", "not a queryable"),
    ("title = 'x'", "not a queryable"),  # typed by people: never filtered on
    ("floors > 'three'", "is a number"),
    ("use > 3", "is text"),
    ("reported_at > 3", "not a queryable"),  # buildings have no such time
    ("S_INTERSECTS(floors, POINT(1 2))", "takes the geometry"),
    ("use IN ()", "not valid cql2-text"),
    ("CASEI(use) = 'x'", "not supported"),
])
def test_bad_cql2_filters_are_400_naming_the_reason(client, text, mentions):
    r = client.get("/ogc/collections/buildings/items", params={"filter": text})
    assert r.status_code == 400, r.text
    assert mentions in r.json()["detail"]


def test_bad_filter_parameters_are_400(client):
    for params, mentions in (({"filter": "floors > 1", "filter-lang": "sql"}, "filter-lang"),
                             ({"filter-lang": "cql2-text"}, "without a filter"),
                             ({"filter": "x" * 20_001}, "longer than"),
                             ({"filter": "{", "filter-lang": "cql2-json"}, "cql2-json")):
        r = client.get("/ogc/collections/buildings/items", params=params)
        assert r.status_code == 400, (params, r.text)
        assert mentions in r.json()["detail"]


def test_stations_carry_latest_readings_and_alarm(client, village_sample, sample_engine):
    doc = _items(client, "stations")
    assert doc["numberMatched"] == len(village_sample.stations)
    with sample_engine.connect() as conn:
        alarmed = set(conn.execute(sa.text(
            "SELECT DISTINCT s.code FROM stations s JOIN station_latest l ON l.station_id = s.id"
            " JOIN parameters p ON p.code = l.parameter"
            " WHERE l.value > p.warn_above OR l.value < p.warn_below")).scalars())
    assert {f["properties"]["code"] for f in doc["features"]
            if f["properties"]["in_alarm"]} == alarmed
    latest = doc["features"][0]["properties"]["latest"]
    assert latest and {"parameter", "value", "unit", "observed_at", "alarm"} <= set(latest[0])


def test_single_item_and_404s(client, village_sample):
    b = village_sample.buildings.iloc[5]
    r = client.get(f"/ogc/collections/buildings/items/{b.id}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    f = r.json()
    assert f["id"] == b.id and f["properties"]["code"] == b.code
    assert shapely.geometry.shape(f["geometry"]).equals_exact(b.geometry, 1e-7)
    assert _rel(f, "collection") == "http://testserver/ogc/collections/buildings"
    for path in ("/ogc/collections/buildings/items/99999999",
                 "/ogc/collections/buildings/items/abc",
                 "/ogc/collections/observations/items/1:pm25:bad",
                 "/ogc/collections/nope", "/ogc/collections/nope/items",
                 "/ogc/collections/nope/items/1"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["detail"]
    # a town is not a village
    town = village_sample.units.query("level == 'town'").id.iloc[0]
    assert client.get(f"/ogc/collections/villages/items/{town}").status_code == 404


@pytest.mark.parametrize(("cid", "params", "mentions"), [
    ("buildings", {"bbox": "1,2,3"}, "bbox"),
    ("buildings", {"bbox": "a,b,c,d"}, "bbox"),
    ("buildings", {"bbox": "121,30,120,31"}, "bbox"),
    ("buildings", {"bbox": "0,0,200,10"}, "bbox"),
    ("buildings", {"bbox": "nan,30,121,31"}, "bbox"),
    ("buildings", {"limit": "0"}, "limit"),
    ("buildings", {"limit": "10001"}, "limit"),
    ("buildings", {"limit": "ten"}, "limit"),
    ("buildings", {"offset": "-1"}, "offset"),
    ("events", {"datetime": "yesterday"}, "datetime"),
    ("events", {"datetime": "2026-01-01T00:00:00"}, "datetime"),  # no offset
    ("events", {"datetime": "2026-13-01"}, "datetime"),
    ("events", {"datetime": "2026-02-01/2026-01-01"}, "datetime"),
    ("events", {"datetime": "a/b/c"}, "datetime"),
    ("buildings", {"datetime": "2026-01-01"}, "datetime"),
    ("buildings", {"colour": "red"}, "colour"),
    ("events", {"use": "residential"}, "use"),
    ("residents", {"name": "x"}, "name"),
    ("buildings", {"f": "xml"}, "f="),
])
def test_bad_parameters_are_400(client, cid, params, mentions):
    r = client.get(f"/ogc/collections/{cid}/items", params=params)
    assert r.status_code == 400, r.text
    assert mentions in r.json()["detail"]


def test_injection_attempts_never_reach_sql(client, sample_engine, village_sample):
    attempts = [
        ("events", {"status": "' OR 1=1--"}),
        ("events", {"status": "closed'; DROP TABLE events; --"}),
        ("buildings", {"use": "residential' OR 'a'='a"}),
        ("buildings", {"bbox": "1,2,3,4);DROP TABLE buildings;--"}),
        ("buildings", {"limit": "1; DROP TABLE buildings"}),
        ("events", {"datetime": "2026-01-01T00:00:00Z'; DROP TABLE events;--"}),
        ("buildings", {"t.id) OR (1": "1"}),
        ("buildings; DROP TABLE buildings", {}),
        ("buildings' OR '1'='1", {}),
        ("buildings", {"filter": "use = 'x'' OR ''1''=''1'"}),
        ("buildings", {"filter": "use = 'residential'); DROP TABLE buildings; --'"}),
        ("buildings", {"filter": '{"op": "=", "args": [{"property": "t.id) OR (1"}, 1]}',
                       "filter-lang": "cql2-json"}),
        ("buildings", {"filter": "S_INTERSECTS(geometry, POINT(1 2)) OR 1=1"}),
    ]
    for cid, params in attempts:
        r = client.get(f"/ogc/collections/{cid}/items", params=params)
        assert r.status_code in (200, 400, 404), (cid, params, r.text)
        if r.status_code == 200:
            assert r.json()["numberMatched"] == 0
    r = client.get("/ogc/collections/buildings/items/1 OR 1=1")
    assert r.status_code == 404
    with sample_engine.connect() as conn:
        for table, frame in (("events", village_sample.events),
                             ("buildings", village_sample.buildings)):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == len(frame)


def test_residents_are_aggregates_only(client, village_sample):
    doc = _items(client, "residents", limit=MAX_LIMIT)
    mgs = village_sample.units.query("level == 'microgrid'")
    assert doc["numberMatched"] == len(mgs)
    props = pd.DataFrame([f["properties"] for f in doc["features"]])
    assert not PERSONAL & (set(props.columns) - {"name"})
    # "name" is the micro-grid's own name, never a person's
    assert set(props["name"]) <= set(mgs.name)
    assert not set(props["name"]) & set(village_sample.people.name)
    people = village_sample.people
    placed = village_sample.households.sjoin(
        mgs[["code", "geometry"]].rename(columns={"code": "mg"}), predicate="within")
    mg_of = placed.set_index("id")["mg"]
    per_mg = pd.DataFrame({"mg": people["household_id"].map(mg_of),
                           "elderly": ["elderly" in t for t in people.tags]})
    counts = per_mg.groupby("mg").agg(residents=("elderly", "size"),
                                      elderly=("elderly", "sum"))
    households = mg_of.value_counts()
    got = props.set_index("code")[["residents", "elderly", "households"]].astype("Int64")
    expected = pd.DataFrame({
        "residents": counts.residents.where(counts.residents >= 5),
        "elderly": counts.elderly.where(((counts.elderly == 0) | (counts.elderly >= 5))
                                        & (counts.residents - counts.elderly >= 5)),
        "households": households.where(households >= 5)}).astype("Int64")
    pd.testing.assert_frame_equal(got.loc[expected.index, expected.columns], expected,
                                  check_names=False)
    assert got.residents.notna().sum() > 0
    assert {f["geometry"]["type"] for f in doc["features"]} == {"MultiPolygon"}
    assert "id_hash" not in client.get("/ogc/collections/residents/items").text


def test_every_collection_serves_a_page(official):
    for cid in COLLECTIONS:
        doc = _items(official, cid, limit=3)
        assert doc["numberReturned"] == min(3, doc["numberMatched"]) > 0, cid
        for f in doc["features"]:
            assert f["geometry"]["type"] in ("Point", "MultiPolygon")
            assert not {"id_hash", "id_masked", "phone_hash", "phone_masked"} & set(
                f["properties"])


# --- HTML -----------------------------------------------------------------------------
def _page(client, path: str, **params) -> str:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    hosts = set(re.findall(r'(?:href|src)="https?://([^/"]+)', r.text))
    assert hosts <= {"testserver"}, hosts  # nothing from any other host
    assert "<script" not in r.text
    return r.text


def test_html_pages_in_chinese_by_default_and_in_english(client, village_sample):
    landing = _page(client, "/ogc", f="html")
    assert "地理数据服务" in landing and 'lang="zh-CN"' in landing
    assert 'href="http://testserver/ogc/collections?f=html"' in landing
    assert "Collections" in _page(client, "/ogc", f="html", lang="en")
    listing = _page(client, "/ogc/collections", f="html")
    assert "数据集" in listing and "/ogc/collections/buildings/items?f=html" in listing
    one = _page(client, "/ogc/collections/buildings", f="html")
    assert "EPSG/0/4549" in one and "可筛选字段" in one
    b = village_sample.buildings
    page = _page(client, "/ogc/collections/buildings/items", f="html", limit=5,
                 filter="floors > 3")
    assert f"共 {int((b.floors > 3).sum())} 条，本页 5 条" in page
    assert "下一页" in page and "filter=floors+%3E+3" in page  # the next page keeps the filter
    assert b.code.iloc[0] in _page(client, "/ogc/collections/buildings/items/1", f="html")
    conformance = _page(client, "/ogc/conformance", f="html")
    assert "ogcapi-features-3/1.0/conf/filter" in conformance


def test_a_browser_gets_pages_and_clients_get_json(client):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    r = client.get("/ogc/collections/events/items", headers=browser)
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-crs"].startswith("<http://www.opengis.net/def/crs/")
    for accept in ("application/json", "application/geo+json", "*/*"):
        r = client.get("/ogc/collections/events/items", headers={"Accept": accept})
        assert r.headers["content-type"].startswith("application/geo+json")
    r = client.get("/ogc/collections/events/items", headers=browser, params={"f": "json"})
    assert r.headers["content-type"].startswith("application/geo+json")
    assert client.get("/ogc/collections/events/queryables",
                      params={"f": "html"}).status_code == 400


# --- real clients over HTTP -----------------------------------------------------------
@pytest.fixture(scope="module")
def server(settings, sample_engine) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port; yields the OGC base URL."""
    from twin.api import create_api

    with serving(create_api(settings, engine=sample_engine)) as base:
        yield f"{base}/ogc"


def test_owslib_reads_collections_and_items(server, loopback_only, village_sample):
    from owslib.ogcapi.features import Features
    from owslib.util import Authentication

    api = Features(server, auth=Authentication("t-planner", TEST_PASSWORD))
    ids = {c["id"] for c in api.collections()["collections"]}
    assert ids == ALL_IDS - {"households"}  # a planner sees no household
    assert api.feature_collections() and "buildings" in api.feature_collections()
    doc = api.collection_items("buildings", bbox=list(BOX), limit=MAX_LIMIT)
    assert doc["numberReturned"] == _in_box(village_sample.buildings.geometry, BOX)
    small = api.collection_items("events", limit=7, status="closed")
    assert small["numberReturned"] == 7
    assert small["numberMatched"] == int((village_sample.events.status == "closed").sum())
    assert api.collection_item("buildings", "1")["properties"]["code"] == (
        village_sample.buildings.code.iloc[0])
    # a CQL2 filter (Part 3), over the queryables OWSLib reads first
    assert "floors" in api.collection_queryables("buildings")["properties"]
    b = village_sample.buildings
    tall = api.collection_items("buildings", limit=MAX_LIMIT, filter="floors > 3 AND "
                                "use = 'residential'", **{"filter-lang": "cql2-text"})
    assert tall["numberMatched"] == int(((b.floors > 3) & (b.use == "residential")).sum()) > 0
    assert {f["properties"]["use"] for f in tall["features"]} == {"residential"}


# GDAL runs in a child process: pyogrio holds the GIL while GDAL reads features, which
# would starve the uvicorn thread serving them in this process.
GDAL_CLIENT = """
import json, sys
import pyogrio
source, box = "OAPIF:" + sys.argv[1], tuple(json.loads(sys.argv[2]))
print(json.dumps({
    "layers": [str(name) for name, _ in pyogrio.list_layers(source)],
    "in_box": pyogrio.read_dataframe(source, layer="buildings", bbox=box)["code"].tolist(),
    "microgrids": len(pyogrio.read_dataframe(source, layer="microgrids")),
    "land": len(pyogrio.read_dataframe(source, layer="land", read_geometry=False, PAGE_SIZE=100)),
}))
"""


def test_gdal_oapif_driver_reads_layers(server, loopback_only, village_sample):
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "20", "GDAL_HTTP_MAX_RETRY": "0",
           "CPL_DEBUG": "ON", "GDAL_HTTP_AUTH": "BASIC",
           "GDAL_HTTP_USERPWD": f"t-planner:{TEST_PASSWORD}"}
    run = subprocess.run([sys.executable, "-c", GDAL_CLIENT, server, json.dumps(BOX)],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    fetched = re.findall(r"HTTP: Fetch\((\S+)\)", run.stderr)
    origin = urlsplit(server).netloc
    assert fetched and {urlsplit(url).netloc for url in fetched} == {origin}
    assert any("offset=300" in url for url in fetched)  # GDAL followed the next links
    got = json.loads(run.stdout)
    assert set(got["layers"]) == ALL_IDS - {"households"}  # a planner sees no household
    b = village_sample.buildings
    inside = shapely.intersects(np.asarray(b.geometry), shapely.box(*BOX))
    assert sorted(got["in_box"]) == sorted(b.code[inside])
    assert got["microgrids"] == int((village_sample.units.level == "microgrid").sum())
    assert got["land"] == len(village_sample.land)  # every page, through the next links


GDAL_IN_GK = """
import json, sys
import pyogrio, shapely
df = pyogrio.read_dataframe("OAPIF:" + sys.argv[1], layer="buildings", CRS="EPSG:4549")
print(json.dumps({"crs": df.crs.to_epsg(), "codes": df["code"].tolist(),
                  "points": [shapely.get_coordinates(g).tolist() for g in df.geometry]}))
"""


def test_gdal_reads_buildings_in_gauss_kruger_within_a_millimetre(server, loopback_only,
                                                                    client):
    """GDAL asks for EPSG:4549 (Part 2) and gets every building within 1 mm of pyproj's
    transform of the CRS84 features."""
    from pyproj import Transformer

    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "20", "GDAL_HTTP_MAX_RETRY": "0",
           "CPL_DEBUG": "ON", "GDAL_HTTP_AUTH": "BASIC",
           "GDAL_HTTP_USERPWD": f"t-planner:{TEST_PASSWORD}"}
    run = subprocess.run([sys.executable, "-c", GDAL_IN_GK, server], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "crs=http" in run.stderr and "4549" in run.stderr  # it asked the server for it
    got = json.loads(run.stdout)
    assert got["crs"] == 4549
    plain = {f["properties"]["code"]: f["geometry"] for f in
             _items(client, "buildings", limit=MAX_LIMIT)["features"]}
    assert sorted(got["codes"]) == sorted(plain)
    to = Transformer.from_crs("OGC:CRS84", "EPSG:4549", always_xy=True)  # as GDAL: x = east
    worst = 0.0
    for code, points in zip(got["codes"], got["points"], strict=True):
        lon_lat = _points(plain[code])
        expected = np.column_stack(to.transform(lon_lat[:, 0], lon_lat[:, 1]))
        worst = max(worst, float(np.abs(np.asarray(points)[:, :2] - expected).max()))
    assert worst <= 1e-3, f"{worst * 1000:.3f} mm"


def test_links_follow_the_api_mount(api):
    from fastapi.testclient import TestClient
    from starlette.applications import Starlette
    from starlette.routing import Mount

    with TestClient(Starlette(routes=[Mount("/api", app=api)])) as mounted:
        assert sign_in(mounted, "t-planner", prefix="/api").status_code == 303
        doc = mounted.get("/api/ogc").json()
        assert _rel(doc, "service-desc") == "http://testserver/api/openapi.json"
        page = mounted.get("/api/ogc/collections/land/items", params={"limit": 5}).json()
        assert _rel(page, "next").startswith("http://testserver/api/ogc/collections/land/items?")
        assert mounted.get(_rel(page, "next")).json()["numberReturned"] == 5
