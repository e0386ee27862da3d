"""三治积分 and volunteers: the points standard, the households' ledger and balances, the
shops, credit levels, and volunteer activities.

A household's points, entries and credit level are household data: they leave only through
``twin.domain.points`` to those who see the household (a scoped official or grid worker).
The map gets facts about places: per micro-grid, how many households hold points, their
median earned and the share with a credit level, each published only from five households
(k = 5); and where and when volunteer teams served.
"""

from __future__ import annotations

from twin.catalog.model import CELLS, COUNT, Columns, Element, Prop, TileSpec, cols
from twin.catalog.units import UNITS, VILLAGE
from twin.domain.access import counted

_SCORED = ("(SELECT count(*) FROM household_points p "
           "WHERE p.town_id = t.town_id AND p.microgrid_id = t.id)")
_CREDITED = ("(SELECT count(*) FROM household_credit c "
             "WHERE c.town_id = t.town_id AND c.microgrid_id = t.id AND c.level IS NOT NULL)")

POINTS_UNITS = Element(
    name="points_units", table="units", kind="resident_counts", layer="units",
    columns=UNITS.columns,
    tiles=(TileSpec(
        name="points_units", title_zh="三治积分（微网格）", title_en="Points per micro-grid",
        minzoom=12, maxzoom=16, where="t.level = 'microgrid'", versions=("units",),
        simplify={12: 2e-5}, daily=True,  # the ledger grows all day: the tiles follow daily
        properties=(
            *cols("id", "code", "name"),
            Prop("scored", counted(_SCORED), COUNT),
            Prop("median_earned", f"""CASE WHEN {_SCORED} >= 5 THEN (
                SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY p.earned)
                  FROM household_points p
                 WHERE p.town_id = t.town_id AND p.microgrid_id = t.id) END"""),
            Prop("credit_pct", f"""CASE WHEN {_SCORED} >= 5 AND {counted(_CREDITED,
                complement=_SCORED)} IS NOT NULL THEN round(100.0 * {_CREDITED}
                / {_SCORED})::int END""", COUNT),
        )),),
)

POINTS_RULES = Element(  # the published standard (积分评定标准), versioned by twin.domain.points
    name="points_rules", table="points_rules", kind="geography",
    columns=Columns(public=("code", "version", "board", "name_zh", "name_en", "points", "per",
                            "evidence", "valid_from", "valid_to"), internal=("changed_by",)),
    aliases={"rule_code": ("code", "编码", "标准编码", "事项编码", "积分编码"),
             "rule_name": ("name_zh", "积分事项", "评分事项", "行为", "事项", "内容"),
             "rule_name_en": ("name_en", "英文名称"),
             "board": ("board", "类别", "所属板块", "板块", "所属"),
             "rule_points": ("points", "分值", "积分", "分数", "加减分"),
             "per": ("per", "计分方式", "计分单位", "单位"),
             "evidence": ("evidence", "佐证", "佐证材料", "证明材料", "认定依据")},
)

SHOP_ITEMS = Element(  # 积分超市: each village's items
    name="shop_items", table="shop_items", kind="geography",
    columns=Columns(public=("town_id", "id", "unit_id", "name", "cost", "stock", "active")),
    aliases={"unit": VILLAGE,
             "item_name": ("name", "商品名称", "物品名称", "兑换物品", "名称", "商品"),
             "cost": ("cost", "所需积分", "兑换积分", "积分", "分值"),
             "stock": ("stock", "库存", "数量", "库存数量")},
)

POINTS_LEDGER = Element(
    name="points_ledger", table="points_ledger", kind="households",
    columns=Columns(public=("id", "household_id", "rule_code", "rule_version", "points",
                            "source", "source_ref", "at", *CELLS),
                    text=("reason",), internal=("approver", "actor", "client_key")),
)

HOUSEHOLD_POINTS = Element(
    name="household_points", table="household_points", kind="households",
    columns=Columns(public=("household_id", "balance", "earned", "entries", "last_at",
                            *CELLS)),
)

HOUSEHOLD_CREDIT = Element(
    name="household_credit", table="household_credit", kind="households",
    columns=Columns(public=("household_id", "level", "earned", "levels_version",
                            "computed_at", *CELLS)),
)

VOLUNTEER_ACTIVITIES = Element(
    name="volunteer_activities", table="volunteer_activities", kind="geography",
    columns=Columns(public=("id", "organization_id", "title", "starts_at", "hours", "geom",
                            *CELLS)),
    tiles=(TileSpec(
        name="volunteer_activities", title_zh="志愿服务活动", title_en="Volunteer activities",
        minzoom=10, maxzoom=16, geometry_type="Point", order="t.starts_at DESC, t.id",
        properties=(*cols("id", "title"), Prop("hours", "t.hours::float"),
                    Prop("at", "extract(epoch FROM t.starts_at)::bigint"))),),
)

VOLUNTEER_HOURS = Element(
    name="volunteer_hours", table="volunteer_hours", kind="residents",
    columns=Columns(public=("town_id", "activity_id", "hours"), personal=("person_id",)),
)
