"""The first map page, run headless with Streamlit's AppTest against the sample database."""

from __future__ import annotations

import html
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import TEST_PASSWORD, decks
from twin.config import PROJECT_ROOT
from twin.domain.accounts import sign_in


@pytest.fixture
def app(sample_engine, monkeypatch, tmp_path):
    url = sample_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TWIN_DATABASE_URL", url)
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path))  # no rasters unless a test writes them
    from streamlit.runtime.caching import cache_resource_api

    cache_resource_api.get_resource_cache_stats_provider().clear_all()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.session_state["_session_token"] = sign_in(sample_engine, "t-planner", TEST_PASSWORD)[0]
    return at


def _layer(deck: dict, layer_id: str) -> dict:
    return next(layer for layer in deck["layers"] if layer["id"] == layer_id)


def charts_json(at: AppTest) -> str:
    return "".join(decks(at))


# A figure of a panel (label above the value) or of the wall (value above the label)
_FIGURE = re.compile(r"<small>([^<]*)</small><b>([^<]*)</b>|<b>([^<]*)</b><small>([^<]*)</small>")
_BAR = re.compile(r"<div class='wall-bar'><span>([^<]*)</span>.*?<span>([^<]*)</span></div>")


def figures(at: AppTest) -> dict[str, str]:
    """label → value of every figure the page shows as HTML (panel and wall)."""
    found = {}
    for m in at.markdown:
        for a, b, c, d in _FIGURE.findall(m.value):
            label, value = (a, b) if a or b else (d, c)
            found[html.unescape(label)] = html.unescape(value)
    return found


def bars(at: AppTest) -> dict[str, str]:
    """label → figure of the wall's bars (the three loops)."""
    return {html.unescape(label): html.unescape(value)
            for m in at.markdown for label, value in _BAR.findall(m.value)}


def _deck(at: AppTest) -> dict:
    charts = decks(at)
    assert len(charts) == 1
    return json.loads(charts[0])


def test_map_draws_the_sample_units_offline(app, village_sample):
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "乡村数字孪生"
    deck = _deck(at)
    # no outside basemap: pydeck's sentinel tells Streamlit to draw none
    assert deck.get("mapStyle") == "__MAP_STYLE__" and not deck.get("mapProvider")
    assert "http" not in charts_json(at)
    layer = _layer(deck, "units-town")  # the county shows its towns
    towns = village_sample.units[village_sample.units["level"] == "town"]
    assert sorted(f["properties"]["code"] for f in layer["data"]["features"]) == sorted(
        towns["code"])
    assert figures(at)["居民"] == f"{len(village_sample.people):,}"


def test_english_is_selectable_by_url(app):
    app.query_params["lang"] = "en"
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "Village Twin"
    assert "Residents" in figures(at)


def test_drill_down_to_a_micro_grid_and_back(app, village_sample):
    units = village_sample.units
    at = app.run()
    town = units[units["level"] == "town"].iloc[0]
    at.selectbox[0].set_value(town["code"]).run()
    assert at.query_params["unit"] == town["code"]
    villages = units[units["parent_id"] == town["id"]]
    assert {f["properties"]["code"] for f in _layer(_deck(at), "units-village")["data"][
        "features"]} == set(villages["code"])
    # straight to a micro-grid by URL: its siblings are drawn, the panel is its own
    micro = units[units["level"] == "microgrid"].iloc[-1]
    app.query_params["unit"] = micro["code"]
    at = app.run()
    siblings = units[units["parent_id"] == micro["parent_id"]]
    layer = _layer(_deck(at), "units-microgrid")
    assert len(layer["data"]["features"]) == len(siblings)
    assert any(f"<div class='twin-panel-unit'>{micro['name']}</div>" in m.value
               for m in at.markdown)
    labels = [b.label for b in at.button]
    assert labels[0] == "全县" and labels[-1] == micro["name"] and len(labels) == 5
    at.button[0].click().run()  # back to the county
    assert "unit" not in at.query_params
    assert _layer(_deck(at), "units-town")


