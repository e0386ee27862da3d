"""Role × path × scope: every route of the API (``/api/openapi.json``) and every Streamlit
surface, for every role, with one object inside and one outside each scoped account's
units. What each role may see is the table of SECURITY.md ("What each role sees"),
written out here again as the expected answers; the product decides it in twin.domain.access.

The two objects: event and household A lie in grid 0 (t-field's grid), B in grid 1
(t-other's grid); both lie in t-official's village. Each event's description carries a
marker word, an ID-card number and a phone number (the numbers must never be stored).
"""

from __future__ import annotations

import datetime as dt
import json

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from tests.conftest import ACCOUNTS, app_as, decks, signed_clients
from twin.domain.pii import id_check_digit, mask_id
from twin.i18n import t

USERS = ("anonymous", *ACCOUNTS)
TMS = morecantile.tms.get("WebMercatorQuad")
# a resident ID made here, with its check digit (no full number is written in the repo)
ID_NUMBER = "33048319900101123" + id_check_digit("33048319900101123")
PHONE = "13812345678"

# --- the expected answers (SECURITY.md, "What each role sees") ----------------------------
EVENTS = {"anonymous": "", "t-admin": "AB", "t-official": "AB", "t-other": "B",
          "t-planner": "AB", "t-field": "A", "t-screen": "AB"}
EVENT_TEXT = {"t-admin": "AB", "t-official": "AB", "t-other": "B", "t-field": "A"}
HOUSEHOLDS = {"t-official": "AB", "t-other": "B", "t-field": "A"}
RESIDENT_COUNTS = ("t-admin", "t-official", "t-other", "t-planner", "t-field")
OGC = OPEN311 = ("t-admin", "t-official", "t-other", "t-planner", "t-field")
REPORT = ("t-admin", "t-official", "t-other", "t-field")
READERS = (*OGC, "t-screen")  # tiles, heat, the open events, terrain and imagery


def refused(user: str) -> int:
    """The status of a refused read: 401 for nobody, 403 for a role that may not."""
    return 401 if user == "anonymous" else 403


@pytest.fixture(scope="module")
def engine(accounts_db):
    return accounts_db("matrix")


@pytest.fixture(scope="module")
def world(engine, village_sample, settings):
    """Events A and B (reported now), households A and B, and where each lies."""
    from twin.domain import links
    from twin.domain.workflow import report

    grids = village_sample.units[village_sample.units.level == "grid"].code.iloc[:2].tolist()
    found = {}
    with engine.connect() as conn:
        for name, grid in zip("AB", grids, strict=True):
            row = conn.execute(sa.text("""
                SELECT h.code, h.address, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
                  FROM households h
                  JOIN units g ON g.id = h.grid_id WHERE g.code = :g ORDER BY h.id LIMIT 1"""),
                {"g": grid}).one()
            found[name] = {"household": row.code, "address": row.address, "lon": row.lon,
                           "lat": row.lat, "grid": grid}
    with engine.connect() as conn:
        for where in found.values():
            where["leader_id"] = conn.execute(sa.text("""
                SELECT k.leader_id FROM household_links k JOIN households h
                    ON h.id = k.household_id WHERE h.code = :c"""),
                {"c": where["household"]}).scalar()
        village = conn.execute(sa.text(
            "SELECT v.code, v.id FROM units g JOIN units v ON v.id = g.village_id "
            "WHERE g.code = :g"), {"g": found["A"]["grid"]}).one()
        # every name the party board holds about the village: leaders, cadres, secretaries
        names = conn.execute(sa.text("""
            SELECT p.name FROM microgrid_leaders l JOIN people p ON p.id = l.person_id
             WHERE l.village_id = :v
            UNION SELECT c.name FROM cadres c WHERE c.village_id = :v
            UNION SELECT p.name FROM organization_members m JOIN people p
                ON p.id = m.person_id JOIN organizations o ON o.id = m.organization_id
             WHERE o.village_id = :v AND o.kind LIKE 'party%'"""), {"v": village.id}).scalars()
        # names of two characters can be words of the page (e.g. 王村): the longer ones
        found["party_names"] = sorted({n for n in names if len(n) >= 3})
    found["village"] = village.code
    found["law"] = _law_world(engine, settings, found["A"])
    found["leader_token"] = links.create(engine, settings, "leader", found["A"]["leader_id"],
                                         "t-official")
    for name in "AB":
        where = found[name]
        event = report(engine, category="sanitation", title=f"楼道堆物MARK{name}",
                       description=f"MARK{name} 住户身份证{ID_NUMBER}，电话{PHONE}",
                       lon=where["lon"], lat=where["lat"], source="resident", actor="t-field")
        where.update(event=event.code, event_id=event.id)
    assert found["party_names"] and all(found[n]["leader_id"] for n in "AB")
    return found


