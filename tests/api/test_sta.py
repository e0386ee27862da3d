"""``/sta/v1.1``: the SensorThings API over the village sample's stations and readings —
through TestClient, and through ``frost-sta-client`` against a real server on loopback.

Reads use the shared sample; creating Observations writes to a database of this module's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.api.conftest import serving
from tests.conftest import TEST_PASSWORD, signed_clients
from twin.publish.sta import CONFORMANCE, ENTITIES

BASE = "http://testserver/sta/v1.1"


def _sql(engine, query: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).all()


def test_root_lists_the_entity_sets_and_conformance(client):
    doc = client.get("/sta/v1.1").json()
    assert [v["name"] for v in doc["value"]] == list(ENTITIES)
    assert doc["value"][0]["url"] == f"{BASE}/Things"
    assert doc["serverSettings"]["conformance"] == list(CONFORMANCE)


def test_things_are_the_stations_with_their_links(client, sample_engine):
    stations = _sql(sample_engine, "SELECT id, name, code, kind FROM stations ORDER BY id")
    doc = client.get("/sta/v1.1/Things", params={"$count": "true"}).json()
    assert doc["@iot.count"] == len(stations) and "@iot.nextLink" not in doc
    first = doc["value"][0]
    sid, name, code, kind = stations[0]
    assert first["@iot.id"] == sid and first["name"] == name
    assert first["properties"] == {"code": code, "kind": kind}
    assert first["@iot.selfLink"] == f"{BASE}/Things({sid})"
    assert first["Datastreams@iot.navigationLink"] == f"{BASE}/Things({sid})/Datastreams"
    one = client.get(f"/sta/v1.1/Things({sid})").json()
    assert one == first
    streams = client.get(f"/sta/v1.1/Things({sid})/Datastreams").json()["value"]
    params = [p for (p,) in _sql(sample_engine, "SELECT code FROM parameters WHERE kind = :k "
                                                "ORDER BY code", k=kind)]
    assert [s["@iot.id"] for s in streams] == [f"{sid}:{p}" for p in params]
    loc = client.get(f"/sta/v1.1/Things({sid})/Locations").json()["value"][0]
    assert loc["encodingType"] == "application/geo+json"
    assert loc["location"]["type"] == "Point"


def test_a_datastream_describes_its_unit_property_and_period(client, sample_engine):
    sid, code, unit = _sql(sample_engine, "SELECT s.id, p.code, p.unit FROM stations s JOIN "
                                          "parameters p ON p.kind = s.kind WHERE s.kind = 'air' "
                                          "ORDER BY s.id, p.code LIMIT 1")[0]
    lo, hi = _sql(sample_engine, "SELECT min(observed_at), max(observed_at) FROM observations "
                                 "WHERE station_id = :s AND parameter = :p", s=sid, p=code)[0]
    ds = client.get(f"/sta/v1.1/Datastreams('{sid}:{code}')",
                    params={"$expand": "Thing,ObservedProperty,Sensor"}).json()
    assert ds["unitOfMeasurement"]["symbol"] == unit
    assert ds["observationType"].endswith("OM_Measurement")
    assert ds["phenomenonTime"] == f"{lo:%Y-%m-%dT%H:%M:%SZ}/{hi:%Y-%m-%dT%H:%M:%SZ}".replace(
        "+00:00", "")
    assert ds["Thing"]["@iot.id"] == sid and ds["ObservedProperty"]["@iot.id"] == code
    assert ds["Sensor"]["@iot.id"] == "air" and "Thing@iot.navigationLink" not in ds
    assert ds["ObservedProperty"]["properties"]["unit"] == unit


def test_observations_filter_order_page_and_count(client, sample_engine):
    sid, code = _sql(sample_engine, "SELECT station_id, parameter FROM observations "
                                    "WHERE parameter = 'pm25' LIMIT 1")[0]
    values = [v for (v,) in _sql(sample_engine, "SELECT value FROM observations WHERE "
                                 "station_id = :s AND parameter = 'pm25' ORDER BY value DESC",
                                 s=sid)]
    cut = values[len(values) // 4]
    path = f"/sta/v1.1/Datastreams('{sid}:{code}')/Observations"
    doc = client.get(path, params={"$filter": f"result gt {cut}", "$orderby": "result desc",
                                   "$top": "10", "$count": "true"}).json()
    above = [v for v in values if v > cut]
    assert doc["@iot.count"] == len(above) > 10
    assert [o["result"] for o in doc["value"]] == above[:10]
    assert doc["@iot.nextLink"].startswith(f"{BASE}/Datastreams(") and "%24skip=10" in \
        doc["@iot.nextLink"]
    nxt = client.get(doc["@iot.nextLink"].removeprefix("http://testserver")).json()
    assert [o["result"] for o in nxt["value"]] == above[10:20]
    # times: an instant with its offset, or a date; and, or, not
    day = _sql(sample_engine, "SELECT max(observed_at) FROM observations")[0][0]
    since = (day - dt.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = client.get(path, params={"$filter": f"phenomenonTime ge {since} and not "
                                                 "(result lt 0)", "$count": "true"}).json()
    expected = _sql(sample_engine, "SELECT count(*) FROM observations WHERE station_id = :s "
                                   "AND parameter = 'pm25' AND observed_at >= :t", s=sid,
                    t=day - dt.timedelta(hours=6))[0][0]
    assert recent["@iot.count"] == expected > 0
    one = recent["value"][0]
    assert one["@iot.id"].startswith(f"{sid}:pm25:") and one["resultTime"].endswith("Z")
    again = client.get(f"/sta/v1.1/Observations('{one['@iot.id']}')",
                       params={"$expand": "Datastream($select=name)"}).json()
    assert again["result"] == one["result"]
    assert set(again["Datastream"]) == {"@iot.id", "@iot.selfLink", "name"}


def test_top_zero_counts_without_a_next_page(client, sample_engine):
    doc = client.get("/sta/v1.1/Observations", params={"$top": "0", "$count": "true"}).json()
    total = _sql(sample_engine, "SELECT count(*) FROM observations")[0][0]
    assert doc == {"@iot.count": total, "value": []}


def test_things_expand_their_datastreams_with_options(client):
    doc = client.get("/sta/v1.1/Things", params={
        "$top": "2", "$select": "name,Datastreams",
        "$expand": "Datastreams($top=1;$orderby=id desc;$count=true),Locations"}).json()
    thing = doc["value"][0]
    assert set(thing) >= {"@iot.id", "name", "Datastreams", "Locations"}
    assert "description" not in thing and len(thing["Datastreams"]) == 1
    assert thing["Datastreams@iot.count"] >= 1
    assert thing["Datastreams"][0]["@iot.id"].startswith(f"{thing['@iot.id']}:")


@pytest.mark.parametrize(("params", "reason"), [
    ({"$filter": "height gt 3"}, "cannot be filtered on 'height'"),
    ({"$filter": "result gt 'high'"}, "result takes a number"),
    ({"$filter": "phenomenonTime gt 75"}, "takes a date-time"),
    ({"$filter": "result gt"}, "$filter"),
    ({"$filter": "phenomenonTime ge 2026-02-30"}, "not a valid date or time"),
    ({"$filter": "result gt 1; DROP TABLE observations"}, "$filter"),
    ({"$orderby": "value desc"}, "$orderby"),
    ({"$top": "100001"}, "$top must be an integer"),
    ({"$expand": "Things"}, "no navigation link 'Things'"),
    ({"$select": "secret"}, "has no 'secret'"),
    ({"$apply": "groupby"}, "unsupported query option"),
])
def test_bad_options_are_400_naming_the_reason(client, params, reason):
    r = client.get("/sta/v1.1/Observations", params=params)
    assert r.status_code == 400 and reason in r.json()["detail"], r.text


def test_paths_that_name_nothing_are_404(client):
    for path in ("Sandwiches", "Things(999999)", "Things('1')", "Things(1)/Observations",
                 "Things/Datastreams", "Observations('1:pm25:20261301T000000Z')"):
        r = client.get(f"/sta/v1.1/{path}")
        assert r.status_code == 404, (path, r.text)


# --- creating Observations ----------------------------------------------------------------
@pytest.fixture(scope="module")
def write_engine(accounts_db):
    return accounts_db("sta")


@pytest.fixture(scope="module")
def clients(write_engine, settings) -> Iterator[dict]:
    with signed_clients(write_engine, settings, ("t-admin", "t-planner", "anonymous")) as made:
        yield made


def _air(engine) -> tuple[int, float]:
    """An air station and PM2.5's limit."""
    return _sql(engine, "SELECT s.id, p.warn_above FROM stations s JOIN parameters p ON "
                        "p.code = 'pm25' WHERE s.kind = 'air' ORDER BY s.id LIMIT 1")[0]