def test_a_click_on_the_map_drills_in_once_and_a_building_opens_its_panel(app, village_sample):
    """The page's map hands each click back as ``{layer, object, click}``: a unit drills
    into it, the same click seen again at a rerun does nothing, a building opens."""
    units = village_sample.units
    town = units[units["level"] == "town"].iloc[0]
    at = app.run()
    at.session_state["map"] = {"layer": "units-town", "object": {"code": town["code"]},
                               "click": 1}
    at.run()
    assert at.query_params["unit"] == town["code"]
    assert _layer(_deck(at), "units-village")
    at.button[0].click().run()  # back to the county; the old click is not followed again
    assert "unit" not in at.query_params
    building = int(village_sample.buildings["id"].iloc[0])
    at.session_state["map"] = {"layer": "buildings", "object": {"id": building}, "click": 2}
    at.run()
    assert at.query_params["building"] == str(building)
    assert "unit" not in at.query_params


@pytest.mark.parametrize("query", [{}, {"apps": "governance,environment", "lang": "en"},
                                   {"apps": "governance", "governance.status": "reported"},
                                   {"apps": "tourism", "from": "2026-01-01", "to": "2026-02-01",
                                    "lon": "120.5", "lat": "30.6", "zoom": "13"}])
def test_the_first_view_the_page_draws_itself_is_the_scripts_own(app, sample_engine, tmp_path,
                                                                  village_sample, query):
    """/api/map/first's deck for a URL is the very deck the script then hands the page's
    map (any difference would show as a jump when the script's deck arrives)."""
    from surfaces.map import first_deck

    village = village_sample.units[village_sample.units["level"] == "village"].iloc[0]
    for params in (query, {**query, "unit": village["code"]}):
        for key, value in params.items():
            app.query_params[key] = value
        at = app.run()
        assert not at.exception
        assert decks(at) == [first_deck(sample_engine, tmp_path, params)], params


@pytest.mark.parametrize("query", [{}, {"lang": "en"}])
def test_the_first_views_panel_is_the_scripts_own(app, sample_engine, tmp_path, village_sample,
                                                  query):
    """The panel /api/map/first gives the page to draw before Streamlit runs is the very
    panel the script then shows the same reader (a planner: residents counted, not shown);
    an official's says nothing is hidden; with ``panel=0`` there is none."""
    from surfaces.map import first_view
    from twin.domain.access import Principal
    from twin.i18n import t

    village = village_sample.units[village_sample.units["level"] == "village"].iloc[0]
    hidden = t("panel.residents_hidden", query.get("lang", "zh"))
    for params in (query, {**query, "unit": village["code"]}):
        for key, value in params.items():
            app.query_params[key] = value
        at = app.run()
        assert not at.exception
        view = first_view(sample_engine, tmp_path, params, Principal(role="planner"))
        assert [m.value for m in at.markdown if m.value.startswith("<div class='twin-panel-title")
                ] == [view["panel"]]
        assert hidden in view["panel"]
        assert (village["name"] in view["panel"]) == ("unit" in params)
        official = first_view(sample_engine, tmp_path, params, Principal(role="official"))
        assert hidden not in official["panel"]
    assert first_view(sample_engine, tmp_path, {"panel": "0"}, Principal(role="planner")
                      )["panel"] is None