PARTIES = ("欧阳明远", "司马青云")  # long names: never a word of any page


def _law_world(engine, settings, where: dict) -> dict:
    """A dispute where A lies (its two parties named PARTIES, the applicant's ID and phone
    numbers given), its signing and status tokens, and every name of 法治 the twin holds:
    the parties, the mediators and the judges."""
    from twin.domain import law
    from twin.domain.pii import PiiKey

    key = PiiKey(b"matrix-test-pii-key-0001")
    made = law.apply(engine, key, kind="neighbour", facts=f"MARKL 通道堆物，电话{PHONE}",
                     channel="official", actor="t-official", lon=where["lon"],
                     lat=where["lat"],
                     applicant=law.PartyIn(PARTIES[0], ID_NUMBER, PHONE),
                     respondent=law.PartyIn(PARTIES[1]))
    with engine.connect() as conn:
        party = conn.execute(sa.text("SELECT id FROM dispute_parties WHERE dispute_id = :d "
                                     "ORDER BY id LIMIT 1"), {"d": made["id"]}).scalar()
        # the network's names that name that person only (Faker's common names recur in
        # the sample's event histories, as the names of grid workers who acted)
        names = conn.execute(sa.text("""
            SELECT p.name FROM mediators m JOIN people p ON p.id = m.person_id
             WHERE (SELECT count(*) FROM people q WHERE q.name = p.name) = 1
               AND NOT EXISTS (SELECT 1 FROM event_log l WHERE strpos(l.actor, p.name) > 0
                                  OR strpos(coalesce(l.note, ''), p.name) > 0)""")).scalars()
        place = conn.execute(sa.text("SELECT code FROM legal_places ORDER BY id LIMIT 1")
                             ).scalar()
    return {"code": made["code"], "id": made["id"], "place": place,
            "status": law.token(settings, "dispute", made["id"]),
            "sign": law.token(settings, "sign", party),
            "names": sorted({*PARTIES, *(n for n in names if len(n) >= 3)})}


def _no_law_name(text: str | bytes, world) -> bool:
    data = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return not [n for n in world["law"]["names"] if n in data]


@pytest.fixture(scope="module")
def clients(engine, settings):
    with signed_clients(engine, settings, USERS) as made:
        yield made


def _mvt_ids(response, layer: str) -> set[int]:
    decoded = mapbox_vector_tile.decode(response.content) if response.content else {}
    return {f["properties"]["id"] for f in decoded.get(layer, {}).get("features", [])}


def _seen(codes: set[str] | list[str], world) -> str:
    """Which of the two events (A, B) a list of event codes holds."""
    return "".join(n for n in "AB" if world[n]["event"] in set(codes))


# --- one checker per route: it asks as the user and checks the answer ----------------------
def check_health(c, user, world):
    assert c.get("/health").status_code == 200


def check_metrics(c, user, world):
    assert c.get("/metrics").status_code == (200 if user == "t-admin" else 403)


def check_auth_pages(c, user, world):
    assert c.get("/auth/login").status_code == 200
    assert c.get("/auth/password").status_code == 200


def check_auth_forms(c, user, world):
    # the forms need their CSRF token: without it nothing is done, whoever asks
    assert c.post("/auth/login", data={"username": "x", "password": "y"}).status_code == 400
    assert c.post("/auth/password", data={"old": "x", "new": "y"}).status_code == 400


def check_logout(c, user, world):
    pass  # signing out is checked in test_security (it ends the session of the test client)


def check_me(c, user, world):
    r = c.get("/auth/me")
    assert r.status_code == (401 if user == "anonymous" else 200)
    if user != "anonymous":
        assert r.json()["role"] == ACCOUNTS[user][0]


def check_services(c, user, world):
    assert c.get("/open311/v2/services.json").status_code == 200  # the public catalogue


def check_requests(c, user, world):
    codes = f"{world['A']['event']},{world['B']['event']}"
    r = c.get("/open311/v2/requests.json", params={"service_request_id": codes})
    if user not in OPEN311:
        assert r.status_code == refused(user)
        return
    assert r.status_code == 200
    got = {req["service_request_id"]: req for req in r.json()}
    assert _seen(got, world) == EVENTS[user]
    texts = "".join(n for n in "AB" if world[n]["event"] in got
                    and f"MARK{n}" in (got[world[n]["event"]]["description"] or ""))
    assert texts == EVENT_TEXT.get(user, "")
    assert ID_NUMBER not in r.text and PHONE not in r.text


