"""The desk pages in Chromium: an administrator imports buildings through the Import page
(checked first, then written, audited), a bad file is refused naming the feature, and the
page is not offered to other roles."""

from __future__ import annotations

import json

import pytest
import shapely
import sqlalchemy as sa

from tests.browser.conftest import _serve, signed_page
from tests.conftest import add_accounts


@pytest.fixture(scope="module")
def desk_server(sample_db, village_sample, tmp_path_factory):
    engine = sample_db("desk")
    add_accounts(engine, village_sample)
    proc, url = _serve(engine.url.render_as_string(hide_password=False),
                       tmp_path_factory.mktemp("desk-data"), tmp_path_factory,
                       TWIN_SWEEP_SECONDS="0")
    yield url, engine
    proc.terminate()
    proc.wait(timeout=20)


def _houses(village_sample, offset: float, prefix: str) -> dict:
    feats = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(
        shapely.affinity.translate(b, xoff=offset))), "properties": {"编号": f"{prefix}-{i}",
                                                                     "层数": 3}}
             for i, b in enumerate(village_sample.buildings.geometry.iloc[:3])]
    return {"type": "FeatureCollection", "features": feats}


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_admin_imports_buildings_through_the_page(browser, desk_server, village_sample,
                                                    tmp_path):
    url, engine = desk_server
    good = tmp_path / "新建房屋.geojson"
    good.write_text(json.dumps(_houses(village_sample, 0.0, "DESK"), ensure_ascii=False),
                    encoding="utf-8")
    page = signed_page(browser, url, "t-admin", viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?page=import")
    page.get_by_text("数据导入").first.wait_for(timeout=60_000)
    _choose(page, "数据类型", "房屋")
    page.locator("input[type=file]").set_input_files(str(good))
    page.get_by_text("将写入").first.wait_for(timeout=60_000)
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM buildings")).scalar()
    page.get_by_role("button", name="确认导入").click()
    page.get_by_text("导入完成").first.wait_for(timeout=60_000)
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT count(*) FROM buildings")).scalar()
        audit = conn.execute(sa.text("SELECT actor, object FROM audit_log WHERE action = "
                                     "'import' ORDER BY id DESC LIMIT 1")).one()
    assert after == before + 3
    assert tuple(audit) == ("t-admin", "buildings:新建房屋.geojson")
    far = tmp_path / "far.geojson"
    far.write_text(json.dumps(_houses(village_sample, 0.5, "FAR")), encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(far))
    error = page.locator("[data-testid='stAlert']").filter(has_text="feature 1")
    error.first.wait_for(timeout=60_000)
    assert "far.geojson" in error.first.inner_text()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM buildings")).scalar() == after


def test_the_import_page_is_not_offered_to_a_planner(browser, desk_server):
    url, _ = desk_server
    page = signed_page(browser, url, "t-planner", viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/?page=import")
    page.wait_for_selector("canvas", timeout=60_000)  # the map, not the desk
    assert page.get_by_text("数据导入").count() == 0


def test_the_sidebar_goes_to_every_page_and_back_to_the_map(browser, desk_server):
    """Each press in the sidebar opens its page, the map included (a radio that became a
    new widget after each page lost every other press)."""
    url, _ = desk_server
    page = signed_page(browser, url, "t-official", viewport={"width": 1400, "height": 900})
    page.goto(url + "/")
    sidebar = page.locator("[data-testid='stSidebar']")
    map_drawn = page.locator("#twin-map canvas").first
    map_drawn.wait_for(timeout=60_000)
    for label, heading, query in (("事件中心", "事件中心", "page=events"),
                                  ("一张图", None, None),
                                  ("数据导出", "数据导出", "page=export"),
                                  ("一张图", None, None),
                                  ("事件中心", "事件中心", "page=events")):
        sidebar.get_by_text(label, exact=True).first.click()
        if heading:
            page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
            page.wait_for_url(f"**{query}**", timeout=30_000)
            # the page's map goes with the map page: nothing of it under a desk page
            page.locator("#twin-map").wait_for(state="detached", timeout=30_000)
        else:
            page.wait_for_url(lambda u: "page=" not in u, timeout=30_000)
            page.locator("[data-stale='true']").first.wait_for(state="detached",
                                                               timeout=60_000)
            map_drawn.wait_for(timeout=60_000)
            assert page.get_by_role("heading", name="事件中心").count() == 0