def test_buildings_from_versioned_tiles_and_terrain_when_rasters_exist(app, village_sample,
                                                                       tmp_path):
    at = app.run()
    deck = _deck(at)
    buildings = _layer(deck, "buildings")
    assert buildings["@@type"] == "MVTLayer" and buildings["extruded"] is True
    assert buildings["data"].startswith("/api/tiles/buildings/{z}/{x}/{y}.mvt?v=")
    assert buildings["loadOptions"]["mvt"]["workerUrl"].startswith("/api/static/loaders/")
    assert not any(layer["id"] == "terrain" for layer in deck["layers"])

    from twin.sample.raster import write_sample_rasters

    write_sample_rasters(village_sample, tmp_path / "rasters")
    deck = _deck(app.run())
    terrain = _layer(deck, "terrain")
    assert terrain["elevationData"].startswith("/api/terrain/{z}/{x}/{y}.png?v=")
    assert terrain["texture"].startswith("/api/imagery/{z}/{x}/{y}.webp?v=")
    centre = village_sample.buildings.geometry.iloc[0].centroid
    app.query_params.update(lon=str(centre.x), lat=str(centre.y), zoom="12.5", pitch="60")
    deck = _deck(app.run())
    assert _layer(deck, "terrain")["operation"] == "draw"  # far: terrain beneath, not draped
    assert "extensions" not in _layer(deck, "buildings")
    app.query_params.update(lon=str(centre.x), lat=str(centre.y), zoom="15.5", pitch="60")
    deck = _deck(app.run())
    assert _layer(deck, "terrain")["operation"] == "terrain+draw"  # close: draped
    assert _layer(deck, "buildings")["extensions"] == [{"@@type": "_TerrainExtension"}]


def test_applications_from_the_url(app):
    app.query_params["apps"] = "environment,tourism"
    at = app.run()
    assert not at.exception
    ids = {layer["id"] for layer in _deck(at)["layers"]}
    assert {"environment-stations", "tourism-pois"} <= ids
    assert "governance-events" not in ids and "buildings" not in ids
    assert at.query_params["apps"] == "environment,tourism"  # the view stays in the URL


def test_period_in_the_url_filters_events_and_play_runs_to_the_end(app, village_sample):
    import datetime as dt
    from zoneinfo import ZoneInfo

    china = ZoneInfo("Asia/Shanghai")
    app.query_params["from"] = "2026-06-01"
    app.query_params["to"] = "2026-06-30"  # a day: to the end of it, local time
    app.query_params["governance.view"] = "both"
    at = app.run()
    events = _layer(_deck(at), "governance-events")
    start = dt.datetime(2026, 6, 1, tzinfo=china)
    stop = dt.datetime(2026, 7, 1, tzinfo=china)
    assert events["filterRange"] == [start.timestamp(), stop.timestamp()]
    assert events["extensions"][0] == {"@@type": "DataFilterExtension", "filterSize": 1}
    assert events["getFilterValue"] == "@@=properties.reported_at"
    heat = _layer(_deck(at), "governance-heat")
    assert heat["data"].startswith(
        f"/api/heat/events.json?from={int(start.timestamp())}&to={int(stop.timestamp())}&v=")
    assert at.query_params["from"] == "2026-06-01T00:00"
    assert at.query_params["to"] == "2026-07-01T00:00"

    at.toggle(key="playing").set_value(True).run()
    newest = max(village_sample.events["reported_at"].max(),
                 village_sample.observations["observed_at"].max())
    last = newest.tz_convert(china).floor("h").to_pydatetime().replace(tzinfo=None) + (
        dt.timedelta(hours=1))
    assert at.query_params["to"] == last.strftime("%Y-%m-%dT%H:%M")
    shifted = dt.datetime(2026, 6, 1) + (last - dt.datetime(2026, 7, 1))
    assert at.query_params["from"] == shifted.strftime("%Y-%m-%dT%H:%M")


def test_share_link_carries_the_whole_view(app, village_sample):
    micro = village_sample.units[village_sample.units["level"] == "microgrid"].iloc[0]
    app.query_params["unit"] = micro["code"]
    app.query_params["apps"] = "tourism"
    app.query_params["lang"] = "en"
    at = app.run()
    link = at.text_input(key="share_link").value
    for part in (f"unit={micro['code']}", "apps=tourism", "lang=en", "from=", "to="):
        assert part in link