def check_report(c, user, world):
    r = c.post("/open311/v2/requests.json", data={
        "service_code": "sanitation", "lat": world["A"]["lat"], "long": world["A"]["lon"],
        "description": f"路灯不亮，联系{PHONE}"})
    assert r.status_code == (200 if user in REPORT else refused(user)), r.text


def check_measures(c, user, world):
    now = int(dt.datetime.now(dt.UTC).timestamp())
    r = c.get("/measures.json", params={"from": now - 86400, "to": now + 60})
    if user not in READERS:
        assert r.status_code == refused(user)
        return
    assert r.status_code == 200  # aggregates only, as the charts and the wall show them
    assert r.json()["reported"] >= 2 and "MARK" not in r.text and set(r.json()["loops"]) == {
        "small", "medium", "large"}


# the residents' pages are public: anyone may report; a status page opens only by its token
def check_resident_page(c, user, world):
    page = c.get("/report")
    assert page.status_code == 200 and "MARK" not in page.text
    assert c.get("/report/report.js").status_code == 200


def check_resident_report(c, user, world):
    import re

    key = re.search(r'name="client_key" value="([^"]+)"', c.get("/report").text).group(1)
    r = c.post("/report", data={"client_key": key, "category": "sanitation",
                                "text": f"路灯不亮，联系{PHONE}", "lon": world["A"]["lon"],
                                "lat": world["A"]["lat"]}, follow_redirects=False)
    assert r.status_code in (303, 429), r.text  # the clients share one address: throttled
    if r.status_code == 303:
        page = c.get(r.headers["location"])
        assert page.status_code == 200 and PHONE not in page.text


def check_resident_status(c, user, world):
    from twin.domain.residents import status_token

    good = status_token(c.app.state.settings, world["A"]["event_id"])
    forged = f"{world['A']['event_id']}.forged"
    assert c.get(f"/report/s/{forged}").status_code == 404
    page = c.get(f"/report/s/{good}")
    assert page.status_code == 200 and world["A"]["event"] in page.text
    assert ID_NUMBER not in page.text and PHONE not in page.text


def check_resident_follow_up(c, user, world):
    forged = f"{world['B']['event_id']}.forged"
    for move in ("rate", "reopen"):
        r = c.post(f"/report/s/{forged}/{move}", data={"score": "1", "reason": "x",
                                                        "version": "1"},
                   follow_redirects=False)
        assert r.status_code == 303 and "msg=" not in r.headers["location"]


# a leader's page opens by its signed link only, whoever asks, and never shows a name
def check_leader_page(c, user, world):
    assert c.get("/leader/leader.js").status_code == 200
    assert c.get(f"/leader/{world['A']['leader_id']}.9999999999.forged").status_code == 404
    page = c.get(f"/leader/{world['leader_token']}")
    assert page.status_code == 200 and world["A"]["address"] in page.text
    assert not [n for n in world["party_names"] if n in page.text]


def check_leader_visit(c, user, world):
    r = c.post(f"/leader/{world['A']['leader_id']}.9999999999.forged/visit",
               data={"household": "1", "kind": "patrol"}, follow_redirects=False)
    assert r.status_code == 404


# 桐解码 / 云司法: public pages; a dispute, a signature and a booking open by their token only
def check_law_public(c, user, world):
    for path in ("/law", "/law/apply", "/law/verify", "/law/book"):
        page = c.get(path)
        assert page.status_code == 200 and _no_law_name(page.text, world), path
    assert "MARKL" not in c.get("/law").text


def check_law_place(c, user, world):
    assert c.get(f"/law/book/{world['law']['place']}").status_code == 200
    assert c.get("/law/book/NO-SUCH-PLACE").status_code == 404


def check_law_apply(c, user, world):
    import re

    key = re.search(r'name="client_key" value="([^"]+)"', c.get("/law/apply").text).group(1)
    r = c.post("/law/apply", data={
        "client_key": key, "kind": "family", "facts": f"家里吵架，联系{PHONE}", "name": "赵六",
        "phone": PHONE, "other_name": "钱七", "village": world["village"]},
        follow_redirects=False)
    assert r.status_code in (303, 429), r.text  # the clients share one address: throttled
    if r.status_code == 303:
        page = c.get(r.headers["location"])
        assert page.status_code == 200 and PHONE not in page.text and "赵六" not in page.text


def check_law_status(c, user, world):
    assert c.get(f"/law/s/{world['law']['id']}.forged").status_code == 404
    page = c.get(f"/law/s/{world['law']['status']}")
    assert page.status_code == 200 and world["law"]["code"] in page.text
    assert _no_law_name(page.text, world) and ID_NUMBER not in page.text


