"""Open311 GeoReport v2: the spec's shapes, filters and errors; POST files an event owned
by the micro-grid holding the point, once per idempotency key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_PASSWORD, sign_in
from twin.api import create_api
from twin.domain.accounts import add_user
from twin.domain.summary import OPEN_STATUSES

BASE = "/open311/v2"
# GeoReport v2's documented fields of a service and of a service request.
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                  "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"}


def test_services_are_the_event_categories(client):
    services = client.get(f"{BASE}/services.json").json()
    assert {s["service_code"] for s in services} >= {"dispute", "fire", "sanitation"}
    assert all(set(s) == SERVICE_FIELDS and s["type"] == "realtime" for s in services)
    english = client.get(f"{BASE}/services.json?locale=en").json()
    assert {s["service_name"] for s in english} >= {"Disputes", "Fire hazards"}


def test_requests_by_id_code_status_and_dates(client, village_sample):
    events = village_sample.events
    newest = events.sort_values("reported_at").iloc[-1]
    window = {"start_date": events["reported_at"].min().isoformat(),
              "end_date": events["reported_at"].max().isoformat()}
    everything = client.get(f"{BASE}/requests.json", params=window).json()
    assert len(everything) == len(events)
    assert all(REQUEST_FIELDS <= set(r) for r in everything)
    assert everything[0]["service_request_id"] == newest["code"]  # newest first
    one = client.get(f"{BASE}/requests.json",
                     params={"service_request_id": newest["code"]}).json()
    assert [r["service_request_id"] for r in one] == [newest["code"]]
    assert one[0]["lat"] == pytest.approx(newest.geometry.y, abs=1e-6)
    opened = client.get(f"{BASE}/requests.json", params={**window, "status": "open"}).json()
    assert len(opened) == events["status"].isin(OPEN_STATUSES).sum()
    assert all(r["status"] == "open" and r["extended_attributes"]["status"] in OPEN_STATUSES
               for r in opened)
    fires = client.get(f"{BASE}/requests.json",
                       params={**window, "service_code": "fire"}).json()
    assert len(fires) == (events["category"] == "fire").sum()
    single = client.get(f"{BASE}/requests/{newest['code']}.json").json()
    assert single == one


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/requests/NOPE.json", 404, "no service request 'NOPE'"),
    ("/requests.csv", 400, "unknown format 'csv': json or xml"),
    ("/services.json?jurisdiction_id=110000", 404, "unknown jurisdiction_id"),
    ("/requests.json?status=pending", 400, "status is open or closed"),
    ("/requests.json?start_date=yesterday", 400, "start_date must be a W3C date-time"),
])
def test_errors_in_the_specs_shape(client, path, status, words):
    r = client.get(BASE + path)
    assert r.status_code == status
    body = r.json()
    assert isinstance(body, list) and body[0]["code"] == status
    assert words in body[0]["description"]


@pytest.fixture(scope="module")
def writable(sample_db, settings, village_sample):
    engine = sample_db("open311")
    add_user(engine, "t-field", "field", scope=(village_sample.units[
        village_sample.units.level == "grid"].code.iloc[0],), password=TEST_PASSWORD)
    with TestClient(create_api(settings, engine=engine)) as c:
        assert sign_in(c, "t-field").status_code == 303
        c.headers["Origin"] = "http://testserver"  # as this site's own pages send it
        yield c


def test_post_files_an_event_in_its_micro_grid_once(writable, village_sample):
    micro = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[0]
    p = micro.geometry.representative_point()
    form = {"service_code": "sanitation", "lat": str(p.y), "long": str(p.x),
            "description": "河边垃圾堆积，气味很大", "email": "someone@example.com",
            "first_name": "张", "phone": "13800000000"}
    first = writable.post(f"{BASE}/requests.json", data=form,
                          headers={"Idempotency-Key": "app-42-0001"})
    assert first.status_code == 200
    (created,) = first.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    again = writable.post(f"{BASE}/requests.json", data=form,
                          headers={"Idempotency-Key": "app-42-0001"})
    assert again.json()[0]["service_request_id"] == created["service_request_id"]
    (got,) = writable.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert got["status"] == "open" and got["extended_attributes"] == {
        "status": "reported", "owner_level": "microgrid"}
    assert got["address"] == micro["name"] and "13800000000" not in str(got)


@pytest.mark.parametrize(("form", "words"), [
    ({"lat": "30.7", "long": "120.5", "description": "x"}, "service_code is required"),
    ({"service_code": "fire", "description": "x"}, "lat and long are required"),
    ({"service_code": "fire", "lat": "30.7", "long": "120.5"}, "description is required"),
    ({"service_code": "ufo", "lat": "30.7", "long": "120.5", "description": "x"},
     "unknown event category 'ufo'"),
    ({"service_code": "fire", "lat": "39.9", "long": "116.4", "description": "x"},
     "lies outside every micro-grid"),
])
def test_bad_posts_say_what_is_wrong(writable, form, words):
    r = writable.post(f"{BASE}/requests.json", data=form)
    assert r.status_code == 400 and words in r.json()[0]["description"]