def test_big_screen_mode(app, village_sample):
    app.query_params["screen"] = "1"
    at = app.run()
    assert not at.exception
    shown = figures(at)
    assert len(shown) == 24 and not at.radio and not at.multiselect
    # the four boards, the six elements, the loop and the environment
    assert {"党组织覆盖网格", "微网格长", "30天走访次数", "书记领办 完成/总数",  # 党建统领
            "已办结项目", "解决民生实事", "随手拍解决率",  # 自治
            "居民", "户", "在办事件", "超期事件", "监测站", "告警站点",
            "受理纠纷", "调解成功率", "诉前化解率",  # 法治
            "有积分的户", "三治信用户",  # 德治
            "办结率", "按时办结率", "网格内办结（小事不出格）", "群众满意度"} <= set(shown)
    grids = len(village_sample.units[village_sample.units["level"] == "grid"])
    assert shown["党组织覆盖网格"] == f"{grids} / {grids}"  # the sample covers every grid
    assert shown["办结率"].endswith("%") or shown["办结率"] == "—"
    assert set(bars(at)) == {"小闭环", "中闭环", "大闭环"}
    assert _layer(_deck(at), "units-town")


def test_one_resolution_rate_on_the_map_the_wall_and_the_api(app, sample_engine, settings):
    """办结率 and the other measures of the last 30 days: the same numbers in the governance
    charts, on the wall and from /api/measures.json (one definition each,
    twin.domain.summary)."""
    import datetime as dt

    from surfaces.period import TZ, URL_TIME
    from tests.conftest import signed_clients

    app.query_params["apps"] = "governance"
    app.query_params["charts"] = "1"
    at = app.run()
    shown = ("办结率", "按时办结率", "网格内办结（小事不出格）", "群众满意度")
    on_map = {m.label: m.value for m in at.metric if m.label in shown}
    start, end = (dt.datetime.strptime(at.query_params[k][0] if isinstance(
        at.query_params[k], list) else at.query_params[k], URL_TIME).replace(tzinfo=TZ)
        for k in ("from", "to"))
    app.query_params.clear()
    app.query_params["screen"] = "1"
    wall = app.run()
    on_wall = {label: v for label, v in figures(wall).items() if label in shown}
    assert len(on_map) == 4 and on_map == on_wall, (on_map, on_wall)
    with signed_clients(sample_engine, settings, ["t-planner"]) as clients:
        api = clients["t-planner"].get("/measures.json", params={
            "from": int(start.timestamp()), "to": int(end.timestamp())}).json()
    assert on_map["办结率"] == f"{api['resolution_rate']:g}%"
    assert on_map["按时办结率"] == f"{api['on_time_rate']:g}%"
    assert on_map["群众满意度"] == f"{api['satisfaction']:g} / 5"
    assert bars(wall)["大闭环"] == (f"{api['loops']['large']['resolved']:,} / "
                                  f"{api['loops']['large']['reported']:,}")


def test_units_shaded_only_when_governance_is_on(app, sample_engine):
    from twin.domain.summary import rollup

    app.query_params["apps"] = "governance"
    fill = _layer(_deck(app.run()), "units-town")["getFillColor"]
    assert rollup(sample_engine)["events_open"] > 0  # the sample has open events
    assert fill.startswith("@@=properties.events_open > ")
    app.query_params["apps"] = "tourism"
    assert isinstance(_layer(_deck(app.run()), "units-town")["getFillColor"], list)


def test_each_application_draws_its_charts_for_the_period(app, village_sample):
    app.query_params["apps"] = "governance,environment,tourism"
    at = app.run()
    assert not at.exception and not at.tabs  # charts on request: none on the first view
    at.toggle(key="show-charts").set_value(True).run()
    assert at.query_params["charts"] == "1"  # the choice is part of the shared view
    assert [tab.label for tab in at.tabs] == ["基层治理", "生态环境", "文旅"]
    titles = [m.value for m in at.markdown]
    for title in ("**闭环成效（本时段）**", "**每周办结率与按时率（%）**",
                  "**本时段事件（按类别）**", "**每日上报与办结**", "**空气质量指数 AQI（日）**",
                  "**水质类别（日，1=Ⅰ类 … 6=劣Ⅴ类）**", "**超标记录（按站点、指标、日）**",
                  "**每日游客数**"):
        assert title in titles
    assert len(at.get("vega_lite_chart")) >= 4
    breach_table = at.table[-1].value
    assert list(breach_table.columns)[:3] == ["日期", "站点", "指标"] and len(breach_table) > 0