def check_law_sign(c, user, world):
    assert c.get("/law/sign/1.forged").status_code == 404
    assert c.post("/law/sign/1.forged", data={"typed_name": "x"}).status_code == 404
    assert c.get("/law/sign/1.forged/agreement.pdf").status_code == 404
    page = c.get(f"/law/sign/{world['law']['sign']}")  # the party's own page, masked
    assert page.status_code == 200 and "欧**远" in page.text and _no_law_name(page.text, world)
    assert ID_NUMBER not in page.text and PHONE not in page.text


def check_law_verify(c, user, world):
    r = c.post("/law/verify", data={"sha256": "0" * 64})
    assert r.status_code in (200, 429) and _no_law_name(r.text, world)


def check_law_booking(c, user, world):
    assert c.get("/law/b/1.forged").status_code == 404
    r = c.post("/law/b/1.forged/cancel", follow_redirects=False)
    assert r.status_code in (303, 404)
    r = c.post("/law/book/NO-SUCH-PLACE", data={"service": "consultation"},
               follow_redirects=False)
    assert r.status_code in (404, 429)


def check_request(c, user, world):
    for name in "AB":
        r = c.get(f"/open311/v2/requests/{world[name]['event']}.json")
        if user not in OPEN311:
            assert r.status_code == refused(user)
        else:  # outside the scope: the same answer as for no such request
            assert r.status_code == (200 if name in EVENTS[user] else 404), (name, r.text)


def check_loaders(c, user, world):
    from twin.api.assets import worker_url

    assert c.get(worker_url("mvt").removeprefix("/api")).status_code == 200


def check_deck_files(c, user, world):
    from twin.urls import deck_bundle

    for name in ("deck.min.js", "json.min.js"):
        assert c.get(deck_bundle(name).removeprefix("/api")).status_code == 200
    assert c.get("/static/map/shell.js").status_code == 200


def check_first_view(c, user, world):
    """The deck and panel the map page draws first: layers and tile addresses, and the
    unit's published counts, for any reader whose page is the map; nothing (204) for the
    wall (its page is the cockpit) and for others."""
    r = c.get("/map/first", params={"unit": world["A"]["grid"], "apps": "governance"})
    if user not in READERS or user == "t-screen":  # never 401: no password prompt
        assert r.status_code == 204 and "www-authenticate" not in r.headers
    else:
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
        layers = {layer["id"] for layer in json.loads(r.json()["deck"])["layers"]}
        assert {"units-microgrid", "governance-events"} <= layers, layers
        assert "twin-figs" in r.json()["panel"]


def _events_in_tile(c, user, world, name: str, url: str, readers) -> bool:
    """An events tile around place ``name`` asked as ``user``: refused to a role outside
    ``readers``, else holding exactly the events the role sees. Whether it was served."""
    r = c.get(url)
    if user not in readers:
        assert r.status_code == refused(user)
        return False
    assert r.status_code in (200, 204)
    assert (world[name]["event_id"] in _mvt_ids(r, "events")) == (name in EVENTS[user])
    return True


def check_tile(c, user, world):
    for name in "AB":
        tile = TMS.tile(world[name]["lon"], world[name]["lat"], 15)
        if not _events_in_tile(c, user, world, name, f"/tiles/events/15/{tile.x}/{tile.y}.mvt",
                               READERS):
            continue
        residents = c.get(f"/tiles/residents/15/{tile.x}/{tile.y}.mvt")
        assert residents.status_code == (200 if user in RESIDENT_COUNTS else 403)
        buildings = c.get(f"/tiles/buildings/15/{tile.x}/{tile.y}.mvt")
        assert buildings.status_code == 200
        # 联户 lines and visit recency are household data: a scoped account's own units,
        # and nothing (403) for a role that sees no households
        household_layers = ("household_links", "visit_recency")
        for layer in ("party_coverage", "leaders", "party_projects", *household_layers):
            r = c.get(f"/tiles/{layer}/15/{tile.x}/{tile.y}.mvt")
            if layer in household_layers and user not in HOUSEHOLDS:
                assert r.status_code == 403, (layer, user)
                continue
            assert r.status_code in (200, 204), layer
            if layer == "household_links":
                leaders = {f["properties"]["leader_id"] for f in (mapbox_vector_tile.decode(
                    r.content) if r.content else {}).get(layer, {}).get("features", [])}
                assert (world[name]["leader_id"] in leaders) == (name in HOUSEHOLDS[user])
            # no person's name in any layer of the party board, whoever asks
            assert not any(n.encode() in r.content for n in world["party_names"]), layer
        # 法治: disputes (events: in scope), places, villages — never a party, mediator or judge
        for layer in ("disputes", "legal_places", "legal_catchments", "law_villages"):
            r = c.get(f"/tiles/{layer}/15/{tile.x}/{tile.y}.mvt")
            assert r.status_code in (200, 204), (layer, r.status_code)
            assert _no_law_name(r.content, world) and b"MARKL" not in r.content, layer
            if layer == "disputes":
                seen = world["law"]["id"] in _mvt_ids(r, "disputes")
                assert seen == (name == "A" and "A" in EVENTS[user]), (user, name)


