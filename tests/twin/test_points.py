"""三治积分: the ledger is append-only and every balance is the sum of its entries, in the
database; concurrent redemptions against scarce stock never overdraw, lose an entry or take
stock below zero; a change of rule or of credit thresholds never rewrites history; volunteer
hours turn into points once; rankings keep to the principal's scope."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from twin.domain import points
from twin.domain.access import Principal

PHONE = "13812345678"


@pytest.fixture(scope="module")
def engine(sample_db):
    engine = sample_db("points")
    points.set_rule(engine, "moral.filial", board="moral", name_zh="孝老爱亲",
                    name_en="Caring for elders", points=20, evidence="record", actor="t-admin")
    points.set_rule(engine, "self.meeting", board="self", name_zh="参加村民议事",
                    name_en="Attending a residents' council", points=5, evidence="record",
                    actor="t-admin")
    points.set_rule(engine, "law.dumping", board="law", name_zh="乱倒垃圾",
                    name_en="Dumping rubbish", points=-10, evidence="photo", actor="t-admin")
    points.set_rule(engine, points.HOUR_RULE, board="self", name_zh="志愿服务（每小时）",
                    name_en="Volunteer service (per hour)", points=2, per="hour",
                    evidence="record", actor="t-admin")
    return engine


def _households(engine, n: int, offset: int = 0) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM households ORDER BY id "
                                         "LIMIT :n OFFSET :o"), {"n": n, "o": offset}).scalars())


def _shop_item(engine, cost: int, stock: int, name: str) -> int:
    """A new item of the first village's shop (the sample stocks the usual ones)."""
    with engine.begin() as conn:
        unit = conn.execute(sa.text("SELECT id FROM units WHERE level = 'village' "
                                    "ORDER BY id LIMIT 1")).scalar()
        return conn.execute(sa.text(
            "INSERT INTO shop_items (town_id, unit_id, name, cost, stock) "
            "SELECT town_id, id, :n, :c, :s FROM units WHERE id = :u "
            "RETURNING id"), {"u": unit, "n": name, "c": cost, "s": stock}).scalar()


def _ledger_fingerprint(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT count(*), coalesce(sum(points), 0), "
            "md5(coalesce(string_agg(id || ':' || points || ':' || coalesce(rule_code, '') "
            "|| ':' || coalesce(rule_version, 0), ',' ORDER BY id), '')) "
            "FROM points_ledger")).one())


def test_a_balance_is_the_sum_of_entries_and_cannot_be_set_or_rewritten(engine):
    home = _households(engine, 1)[0]
    before = points.balance_of(engine, home)
    first = points.award(engine, home, "moral.filial", source="visit", actor="t-field",
                         client_key="filial-1")
    assert points.award(engine, home, "moral.filial", source="visit", actor="t-field",
                        client_key="filial-1") is None  # a retry writes nothing
    points.award(engine, home, "law.dumping", source="report", actor="t-field",
                 source_ref="event:1")
    assert points.balance_of(engine, home) == before + 10
    assert points.ledger_faults(engine) == []
    for sql, why in (("UPDATE points_ledger SET points = 500 WHERE id = :e", "append-only"),
                     ("DELETE FROM points_ledger WHERE id = :e", "append-only"),
                     ("UPDATE household_points SET balance = 999 WHERE household_id = :h",
                      "follows points_ledger"),
                     ("INSERT INTO household_points (household_id, balance, earned, entries, "
                      "last_at, microgrid_id, grid_id, village_id, town_id) SELECT :e + 1, 9, 9, "
                      "1, now(), microgrid_id, grid_id, village_id, town_id FROM households "
                      "WHERE id = :h", "follows points_ledger")):
        with pytest.raises(sa.exc.DBAPIError, match=why), engine.begin() as conn:
            conn.execute(sa.text(sql), {"e": first, "h": home})
    assert points.balance_of(engine, home) == before + 10


def test_a_manual_award_needs_a_reason_and_an_approver_and_is_scrubbed(engine):
    home = _households(engine, 1, offset=1)[0]
    with pytest.raises(points.PointsError, match="reason"):
        points.award(engine, home, "self.meeting", source="manual", actor="t-official")
    entry = points.award(engine, home, "self.meeting", source="manual", actor="t-official",
                         reason=f"主动调解邻里纠纷，电话{PHONE}", approver="村书记")
    with engine.connect() as conn:
        reason = conn.execute(sa.text("SELECT reason FROM points_ledger WHERE id = :e"),
                              {"e": entry}).scalar()
    assert PHONE not in reason and "调解" in reason