def test_application_filters_live_in_the_url(app):
    app.query_params["apps"] = "governance,base"
    app.query_params["governance.status"] = "handling,<script>"
    app.query_params["base.color"] = "height"
    at = app.run()
    assert not at.exception
    deck = _deck(at)
    fill = _layer(deck, "governance-events")["getFillColor"]
    assert "'handling'" in fill and "'reported'" not in fill and "script" not in fill
    assert "properties.height_m >= 24.0" in _layer(deck, "buildings")["getFillColor"]
    assert at.query_params["governance.status"] == "handling"  # unknown values dropped
    at.radio(key="filter-base.color").set_value("use").run()
    assert "base.color" not in at.query_params  # the default leaves the URL short


def test_a_clicked_building_shows_its_households_not_its_residents(app, sample_engine,
                                                                   village_sample):
    import sqlalchemy as sa

    from twin.i18n import t

    with sample_engine.connect() as conn:
        building_id, code = conn.execute(sa.text(
            "SELECT b.id, b.code FROM buildings b JOIN households h ON h.building_id = b.id "
            "ORDER BY b.id LIMIT 1")).one()
    app.query_params["building"] = str(building_id)
    at = app.run()  # a planner: the building and its counts, no household and no resident
    assert not at.exception
    assert any(code in h.value for h in at.subheader)
    n = (village_sample.households["building_id"] == building_id).sum()
    counts = {m.label: m.value for m in at.metric}
    assert counts[t("building.households")] == str(n) and not at.table
    assert any("仅显示统计数" in c.value for c in at.caption)
    # the village's official sees the households (addresses), still no resident before a why
    app.session_state["_session_token"] = sign_in(sample_engine, "t-official", TEST_PASSWORD)[0]
    at = app.run()
    assert not at.exception
    assert len(at.table[0].value) == n
    names = set(village_sample.people["name"])
    assert not any(str(v) in names for table in at.table for v in table.value.to_numpy().ravel())
    at.button(key="close-building").click().run()
    assert "building" not in at.query_params


def test_big_screen_tour_flies_through_the_towns(app):
    app.query_params["screen"] = "1"
    app.query_params["tour"] = "1"
    at = app.run()
    assert not at.exception
    assert any(c.value.startswith("巡航 · ") for c in at.caption)
    view = _deck(at)["initialViewState"]
    assert view["transitionDuration"] == 4000 and view["pitch"] == 45


def test_an_official_sends_a_micro_grid_leader_their_link(sample_db, village_sample, settings,
                                                         monkeypatch, tmp_path):
    """党建统领 at a micro-grid: its official makes the leader's link (URL and QR code);
    a planner, who sees no households, gets no such button."""
    import sqlalchemy as sa

    from tests.conftest import add_accounts, app_as
    from twin.domain import links
    from twin.i18n import t

    engine = sample_db("leader_link_ui")
    add_accounts(engine, village_sample)
    with engine.connect() as conn:
        micro, leader = conn.execute(sa.text(
            "SELECT m.code, l.id FROM microgrid_leaders l JOIN units m ON m.id = "
            "l.microgrid_id ORDER BY l.id LIMIT 1")).one()
    label = t("leader.make_link")
    at = app_as(engine, monkeypatch, tmp_path, "t-official", unit=micro, apps="party")
    at.run()
    assert not at.exception
    [make] = [b for b in at.button if b.label == label]
    make.click().run()
    [url] = [c.value for c in at.code if "/api/leader/" in c.value]
    served = settings.model_copy(update={"data_dir": tmp_path})  # the page's link key
    token = url.split("/api/leader/")[1]
    assert links.verify(engine, served, token, scopes=("leader",)).scope_id == leader
    assert at.get("imgs") or at.get("image")  # the QR code to scan
    planner = app_as(engine, monkeypatch, tmp_path, "t-planner", unit=micro, apps="party")
    planner.run()
    assert not planner.exception and not [b for b in planner.button if b.label == label]