def test_a_breaching_observation_opens_its_warning(clients, write_engine):
    sid, limit = _air(write_engine)
    open_before = _sql(write_engine, "SELECT count(*) FROM warning_episodes WHERE "
                                     "station_id = :s AND parameter = 'pm25' AND closed_at IS "
                                     "NULL", s=sid)[0][0]
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    body = {"result": limit * 2, "phenomenonTime": at.isoformat(),
            "Datastream": {"@iot.id": f"{sid}:pm25"}}
    r = clients["t-admin"].post("/sta/v1.1/Observations", json=body)
    assert r.status_code == 201, r.text
    oid = f"{sid}:pm25:{at:%Y%m%dT%H%M%SZ}"
    assert r.headers["location"] == f"{BASE}/Observations('{oid}')"
    assert r.json()["warnings"]["opened"] + r.json()["warnings"]["updated"] == 1
    open_after = _sql(write_engine, "SELECT count(*) FROM warning_episodes WHERE "
                                    "station_id = :s AND parameter = 'pm25' AND closed_at IS "
                                    "NULL", s=sid)[0][0]
    assert open_after == max(open_before, 1)
    event = _sql(write_engine, "SELECT e.category FROM warning_episodes w JOIN events e ON "
                               "e.id = w.event_id WHERE w.station_id = :s AND "
                               "w.parameter = 'pm25' AND w.closed_at IS NULL", s=sid)
    assert event == [("environment",)]
    got = clients["t-admin"].get(f"/sta/v1.1/Observations('{oid}')").json()
    assert got["result"] == limit * 2
    # the same reading again: 409, nothing written twice
    again = clients["t-admin"].post(f"/sta/v1.1/Datastreams('{sid}:pm25')/Observations",
                                    json={"result": 1, "phenomenonTime": at.isoformat()})
    assert again.status_code == 409 and oid in again.json()["detail"]


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"result": "high", "Datastream": {"@iot.id": "{sid}:pm25"}}, 400, "result must be"),
    ({"result": 3}, 400, "needs its Datastream"),
    ({"result": 3, "Datastream": {"@iot.id": "{sid}:do"}}, 404, "no Datastream"),
    ({"result": 3, "phenomenonTime": "2026-10-01T08:00:00", "Datastream":
      {"@iot.id": "{sid}:pm25"}}, 400, "offset from UTC"),
    ({"result": 3, "phenomenonTime": "2999-01-01T00:00:00Z", "Datastream":
      {"@iot.id": "{sid}:pm25"}}, 400, "in the future"),
    ({"result": 3, "phenomenonTime": "2026-10-01T00:00:00Z/2026-10-02T00:00:00Z",
      "Datastream": {"@iot.id": "{sid}:pm25"}}, 400, "an instant"),
])
def test_bad_observations_are_refused_with_the_reason(clients, write_engine, body, status,
                                                      reason):
    sid, _ = _air(write_engine)
    if "Datastream" in body:
        body = {**body, "Datastream": {"@iot.id": body["Datastream"]["@iot.id"].format(
            sid=sid)}}
    before = _sql(write_engine, "SELECT count(*) FROM observations")[0][0]
    r = clients["t-admin"].post("/sta/v1.1/Observations", json=body)
    assert r.status_code == status and reason in r.json()["detail"], r.text
    assert _sql(write_engine, "SELECT count(*) FROM observations")[0][0] == before