def check_tilejson(c, user, world):
    for layer in ("events", "residents", "buildings"):
        r = c.get(f"/tiles/{layer}.json")
        if user not in READERS:
            assert r.status_code == refused(user)
        elif layer == "residents" and user not in RESIDENT_COUNTS:
            assert r.status_code == 403
        else:
            assert r.status_code == 200 and r.json()["tiles"][0].endswith(
                r.json()["data_version"])


def check_tile_list(c, user, world):
    r = c.get("/tiles")
    if user not in READERS:
        assert r.status_code == refused(user)
        return
    names = {layer["name"] for layer in r.json()["layers"]}
    assert {"events", "buildings"} <= names
    assert ("residents" in names) == (user in RESIDENT_COUNTS)


def check_raster(c, user, world, path):
    # the sample has no rasters unless a test writes them: 404 for readers, never 200 for others
    assert c.get(path).status_code == (404 if user in READERS else refused(user))


def check_scene(c, user, world):
    # no scene in this database: 404 for the readers of tiles, never a file for the others
    r = c.get(f"/scenes/old-town/{'0' * 16}/tileset.json")
    assert r.status_code == (404 if user in READERS else refused(user))


def check_ogc_meta(c, user, world, path):
    r = c.get(path)
    assert r.status_code == (200 if user in OGC else refused(user)), (path, r.text)


def check_ogc_tilesets(c, user, world):
    for path in ("/ogc/collections/events/tiles",
                 "/ogc/collections/events/tiles/CGCS2000Quad"):
        r = c.get(path)
        assert r.status_code == (200 if user in OGC else refused(user)), (path, r.text)


def check_ogc_tile(c, user, world):
    """The events in the CGCS2000 grid (matrix 14 ≈ Web Mercator zoom 15): the same rows as
    the map's tiles."""
    from twin.publish.tiles import tile_matrix_set

    grid = tile_matrix_set("CGCS2000Quad")
    for name in "AB":
        tile = grid.tile(world[name]["lon"], world[name]["lat"], 14)
        _events_in_tile(c, user, world, name,
                        f"/ogc/collections/events/tiles/CGCS2000Quad/14/{tile.y}/{tile.x}", OGC)


def check_ogc_map(c, user, path):
    assert c.get(path).status_code == (404 if user in OGC else refused(user))


def check_sta(c, user, world):
    r = c.get("/sta/v1.1/Things", params={"$expand": "Datastreams"})
    assert r.status_code == (200 if user in OGC else refused(user)), r.text
    if user in OGC:
        assert r.json()["value"] and c.get("/sta/v1.1").status_code == 200


def check_sta_create(c, user, world):
    """Creating Observations is importing readings: administrators only (the body here is
    refused for what it holds, after the role was let in)."""
    r = c.post("/sta/v1.1/Observations", json={"result": "x"})
    assert r.status_code == (400 if user == "t-admin" else refused(user)), r.text


def check_collections(c, user, world):
    r = c.get("/ogc/collections")
    if user not in OGC:
        assert r.status_code == refused(user)
        return
    ids = {col["id"] for col in r.json()["collections"]}
    assert ("households" in ids) == (user in HOUSEHOLDS) and "events" in ids
    assert "people" not in ids and "accounts" not in ids


def check_collection(c, user, world):
    for cid, seen in (("events", True), ("households", user in HOUSEHOLDS)):
        for path in (f"/ogc/collections/{cid}", f"/ogc/collections/{cid}/queryables"):
            r = c.get(path)
            assert r.status_code == (refused(user) if user not in OGC else 200 if seen
                                     else 404), (path, r.status_code)