def test_concurrent_redemptions_never_overdraw_nor_oversell(engine):
    """1,000 redemptions from 20 threads: 50 households of at least 30 points each, an item
    of 10 points with 60 in stock. Exactly 60 succeed; no balance below zero, stock 0, the
    ledger and balances agree, every refusal is OutOfStock or Overdraft."""
    homes = _households(engine, 50, offset=10)
    for h in homes:
        for i in range(3):  # 3 × 5 = 15, twice = 30
            points.award(engine, h, "self.meeting", source="council", actor="t-official",
                         client_key=f"meet-{h}-{i}")
            points.award(engine, h, "self.meeting", source="council", actor="t-official",
                         client_key=f"meet2-{h}-{i}")
    item = _shop_item(engine, cost=10, stock=60, name="测试洗衣液")
    before = {h: points.balance_of(engine, h) for h in homes}
    assert min(before.values()) >= 30
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for i in range(50):
            home = homes[(k * 7 + i) % len(homes)]
            try:
                points.redeem(engine, home, item, actor="shop", client_key=f"r-{k}-{i}")
                result = "ok"
            except points.OutOfStock:
                result = "stock"
            except points.Overdraft:
                result = "overdraft"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 1000
    assert outcomes.count("ok") == 60
    with engine.connect() as conn:
        stock = conn.execute(sa.text("SELECT stock FROM shop_items WHERE id = :i"),
                             {"i": item}).scalar()
        redeemed = conn.execute(sa.text(
            "SELECT count(*), -sum(points) FROM points_ledger WHERE source_ref = :r"),
            {"r": f"shop:{item}"}).one()
        lowest = conn.execute(sa.text("SELECT min(balance) FROM household_points")).scalar()
    assert stock == 0 and tuple(redeemed) == (60, 600) and lowest >= 0
    assert sum(points.balance_of(engine, h) for h in homes) == sum(before.values()) - 600
    assert points.ledger_faults(engine) == []


def test_a_redemption_over_the_balance_takes_neither_points_nor_stock(engine):
    home = _households(engine, 1, offset=70)[0]
    points.award(engine, home, "self.meeting", source="council", actor="t-official")
    before = points.balance_of(engine, home)
    item = _shop_item(engine, cost=before + 1, stock=3, name="测试电饭煲")
    with pytest.raises(points.Overdraft):
        points.redeem(engine, home, item, actor="shop")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT stock FROM shop_items WHERE id = :i"),
                            {"i": item}).scalar() == 3
    assert points.balance_of(engine, home) == before


def test_a_rule_change_keeps_history_and_new_thresholds_recompute_levels(engine):
    homes = _households(engine, 4, offset=80)
    for n, home in enumerate(homes):  # 1 … 4 more awards: the earned order follows
        for i in range(n + 1 + 3 * n):
            points.award(engine, home, "moral.filial", source="visit", actor="t-field",
                         client_key=f"lvl-{home}-{i}")
    points.recompute_credit(engine)
    ledger = _ledger_fingerprint(engine)
    current = points.current_rules(engine)["moral.filial"].version
    version = points.set_rule(engine, "moral.filial", board="moral", name_zh="孝老爱亲",
                              name_en="Caring for elders", points=30, evidence="record",
                              actor="t-admin")
    assert version == current + 1
    assert _ledger_fingerprint(engine) == ledger  # entries keep the points they were given
    with engine.connect() as conn:
        earned = dict(conn.execute(sa.text(
            "SELECT household_id, earned FROM household_points WHERE household_id = ANY(:h)"),
            {"h": homes}).all())
    order = sorted(homes, key=earned.get)
    cuts = [earned[order[i]] + 1 for i in range(3)]  # between each household and the next
    assert cuts == sorted(set(cuts))
    points.set_credit_levels(engine, dict(zip(points.LEVELS, cuts, strict=True)),
                             actor="t-admin")
    assert _ledger_fingerprint(engine) == ledger
    with engine.connect() as conn:
        levels = dict(conn.execute(sa.text(
            "SELECT household_id, level FROM household_credit WHERE household_id = ANY(:h)"),
            {"h": homes}).all())
        in_force = conn.execute(sa.text(
            "SELECT count(*) FROM credit_levels WHERE valid_to IS NULL")).scalar()
    assert [levels[h] for h in order] == [None, "A", "AA", "AAA"] and in_force == 3
    entry = points.award(engine, homes[0], "moral.filial", source="visit", actor="t-field")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT points, rule_version FROM points_ledger "
                                    "WHERE id = :e"), {"e": entry}).one() == (30, version)
    with pytest.raises(points.PointsError, match="rise"):
        points.set_credit_levels(engine, {"A": 90, "AA": 50, "AAA": 70}, actor="t-admin")


