"""Registers imported from the spreadsheets counties really keep: households, residents
(ID and phone numbers only as hash plus mask, never quoted in a message), monitoring
readings in long and wide form through the warning evaluation, and a hotline export of
events with its history."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from geodata.vector import VectorError
from twin.domain.pii import PiiKey, id_check_digit, mask_id
from twin.ingest.importer import ImportError_, import_file
from twin.runtime.cli import main
from twin.sample.people import id_numbers


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("registers")


def _one(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def _count(engine, table):
    return _one(engine, f"SELECT count(*) FROM {table}")[0]  # noqa: S608 - test tables


def _id(birth: str, seq: str) -> str:
    first = f"330483{birth}{seq}"
    return first + id_check_digit(first)


def test_households_by_building_code_or_by_coordinates(engine, village_sample, tmp_path):
    b = village_sample.buildings.iloc[:3]
    p = b.geometry.iloc[2].representative_point()
    path = tmp_path / "户籍登记.csv"
    path.write_bytes(("户编码,地址,建筑编码,经度,纬度\n"
                      f"H-NEW-1,乌镇镇新户1号,{b.code.iloc[0]},,\n"
                      f"H-NEW-2,乌镇镇新户2号,{b.code.iloc[1]},,\n"
                      f"H-NEW-3,乌镇镇新户3号,,{p.x},{p.y}\n").encode("gbk"))
    # coordinates partly empty: read as a table, placed by building or coordinates
    with pytest.raises(VectorError, match=r"row 2: 经度/纬度 is not a number"):
        import_file(engine, path, "households")
    path.write_bytes(("户编码,地址,建筑编码\n"
                      f"H-NEW-1,乌镇镇新户1号,{b.code.iloc[0]}\n"
                      f"H-NEW-2,乌镇镇新户2号,{b.code.iloc[1]}\n").encode("gbk"))
    before = _count(engine, "households")
    report = import_file(engine, path, "households")
    assert (report.read, report.written) == (2, 2)
    got = _one(engine, "SELECT h.address, b.code, ST_Covers(b.geom, h.geom) FROM households h "
                       "JOIN buildings b ON b.id = h.building_id WHERE h.code = 'H-NEW-2'")
    assert tuple(got) == ("乌镇镇新户2号", b.code.iloc[1], True)
    placed = tmp_path / "placed.csv"
    placed.write_text(f"户号,住址,经度,纬度\nH-NEW-3,乌镇镇新户3号,{p.x},{p.y}\n",
                      encoding="utf-8")
    report = import_file(engine, placed, "households")
    assert any("1 of 1 households placed by coordinates" in n for n in report.notes)
    assert _one(engine, "SELECT b.code FROM households h JOIN buildings b ON "
                        "b.id = h.building_id WHERE h.code = 'H-NEW-3'")[0] == b.code.iloc[2]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("户编码,建筑编码\nH-NEW-4,B-NOWHERE\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: no building with code 'B-NOWHERE'"):
        import_file(engine, unknown, "households")
    assert _count(engine, "households") == before + 3


def test_residents_keep_only_hash_and_mask_and_no_message_quotes_them(
        engine, village_sample, pii_key, tmp_path):
    household = village_sample.households.code.iloc[0]
    ids = [_id("19800512", "123"), _id("20150301", "044"), _id("19551130", "005")]
    path = tmp_path / "人口登记.xlsx"
    pd.DataFrame({"户编码": [household] * 3, "姓名": ["沈建国", "沈小雨", "钱阿婆"],
                  "公民身份号码": ids, "手机号码": ["+86 138-0571-2345", "", "13905731234"],
                  "与户主关系": ["户主", "子女", "父母"], "人员类别": ["党员", "留守儿童", "老年人、低保"],
                  }).to_excel(path, index=False)
    before = _count(engine, "people")
    report = import_file(engine, path, "people", pii_key=pii_key)
    assert report.written == 3 and _count(engine, "people") == before + 3
    row = _one(engine, "SELECT sex, birth_date, tags, id_hash, id_masked, phone_masked "
                       "FROM people WHERE id_hash = :h", h=pii_key.digest("id", ids[0]))
    assert row.sex == "F" if int(ids[0][16]) % 2 == 0 else "M"
    assert str(row.birth_date) == "1980-05-12" and row.tags == ["party_member"]
    assert row.id_masked == mask_id(ids[0]) and row.phone_masked == "138****2345"
    elder = _one(engine, "SELECT tags, phone_hash FROM people WHERE id_hash = :h",
                 h=pii_key.digest("id", ids[2]))
    assert elder.tags == ["elderly", "low_income"]
    assert elder.phone_hash == pii_key.digest("phone", "13905731234")
    # the plain numbers are nowhere in the table
    with engine.connect() as conn:
        dump = conn.execute(sa.text("SELECT string_agg(p::text, '|') FROM people p")).scalar()
    assert not any(i in dump for i in ids) and "13905731234" not in dump
    # the same register again: everyone is already there
    again = import_file(engine, path, "people", pii_key=pii_key)
    assert again.written == 0 and any("3 resident(s) already in the twin" in n
                                      for n in again.notes)
    # a wrong check digit: the row and the field, never the number or the name
    bad_id = ids[0][:17] + ("0" if ids[0][17] != "0" else "1")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"户编码,姓名,身份证号\n{household},沈一,{_id('19900101', '011')}\n"
                   f"{household},沈二,{bad_id}\n", encoding="utf-8")
    with pytest.raises(ImportError_) as err:
        import_file(engine, bad, "people", pii_key=pii_key)
    assert "row 3: field 身份证号: resident ID number has a wrong check digit" in str(err.value)
    assert bad_id not in str(err.value) and "沈二" not in str(err.value)
    assert _count(engine, "people") == before + 3


def test_residents_through_the_command_line_print_nothing_personal(engine, settings,
                                                                   village_sample, tmp_path):
    import numpy as np

    household = village_sample.households.code.iloc[1]
    ids = id_numbers(np.random.default_rng(3), np.array(["1970-01-02", "1972-03-04"],
                                                        dtype="datetime64[D]"),
                     np.array([True, False]))
    path = tmp_path / "people.csv"
    path.write_text(f"户编码,姓名,身份证号,联系电话\n{household},褚大明,{ids[0]},13800001111\n"
                    f"{household},褚小红,{ids[1]},\n", encoding="utf-8")
    cfg = settings.model_copy(update={
        "database_url": engine.url.render_as_string(hide_password=False)})
    out = CliRunner().invoke(main, ["import", str(path), "--as", "people"],
                             obj={"settings": cfg})
    assert out.exit_code == 0, out.output
    assert "written 2 people" in out.output
    assert not any(s in out.output for s in (*ids, "褚大明", "13800001111"))


def test_readings_wide_and_long_go_through_the_warnings(engine, village_sample, tmp_path):
    air = village_sample.stations[village_sample.stations.kind == "air"].iloc[0]
    water = village_sample.stations[village_sample.stations.kind == "water"].iloc[0]
    wide = tmp_path / "空气质量小时数据.csv"
    wide.write_bytes(("站点名称,监测时间,PM2.5(微克/立方米),PM10(微克/立方米),O3,AQI\n"
                      f"{air['name']},2030-01-01 08:00,35,60,—,50\n"
                      f"{air['name']},2030-01-01 09:00,41,,80,57\n").encode("gbk"))
    report = import_file(engine, wide, "observations")
    assert (report.read, report.rejected, report.written) == (6, 2, 4)
    assert any("AQI" in n and "not imported" in n for n in report.notes)
    assert any("2 empty reading(s)" in n for n in report.notes)
    t = _one(engine, "SELECT observed_at AT TIME ZONE 'Asia/Shanghai' FROM observations "
                     "WHERE station_id = :s AND parameter = 'pm25' ORDER BY observed_at DESC "
                     "LIMIT 1", s=int(air["id"]))[0]
    assert str(t) == "2030-01-01 09:00:00"  # local time, as the file wrote it
    assert import_file(engine, wide, "observations").written == 0
    long = tmp_path / "水质.csv"
    long.write_text("测站编码,采样时间,监测项目,监测值\n"
                    f"{water['code']},2030-01-02 10:00,氨氮,2.4\n"
                    f"{water['code']},2030-01-02 10:00,溶解氧,6.1\n", encoding="utf-8")
    warnings_before = _count(engine, "warning_episodes")
    report = import_file(engine, long, "observations")
    assert report.written == 2 and any("warnings: 1 opened" in n for n in report.notes)
    assert _count(engine, "warning_episodes") == warnings_before + 1
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"站点编码,时间,氨氮\n{air['code']},2030-01-03 10:00,1.0\n",
                     encoding="utf-8")
    with pytest.raises(ImportError_, match=r"row 2: station .* is a air station and does "
                                           "not measure nh3n"):
        import_file(engine, wrong, "observations")
    text = tmp_path / "text.csv"
    text.write_text(f"站点编码,时间,氨氮\n{water['code']},2030-01-03 10:00,未检出x\n",
                    encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: nh3n reading '未检出x' is not a number"):
        import_file(engine, text, "observations")


def test_a_hotline_export_of_events_with_its_history(engine, village_sample, tmp_path):
    mg = village_sample.units[village_sample.units.level == "microgrid"].geometry.iloc[0]
    x, y = mg.representative_point().x, mg.representative_point().y
    path = tmp_path / "12345工单.csv"
    path.write_bytes((
        "工单号,事件类型,事件标题,事件描述,事件状态,上报时间,办结时间,事件来源,满意度,经度,纬度\n"
        f"GD-1,违章搭建,河边违建,群众反映（电话13812345678）河边搭棚,已办结,"
        f"2026-03-01 09:00,2026-03-02 17:00,12345热线,满意,{x},{y}\n"
        f"GD-2,环境卫生,垃圾未清运,,处置中,2026-03-05 08:30,,网格员巡查,,{x},{y}\n"
    ).encode("gbk"))
    before = _count(engine, "events")
    report = import_file(engine, path, "events")
    assert report.written == 2 and _count(engine, "events") == before + 2
    done = _one(engine, "SELECT category, status, source, satisfaction, description, "
                        "resolved_at AT TIME ZONE 'Asia/Shanghai' AS r, deadline_at, id "
                        "FROM events WHERE code = 'GD-1'")
    assert (done.category, done.status, done.source, done.satisfaction) == (
        "illegal_construction", "resolved", "hotline", 4)
    assert "138****5678" in done.description and "13812345678" not in done.description
    assert str(done.r) == "2026-03-02 17:00:00" and done.deadline_at is None
    going = _one(engine, "SELECT category, status, source, deadline_at > now() AS due "
                         "FROM events WHERE code = 'GD-2'")
    assert tuple(going) == ("sanitation", "handling", "inspection", True)
    log = _one(engine, "SELECT string_agg(to_status, ',' ORDER BY at) FROM event_log "
                       "WHERE event_id = :e", e=done.id)[0]
    assert log == "reported,resolved"
    assert import_file(engine, path, "events").written == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("事件类型,事件标题,事件状态,上报时间,经度,纬度\n"
                   f"消防隐患,楼道堆物,已办结,2026-03-01 09:00,{x},{y}\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: a resolved event needs its resolution time"):
        import_file(engine, bad, "events")
    bad.write_text("事件类型,事件标题,上报时间,经度,纬度\n"
                   f"天气,下雨,2026-03-01 09:00,{x},{y}\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: category '天气' is none of the twin's"):
        import_file(engine, bad, "events")
    assert _count(engine, "events") == before + 2


# --- the party board's registers -------------------------------------------------------------
def test_a_leaders_register_relieves_the_old_leader_and_links_the_households(
        engine, village_sample, pii_key, tmp_path):
    people = village_sample.people
    with engine.connect() as conn:
        microgrid, old, homes = conn.execute(sa.text("""
            SELECT m.code, l.id, (SELECT count(*) FROM households h
                                   WHERE h.microgrid_id = m.id)
              FROM microgrid_leaders l JOIN units m ON m.id = l.microgrid_id
             WHERE l.relieved_on IS NULL ORDER BY l.id LIMIT 1""")).one()
        new_person = conn.execute(sa.text(
            "SELECT p.id FROM people p JOIN units m ON m.id = p.microgrid_id "
            "WHERE m.code = :m AND p.id NOT IN (SELECT person_id FROM microgrid_leaders) "
            "ORDER BY p.id LIMIT 1"), {"m": microgrid}).scalar()
    number = people.loc[people["id"] == new_person, "id_number"].iloc[0]
    path = tmp_path / "微网格长名册.csv"
    path.write_text("微网格编码,身份证号,任期开始,任期结束,政治面貌,微信群名称,群成员数\n"
                    f"{microgrid},{number},2026-06-01,2029-05-31,中共党员,邻里一家亲,58\n",
                    encoding="utf-8")
    dry = import_file(engine, path, "microgrid_leaders", pii_key=pii_key, dry_run=True)
    assert dry.written == 1
    assert _one(engine, "SELECT relieved_on FROM microgrid_leaders WHERE id = :i", i=old)[0] \
        is None  # a dry run leaves nothing behind
    report = import_file(engine, path, "microgrid_leaders", pii_key=pii_key)
    assert report.written == 1 and any("relieved" in n for n in report.notes)
    new = _one(engine, "SELECT id, party_member, wechat_members, term_end FROM "
                       "microgrid_leaders WHERE person_id = :p AND relieved_on IS NULL",
               p=new_person)
    assert new.party_member and new.wechat_members == 58 and str(new.term_end) == "2029-05-31"
    assert _one(engine, "SELECT relieved_on FROM microgrid_leaders WHERE id = :i",
                i=old)[0] is not None
    linked = _one(engine, "SELECT count(*) FROM household_links WHERE leader_id = :l",
                  l=new.id)[0]
    assert linked == homes > 0
    # an ID number nobody in the twin has: the row is named, never the number
    stranger = _id("19800101", "999")
    path.write_text(f"微网格编码,身份证号,任期开始\n{microgrid},{stranger},2026-07-01\n",
                    encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: no resident of the twin") as refused:
        import_file(engine, path, "microgrid_leaders", pii_key=pii_key)
    assert stranger not in str(refused.value)
    path.write_text(f"微网格编码,身份证号,任期开始\nNOPE,{number},2026-07-01\n",
                    encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: no micro-grid with code 'NOPE'"):
        import_file(engine, path, "microgrid_leaders", pii_key=pii_key)


def test_a_visits_export_is_credited_to_the_leaders_and_imported_once(engine, tmp_path):
    with engine.connect() as conn:
        code, leader = conn.execute(sa.text(
            "SELECT h.code, k.leader_id FROM household_links k JOIN households h "
            "ON h.id = k.household_id ORDER BY h.id DESC LIMIT 1")).one()
    path = tmp_path / "民情走访.csv"
    path.write_text("户编码,走访时间,走访方式,走访内容\n"
                    f"{code},2026-11-20 19:30,日访夜谈,老人反映电话13812345678打不通\n"
                    f"{code},2026-11-22 10:00,书记来敲门,\n", encoding="utf-8")
    report = import_file(engine, path, "visits")
    assert report.written == 2
    rows = sa.text("SELECT kind, heard, leader_id FROM visits WHERE visitor = :v "
                   "ORDER BY visited_at")
    with engine.connect() as conn:
        got = conn.execute(rows, {"v": f"import:{path.name}"}).all()
    assert [r.kind for r in got] == ["day_night", "knock"]
    assert "13812345678" not in got[0].heard and got[0].leader_id == leader
    again = import_file(engine, path, "visits")
    assert again.written == 0 and any("already in the twin" in n for n in again.notes)
    path.write_text(f"户编码,走访时间,走访方式\n{code},2026-11-23,喝茶\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: the kind of visit '喝茶'"):
        import_file(engine, path, "visits")


def test_a_cadres_register_with_chinese_posts_and_education(engine, village_sample, tmp_path):
    village = village_sample.units[village_sample.units.level == "village"].code.iloc[0]
    path = tmp_path / "村社干部名册.xlsx"
    pd.DataFrame({"村社编码": [village, village], "姓名": ["测试甲乙", "测试丙丁"],
                  "性别": ["男", "女"], "出生年月": ["1988-05", "1996-10"],
                  "职务": ["党委副书记", "后备干部"], "学历": ["大学本科", "硕士研究生"],
                  "政治面貌": ["中共党员", "群众"], "任期开始": ["2026-01-10", ""],
                  "任期结束": ["2031-01-09", ""]}).to_excel(path, index=False)
    report = import_file(engine, path, "cadres")
    assert report.written == 2
    with engine.connect() as conn:
        got = conn.execute(sa.text(
            "SELECT post, education, birth_year, party_member, sex, term_end FROM cadres "
            "WHERE name IN ('测试甲乙', '测试丙丁') ORDER BY post")).all()
    assert [tuple(r)[:5] for r in got] == [("deputy_secretary", "bachelor", 1988, True, "M"),
                                           ("reserve", "master", 1996, False, "F")]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"村社编码,姓名,职务,学历\n{village},测试戊己,保安,本科\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: the post '保安'"):
        import_file(engine, bad, "cadres")


def test_a_points_standard_adds_rules_and_versions_the_changed_ones(engine, tmp_path):
    path = tmp_path / "三治积分评定标准.xlsx"
    pd.DataFrame({"编码": ["moral.filial", "test.tea_party"],
                  "积分事项": ["孝老爱亲", "参加邻里茶话会"], "类别": ["德治", "自治"],
                  "分值": [25, 2], "计分方式": ["每次", "每次"],
                  "佐证材料": ["村评议小组审核", "签到记录"]}).to_excel(path, index=False)
    old = _one(engine, "SELECT version, points FROM points_rules WHERE code = 'moral.filial' "
                       "AND valid_to IS NULL")
    report = import_file(engine, path, "points_rules")
    assert report.written == 2 and any("new version" in n for n in report.notes)
    now = _one(engine, "SELECT version, points, evidence FROM points_rules "
                       "WHERE code = 'moral.filial' AND valid_to IS NULL")
    assert (now.version, now.points, now.evidence) == (old.version + 1, 25, "approval")
    assert _one(engine, "SELECT points, valid_to IS NOT NULL FROM points_rules WHERE code = "
                        "'moral.filial' AND version = :v", v=old.version) == (old.points, True)
    assert _one(engine, "SELECT board, version FROM points_rules WHERE code = "
                        "'test.tea_party'") == ("self", 1)
    again = import_file(engine, path, "points_rules")  # nothing changed: nothing written
    assert again.written == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("编码,积分事项,类别,分值\nx.y,乱扔垃圾,文明,-5\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: the board '文明' is none of 自治"):
        import_file(engine, bad, "points_rules")


def test_a_shop_list_adds_items_and_restocks_the_shop(engine, village_sample, tmp_path):
    village = village_sample.units[village_sample.units.level == "village"].code.iloc[0]
    path = tmp_path / "积分超市商品.csv"
    path.write_text(f"村社编码,商品名称,所需积分,库存\n{village},毛巾,12,300\n"
                    f"{village},测试电饭煲,200,5\n", encoding="utf-8")
    report = import_file(engine, path, "shop_items")
    assert report.written == 2 and any("updated" in n for n in report.notes)
    got = dict((r[0], (r[1], r[2])) for r in sa_rows(engine, """
        SELECT i.name, i.cost, i.stock FROM shop_items i JOIN units v ON v.id = i.unit_id
         WHERE v.code = :v AND i.name IN ('毛巾', '测试电饭煲')""", v=village))
    assert got == {"毛巾": (12, 300), "测试电饭煲": (200, 5)}
    bad = tmp_path / "bad.csv"
    bad.write_text(f"村社编码,商品名称,所需积分,库存\n{village},酱油,十五,3\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: the cost '十五' is not a whole number"):
        import_file(engine, bad, "shop_items")


def test_a_council_roll_makes_the_council_and_its_chair(engine, village_sample, settings,
                                                       tmp_path):
    village = village_sample.units[village_sample.units.level == "village"]
    code = village.code.iloc[0]
    numbers = village_sample.people["id_number"].iloc[:3].tolist()
    path = tmp_path / "乡贤参事会成员名册.xlsx"
    pd.DataFrame({"村社编码": [code] * 3, "组织名称": ["测试乡贤参事会"] * 3,
                  "身份证号": numbers, "职务": ["会长", "成员", "会员"]}).to_excel(
        path, index=False)
    cfg = settings.model_copy(update={
        "database_url": engine.url.render_as_string(hide_password=False)})
    out = CliRunner().invoke(main, ["import", str(path), "--as", "organization_members"],
                             obj={"settings": cfg})  # the command line brings the key
    assert out.exit_code == 0, out.output
    assert "written 3 organization_members" in out.output and "made" in out.output
    assert not any(n in out.output for n in numbers)
    org = _one(engine, "SELECT id, kind, members FROM organizations "
                       "WHERE name = '测试乡贤参事会'")
    assert (org.kind, org.members) == ("worthies_council", 3)
    assert _one(engine, "SELECT count(*) FROM organization_members WHERE organization_id = :o "
                        "AND role = 'chair'", o=org.id)[0] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text(f"村社编码,组织名称,身份证号\n{code},测试乡贤参事会,{_id('19800101', '999')}\n",
                   encoding="utf-8")
    with pytest.raises(ImportError_, match="row 2: no resident of the twin") as caught:
        import_file(engine, bad, "organization_members", pii_key=PiiKey.from_settings(settings))
    assert _id("19800101", "999") not in str(caught.value)


def sa_rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()