def check_items(c, user, world):
    r = c.get("/ogc/collections/events/items", params={"datetime": _today(), "limit": 1000})
    hh = c.get("/ogc/collections/households/items", params={"limit": 10000})
    if user not in OGC:
        assert r.status_code == hh.status_code == refused(user)
        return
    features = r.json()["features"]
    assert _seen([f["properties"]["code"] for f in features], world) == EVENTS[user]
    texts = "".join(n for n in "AB" for f in features
                    if f["properties"]["code"] == world[n]["event"]
                    and f"MARK{n}" in (f["properties"]["title"] or ""))
    assert texts == EVENT_TEXT.get(user, "")
    d = c.get("/ogc/collections/disputes/items", params={"limit": 1000})
    assert d.status_code == 200 and _no_law_name(d.text, world) and PHONE not in d.text
    mine = [f for f in d.json()["features"] if f["properties"]["code"] == world["law"]["code"]]
    assert bool(mine) == ("A" in EVENTS[user])
    assert ("MARKL" in d.text) == ("A" in EVENT_TEXT.get(user, "")), user
    if user not in HOUSEHOLDS:
        assert hh.status_code == 404
        return
    codes = {f["properties"]["code"] for f in hh.json()["features"]}
    assert "".join(n for n in "AB" if world[n]["household"] in codes) == HOUSEHOLDS[user]


def check_item(c, user, world):
    for name in "AB":
        r = c.get(f"/ogc/collections/events/items/{world[name]['event_id']}")
        if user not in OGC:
            assert r.status_code == refused(user)
        else:  # outside the scope: the same 404 as for no such feature
            assert r.status_code == (200 if name in EVENTS[user] else 404), name


def check_heat(c, user, world):
    now = dt.datetime.now(dt.UTC)
    r = c.get("/heat/events.json", params={"from": int((now - dt.timedelta(hours=2))
                                                       .timestamp()),
                                           "to": int((now + dt.timedelta(hours=1)).timestamp())})
    if user not in READERS:
        assert r.status_code == refused(user)
        return
    seen = {tuple(cell["p"]) for cell in r.json()}
    near = "".join(n for n in "AB" if any(abs(x - world[n]["lon"]) < 0.002 and
                                          abs(y - world[n]["lat"]) < 0.002 for x, y in seen))
    assert near == EVENTS[user]


def check_open_events(c, user, world):
    r = c.get("/events/open.geojson")
    if user not in READERS:
        assert r.status_code == refused(user)
        return
    codes = [f["properties"]["code"] for f in r.json()["features"]]
    assert _seen(codes, world) == EVENTS[user]
    assert "MARK" not in r.text  # points and states only, never what people typed


def _today() -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{(now - dt.timedelta(hours=2)):%Y-%m-%dT%H:%M:%SZ}/.."


