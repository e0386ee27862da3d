"""A real Open311 client from PyPI (georeport) reads the twin's GeoReport v2 endpoint."""

from __future__ import annotations

import requests
from georeport import GeoReport

from tests.conftest import sign_in


def test_georeport_client_reads_services_and_requests(server, village_sample, monkeypatch):
    import georeport.georeport

    # the client calls requests.get itself: give it a signed-in session in its place
    session = requests.Session()
    assert sign_in(session, "t-planner", prefix=f"{server}/api").status_code == 303
    monkeypatch.setattr(georeport.georeport, "requests", session)
    client = GeoReport(f"{server}/api/open311/v2", jurisdiction="330483")
    services = client.get_service_list()
    assert {s["service_code"] for s in services} >= {"dispute", "flood"}
    newest = village_sample.events.sort_values("reported_at").iloc[-1]
    request = client.get_service_request(newest["code"])
    assert request["service_request_id"] == newest["code"]
    listed = client.get_service_requests(
        start_date=village_sample.events["reported_at"].min().isoformat(),
        end_date=newest["reported_at"].isoformat(), status="closed")
    assert listed and all(r["status"] == "closed" for r in listed)


def test_georeport_client_in_xml_mode(server, village_sample, monkeypatch):
    """The spec's primary format: the same client asks for services.xml and requests.xml."""
    import georeport.georeport

    session = requests.Session()
    assert sign_in(session, "t-planner", prefix=f"{server}/api").status_code == 303
    monkeypatch.setattr(georeport.georeport, "requests", session)
    client = GeoReport(f"{server}/api/open311/v2", jurisdiction="330483", output_format="xml")
    services = client.get_service_list()
    assert {s["service_code"] for s in services} >= {"dispute", "flood"}
    assert all(s["metadata"] == "false" for s in services)
    newest = village_sample.events.sort_values("reported_at").iloc[-1]
    request = client.get_service_request(newest["code"])
    assert request["service_request_id"] == newest["code"]
    assert request["extended_attributes"]["status"] == newest["status"]
    listed = client.get_service_requests(
        start_date=village_sample.events["reported_at"].min().isoformat(),
        end_date=newest["reported_at"].isoformat(), status="closed")
    assert len(listed) > 1 and all(r["status"] == "closed" for r in listed)
