"""Every role × every path to the twin's data (UI page, tile layers, OGC collections,
Open311, exports, field page): only the official scoped to a resident's unit ever sees a
resident's name, and only after giving a purpose that is audited. Then sessions, lock-out,
injection attempts, redirects and headers."""

from __future__ import annotations

import datetime as dt
import json
import re

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from tests.conftest import ACCOUNTS, TEST_PASSWORD, add_accounts, sign_in
from twin import accounts
from twin.access import Principal
from twin.api import create_api
from twin.config import PROJECT_ROOT
from twin.i18n import t
from twin.ogc import COLLECTIONS

USERS = ("anonymous", *ACCOUNTS)
MASKED_ID = re.compile(r"\d{6}\*{8}\d{3}[\dX]")
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def engine(sample_db, village_sample):
    engine = sample_db("security")
    add_accounts(engine, village_sample)
    return engine


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
    api = create_api(settings, engine=engine)
    made = {}
    for user in USERS:
        c = TestClient(api)
        c.__enter__()
        if user != "anonymous":
            assert sign_in(c, user).status_code == 303
        made[user] = c
    yield made
    for c in made.values():
        c.__exit__(None, None, None)


def _personal(text: str, names: list[str]) -> list[str]:
    """Names (two characters or more) and masked ID numbers found in a text."""
    found = [n for n in names if len(n) >= 2 and n in text]
    return found + MASKED_ID.findall(text)