ROUTES = {
    ("get", "/health"): check_health,
    ("get", "/metrics"): check_metrics,
    ("get", "/auth/login"): check_auth_pages,
    ("post", "/auth/login"): check_auth_forms,
    ("get", "/auth/password"): check_auth_pages,
    ("post", "/auth/password"): check_auth_forms,
    ("get", "/auth/logout"): check_logout,
    ("get", "/auth/me"): check_me,
    ("get", "/open311/v2/services.{fmt}"): check_services,
    ("get", "/open311/v2/requests.{fmt}"): check_requests,
    ("post", "/open311/v2/requests.{fmt}"): check_report,
    ("get", "/open311/v2/requests/{request_id}.{fmt}"): check_request,
    ("get", "/static/loaders/{version}/{name}"): check_loaders,
    ("get", "/static/deck/{version}/{name}"): check_deck_files,
    ("get", "/static/map/shell.js"): check_deck_files,
    ("get", "/map/first"): check_first_view,
    ("get", "/tiles/{layer}/{z}/{x}/{y}.mvt"): check_tile,
    ("get", "/tiles/{layer}.json"): check_tilejson,
    ("get", "/scenes/{name}/{version}/{path}"): check_scene,
    ("get", "/tiles"): check_tile_list,
    ("get", "/terrain/{z}/{x}/{y}.png"): lambda c, u, w: check_raster(c, u, w,
                                                                     "/terrain/14/1/1.png"),
    ("get", "/terrain.json"): lambda c, u, w: check_raster(c, u, w, "/terrain.json"),
    ("get", "/imagery/{z}/{x}/{y}.png"): lambda c, u, w: check_raster(c, u, w,
                                                                     "/imagery/14/1/1.png"),
    ("get", "/imagery.json"): lambda c, u, w: check_raster(c, u, w, "/imagery.json"),
    ("get", "/imagery/overview.webp"): lambda c, u, w: check_raster(
        c, u, w, "/imagery/overview.webp"),
    ("get", "/imagery/{z}/{x}/{y}.webp"): lambda c, u, w: check_raster(
        c, u, w, "/imagery/14/1/1.webp"),
    ("get", "/ogc"): lambda c, u, w: check_ogc_meta(c, u, w, "/ogc"),
    ("get", "/ogc/conformance"): lambda c, u, w: check_ogc_meta(c, u, w, "/ogc/conformance"),
    ("get", "/ogc/collections"): check_collections,
    ("get", "/ogc/collections/{collection_id}"): check_collection,
    ("get", "/ogc/collections/{collection_id}/queryables"): check_collection,
    ("get", "/ogc/collections/{collection_id}/items"): check_items,
    ("get", "/ogc/collections/{collection_id}/items/{feature_id}"): check_item,
    ("get", "/ogc/tileMatrixSets"): lambda c, u, w: check_ogc_meta(c, u, w,
                                                                   "/ogc/tileMatrixSets"),
    ("get", "/ogc/tileMatrixSets/{grid_id}"): lambda c, u, w: check_ogc_meta(
        c, u, w, "/ogc/tileMatrixSets/CGCS2000Quad"),
    ("get", "/ogc/collections/{collection_id}/tiles"): check_ogc_tilesets,
    ("get", "/ogc/collections/{collection_id}/tiles/{grid_id}"): check_ogc_tilesets,
    ("get", "/ogc/collections/{collection_id}/tiles/{grid_id}/{z}/{row}/{col}"): check_ogc_tile,
    ("get", "/ogc/map/tiles"): lambda c, u, w: check_ogc_meta(c, u, w, "/ogc/map/tiles"),
    # no rasters in this database: 404 for OGC readers, refused for the others
    ("get", "/ogc/map/tiles/{grid_id}"): lambda c, u, w: check_ogc_map(
        c, u, "/ogc/map/tiles/WebMercatorQuad"),
    ("get", "/ogc/map/tiles/{grid_id}/{z}/{row}/{col}"): lambda c, u, w: check_ogc_map(
        c, u, "/ogc/map/tiles/WebMercatorQuad/14/1/1"),
    ("get", "/sta/v1.1"): check_sta,
    ("get", "/sta/v1.1/{path}"): check_sta,
    ("post", "/sta/v1.1/{path}"): check_sta_create,
    ("get", "/heat/events.json"): check_heat,
    ("get", "/events/open.geojson"): check_open_events,
    ("get", "/measures.json"): check_measures,
    ("post", "/platform/changes"): lambda c, u, w: (
        # no platform configured here: the endpoint does not exist, for anyone
        c.post("/platform/changes", content=b"{}").status_code == 404 or pytest.fail(u)),
    ("get", "/leader/leader.js"): check_leader_page,
    ("get", "/leader/{token}"): check_leader_page,
    ("post", "/leader/{token}/visit"): check_leader_visit,
    ("get", "/report"): check_resident_page,
    ("get", "/report/report.js"): check_resident_page,
    ("post", "/report"): check_resident_report,
    ("get", "/report/s/{token}"): check_resident_status,
    ("post", "/report/s/{token}/rate"): check_resident_follow_up,
    ("post", "/report/s/{token}/reopen"): check_resident_follow_up,
    ("get", "/law"): check_law_public,
    ("get", "/law/apply"): check_law_public,
    ("post", "/law/apply"): check_law_apply,
    ("get", "/law/s/{token}"): check_law_status,
    ("get", "/law/sign/{token}"): check_law_sign,
    ("post", "/law/sign/{token}"): check_law_sign,
    ("get", "/law/sign/{token}/agreement.pdf"): check_law_sign,
    ("get", "/law/verify"): check_law_public,
    ("post", "/law/verify"): check_law_verify,
    ("get", "/law/book"): check_law_public,
    ("get", "/law/book/{place_code}"): check_law_place,
    ("post", "/law/book/{place_code}"): check_law_booking,
    ("get", "/law/b/{token}"): check_law_booking,
    ("post", "/law/b/{token}/cancel"): check_law_booking,
}


def test_every_route_of_the_api_is_in_the_matrix(clients):
    served = {(method, path) for path, ops in
              clients["anonymous"].get("/openapi.json").json()["paths"].items() for method in ops}
    assert served == set(ROUTES)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("user", USERS)
def test_route(clients, world, user, route):
    ROUTES[route](clients[user], user, world)


def test_no_plain_number_was_stored(engine, world):
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT string_agg(coalesce(e.title, '') || coalesce(e.description, '') || "
            "coalesce(l.note, ''), '') FROM events e JOIN event_log l ON l.event_id = e.id "
            "WHERE e.id = ANY(:ids)"), {"ids": [world[n]["event_id"] for n in "AB"]}).scalar()
    assert "MARKA" in stored and ID_NUMBER not in stored and PHONE not in stored
    assert mask_id(ID_NUMBER) in stored and "138****5678" in stored


