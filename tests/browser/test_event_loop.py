"""One event around the whole loop, in Chromium, as its people do it: a resident reports
on the phone page with a photo → it is in the grid's inbox → an official dispatches it and
sends a field link (URL and QR code) → the grid worker opens the link, accepts, adds a
photo, resolves → the resident rates 2/5 and reopens → the official sends it back, it is
resolved again and closed → the measures and the big screen count it. Every step is in
event_log with its actor."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import _serve, signed_page
from tests.conftest import account_scope, add_accounts
from twin.domain.summary import data_period, loop_measures

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1500, "height": 1000}


@pytest.fixture(scope="module")
def loop_server(sample_db, village_sample, tmp_path_factory):
    engine = sample_db("event_loop")
    add_accounts(engine, village_sample)
    proc, url = _serve(engine.url.render_as_string(hide_password=False),
                       tmp_path_factory.mktemp("loop-data"), tmp_path_factory,
                       TWIN_SWEEP_SECONDS="0", TWIN_PUBLIC_URL="")
    yield url, engine
    proc.terminate()
    proc.wait(timeout=20)


def _photo(path, colour) -> str:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return str(path)


def _offline(page, outside: list[str]) -> None:
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)


def _event_page(browser, url: str, code: str):
    page = signed_page(browser, url, "t-official", viewport=DESK)
    page.goto(f"{url}/?page=events&event={code}")
    page.get_by_text(code).first.wait_for(timeout=60_000)
    return page


def _click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).first.click()


def _field(browser, link: str, photo: str | None = None):
    """The grid worker on the phone: accept, a photo, resolve."""
    page = browser.new_page(viewport=PHONE)
    page.goto(link)
    page.get_by_text("现场处置").first.wait_for(timeout=60_000)
    _click(page, "接单")
    page.get_by_text("状态：处置中").first.wait_for(timeout=30_000)
    if photo:
        page.locator("input[type=file]").first.set_input_files(photo)
        page.get_by_text(re.compile(r"\.jpg")).first.wait_for(timeout=30_000)
        _click(page, "添加备注")
        page.wait_for_timeout(1500)
    _click(page, "标记已办结")
    page.get_by_text("状态：已办结").first.wait_for(timeout=30_000)
    page.close()


def test_one_event_around_the_whole_loop(browser, loop_server, village_sample, tmp_path):
    url, engine = loop_server
    outside: list[str] = []
    grid = account_scope(village_sample, "grid:0")[0]
    with engine.connect() as conn:
        village = conn.execute(sa.text(
            "SELECT v.code FROM units g JOIN units v ON v.id = g.village_id WHERE g.code = :g"),
            {"g": grid}).scalar()

    # 1. a resident reports on the phone, with a photo, choosing the village
    phone = browser.new_page(viewport=PHONE)
    _offline(phone, outside)
    phone.goto(f"{url}/api/report")
    phone.select_option("#category", "sanitation")
    phone.fill("#text", "桥头垃圾三天没人清运，电话13812345678")
    phone.select_option("#village", village)
    phone.locator("input[name=photo]").first.set_input_files(_photo(tmp_path / "r.jpg",
                                                                    (90, 120, 60)))
    phone.click("button[type=submit]")
    phone.get_by_text("已收到您的反映").first.wait_for(timeout=30_000)
    phone.screenshot(path=str(tmp_path / "status.png"), full_page=True)
    status_url = phone.url.split("&new=")[0]
    code = phone.locator("code").first.inner_text().strip()
    with engine.connect() as conn:
        event_id, grid_of = conn.execute(sa.text(
            "SELECT e.id, g.code FROM events e JOIN units g ON g.id = e.grid_id "
            "WHERE e.code = :c"), {"c": code}).one()
    # 2. it is in the inbox of the village's official
    desk = signed_page(browser, url, "t-official", viewport=DESK)
    _offline(desk, outside)
    desk.goto(f"{url}/?page=events")
    desk.get_by_text("事件中心").first.wait_for(timeout=60_000)
    desk.get_by_label("编号或标题").fill(code)
    desk.keyboard.press("Enter")
    desk.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
    # the search reruns the page: the count of matching events comes down to this one
    expect(desk.locator("[data-testid='stMetric']").filter(has_text="符合条件")
           .locator("[data-testid='stMetricValue']")).to_have_text("1", timeout=30_000)
    # 3. the official dispatches it, and sends a field link: its URL and QR code
    desk.goto(f"{url}/?page=events&event={code}")
    desk.get_by_text(code).first.wait_for(timeout=60_000)
    desk.get_by_label("派至（单位、部门或人员）").fill(f"{grid_of}网格员")
    _click(desk, "派单")
    desk.get_by_text("已办理").first.wait_for(timeout=30_000)
    desk.get_by_text("发送现场链接").first.click()
    _click(desk, "本事件的链接")
    desk.locator("[data-testid='stCode']").first.wait_for(timeout=30_000)
    link = desk.locator("[data-testid='stCode'] code").first.inner_text().strip()
    assert re.fullmatch(rf"{re.escape(url)}/\?link=\d+\.\d+\.[\w-]+", link), link
    assert desk.locator("[data-testid='stImage'] img").count() >= 1  # the QR code
    desk.screenshot(path=str(tmp_path / "event.png"), full_page=True)
    # 4. the grid worker opens it on the phone, accepts, adds a photo, resolves
    _field(browser, link, _photo(tmp_path / "f.jpg", (200, 200, 190)))
    # 5. the resident rates 2 of 5 and reopens
    phone.goto(status_url)
    phone.get_by_text("已处理完毕，请您评价").first.wait_for(timeout=30_000)
    phone.locator("input[name=score][value='2']").check()
    phone.get_by_role("button", name="提交评价").click()
    phone.get_by_text("感谢您的评价").first.wait_for(timeout=30_000)
    phone.fill("#reason", "垃圾又堆起来了")
    phone.get_by_role("button", name="申请重新办理").click()
    phone.get_by_text("已重新办理，负责人员会再次处理").first.wait_for(timeout=30_000)
    # 6. the official sends it back; it is resolved again, then closed
    desk.goto(f"{url}/?page=events&event={code}")
    desk.get_by_text("状态").first.wait_for(timeout=60_000)
    desk.get_by_label("派至（单位、部门或人员）").fill(f"{grid_of}网格员")
    _click(desk, "派单")
    desk.get_by_text("已办理").first.wait_for(timeout=30_000)
    _field(browser, link)
    desk.goto(f"{url}/?page=events&event={code}")
    desk.get_by_role("button", name="回访归档").first.wait_for(timeout=60_000)
    _click(desk, "回访归档")
    desk.get_by_text("已办理").first.wait_for(timeout=30_000)
    with engine.connect() as conn:
        status, satisfaction = conn.execute(sa.text(
            "SELECT status, satisfaction FROM events WHERE id = :e"), {"e": event_id}).one()
        steps = conn.execute(sa.text(
            "SELECT actor, to_status FROM event_log WHERE event_id = :e ORDER BY id"),
            {"e": event_id}).all()
        photos = conn.execute(sa.text("SELECT actor FROM event_photos WHERE event_id = :e "
                                      "ORDER BY id"), {"e": event_id}).scalars().all()
    assert (status, satisfaction) == ("closed", 2)  # the resident's rating stands
    worker = next(a for a, _ in steps if a.startswith("link:"))
    assert steps == [
        ("resident:web", "reported"), ("t-official", "dispatched"), (worker, "handling"),
        (worker, "resolved"), ("resident:web", "closed"), ("resident:web", "reopened"),
        ("t-official", "dispatched"), (worker, "handling"), (worker, "resolved"),
        ("t-official", "closed")]
    assert photos == ["resident:web", worker]
    # 7. the measures and the wall count it: the small loop, where it was handled
    last = data_period(engine)[1]
    tz = dt.timezone(dt.timedelta(hours=8))
    end = last.astimezone(tz).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    small = loop_measures(engine, None, end - dt.timedelta(days=30), end)["loops"]["small"]
    assert small["reported"] >= 1 and small["resolved"] >= 1
    wall = signed_page(browser, url, "t-screen", viewport={"width": 1920, "height": 1080})
    wall.goto(f"{url}/?screen=1")
    bar = wall.locator(".wall-bar").filter(has_text="小闭环")  # the cockpit's loop bars
    bar.first.wait_for(timeout=60_000)
    assert f"{small['resolved']:,} / {small['reported']:,}" in bar.first.inner_text()
    assert outside == []
