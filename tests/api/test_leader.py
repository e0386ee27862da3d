"""The micro-grid leader's phone page: opened by a signed leader's link only, the leader's
own households with addresses and no names, a visit written once however often the form is
sent (the words scrubbed), a finding reported as an event of the loop, nothing for a
withdrawn link, and nothing loaded from another host."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from twin.api import create_api
from twin.domain import links

PHONE = "13812345678"


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("leader_page")


@pytest.fixture
def client(engine, settings):
    with TestClient(create_api(settings, engine=engine)) as c:
        yield c


@pytest.fixture(scope="module")
def leader(engine):
    with engine.connect() as conn:
        row = conn.execute(sa.text("""
            SELECT l.id, p.name, (SELECT count(*) FROM household_links k
                                   WHERE k.leader_id = l.id) AS homes
              FROM microgrid_leaders l JOIN people p ON p.id = l.person_id
             ORDER BY l.id LIMIT 1""")).mappings().one()
        homes = conn.execute(sa.text("""
            SELECT h.id, h.address FROM household_links k JOIN households h
                ON h.id = k.household_id WHERE k.leader_id = :l ORDER BY h.id"""),
            {"l": row["id"]}).mappings().all()
        names = conn.execute(sa.text("""
            SELECT p.name FROM household_links k JOIN people p
                ON p.household_id = k.household_id WHERE k.leader_id = :l"""),
            {"l": row["id"]}).scalars().all()
    return {**dict(row), "households": [dict(h) for h in homes],
            "names": {n for n in names if len(n) >= 3} | {row["name"]}}


def _form(page: str) -> dict[str, str]:
    return {"client_key": re.search(r'name="client_key" value="([^"]+)"', page).group(1)}


def test_the_page_shows_the_leaders_households_and_no_name(client, engine, settings, leader):
    token = links.create(engine, settings, "leader", leader["id"], "t-official")
    page = client.get(f"/leader/{token}")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert all(h["address"] in page.text for h in leader["households"])
    assert page.text.count('class="dot"') == leader["homes"]
    assert not [n for n in leader["names"] if n in page.text]
    # every address the page asks for is this host's (the SVG namespace is a name only)
    assert set(re.findall(r'(?:src|href|action)="(https?:)?//', page.text)) <= {""}
    assert "/leader/leader.js" in page.text


def test_a_visit_is_written_once_and_a_finding_becomes_an_event(client, engine, settings,
                                                                  leader):
    token = links.create(engine, settings, "leader", leader["id"], "t-official")
    home = leader["households"][0]["id"]
    form = {**_form(client.get(f"/leader/{token}").text), "household": str(home),
            "kind": "day_night", "heard": f"门口路灯坏了，电话{PHONE}", "needs_handling": "1",
            "category": "public_facility"}
    first = client.post(f"/leader/{token}/visit", data=form, follow_redirects=False)
    again = client.post(f"/leader/{token}/visit", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert "msg=event" in first.headers["location"]
    assert first.headers["location"] == again.headers["location"]
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT v.heard, v.kind, v.visitor, e.source, e.description
              FROM visits v JOIN events e ON e.id = v.event_id
             WHERE v.client_key = :k"""), {"k": f"leader:{form['client_key']}"}).all()
    assert len(rows) == 1
    heard, kind, visitor, source, description = rows[0]
    assert (kind, visitor, source) == ("day_night", f"leader:{leader['id']}", "visit")
    assert PHONE not in heard and PHONE not in description
    shown = client.get(first.headers["location"])
    assert "已记录" in shown.text and "天前走访" in shown.text


def test_a_visit_outside_the_leaders_households_is_refused(client, engine, settings, leader):
    token = links.create(engine, settings, "leader", leader["id"], "t-official")
    with engine.connect() as conn:
        stranger = conn.execute(sa.text(
            "SELECT household_id FROM household_links WHERE leader_id <> :l LIMIT 1"),
            {"l": leader["id"]}).scalar()
    before = _visits(engine)
    r = client.post(f"/leader/{token}/visit", data={
        **_form(client.get(f"/leader/{token}").text), "household": str(stranger),
        "kind": "patrol"}, follow_redirects=False)
    assert r.status_code == 303 and "msg=err.visit" in r.headers["location"]
    assert _visits(engine) == before
    assert "走访未能记录" in client.get(r.headers["location"]).text


def test_a_withdrawn_or_forged_link_opens_nothing(client, engine, settings, leader):
    token = links.create(engine, settings, "leader", leader["id"], "t-official")
    link_id = int(token.split(".")[0])
    links.revoke(engine, link_id)
    assert client.get(f"/leader/{token}").status_code == 404
    r = client.post(f"/leader/{token}/visit", data={"household": "1", "kind": "patrol"})
    assert r.status_code == 404
    forged = token.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    assert client.get(f"/leader/{forged}").status_code == 404
    grid_token = links.create(engine, settings, "grid", _a_grid(engine), "t-official")
    assert client.get(f"/leader/{grid_token}").status_code == 404  # a link of another kind


def _visits(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM visits")).scalar()


def _a_grid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT min(id) FROM units WHERE level = 'grid'")).scalar()
