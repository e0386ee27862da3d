"""桐解码 · 云司法's phone pages: an application through the form (one dispute however often
it is sent, the numbers never shown back, bounded, throttled), the applicant's progress
page by signed link and nothing for a forged one; each party reads the agreement, downloads
its PDF and signs it on their own page until it is in force; anyone verifies the PDF (a
file that is no PDF is refused) or its hash, and sees no name; a slot booked through the
pages is taken once (the second booking of it: 409) and cancelled.

The module builds its own small network (a mediator, a judge, a service place) in its own
database, as tests/twin/test_law.py does."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from twin.api import create_api
from twin.domain import law
from twin.domain import workflow as wf
from twin.domain.pii import id_check_digit, mask_name
from twin.i18n import t

PHONE, OTHER_PHONE = "13812345678", "13900001111"
ID_NUMBER = "33048319850101123" + id_check_digit("33048319850101123")
BAD_ID = ID_NUMBER[:17] + ("1" if ID_NUMBER[17] != "1" else "2")  # a wrong check digit
PLACE = "LP-P1"


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("law_pages")


@pytest.fixture(scope="module")
def net(engine):
    """A mediator and a judge at the first village, a service centre serving it."""
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE legal_appointments, agreement_signatures, agreements, "
                             "dispute_sessions, dispute_log, dispute_parties, disputes, "
                             "mediators, legal_places CASCADE"))
        v = conn.execute(sa.text("""
            SELECT v.id, v.code, ST_X(ST_PointOnSurface(v.geom)) AS lon,
                   ST_Y(ST_PointOnSurface(v.geom)) AS lat
              FROM units v WHERE v.level = 'village' ORDER BY v.id LIMIT 1""")).one()
        org = conn.execute(sa.text("SELECT id FROM organizations WHERE kind = "
                                   "'mediation_committee' ORDER BY id LIMIT 1")).scalar()
        people = conn.execute(sa.text("SELECT id, name FROM people ORDER BY id LIMIT 2")).all()
        for (pid, _), kind in zip(people, ("mediator", "judge"), strict=True):
            conn.execute(sa.text("""
                INSERT INTO mediators (kind, person_id, organization_id, expertise, villages,
                                       since, geom)
                VALUES (:kind, :p, :org, :exp, :villages, DATE '2020-01-01',
                        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"""),
                {"kind": kind, "p": pid, "org": org if kind == "mediator" else None,
                 "exp": ["neighbour"] if kind == "mediator" else ["general"],
                 "villages": [v.code] if kind == "judge" else [], "lon": v.lon, "lat": v.lat})
        conn.execute(sa.text("""
            INSERT INTO legal_places (code, kind, name, opening_hours, open_days, opens, closes,
                                      slot_minutes, services, serves, geom)
            VALUES (:code, 'service_centre', '测试村公共法律服务站', '周一至周五 8:30–17:00',
                    '{1,2,3,4,5}', '08:30', '17:00', 30, '{consultation,legal_aid}',
                    ARRAY[:v], ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"""),
            {"code": PLACE, "v": v.code, "lon": v.lon, "lat": v.lat})
    return {"village": v.code, "mediator": people[0][1], "judge": people[1][1]}


@pytest.fixture
def client(engine, settings, net):
    """A fresh app (its own throttles) on the module's database."""
    with TestClient(create_api(settings, engine=engine)) as c:
        yield c


def _key(page) -> str:
    return re.search(r'name="client_key" value="([^"]+)"', page.text).group(1)


def _application(client, **fields) -> dict:
    return {"client_key": _key(client.get("/law/apply")), "kind": "neighbour",
            "facts": "邻居在公共通道堆放杂物，多次协商未果", "claim": "清理通道",
            "amount": "3000", "name": "张伟民", "id_number": ID_NUMBER, "phone": PHONE,
            "other_name": "李建国", "other_phone": OTHER_PHONE, "online": "1", **fields}


def _location(response, path: str) -> str:
    assert response.status_code == 303, response.text
    return re.search(rf"/law/{path}/([^?]+)", response.headers["location"]).group(1)


def test_the_pages_are_self_contained_and_in_two_languages(client):
    for path in ("/law", "/law/apply", "/law/book", "/law/verify"):
        page = client.get(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "http" not in policy
        assert page.headers["cache-control"] == "no-store"
        assert not re.search(r'(src|href|action)="(https?:)?//', page.text)  # nothing elsewhere
        assert "<script" not in page.text  # forms that work without script
    home = client.get("/law").text
    for key in ("law.page.apply", "law.page.book", "law.page.verify"):
        assert t(key) in home
    english = client.get("/law/apply?lang=en").text
    assert t("law.page.apply", "en") in english and t("law.kind.neighbour", "en") in english
    assert 'action="/law/apply?lang=en"' in english


def test_an_application_through_the_form(client, engine, net):
    fields = _application(client, village=net["village"],
                          facts=f"邻居堆放杂物，我的电话{PHONE}")
    sent = client.post("/law/apply", data=fields, follow_redirects=False)
    token = _location(sent, "s")
    again = client.post("/law/apply", data=fields, follow_redirects=False)
    assert _location(again, "s") == token  # the same form sent twice: one dispute
    dispute_id = law.token_id(client.app.state.settings, "dispute", token)
    with engine.connect() as conn:
        code, online, amount = conn.execute(sa.text(
            "SELECT code, online, amount FROM disputes WHERE id = :i"), {"i": dispute_id}).one()
        assert conn.execute(sa.text("SELECT count(*) FROM disputes WHERE client_key = :k"),
                            {"k": fields["client_key"]}).scalar() == 1
    assert online and float(amount) == 3000
    page = client.get(sent.headers["location"])
    assert page.status_code == 200 and code in page.text
    assert t("law.page.status.applied") in page.text and t("law.page.thanks") in page.text
    for number in (PHONE, OTHER_PHONE, ID_NUMBER):
        assert number not in page.text
    assert "李建国" not in page.text  # the other party is not named to the applicant
    # a forged, cut or borrowed link shows nothing
    settings = client.app.state.settings
    forged = f"{dispute_id + 1}.{token.split('.')[1]}"
    for bad in (forged, token[:-2], str(dispute_id), "x.y",
                law.token(settings, "booking", dispute_id)):
        page = client.get(f"/law/s/{bad}")
        assert page.status_code == 404 and t("law.page.not_found") in page.text


def test_a_refused_application_keeps_the_words_but_not_the_numbers(client, engine, net):
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM disputes")).scalar()
    cases = [({"phone": "12345"}, "law.page.err.phone"),
             ({"phone": ""}, "law.page.err.phone_needed"),
             ({"id_number": BAD_ID}, "law.page.err.id"),
             ({"village": ""}, "law.page.err.village")]
    for extra, key in cases:
        fields = _application(client, **{"village": net["village"], "facts": "院墙漏水影响我家",
                                          **extra})
        page = client.post("/law/apply", data=fields, follow_redirects=False)
        assert page.status_code == 400 and t(key) in page.text, key
        assert "院墙漏水影响我家" in page.text and 'value="张伟民"' in page.text
        for number in (PHONE, OTHER_PHONE, ID_NUMBER, BAD_ID):
            assert number not in page.text
    nul = client.post("/law/apply", data=_application(client, village=net["village"],
                                                      facts="a\x00b"), follow_redirects=False)
    assert nul.status_code == 400
    huge = client.post("/law/apply", content=b"x", headers={
        "content-length": str(1 << 20), "content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM disputes")).scalar() == before


def test_applications_are_throttled_per_address(client, net):
    codes = [client.post("/law/apply", data={"facts": ""}, follow_redirects=False).status_code
             for _ in range(7)]
    assert codes[:5] == [400] * 5 and codes[5:] == [429, 429]


def _mediate(engine, dispute_id: int) -> dict:
    """What the officials do, through the domain: up to an agreement drafted."""
    now = wf.now_utc()
    law.move(engine, dispute_id, "accepted", actor="t-official")
    law.match(engine, dispute_id, law.candidates(engine, dispute_id)[0]["id"],
              actor="t-official")
    session = law.schedule(engine, dispute_id, at=now, mode="online", room="桐解码-在线调解室",
                           actor="t-official")
    parties = [p["id"] for p in law.case(engine, dispute_id, names=True)["parties"]]
    law.hold(engine, session, held_at=now, present=parties, attendees=2, actor="t-official")
    return law.draft(engine, dispute_id, law.default_terms(engine, dispute_id),
                     actor="t-official")


def test_each_party_signs_on_their_own_page_and_anyone_verifies(client, engine, net):
    settings = client.app.state.settings
    status_url = client.post("/law/apply", data=_application(client, village=net["village"]),
                             follow_redirects=False).headers["location"]
    dispute_id = law.token_id(settings, "dispute", _location_of(status_url, "s"))
    sign = re.compile(r'href="(/law/sign/[^"?]+)')
    assert not sign.search(client.get(status_url).text)  # nothing to sign yet
    applicant, respondent = (p["id"] for p in law.case(engine, dispute_id,
                                                       names=True)["parties"])
    respondent_url = f"/law/sign/{law.token(settings, 'sign', respondent)}"
    assert t("law.page.not_drafted") in client.get(respondent_url).text

    drafted = _mediate(engine, dispute_id)
    progress = client.get(status_url).text
    assert t("law.page.status.mediating") in progress and "桐解码-在线调解室" in progress
    assert net["mediator"] not in progress and mask_name(net["mediator"]) in progress
    applicant_url = sign.search(progress).group(1)
    assert applicant_url == f"/law/sign/{law.token(settings, 'sign', applicant)}"

    page = client.get(applicant_url)
    assert page.status_code == 200 and drafted["sha256"] in page.text
    assert t("law.page.version").format(n=1) in page.text and "张伟民" not in page.text
    pdf = client.get(f"{applicant_url}/agreement.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.headers["cache-control"] == "no-store"
    code = law.party(engine, applicant)["code"]
    assert pdf.headers["content-disposition"] == f'inline; filename="{code}-v1.pdf"'

    wrong = client.post(applicant_url, data={"sha256": drafted["sha256"], "typed_name": "张三",
                                             "consent": "1"}, follow_redirects=False)
    assert wrong.status_code == 400 and t("law.page.err.typed_name") in wrong.text
    unticked = client.post(applicant_url, data={"sha256": drafted["sha256"],
                                                "typed_name": "张伟民"}, follow_redirects=False)
    assert unticked.status_code == 400 and t("law.page.err.consent") in unticked.text
    signed = client.post(applicant_url, data={"sha256": drafted["sha256"],
                                              "typed_name": "张伟民", "consent": "1"},
                         follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"].endswith("msg=signed")
    page = client.get(signed.headers["location"]).text
    assert t("law.page.msg.signed") in page and "typed_name" not in page  # no second form
    assert t("law.page.in_force") not in page
    done = client.post(respondent_url, data={"sha256": drafted["sha256"],
                                             "typed_name": "李建国", "consent": "on"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert t("law.page.in_force") in client.get(done.headers["location"]).text
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM disputes WHERE id = :i"),
                            {"i": dispute_id}).scalar() == "agreed"
    assert t("law.page.status.agreed") in client.get(status_url).text

    # anyone: the PDF verifies as complete, naming nobody
    checked = client.post("/law/verify?lang=en",
                          files={"pdf": ("agreement.pdf", pdf.content, "application/pdf")})
    assert checked.status_code == 200 and code in checked.text
    assert t("law.page.match", "en") in checked.text
    assert t("law.page.complete", "en").format(n=2, of=2) in checked.text
    assert "complete" in checked.text
    for name in ("张伟民", "李建国", mask_name("张伟民"), net["mediator"]):
        assert name not in checked.text
    by_hash = client.post("/law/verify", data={"sha256": drafted["sha256"].upper()})
    assert by_hash.status_code == 200 and t("law.page.complete").format(n=2, of=2) in by_hash.text
    changed = client.post("/law/verify", files={"pdf": ("a.pdf", pdf.content + b" ",
                                                        "application/pdf")})
    assert changed.status_code == 200 and t("law.page.no_match") in changed.text
    not_pdf = client.post("/law/verify", files={"pdf": ("a.pdf", b"<html>hi</html>",
                                                        "application/pdf")})
    assert not_pdf.status_code == 400 and t("law.page.err.not_pdf") in not_pdf.text
    bad_hash = client.post("/law/verify", data={"sha256": "abc"})
    assert bad_hash.status_code == 400 and t("law.page.err.sha") in bad_hash.text
    # a signing link forged or made for another purpose shows nothing
    for bad in (f"{applicant}.x", law.token(settings, "dispute", applicant)):
        assert client.get(f"/law/sign/{bad}").status_code == 404
        assert client.get(f"/law/sign/{bad}/agreement.pdf").status_code == 404
        assert client.post(f"/law/sign/{bad}", data={"typed_name": "x"}).status_code == 404


def _location_of(url: str, path: str) -> str:
    return re.search(rf"/law/{path}/([^?]+)", url).group(1)


def _open_day() -> dt.date:
    day = dt.datetime.now(law.TZ).date() + dt.timedelta(days=1)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return day


def test_a_slot_booked_through_the_pages_is_taken_once_and_cancelled(client, engine, net):
    found = client.get(f"/law/book?service=legal_aid&village={net['village']}")
    assert "测试村公共法律服务站" in found.text and t("law.page.place.service_centre") in found.text
    assert "测试村公共法律服务站" not in client.get(
        "/law/book?service=notarisation").text  # not offered there
    day = _open_day()
    page = client.get(f"/law/book/{PLACE}?service=legal_aid&day={day.isoformat()}")
    assert page.status_code == 200
    slot = re.findall(r'name="slot" value="([^"]+)"', page.text)[2]
    assert slot.endswith("+08:00") and slot.startswith(day.isoformat())
    fields = {"client_key": _key(page), "service": "legal_aid", "slot": slot,
              "name": "王小明", "phone": PHONE, "note": "咨询工资拖欠"}
    booked = client.post(f"/law/book/{PLACE}", data=fields, follow_redirects=False)
    token = _location(booked, "b")
    assert _location(client.post(f"/law/book/{PLACE}", data=fields, follow_redirects=False),
                     "b") == token  # the same form twice: one booking
    mine = client.get(booked.headers["location"]).text
    assert t("law.page.booked") in mine and mask_name("王小明") in mine
    assert "王小明" not in mine and PHONE not in mine and "138****5678" not in mine
    assert t("law.page.booking.booked") in mine and t("law.page.service.legal_aid") in mine

    taken = client.post(f"/law/book/{PLACE}", data={**fields, "client_key": "another",
                                                    "name": "赵六"}, follow_redirects=False)
    assert taken.status_code == 409 and t("law.page.err.taken") in taken.text
    assert f'value="{slot}"' not in taken.text  # the slot is no longer offered
    assert PHONE not in taken.text

    cancelled = client.post(f"/law/b/{token}/cancel", data={"cancel": "1"},
                            follow_redirects=False)
    assert cancelled.headers["location"].endswith("msg=cancelled")
    mine = client.get(cancelled.headers["location"]).text
    assert t("law.page.booking.cancelled") in mine and t("law.page.cancel") not in mine
    again = client.post(f"/law/b/{token}/cancel", data={"cancel": "1"},
                        follow_redirects=False)
    assert again.headers["location"].endswith("msg=cannot")
    assert f'value="{slot}"' in client.get(
        f"/law/book/{PLACE}?service=legal_aid&day={day.isoformat()}").text  # free again
    assert client.get("/law/b/1.forged").status_code == 404
    assert client.get("/law/book/NO-SUCH").status_code == 404
    odd = client.post(f"/law/book/{PLACE}", data={**fields, "client_key": "k3",
                                                  "slot": "2026-01-01T08:30:00"},
                      follow_redirects=False)
    assert odd.status_code == 400 and t("law.page.err.slot") in odd.text
