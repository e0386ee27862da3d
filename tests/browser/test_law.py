"""法治 in a real Chromium, as its people use it: a resident applies for mediation on the
phone; the village's official accepts it on 法治工作台, confirms the team the matching
proposes, schedules and records a session and drafts the agreement; each party signs on
their phone through their own link; the PDF verifies against its hash on the public
page; the board's measures count the settled dispute; a second dispute is guided to court.
The pages ask no other host."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.browser.conftest import _serve, signed_page
from tests.conftest import add_accounts
from twin.domain import law

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
PHONE = "13812345678"
PHONE_VIEW = {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
              "has_touch": True}


@pytest.fixture(scope="module")
def law_server(sample_db, village_sample, tmp_path_factory):
    engine = sample_db("law_browser")
    add_accounts(engine, village_sample)
    proc, url = _serve(engine.url.render_as_string(hide_password=False),
                       tmp_path_factory.mktemp("law-data"), tmp_path_factory,
                       TWIN_SWEEP_SECONDS="0")
    yield url, engine
    proc.terminate()
    proc.wait(timeout=20)


def _village(engine) -> tuple[str, int]:
    """The village of t-official (the sample's first)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT code, id FROM units WHERE level = 'village' ORDER BY id LIMIT 1")).one()


def _press(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).first.click()


def _done(page, text: str) -> None:
    """Wait for the page's notice that a move was written; when it does not come, fail with
    what the page says instead (its notices and errors) and keep a screenshot."""
    try:
        page.locator("[data-testid='stAlert']").filter(has_text=text).first.wait_for(
            timeout=60_000)
    except Exception:
        page.screenshot(path="/tmp/law-fail.png", full_page=True)
        said = page.locator("[data-testid='stAlert'], [data-testid='stException']")
        pytest.fail(f"no notice {text!r} within 60 s; the page says: "
                    f"{[said.nth(i).inner_text()[:200] for i in range(said.count())]}")


def _apply_on_phone(browser, url: str, village: str, outside: list[str]) -> str:
    phone = browser.new_context(**PHONE_VIEW).new_page()
    phone.on("request", lambda r: outside.append(r.url)
             if not r.url.startswith(LOCAL) else None)
    phone.goto(f"{url}/api/law")
    phone.get_by_text("申请调解").first.click()
    phone.select_option("select[name=kind]", "neighbour")
    phone.fill("textarea[name=facts]", "邻居在楼道堆放杂物，堵住消防通道，多次沟通未果。")
    phone.fill("textarea[name=claim]", "清理杂物并赔礼道歉")
    phone.fill("input[name=amount]", "800")
    phone.fill("input[name=name]", "张伟民")
    phone.fill("input[name=phone]", PHONE)
    phone.fill("input[name=other_name]", "李建国")
    phone.select_option("select[name=village]", village)
    phone.check("input[name=online]")
    with phone.expect_navigation():
        phone.get_by_role("button", name="提交申请").click()
    phone.get_by_text("已收到您的调解申请").first.wait_for(timeout=30_000)
    code = re.search(r"TJM\d{6}-\d{5}", phone.content()).group(0)
    assert PHONE not in phone.content()
    phone.context.close()
    return code


def test_a_dispute_from_the_phone_to_a_verified_agreement(browser, law_server, tmp_path):
    url, engine = law_server
    village, village_id = _village(engine)
    unit = {"id": village_id, "level": "village"}
    end = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    before = law.measures(engine, unit, end - dt.timedelta(days=365), end)
    outside: list[str] = []
    code = _apply_on_phone(browser, url, village, outside)

    page = signed_page(browser, url, "t-official", viewport={"width": 1400, "height": 1100})
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
    page.goto(f"{url}/?page=law")
    page.get_by_text("法治工作台").first.wait_for(timeout=90_000)
    page.get_by_text(code).first.wait_for(timeout=60_000)  # the newest: chosen already
    _press(page, "受理")
    _done(page, f"{code} 已受理")
    page.get_by_text("智能匹配调解团队").first.wait_for(timeout=60_000)
    page.get_by_text("擅长").first.wait_for(state="attached", timeout=30_000)  # the reasons
    _press(page, "确认匹配")
    _done(page, "已确认调解团队")
    _press(page, "安排会议")
    _done(page, "已安排调解会议")
    _press(page, "记录会议已召开")
    _done(page, "已记录调解会议")
    _press(page, "生成协议（PDF）")
    _done(page, "已生成调解协议")
    page.screenshot(path=str(tmp_path / "law-desk.png"), full_page=True)
    links = []
    for role in ("申请人", "被申请人"):
        page.get_by_text(f"{role}签署链接").first.click()
        block = page.locator("code").filter(has_text="/api/law/sign/")
        block.nth(len(links)).wait_for(timeout=30_000)
        links.append(block.nth(len(links)).inner_text().strip())
    assert len(set(links)) == 2

    pdf = None
    for link, name in zip(links, ("张伟民", "李建国"), strict=True):
        phone = browser.new_context(**PHONE_VIEW).new_page()
        phone.on("request", lambda r: outside.append(r.url)
                 if not r.url.startswith(LOCAL) else None)
        phone.goto(link.replace("http://localhost:8501", url))
        phone.get_by_text("签署调解协议").first.wait_for(timeout=30_000)
        got = phone.request.get(phone.url.split("?")[0] + "/agreement.pdf")
        pdf = got.body()
        assert got.ok and pdf.startswith(b"%PDF-")
        phone.fill("input[name=typed_name]", name)
        phone.check("input[name=consent]")
        with phone.expect_navigation():
            phone.get_by_role("button", name=re.compile("签署")).last.click()
        phone.get_by_text("您已于").first.wait_for(timeout=30_000)
        phone.context.close()
    with engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM disputes WHERE code = :c"),
                              {"c": code}).scalar()
    assert status == "agreed"

    # anyone holding the PDF checks it against the stored hash
    saved = tmp_path / f"{code}.pdf"
    saved.write_bytes(pdf)
    checker = browser.new_context(**PHONE_VIEW).new_page()
    checker.goto(f"{url}/api/law/verify")
    checker.locator("input[type=file]").set_input_files(str(saved))
    with checker.expect_navigation():
        checker.get_by_role("button", name=re.compile("核验")).last.click()
    checker.get_by_text("核验通过").first.wait_for(timeout=30_000)
    assert code in checker.content() and "2/2" in checker.content()
    checker.context.close()

    after = law.measures(engine, unit, end - dt.timedelta(days=365), end)
    assert after["settled"] == before["settled"] + 1
    assert after["disputes"] == before["disputes"] + 1
    page.goto(f"{url}/?unit={village}&apps=law,base&charts=1")
    page.get_by_text("调解成功率").first.wait_for(timeout=90_000)
    page.get_by_text("诉前化解率").first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "law.png"), full_page=True)
    assert outside == []
    page.close()


def test_a_dispute_not_settled_is_guided_to_court(browser, law_server):
    url, engine = law_server
    village, _ = _village(engine)
    outside: list[str] = []
    code = _apply_on_phone(browser, url, village, outside)
    page = signed_page(browser, url, "t-official", viewport={"width": 1400, "height": 1100})
    page.goto(f"{url}/?page=law")
    page.get_by_text(code).first.wait_for(timeout=90_000)
    _press(page, "受理")
    _done(page, f"{code} 已受理")
    page.get_by_text("调解不成或撤回").first.click()
    page.get_by_label("说明").first.fill("对方拒绝调解")
    _press(page, "诉讼引导并移交")
    _done(page, f"{code} 已诉讼引导并移交")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, handed_to, event_id FROM disputes "
                                   "WHERE code = :c"), {"c": code}).one()
        event = conn.execute(sa.text("SELECT status FROM events WHERE id = :e"),
                             {"e": row.event_id}).scalar()
    assert row.status == "litigation" and row.handed_to == "桐乡市人民法院"
    assert event == "resolved" and outside == []
    page.close()
