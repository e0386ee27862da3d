"""群众's pages: a report without an account (words scrubbed, photos cleaned, one event per
form however often it is sent, bounded, throttled per address, nothing loaded from another
host), and the status page by signed link: the steps in plain words, a rating that closes a
resolved report, a reopening within the stated time, and nothing for a forged link."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from twin.api import create_api
from twin.domain import residents
from twin.domain import workflow as wf
from twin.i18n import t


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("residents")


@pytest.fixture
def client(engine, settings, tmp_path):
    api = create_api(settings.model_copy(update={"data_dir": tmp_path}), engine=engine)
    with TestClient(api) as c:
        yield c


@pytest.fixture(scope="module")
def place(engine):
    with engine.connect() as conn:
        code, x, y = conn.execute(sa.text(
            "SELECT v.code, ST_X(ST_PointOnSurface(m.geom)), ST_Y(ST_PointOnSurface(m.geom)) "
            "FROM units m JOIN units v ON v.id = m.village_id WHERE m.level = 'microgrid' "
            "LIMIT 1")).one()
    return {"village": code, "lon": x, "lat": y}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


def _form(client, **fields):
    page = client.get("/report")
    key = re.search(r'name="client_key" value="([^"]+)"', page.text).group(1)
    return {"client_key": key, "category": "sanitation", **fields}


def _token(response) -> str:
    assert response.status_code == 303, response.text
    return re.search(r"/report/s/([^?]+)", response.headers["location"]).group(1)


def test_the_report_page_is_self_contained(client):
    page = client.get("/report")
    assert page.status_code == 200
    assert t("resident.title") in page.text and "<svg" in page.text and "<path" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from elsewhere
    assert client.get("/report/report.js").headers["content-type"].startswith("text/javascript")


def test_a_report_with_a_photo_and_a_phone_number(client, engine, place):
    fields = _form(client, text="垃圾桶满了没人清运，我的电话13812345678",
                   lon=str(place["lon"]), lat=str(place["lat"]))
    sent = client.post("/report", data=fields, files=[("photo", ("a.jpg", _jpeg(), "image/jpeg"))],
                       follow_redirects=False)
    token = _token(sent)
    again = client.post("/report", data=fields, files=[("photo", ("a.jpg", _jpeg(), "image/jpeg"))],
                        follow_redirects=False)
    assert _token(again) == token  # the same form sent twice: one report
    event_id = int(token.split(".")[0])
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT description, source, (SELECT count(*) FROM event_photos p "
            "WHERE p.event_id = e.id) FROM events e WHERE id = :e"), {"e": event_id}).one()
        actors = set(conn.execute(sa.text("SELECT actor FROM event_log WHERE event_id = :e"),
                                  {"e": event_id}).scalars())
    assert "13812345678" not in row[0] and "138****5678" in row[0]
    assert row[1:] == ("resident", 1) and actors == {residents.REPORTER}
    status = client.get(f"/report/s/{token}")
    assert status.status_code == 200 and t("resident.step.reported") in status.text
    assert "13812345678" not in status.text


def test_a_report_in_a_village_without_a_point(client, place):
    token = _token(client.post("/report", data=_form(client, text="路灯坏了",
                                                     village=place["village"]),
                               follow_redirects=False))
    assert client.get(f"/report/s/{token}").status_code == 200


@pytest.mark.parametrize(("fields", "files", "key"), [
    ({"text": ""}, [], "resident.err.empty"),
    ({"text": "x" * 1001}, [], "resident.err.long"),
    ({"text": "哪里？"}, [], "resident.err.place"),
    ({"text": "a", "lon": "0", "lat": "0"}, [], "resident.err.where"),
    ({"text": "a", "category": "no-such", "lon": "120.5", "lat": "30.6"}, [],
     "resident.err.where"),
    ({"text": "a", "village": "X"}, [("photo", ("x.jpg", b"<script>", "image/jpeg"))],
     "resident.err.photo"),
])
def test_a_bad_report_says_why_and_writes_nothing(client, engine, fields, files, key):
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM events")).scalar()
    sent = client.post("/report", data=_form(client, **fields), files=files or None,
                       follow_redirects=False)
    assert sent.status_code == 400
    assert t(key).split("{")[0] in sent.text
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == before


def test_too_much_or_too_often_is_refused(client, place):
    huge = client.post("/report", content=b"x", headers={
        "content-length": str(residents.MAX_PHOTOS * (8 << 20) + (1 << 20)),
        "content-type": "multipart/form-data; boundary=x"})
    assert huge.status_code == 413
    codes = [client.post("/report", data=_form(client, text=f"第{i}次", village=place["village"]),
                         follow_redirects=False).status_code for i in range(7)]
    assert codes[:5] == [303] * 5 and codes[5:] == [429, 429]


def test_rate_reopen_and_the_window(client, engine, place):
    token = _token(client.post("/report", data=_form(client, text="井盖松动",
                                                     village=place["village"]),
                               follow_redirects=False))
    event_id = residents.event_of(client.app.state.settings, token)
    page = client.get(f"/report/s/{token}").text
    assert t("resident.rate") not in page  # nothing to rate before it is handled
    e = wf.get_event(engine, event_id)
    for step in ("triaged", "dispatched", "handling", "resolved"):
        e = wf.transition(engine, event_id, step, actor="网格员", expected_version=e.version)
    page = client.get(f"/report/s/{token}").text
    assert t("resident.step.resolved") in page and t("resident.reopen") in page
    stale = client.post(f"/report/s/{token}/rate", data={"score": "2", "version": "1"},
                        follow_redirects=False)
    assert stale.headers["location"].endswith("msg=stale")
    rated = client.post(f"/report/s/{token}/rate", data={"score": "2", "version": e.version},
                        follow_redirects=False)
    assert rated.headers["location"].endswith("msg=rated")
    e = wf.get_event(engine, event_id)
    assert e.status == "closed"
    reopened = client.post(f"/report/s/{token}/reopen",
                           data={"reason": "还是松的", "version": e.version},
                           follow_redirects=False)
    assert reopened.headers["location"].endswith("msg=reopened")
    assert wf.get_event(engine, event_id).status == "reopened"
    with engine.connect() as conn:
        sat, notes = conn.execute(sa.text(
            "SELECT satisfaction, array_agg(l.note ORDER BY l.id) FROM events e JOIN event_log l "
            "ON l.event_id = e.id WHERE e.id = :e GROUP BY satisfaction"), {"e": event_id}).one()
    assert sat == 2 and "群众评价2星" in notes and "还是松的" in notes
    # resolved again, then too late to reopen
    e = wf.get_event(engine, event_id)
    for step in ("handling", "resolved"):
        e = wf.transition(engine, event_id, step, actor="网格员", expected_version=e.version)
    late = wf.now_utc() + dt.timedelta(days=residents.REOPEN_DAYS + 1)
    with pytest.raises(residents.ReportError, match="within"):
        residents.reopen(engine, event_id, "又坏了", e.version, now=late)


def test_a_forged_or_cut_status_link_shows_nothing(client, place):
    token = _token(client.post("/report", data=_form(client, text="噪音扰民",
                                                     village=place["village"]),
                               follow_redirects=False))
    event_id = token.split(".")[0]
    for bad in (f"{int(event_id) - 1}.{token.split('.')[1]}", token[:-2], event_id, "x.y"):
        page = client.get(f"/report/s/{bad}")
        assert page.status_code == 404 and t("resident.not_found") in page.text
        assert client.post(f"/report/s/{bad}/rate", data={"score": "5", "version": "1"},
                           follow_redirects=False).status_code == 303