def test_only_importers_create_observations(clients, write_engine):
    sid, _ = _air(write_engine)
    body = {"result": 3, "Datastream": {"@iot.id": f"{sid}:pm25"}}
    assert clients["t-planner"].post("/sta/v1.1/Observations", json=body).status_code == 403
    assert clients["anonymous"].post("/sta/v1.1/Observations", json=body).status_code == 401
    assert clients["t-planner"].get("/sta/v1.1/Things").status_code == 200
    r = clients["t-admin"].post("/sta/v1.1/Things", json={"name": "x"})
    assert r.status_code == 404 and "only entities created" in r.json()["detail"]


# --- a real client ------------------------------------------------------------------------
def test_frost_client_lists_filters_and_creates(write_engine, settings, loopback_only):
    import frost_sta_client as fsc
    from frost_sta_client.service.auth_handler import AuthHandler

    from twin.api import create_api

    sid, limit = _air(write_engine)
    with serving(create_api(settings, engine=write_engine)) as base:
        service = fsc.SensorThingsService(
            f"{base}/sta/v1.1", auth_handler=AuthHandler("t-admin", TEST_PASSWORD))
        things = service.things().query().count().top(3).list()
        stations = _sql(write_engine, "SELECT id FROM stations ORDER BY id")
        assert things.count == len(stations)
        assert [t.id for t in things] == [s for (s,) in stations]  # follows @iot.nextLink
        streams = list(service.datastreams().query().list())
        assert f"{sid}:pm25" in {d.id for d in streams}
        pm25 = service.datastreams().find(f"{sid}:pm25")
        unit = _sql(write_engine, "SELECT unit FROM parameters WHERE code = 'pm25'")[0][0]
        assert pm25.unit_of_measurement.symbol == unit
        high = pm25.get_observations().query().filter(f"result gt {limit}").orderby(
            "phenomenonTime", "desc").top(50).list()
        results = [o.result for o in high]
        count = _sql(write_engine, "SELECT count(*) FROM observations WHERE station_id = :s "
                                   "AND parameter = 'pm25' AND value > :v", s=sid, v=limit)
        assert len(results) == count[0][0] and all(v > limit for v in results)
        at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).replace(microsecond=0)
        obs = fsc.Observation(result=limit * 3, phenomenon_time=at.strftime(
            "%Y-%m-%dT%H:%M:%SZ"), datastream=fsc.Datastream(id=f"{sid}:pm25"))
        service.create(obs)
        assert obs.id == f"{sid}:pm25:{at:%Y%m%dT%H%M%SZ}"
    open_warnings = _sql(write_engine, "SELECT count(*) FROM warning_episodes WHERE "
                                       "station_id = :s AND parameter = 'pm25' AND "
                                       "closed_at IS NULL", s=sid)[0][0]
    assert open_warnings == 1
