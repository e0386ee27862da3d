"""Residents' names: on the map page, in exports and on the field page only the official
scoped to a resident's unit ever sees one, and only after giving a purpose that is audited
(every API route × role × scope is in test_access_matrix). Then sessions, lock-out,
injection attempts, redirects, uploads and headers."""

from __future__ import annotations

import datetime as dt
import json
import re

import morecantile
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from tests.conftest import ACCOUNTS, TEST_PASSWORD, app_as, decks, sign_in, signed_clients
from twin.api import create_api
from twin.config import PROJECT_ROOT
from twin.domain import accounts
from twin.domain.access import Principal
from twin.i18n import t

USERS = ("anonymous", *ACCOUNTS)
MASKED_ID = re.compile(r"\d{6}\*{8}\d{3}[\dX]")
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def engine(accounts_db):
    return accounts_db("security")


@pytest.fixture(scope="module")
def target(engine):
    """The building in the first grid with the most residents: its id, code, position,
    grid and the residents' names (t-official's village holds it, t-other's grid not)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text("""
            SELECT b.id, b.code, ST_X(ST_PointOnSurface(b.geom)) AS lon,
                   ST_Y(ST_PointOnSurface(b.geom)) AS lat, g.code AS grid, g.id AS grid_id,
                   array_agg(p.name) AS names
              FROM buildings b JOIN households h ON h.building_id = b.id
              JOIN people p ON p.household_id = h.id JOIN units g ON g.id = b.grid_id
             WHERE g.code = (SELECT min(code) FROM units WHERE level = 'grid')
             GROUP BY b.id, g.code, g.id ORDER BY count(*) DESC LIMIT 1""")).one()
    return row._asdict()


@pytest.fixture(scope="module")
def clients(engine, settings):
    with signed_clients(engine, settings, USERS) as made:
        yield made


def _personal(text: str, names: list[str]) -> list[str]:
    """Names (two characters or more) and masked ID numbers found in a text."""
    found = [n for n in names if len(n) >= 2 and n in text]
    return found + MASKED_ID.findall(text)


def _page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [json.dumps(tb.value.to_dict(), ensure_ascii=False, default=str) if hasattr(tb.value, "to_dict") else str(tb.value)
              for tb in at.table]
    parts += decks(at)
    return json.dumps(parts, ensure_ascii=False)


@pytest.mark.parametrize("user", USERS)
def test_ui_page(engine, target, monkeypatch, tmp_path, user):
    at = app_as(engine, monkeypatch, tmp_path, user, building=str(target["id"]))
    at.run()
    assert not at.exception
    if user == "anonymous":
        assert not decks(at) and not at.metric
        assert "twin-sign-in" in _page_text(at)
        return
    purpose = [w for w in at.text_input if w.label == t("building.purpose")]
    if user == "t-official":
        assert _personal(_page_text(at), target["names"]) == []  # not before a purpose
        purpose[0].input("入户走访")
        next(b for b in at.button if b.label == t("building.show_residents")).click()
        at.run()
        assert not at.exception
        shown = _page_text(at)
        missing = [n for n in target["names"] if n not in shown]
        assert missing == [] and MASKED_ID.search(shown), shown[:3000]
        with engine.connect() as conn:
            log = conn.execute(sa.text(
                "SELECT actor, purpose FROM audit_log WHERE action = 'view_residents' "
                "ORDER BY id DESC LIMIT 1")).one()
        assert tuple(log) == ("t-official", "入户走访")
    else:
        assert purpose == []
        assert _personal(_page_text(at), target["names"]) == []
    if user == "t-screen":  # the wall only: no map page, no building panel
        assert at.query_params.get("building") and "wall-figs" in _page_text(at)
        assert not [b for b in at.button if b.label == t("building.close")]


@pytest.mark.parametrize("user", USERS)
def test_export(engine, target, tmp_path, user):
    from twin.publish.exporter import ExportError, export_layer

    role = ACCOUNTS.get(user, ("anonymous", None))[0]
    with engine.connect() as conn:
        scope = account_scope_of(conn, user)
    who = Principal(role, scope, user)
    grid = {"id": target["grid_id"], "code": target["grid"], "level": "grid"}
    out = tmp_path / "r.csv"
    allowed = user in ("t-admin", "t-official", "t-planner")
    if not allowed:
        with pytest.raises(ExportError):
            export_layer(engine, "residents", out, "csv", grid, principal=who)
        assert not out.exists()
        return
    n = export_layer(engine, "residents", out, "csv", grid, principal=who)
    assert n > 0 and _personal(out.read_text(encoding="utf-8"), target["names"]) == []


def account_scope_of(conn, user: str) -> tuple[str, ...]:
    if user == "anonymous":
        return ()
    return tuple(conn.execute(sa.text("SELECT scope FROM accounts WHERE username = :u"),
                              {"u": user}).scalar())


def test_an_official_cannot_export_another_units_residents(engine, target, tmp_path):
    from twin.publish.exporter import ExportError, export_layer

    with engine.connect() as conn:
        other = Principal("official", account_scope_of(conn, "t-other"), "t-other")
    with pytest.raises(ExportError, match="must name one of its units"):
        export_layer(engine, "residents", tmp_path / "x.csv", "csv",
                     {"id": target["grid_id"], "code": target["grid"], "level": "grid"},
                     principal=other)


def test_field_page_shows_no_resident(engine, settings, target, monkeypatch, tmp_path):
    from twin.domain import links, workflow

    event = workflow.report(engine, category="sanitation", title="楼道堆物",
                            lon=target["lon"], lat=target["lat"], source="grid_worker",
                            actor="t-field")
    keyed = settings.model_copy(update={"link_key": "security-test-link-key"})
    token = links.create(engine, keyed, "event", event.id, "t-official")
    monkeypatch.setenv("TWIN_LINK_KEY", keyed.link_key)
    at = app_as(engine, monkeypatch, tmp_path, "anonymous", link=token,
              building=str(target["id"]))
    at.run()
    assert not at.exception and "楼道堆物" in json.dumps([s.value for s in at.subheader],
                                                       ensure_ascii=False)
    assert _personal(_page_text(at), target["names"]) == []
    deck = decks(at)[0]
    assert f"link={token}" in deck  # its tiles are read with the link, not a session
    with TestClient(create_api(keyed, engine=engine)) as c:
        tile = TMS.tile(target["lon"], target["lat"], 15)
        houses = c.get(f"/tiles/buildings/15/{tile.x}/{tile.y}.mvt", params={"link": token})
        assert houses.status_code == 200
        for wider in ("/ogc/collections/events/items", "/tiles/events.json",
                      f"/tiles/residents/15/{tile.x}/{tile.y}.mvt",
                      "/open311/v2/requests.json", "/events/open.geojson"):
            assert c.get(wider, params={"link": token}).status_code == 401, wider


def test_guessed_ids_and_crafted_parameters_reveal_nothing(engine, target, monkeypatch,
                                                            tmp_path):
    for building in (str(target["id"]), "1 OR 1=1", "-1", "99999999999"):
        at = app_as(engine, monkeypatch, tmp_path, "t-other", building=building,
                  unit="' OR ''='", **{"governance.status": "<script>x</script>"})
        at.run()
        assert not at.exception
        assert _personal(_page_text(at), target["names"]) == []
        assert "<script>" not in _page_text(at)


# --- sessions, lock-out, injection, redirects, headers ------------------------------------
def test_sessions_end_by_idle_time_sign_out_disabling_and_password_change(engine):
    accounts.add_user(engine, "t-session", "planner", password=TEST_PASSWORD)
    token, _ = accounts.sign_in(engine, "t-session", TEST_PASSWORD)
    assert accounts.session_account(engine, token).username == "t-session"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=accounts.IDLE_MINUTES + 1)
    assert accounts.session_account(engine, token, now=later) is None
    assert accounts.session_account(engine, "forged" + token[6:]) is None
    accounts.sign_out(engine, token)
    assert accounts.session_account(engine, token) is None
    first, _ = accounts.sign_in(engine, "t-session", TEST_PASSWORD)
    second, _ = accounts.sign_in(engine, "t-session", TEST_PASSWORD)
    accounts.change_password(engine, first, TEST_PASSWORD, "another-password-9")
    assert accounts.session_account(engine, first) is not None
    assert accounts.session_account(engine, second) is None  # other sessions ended
    accounts.disable(engine, "t-session")
    assert accounts.session_account(engine, first) is None
    with pytest.raises(accounts.SignInRefused, match="wrong user name or password"):
        accounts.sign_in(engine, "t-session", "another-password-9")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT string_agg(token_sha256, '') FROM sessions"
                                      )).scalar() or ""
    assert first not in stored and second not in stored  # only hashes are kept


def test_a_wall_screen_stays_signed_in_for_weeks_other_roles_do_not(engine):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    wall, _ = accounts.sign_in(engine, "t-screen", TEST_PASSWORD)
    desk, _ = accounts.sign_in(engine, "t-planner", TEST_PASSWORD)
    assert accounts.session_account(engine, wall, now=later).role == "screen"
    assert accounts.session_account(engine, desk, now=later) is None
    month = dt.datetime.now(dt.UTC) + dt.timedelta(days=accounts.SCREEN_DAYS, hours=1)
    assert accounts.session_account(engine, wall, now=month) is None


def test_guessing_locks_the_guessing_address_out_of_the_name_not_its_owner(engine, settings):
    accounts.add_user(engine, "t-victim", "planner", password=TEST_PASSWORD)
    accounts.set_password(engine, "t-victim", TEST_PASSWORD, must_change=False)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.SignInRefused, match=accounts.REFUSED):
            accounts.sign_in(engine, "t-victim", "guess-123456", address="10.0.0.66")
    with pytest.raises(accounts.SignInRefused, match=accounts.REFUSED):  # the same words
        accounts.sign_in(engine, "t-victim", TEST_PASSWORD, address="10.0.0.66")  # even right
    with pytest.raises(accounts.SignInRefused, match=accounts.REFUSED):
        accounts.sign_in(engine, "nobody-here", "guess-123456", address="10.0.0.66")
    # the owner at their own desk is not locked out by someone else's guessing
    assert accounts.sign_in(engine, "t-victim", TEST_PASSWORD,
                            address="10.0.0.7")[1].username == "t-victim"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=accounts.LOCK_MINUTES + 1)
    assert accounts.sign_in(engine, "t-victim", TEST_PASSWORD, later,
                            address="10.0.0.66")[1].username == "t-victim"
    with TestClient(create_api(settings, engine=engine)) as c:
        page = c.get("/auth/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        answers = [c.post("/auth/login", data={"username": "nobody-here", "password": f"x{i}",
                                               "csrf": csrf}, follow_redirects=False)
                   for i in range(12)]
    assert [r.status_code for r in answers[:4]] == [401] * 4
    assert answers[-1].status_code == 429  # the address is slowed down too
    words = {re.search(r'role="alert">([^<]+)<', r.text).group(1) for r in answers}
    assert len(words) == 1  # one answer for every refusal: names cannot be probed


def test_http_basic_is_throttled_like_the_form(engine, settings):
    import base64

    accounts.add_user(engine, "t-gis", "planner", password=TEST_PASSWORD)
    with TestClient(create_api(settings, engine=engine)) as c:
        codes = [c.get("/tiles", headers={"Authorization": "Basic " + base64.b64encode(
            f"t-gis:guess-{i}".encode()).decode()}).status_code for i in range(12)]
        assert codes[:4] == [401] * 4 and codes[-1] == 429
        right = {"Authorization": "Basic " + base64.b64encode(
            f"t-admin:{TEST_PASSWORD}".encode()).decode()}
        assert c.get("/tiles", headers=right).status_code == 429  # the address waits
    with TestClient(create_api(settings, engine=engine)) as other:  # another address's turn
        assert other.get("/tiles", headers=right).status_code == 200


def test_a_one_time_password_opens_only_the_password_form(engine, settings):
    import base64

    one_time = accounts.add_user(engine, "t-new", "planner")
    with TestClient(create_api(settings, engine=engine)) as c:
        r = sign_in(c, "t-new", one_time)
        assert r.status_code == 303 and "/auth/password" in r.headers["location"]
        assert c.get("/tiles").status_code == 401  # the cookie opens nothing else
        assert c.get("/ogc/collections").status_code == 401
        basic = {"Authorization": "Basic " + base64.b64encode(
            f"t-new:{one_time}".encode()).decode()}
        assert c.get("/tiles", headers=basic, cookies={}).status_code == 401
        page = c.get("/auth/password")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        changed = c.post("/auth/password", data={"old": one_time, "new": "a-new-password-7",
                                                 "repeat": "a-new-password-7", "csrf": csrf,
                                                 "next": "/"}, follow_redirects=False)
        assert changed.status_code == 303
        assert c.get("/tiles").status_code == 200  # now the account is open


def test_the_sign_in_form_resists_csrf_and_open_redirects(engine, settings):
    with TestClient(create_api(settings, engine=engine)) as c:
        page = c.get("/auth/login")
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "http" not in re.sub(r'xmlns="[^"]+"', "", page.text)  # loads nothing
        no_csrf = c.post("/auth/login", data={"username": "t-admin",
                                              "password": TEST_PASSWORD})
        assert no_csrf.status_code == 400
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        for target_url in ("//evil.example/", "https://evil.example/", "/\\evil", "javascript:x"):
            r = c.post("/auth/login", data={"username": "t-admin", "password": TEST_PASSWORD,
                                            "csrf": csrf, "next": target_url},
                       follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/", target_url
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert c.get("/auth/me").json()["role"] == "admin"
        assert c.get("/health").headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("attempt", [
    {"bbox": "1,2,3,4);DROP TABLE units;--"}, {"limit": "1 OR 1=1"},
    {"datetime": "2026-01-01'; SELECT pg_sleep(5)--"}, {"status": "x' OR '1'='1"},
])
def test_injection_through_ogc_filters_is_refused_or_harmless(clients, attempt):
    r = clients["t-planner"].get("/ogc/collections/events/items", params=attempt)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["numberReturned"] == 0


@pytest.mark.parametrize("path", ["/tiles/buildings/99/0/0.mvt", "/tiles/units;drop/1/0/0.mvt",
                                  "/tiles/buildings/15/1e9/0.mvt",
                                  "/tiles/buildings/15/0/0.mvt?v=1;drop"])
def test_injection_through_tile_addresses(clients, path):
    assert clients["t-planner"].get(path).status_code in (400, 404)


def test_injection_through_open311_fields(clients, target):
    c = clients["t-field"]
    r = c.post("/open311/v2/requests.json", data={
        "service_code": "dispute' OR '1'='1", "lat": target["lat"], "long": target["lon"],
        "description": "x"})
    assert r.status_code == 400 and "unknown event category" in r.text
    r = c.get("/open311/v2/requests.json", params={"service_request_id": "1' OR '1'='1"})
    assert r.status_code == 200 and r.json() == []


def test_nothing_personal_in_logs(engine, settings, pii_key, village_sample, caplog, tmp_path):
    from twin.ingest.importer import ImportError_, import_file

    caplog.set_level("DEBUG")
    person = village_sample.people.iloc[0]
    bad = tmp_path / "p.csv"
    bad.write_text(f"户编码,姓名,身份证号\n{village_sample.households.code.iloc[0]},"
                   f"{person['name']},{person['id_number'][:17]}0\n", encoding="utf-8")
    with pytest.raises(ImportError_) as err:
        import_file(engine, bad, "people", pii_key=pii_key)
    with TestClient(create_api(settings, engine=engine)) as c:
        sign_in(c, "t-admin", "wrong-password-1")
    text = caplog.text + str(err.value)
    assert person["name"] not in text and person["id_number"][:17] not in text
    assert "wrong-password-1" not in text


def test_secrets_come_from_the_environment_or_secrets_toml(tmp_path, monkeypatch):
    from twin import config

    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[twin]\nopen311_api_key = "from-the-file-0123456789"\n')
    monkeypatch.setattr(config, "SECRETS_TOML", secrets)
    monkeypatch.delenv("TWIN_OPEN311_API_KEY", raising=False)
    assert config.Settings().open311_api_key == "from-the-file-0123456789"
    monkeypatch.setenv("TWIN_OPEN311_API_KEY", "from-the-environment-0123")
    assert config.Settings().open311_api_key == "from-the-environment-0123"
    tracked = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in tracked and ".env" in tracked


def test_a_partner_app_with_the_open311_key(engine, settings, target):
    keyed = settings.model_copy(update={"open311_api_key": "partner-key-0123456789"})
    with TestClient(create_api(keyed, engine=engine)) as c:
        assert c.get("/open311/v2/requests.json").status_code == 401
        assert c.get("/open311/v2/requests.json",
                     params={"api_key": "partner-key-0123456789"}).status_code == 200
        r = c.post("/open311/v2/requests.json", data={
            "api_key": "partner-key-0123456789", "service_code": "traffic",
            "lat": target["lat"], "long": target["lon"], "description": "路灯不亮"})
        assert r.status_code == 200, r.text
        assert c.post("/open311/v2/requests.json", data={
            "api_key": "wrong", "service_code": "traffic", "lat": target["lat"],
            "long": target["lon"], "description": "x"}).status_code == 401


def test_a_field_account_works_the_open_events_of_its_grid(engine, monkeypatch, tmp_path):
    from twin.domain.workflow import OPEN

    with engine.connect() as conn:
        busiest = conn.execute(sa.text(
            "SELECT g.code FROM events e JOIN units g ON g.id = e.grid_id WHERE e.status = "
            "ANY(:o) GROUP BY g.code ORDER BY count(*) DESC LIMIT 1"), {"o": list(OPEN)}).scalar()
    accounts.add_user(engine, "t-worker", "field", scope=(busiest,), password=TEST_PASSWORD)
    accounts.set_password(engine, "t-worker", TEST_PASSWORD, must_change=False)
    with engine.connect() as conn:
        scope = account_scope_of(conn, "t-worker")
        mine = conn.execute(sa.text(
            "SELECT e.id, e.title FROM events e JOIN units g ON g.id = e.grid_id "
            "WHERE g.code = ANY(:s) AND e.status = ANY(:o)"),
            {"s": list(scope), "o": list(OPEN)}).all()
        elsewhere = conn.execute(sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(m.geom) AS p FROM units m "
            "JOIN units g ON g.id = m.parent_id WHERE m.level = 'microgrid' AND g.code <> :s "
            "LIMIT 1) q"), {"s": scope[0]}).one()
    from twin.domain.workflow import report

    report(engine, category="traffic", title="别的网格的事件", lon=elsewhere[0],
           lat=elsewhere[1], source="grid_worker", actor="t-field")
    assert mine
    at = app_as(engine, monkeypatch, tmp_path, "t-worker", page="work")
    at.run()
    assert not at.exception
    shown = [s.value for s in at.subheader]
    assert sorted(shown) == sorted(title for _, title in mine)
    first = next(b for b in at.button if b.label == t("field.accept") and not b.disabled)
    event_id = int(first.key.split("-")[1])
    first.click()
    at.run()
    with engine.connect() as conn:
        status, actor = conn.execute(sa.text(
            "SELECT e.status, l.actor FROM events e JOIN event_log l ON l.event_id = e.id "
            "WHERE e.id = :e ORDER BY l.id DESC LIMIT 1"), {"e": event_id}).one()
    assert (status, actor) == ("handling", "t-worker")
    planner = app_as(engine, monkeypatch, tmp_path, "t-planner", page="work")
    planner.run()
    assert not planner.exception and decks(planner)  # the map instead


def test_the_export_page_gives_a_file_and_audits_it(engine, monkeypatch, tmp_path):
    at = app_as(engine, monkeypatch, tmp_path, "t-planner", page="export")
    at.run()
    assert not at.exception
    next(b for b in at.button if b.label == t("desk.prepare")).click()
    at.run()
    assert not at.exception
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "(" in downloads[0].proto.label
    with engine.connect() as conn:
        actor, obj = conn.execute(sa.text(
            "SELECT actor, object FROM audit_log WHERE action = 'export' "
            "ORDER BY id DESC LIMIT 1")).one()
    assert (actor, obj) == ("t-planner", "layer:units")
    screen = app_as(engine, monkeypatch, tmp_path, "t-screen", page="export")
    screen.run()
    assert not screen.exception and not [b for b in screen.button
                                         if b.label == t("desk.prepare")]


@pytest.mark.parametrize(("method", "path", "params"), [
    ("get", "/ogc/collections/events/items", {"status": "open\x00"}),
    ("get", "/ogc/collections/events/items", {"code": "E1\x00' OR 1=1"}),
    ("get", "/open311/v2/requests.json", {"service_request_id": "E1\x00"}),
    ("get", "/open311/v2/requests/E1%00.json", {}),
    ("get", "/ogc/collections/observations/items/1:pm25:20261399T999999Z", {}),
    ("get", "/tiles/buildings.json", {"v": "1\x00"}),
])
def test_a_nul_byte_or_an_impossible_id_is_a_400(clients, method, path, params):
    r = getattr(clients["t-official"], method)(path, params=params)
    assert r.status_code == 400 and r.text, (path, r.text)


def test_a_nul_byte_in_the_sign_in_name_is_a_400(engine, settings):
    with TestClient(create_api(settings, engine=engine)) as c:
        page = c.get("/auth/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = c.post("/auth/login", data={"username": "t-admin\x00", "password": "x",
                                        "csrf": csrf})
        assert r.status_code == 400


def test_a_report_signed_in_by_cookie_comes_from_this_site_and_names_its_author(
        engine, settings, target):
    form = {"service_code": "sanitation", "lat": target["lat"], "long": target["lon"],
            "description": "井盖松动，联系人电话 138 1234 5678，身份证330483199001011234"}
    with TestClient(create_api(settings, engine=engine)) as c:
        assert sign_in(c, "t-field").status_code == 303
        forged = c.post("/open311/v2/requests.json", data=form)  # no Origin: another site
        assert forged.status_code == 403
        elsewhere = c.post("/open311/v2/requests.json", data=form,
                           headers={"Origin": "http://evil.example"})
        assert elsewhere.status_code == 403
        r = c.post("/open311/v2/requests.json", data=form,
                   headers={"Origin": "http://testserver"})
        assert r.status_code == 200
        code = r.json()[0]["service_request_id"]
        shown = c.get(f"/open311/v2/requests/{code}.json").json()[0]["description"]
    assert "138****5678" in shown and "330483********1234" in shown
    with engine.connect() as conn:
        actor, stored = conn.execute(sa.text(
            "SELECT l.actor, e.title || e.description || l.note FROM events e "
            "JOIN event_log l ON l.event_id = e.id WHERE e.code = :c"), {"c": code}).one()
    assert actor == "t-field"
    assert "1234 5678" not in stored and "199001011234" not in stored


def test_notes_and_resolutions_are_scrubbed_before_they_are_stored(engine, target):
    from twin.domain import workflow

    event = workflow.report(engine, category="sanitation", title="路灯", lon=target["lon"],
                            lat=target["lat"], source="grid_worker", actor="t-field")
    workflow.add_note(engine, event.id, actor="t-field", note="已联系户主13912345678")
    event = workflow.accept(engine, event.id, actor="t-field", expected_version=event.version)
    workflow.transition(engine, event.id, "resolved", actor="t-field",
                        expected_version=event.version, note="户主0573-88123456已确认")
    with engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT string_agg(note, '|') FROM event_log "
                                     "WHERE event_id = :e"), {"e": event.id}).scalar()
    assert "139****5678" in notes and "0573-****3456" in notes
    assert "13912345678" not in notes and "88123456" not in notes


def test_the_migration_scrubs_what_was_stored_before(db_factory):
    from twin.store import db as twin_db

    engine = db_factory("scrub-migration")
    twin_db.downgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(sa.text("""
            INSERT INTO units (id, level, code, name, geom) VALUES (1, 'town', '330483100',
                '镇', ST_Multi(ST_MakeEnvelope(120, 30, 121, 31, 4326)))"""))
        for level, parent in (("village", 1), ("grid", 2), ("microgrid", 3)):
            conn.execute(sa.text(
                "INSERT INTO units (id, level, code, name, parent_id, geom) VALUES (:id, :l, "
                ":c, :l, :p, ST_Multi(ST_MakeEnvelope(120, 30, 121, 31, 4326)))"),
                {"id": parent + 1, "l": level, "c": f"330483100{parent}", "p": parent})
        conn.execute(sa.text("""
            INSERT INTO events (id, code, category, title, description, status, owner_level,
                                source, reported_at, geom)
            VALUES (1, 'E1', 'sanitation', '电话13812345678', '身份证330483199001011234',
                    'reported', 'microgrid', 'hotline', now(),
                    ST_SetSRID(ST_MakePoint(120.5, 30.5), 4326))"""))
        conn.execute(sa.text(
            "INSERT INTO event_log (event_id, at, actor, to_status, note) "
            "VALUES (1, now(), 'x', 'reported', '回电 0573-88123456')"))
    twin_db.upgrade(engine)
    with engine.connect() as conn:
        title, description, note = conn.execute(sa.text(
            "SELECT e.title, e.description, l.note FROM events e JOIN event_log l "
            "ON l.event_id = e.id")).one()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # still append-only
            conn.execute(sa.text("UPDATE event_log SET note = 'x'"))
    assert (title, description, note) == ("电话138****5678", "身份证330483********1234",
                                          "回电 0573-****3456")


def test_a_photo_is_measured_before_it_is_decoded(engine, settings, target, tmp_path):
    import io
    import resource

    from PIL import Image

    from twin.domain import links, workflow

    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 12 KB claiming 100 megapixels
    assert len(bomb.getvalue()) < 20_000
    event = workflow.report(engine, category="sanitation", title="x", lon=target["lon"],
                            lat=target["lat"], source="grid_worker", actor="t-field")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(links.PhotoError, match="megapixels"):
        links.save_photo(engine, settings.model_copy(update={"data_dir": tmp_path}), event.id,
                         bomb.getvalue(), "t-field")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50  # decoding it would take ~100 MB at one bit, ~480 MB as RGB
