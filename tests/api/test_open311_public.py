"""Open311 in XML and its opt-in public read: off by default (401 without a key), and when
switched on, anyone reads every request's category, status, dates, a place to ~100 m and the
scrubbed words — no micro-grid, no names."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from twin.api import create_api
from twin.domain.workflow import report

BASE = "/open311/v2"
ID_NUMBER, PHONE = "330483199001011234", "13812345678"


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("open311_public")


@pytest.fixture(scope="module")
def event(engine, village_sample):
    micro = village_sample.units[village_sample.units.level == "microgrid"].iloc[0]
    p = micro.geometry.representative_point()
    return report(engine, category="sanitation", title="垃圾堆放", lon=p.x, lat=p.y,
                  description=f"请联系{PHONE}，身份证{ID_NUMBER}", source="resident",
                  actor="居民")


def _client(engine, settings, **update) -> TestClient:
    return TestClient(create_api(settings.model_copy(update=update), engine=engine))


def test_public_read_is_off_by_default(engine, settings, event):
    with _client(engine, settings) as c:
        assert c.get(f"{BASE}/requests.json").status_code == 401
        refused = c.get(f"{BASE}/requests/{event.code}.xml")
        assert refused.status_code == 401
        assert ET.fromstring(refused.content).find("error/code").text == "401"


def test_public_read_when_switched_on(engine, settings, event):
    with _client(engine, settings, open311_public_read=True) as c:
        one = c.get(f"{BASE}/requests/{event.code}.json").json()[0]
        assert one["service_code"] == "sanitation" and one["status"] == "open"
        assert one["address"] is None and one["agency_responsible"] is None
        assert one["lat"] == round(one["lat"], 3) and one["long"] == round(one["long"], 3)
        assert PHONE not in one["description"] and ID_NUMBER not in one["description"]
        assert "138****5678" in one["description"]
        listed = c.get(f"{BASE}/requests.xml").content
        codes = [r.findtext("service_request_id") for r in ET.fromstring(listed)]
        assert event.code in codes
        assert c.post(f"{BASE}/requests.json", data={
            "service_code": "sanitation", "lat": one["lat"], "long": one["long"],
            "description": "x"}).status_code == 401  # reading is public, reporting is not


def test_every_endpoint_speaks_xml(engine, settings, event):
    with _client(engine, settings, open311_api_key="k" * 20) as c:
        services = ET.fromstring(c.get(f"{BASE}/services.xml").content)
        assert services.tag == "services" and services.find("service/service_code") is not None
        made = c.post(f"{BASE}/requests.xml", data={
            "api_key": "k" * 20, "service_code": "traffic", "lat": 0, "long": 0,
            "description": "路灯不亮"})
        assert made.status_code == 400 and made.headers["content-type"].startswith("text/xml")
        assert ET.fromstring(made.content).tag == "errors"
        bad = c.get(f"{BASE}/services.csv")
        assert bad.status_code == 400