def _app(engine, monkeypatch, tmp_path, user: str, **params) -> AppTest:
    monkeypatch.setenv("TWIN_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path))
    from streamlit.runtime.caching import cache_resource_api

    cache_resource_api.get_resource_cache_stats_provider().clear_all()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    if user != "anonymous":
        at.session_state["_session_token"] = accounts.sign_in(engine, user, TEST_PASSWORD)[0]
    for key, value in params.items():
        at.query_params[key] = value
    return at


def _page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [json.dumps(tb.value.to_dict(), ensure_ascii=False, default=str) if hasattr(tb.value, "to_dict") else str(tb.value)
              for tb in at.table]
    parts += [c.proto.json for c in at.get("deck_gl_json_chart")]
    return json.dumps(parts, ensure_ascii=False)


@pytest.mark.parametrize("user", USERS)
def test_ui_page(engine, target, monkeypatch, tmp_path, user):
    at = _app(engine, monkeypatch, tmp_path, user, building=str(target["id"]))
    at.run()
    assert not at.exception
    if user == "anonymous":
        assert not at.get("deck_gl_json_chart") and not at.metric
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
        assert at.query_params.get("building") and len(at.metric) >= 7
        assert not [b for b in at.button if b.label == t("building.close")]


def _tile(lon: float, lat: float, z: int) -> morecantile.Tile:
    return TMS.tile(lon, lat, z)


@pytest.mark.parametrize("user", USERS)
def test_tile_layers(clients, target, user):
    client = clients[user]
    layers = client.get("/tiles").json() if user != "anonymous" else None
    if user == "anonymous":
        assert client.get("/tiles").status_code == 401
        tile = _tile(target["lon"], target["lat"], 15)
        assert client.get(f"/tiles/buildings/15/{tile.x}/{tile.y}.mvt").status_code == 401
        return
    names = [layer["name"] for layer in layers["layers"]] if isinstance(layers, dict) else [
        layer["name"] for layer in layers]
    assert "residents" in names
    for name in names:
        info = client.get(f"/tiles/{name}.json").json()
        z = max(info["minzoom"], min(15, info["maxzoom"]))
        tile = _tile(target["lon"], target["lat"], z)
        r = client.get(f"/tiles/{name}/{z}/{tile.x}/{tile.y}.mvt")
        assert r.status_code in (200, 204), (name, r.status_code)
        decoded = mapbox_vector_tile.decode(r.content) if r.content else {}
        text = json.dumps([f["properties"] for layer in decoded.values()
                           for f in layer["features"]], ensure_ascii=False)
        assert _personal(text, target["names"]) == [], name


@pytest.mark.parametrize("user", USERS)
def test_ogc_collections(clients, target, user):
    client = clients[user]
    r = client.get("/ogc/collections")
    if user == "anonymous":
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        return
    ids = {c["id"] for c in r.json()["collections"]}
    assert ids == set(COLLECTIONS) and "people" not in ids  # households: codes and addresses
    box = f"{target['lon'] - 0.002},{target['lat'] - 0.002},{target['lon'] + 0.002}," \
          f"{target['lat'] + 0.002}"
    for cid in ids:
        items = client.get(f"/ogc/collections/{cid}/items", params={"bbox": box,
                                                                    "limit": 1000})
        assert items.status_code == 200, cid
        assert _personal(items.text, target["names"]) == [], cid
    for guess in ("people", "../people", "accounts", "sessions", "audit_log", "people%00"):
        assert client.get(f"/ogc/collections/{guess}/items").status_code == 404


@pytest.mark.parametrize("user", USERS)
def test_open311(clients, target, user):
    client = clients[user]
    r = client.get("/open311/v2/requests.json", params={"start_date": "2000-01-01T00:00:00Z"})
    if user == "anonymous":
        assert r.status_code == 401
        assert client.get("/open311/v2/services.json").status_code == 200  # the catalogue
        return
    assert r.status_code == 200 and _personal(r.text, target["names"]) == []
    post = client.post("/open311/v2/requests.json", data={
        "service_code": "sanitation", "lat": target["lat"], "long": target["lon"],
        "description": "垃圾桶满了"})
    assert post.status_code == (200 if user in ("t-admin", "t-official", "t-other", "t-field")
                                else 403), post.text


@pytest.mark.parametrize("user", USERS)
def test_export(engine, target, tmp_path, user):
    from twin.exporter import ExportError, export_layer

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
    from twin.exporter import ExportError, export_layer

    with engine.connect() as conn:
        other = Principal("official", account_scope_of(conn, "t-other"), "t-other")
    with pytest.raises(ExportError, match="must name one of its units"):
        export_layer(engine, "residents", tmp_path / "x.csv", "csv",
                     {"id": target["grid_id"], "code": target["grid"], "level": "grid"},
                     principal=other)


def test_field_page_shows_no_resident(engine, settings, target, monkeypatch, tmp_path):
    from twin import links, workflow

    event = workflow.report(engine, category="sanitation", title="楼道堆物",
                            lon=target["lon"], lat=target["lat"], source="grid_worker",
                            actor="t-field")
    keyed = settings.model_copy(update={"link_key": "security-test-link-key"})
    token = links.create(engine, keyed, "event", event.id, "t-official")
    monkeypatch.setenv("TWIN_LINK_KEY", keyed.link_key)
    at = _app(engine, monkeypatch, tmp_path, "anonymous", link=token,
              building=str(target["id"]))
    at.run()
    assert not at.exception and "楼道堆物" in json.dumps([s.value for s in at.subheader],
                                                       ensure_ascii=False)
    assert _personal(_page_text(at), target["names"]) == []
    deck = at.get("deck_gl_json_chart")[0].proto.json
    assert f"link={token}" in deck  # its tiles are read with the link, not a session
    with TestClient(create_api(keyed, engine=engine)) as c:
        tile = _tile(target["lon"], target["lat"], 15)
        houses = c.get(f"/tiles/buildings/15/{tile.x}/{tile.y}.mvt", params={"link": token})
        assert houses.status_code == 200
        for wider in ("/ogc/collections/events/items", "/tiles/events.json",
                      f"/tiles/residents/15/{tile.x}/{tile.y}.mvt",
                      "/open311/v2/requests.json", "/events/open.geojson"):
            assert c.get(wider, params={"link": token}).status_code == 401, wider


def test_guessed_ids_and_crafted_parameters_reveal_nothing(engine, target, monkeypatch,
                                                            tmp_path):
    for building in (str(target["id"]), "1 OR 1=1", "-1", "99999999999"):
        at = _app(engine, monkeypatch, tmp_path, "t-other", building=building,
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


def test_brute_force_locks_the_account_and_the_address(engine, settings):
    accounts.add_user(engine, "t-victim", "planner", password=TEST_PASSWORD)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.SignInRefused, match="wrong user name or password"):
            accounts.sign_in(engine, "t-victim", "guess-123456")
    with pytest.raises(accounts.SignInRefused, match="try again in 15 min"):
        accounts.sign_in(engine, "t-victim", TEST_PASSWORD)  # even the right one
    with pytest.raises(accounts.SignInRefused, match="wrong user name or password"):
        accounts.sign_in(engine, "nobody-here", "guess-123456")  # same answer, no probing
    accounts.set_password(engine, "t-victim", TEST_PASSWORD, must_change=False)
    assert accounts.sign_in(engine, "t-victim", TEST_PASSWORD)[1].username == "t-victim"
    with TestClient(create_api(settings, engine=engine)) as c:
        page = c.get("/auth/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        codes = [c.post("/auth/login", data={"username": "nobody-here", "password": f"x{i}",
                                             "csrf": csrf}, follow_redirects=False).status_code
                 for i in range(12)]
    assert codes[:4] == [401] * 4 and codes[-1] == 429  # the address is slowed down too


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
    from twin.importer import ImportError_, import_file

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
    from twin.workflow import OPEN

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
    from twin.workflow import report

    report(engine, category="traffic", title="别的网格的事件", lon=elsewhere[0],
           lat=elsewhere[1], source="grid_worker", actor="t-field")
    assert mine
    at = _app(engine, monkeypatch, tmp_path, "t-worker", page="work")
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
    planner = _app(engine, monkeypatch, tmp_path, "t-planner", page="work")
    planner.run()
    assert not planner.exception and planner.get("deck_gl_json_chart")  # the map instead


def test_the_export_page_gives_a_file_and_audits_it(engine, monkeypatch, tmp_path):
    at = _app(engine, monkeypatch, tmp_path, "t-planner", page="export")
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
    screen = _app(engine, monkeypatch, tmp_path, "t-screen", page="export")
    screen.run()
    assert not screen.exception and not [b for b in screen.button
                                         if b.label == t("desk.prepare")]