# --- every Streamlit surface ---------------------------------------------------------------
SURFACES = {  # surface → the URL parameters that open it, and who may open it
    "map": ({}, ("t-admin", "t-official", "t-other", "t-planner", "t-field")),
    # the party board of the village of A and B, with its charts
    "party": ({"apps": "party", "charts": "1"}, ("t-admin", "t-official", "t-other",
                                                 "t-planner", "t-field")),
    "screen": ({"screen": "1"}, ("t-admin", "t-official", "t-other", "t-planner", "t-field",
                                 "t-screen")),
    "work": ({"page": "work"}, ("t-official", "t-other", "t-field")),
    "events": ({"page": "events"}, ("t-official", "t-other", "t-field")),
    "import": ({"page": "import"}, ("t-admin",)),
    "export": ({"page": "export"}, ("t-admin", "t-official", "t-other", "t-planner")),
    "audit": ({"page": "audit"}, ("t-admin",)),
    "accounts": ({"page": "accounts"}, ("t-admin",)),
    "law": ({"page": "law"}, ("t-official", "t-other", "t-field")),
    "matching": ({"page": "matching"}, ("t-admin",)),
    # the 法治 application of the village of A and B, with its charts
    "law_app": ({"apps": "law", "charts": "1"}, ("t-admin", "t-official", "t-other",
                                                 "t-planner", "t-field")),
}


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.subheader] + [x.value for x in at.get("text")]
    parts += [str(tb.value) for tb in at.table] + decks(at)
    parts += [df.value.to_json(force_ascii=False) for df in at.dataframe]
    return json.dumps(parts, ensure_ascii=False)


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("user", USERS)
def test_surface(engine, world, monkeypatch, tmp_path, user, surface):
    params, allowed = SURFACES[surface]
    if surface in ("party", "law_app"):
        params = {**params, "unit": world["village"]}
    at = app_as(engine, monkeypatch, tmp_path, user, **params)
    at.run()
    assert not at.exception
    shown = _text(at)
    if user == "anonymous":  # the way to sign in, and nothing of the twin
        assert "twin-sign-in" in shown and not decks(at)
        return
    headers = {h.value for h in at.header}
    opened = {"map": lambda: bool(decks(at)) and not headers,
              "party": lambda: bool(decks(at)) and not headers,
              "law_app": lambda: bool(decks(at)) and not headers,
              "screen": lambda: "wall-figs" in shown,
              "work": lambda: bool(at.get("text")) or any(t("field.none") in i.value
                                                           for i in at.info),
              }.get(surface, lambda: t(f"desk.{surface}") in headers)
    if user == "t-screen":  # the wall sees its own page whatever the URL asks
        assert "wall-figs" in shown and "MARK" not in shown
        return
    assert opened() == (user in allowed), (surface, user)
    # what people typed appears only where the role sees event text, in its scope
    texts = "".join(n for n in "AB" if f"MARK{n}" in shown)
    assert set(texts) <= set(EVENT_TEXT.get(user, ""))
    assert ID_NUMBER not in shown and PHONE not in shown
    # the party board shows no leader's, member's or cadre's name to anyone; the cadres'
    # structure (counts) only to the officials of the village
    assert not [n for n in world["party_names"] if n in shown], (surface, user)
    # 法治: a party's name only on 法治工作台, to the officials of its village; a mediator's
    # or judge's name nowhere but there (the matching) either
    if not (surface == "law" and user in ("t-official", "t-other")):
        assert _no_law_name(shown, world), (surface, user, [
            n for n in world["law"]["names"] if n in shown])
    if surface == "party":
        assert (t("cadre.serving") in shown) == (user == "t-official"), user
    if surface in ("work", "events") and user in allowed:
        assert texts == EVENT_TEXT[user]  # exactly the events of its own units


def test_field_link_page_shows_its_event_as_text(engine, settings, world, monkeypatch,
                                                 tmp_path):
    from twin.domain import links
    from twin.domain.workflow import report

    hostile = report(engine, category="sanitation", title="![x](http://evil.example/a.png)",
                     description="[点我](http://evil.example/) <img src=x onerror=alert(1)>",
                     lon=world["A"]["lon"], lat=world["A"]["lat"], source="resident",
                     actor="t-field")
    keyed = settings.model_copy(update={"link_key": "matrix-test-link-key-0001"})
    token = links.create(engine, keyed, "event", hostile.id, "t-official")
    monkeypatch.setenv("TWIN_LINK_KEY", keyed.link_key)
    at = app_as(engine, monkeypatch, tmp_path, "anonymous", link=token)
    at.run()
    assert not at.exception
    heading = at.subheader[0].value
    assert "](http" not in heading.replace("\\]\\(http", "")  # escaped: shown, not followed
    assert any("[点我](http://evil.example/)" in x.value for x in at.get("text"))
    assert not [m for m in at.markdown if "evil.example" in m.value and "\\" not in m.value]