def test_volunteer_hours_turn_into_points_once(engine):
    with engine.begin() as conn:
        team = conn.execute(sa.text("SELECT id, geom FROM organizations ORDER BY id LIMIT 1")
                            ).one()
        conn.execute(sa.text("UPDATE organizations SET kind = 'volunteer_team' WHERE id = :t"),
                     {"t": team.id})
        activity = conn.execute(sa.text(
            "INSERT INTO volunteer_activities (organization_id, title, starts_at, hours, geom) "
            "VALUES (:t, '河道清理', :at, 3, :g) RETURNING id"),
            {"t": team.id, "at": dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC), "g": team.geom}
        ).scalar()
        people = list(conn.execute(sa.text(
            "SELECT id FROM people ORDER BY id LIMIT 3")).scalars())
        for person, hours in zip(people, (3, 2.5, 1), strict=True):
            conn.execute(sa.text(
                "INSERT INTO volunteer_hours (town_id, activity_id, person_id, hours) "
                "SELECT town_id, id, :p, :h FROM volunteer_activities WHERE id = :a"),
                {"a": activity, "p": person, "h": hours})
    first = points.convert_hours(engine, activity, actor="t-official")
    again = [points.convert_hours(engine, activity, actor="t-official") for _ in range(3)]
    with engine.connect() as conn:
        written = conn.execute(sa.text(
            "SELECT count(*), sum(points) FROM points_ledger WHERE source_ref = :r"),
            {"r": f"activity:{activity}"}).one()
    assert first == 3 and again == [0, 0, 0] and tuple(written) == (3, 6 + 5 + 2)
    assert points.ledger_faults(engine) == []


def test_a_ranking_is_for_those_who_see_the_households(engine):
    with engine.connect() as conn:
        village, other = conn.execute(sa.text(
            "SELECT u.code, (SELECT code FROM units WHERE level = 'village' AND code <> u.code "
            "ORDER BY code LIMIT 1) FROM household_points hp JOIN units u ON u.id = "
            "hp.village_id GROUP BY u.code ORDER BY count(*) DESC LIMIT 1")).one()
    official = Principal("official", (village,), "t-official")
    top = points.ranking(engine, official, village)
    assert top and [r["earned"] for r in top] == sorted((r["earned"] for r in top),
                                                         reverse=True)
    assert points.ranking(engine, Principal("official", (other,), "t-other"), village) == []
    assert points.ranking(engine, Principal("planner", (), "t-planner"), village) == []


def test_a_retried_redemption_takes_points_and_stock_once(engine):
    home = _households(engine, 1, offset=90)[0]
    points.award(engine, home, "moral.filial", source="visit", actor="t-field")
    before = points.balance_of(engine, home)
    item = _shop_item(engine, cost=1, stock=5, name="测试肥皂")
    first = points.redeem(engine, home, item, actor="shop", client_key="retry-1")
    again = points.redeem(engine, home, item, actor="shop", client_key="retry-1")
    with engine.connect() as conn:
        stock = conn.execute(sa.text("SELECT stock FROM shop_items WHERE id = :i"),
                             {"i": item}).scalar()
    assert first is not None and again is None
    assert stock == 4 and points.balance_of(engine, home) == before - 1


def test_points_leave_as_aggregates_of_five_or_to_those_who_see_the_households(engine):
    """The micro-grid tile carries counts and medians only, published from five households;
    the wall gets none; a household's own points go to its unit's official or grid worker
    (the ranking), to no one else."""
    import mapbox_vector_tile
    import morecantile

    from twin.publish.tiles import layer, render

    with engine.connect() as conn:
        lon, lat, village, grid = conn.execute(sa.text("""
            SELECT ST_X(ST_PointOnSurface(m.geom)), ST_Y(ST_PointOnSurface(m.geom)),
                   v.code, g.code
              FROM household_points p JOIN units m ON m.id = p.microgrid_id
              JOIN units v ON v.id = p.village_id JOIN units g ON g.id = p.grid_id
             GROUP BY m.id, v.code, g.code ORDER BY count(*) DESC LIMIT 1""")).one()
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)

    def features(principal: Principal) -> list[dict]:
        _, data = render(engine, layer("points_units"), 14, tile.x, tile.y, principal)
        decoded = mapbox_vector_tile.decode(data)
        return [f["properties"] for lyr in decoded.values() for f in lyr["features"]]

    shown = features(Principal("planner", (), "t-planner"))
    assert shown and all(set(p) <= {"id", "code", "name", "scored", "median_earned",
                                    "credit_pct"} for p in shown)
    assert all(p.get("scored") is None or p["scored"] == 0 or p["scored"] >= 5 for p in shown)
    assert any(p.get("median_earned") is not None for p in shown)
    assert features(Principal("screen", (), "t-screen")) == []
    field = Principal("field", (grid,), "t-field")
    assert points.ranking(engine, field, grid)  # the grid worker's own grid
    assert points.ranking(engine, field, village) == [] or all(
        r["household_id"] in {h for h in _households_of_grid(engine, grid)}
        for r in points.ranking(engine, field, village))


def _households_of_grid(engine, grid: str) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT h.id FROM households h JOIN units g ON g.id = h.grid_id WHERE g.code = :g"),
            {"g": grid}).scalars())
