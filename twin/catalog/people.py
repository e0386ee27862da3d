"""People (人): households (the fifth level), residents, and residents as counts — the only
form in which they leave the twin by a public path."""

from __future__ import annotations

from twin.catalog.model import (
    CELLS,
    COUNT,
    Columns,
    Element,
    ExportSpec,
    OgcSpec,
    Prop,
    TileSpec,
    cols,
    unit_count,
)
from twin.catalog.party import VISIT_RECENCY
from twin.domain.access import counted

_HOUSEHOLD = ("household", "household_code", "户编码", "户号", "户籍编号", "家庭编号")

HOUSEHOLDS = Element(
    name="households", table="households", kind="households", sample="households",
    # an address and a register number point at the people living there: their own kind,
    # seen only inside a scoped account's units
    columns=Columns(public=("id", "code", "building_id", "address", "geom", *CELLS)),
    tiles=(VISIT_RECENCY,),
    ogc=(OgcSpec(
        id="households", title="住户", description="Households (address and building; no "
                                                   "residents).",
        properties=(*cols("code", "address"),
                    Prop("building_code", "(SELECT b.code FROM buildings b WHERE "
                                          "b.town_id = t.town_id AND b.id = t.building_id)")),
        filters={"code": "t.code = :v"}),),
    load=("id", "code", "building_id", "address", "geom"),
    aliases={"household": _HOUSEHOLD,
             "building": ("building", "building_code", "建筑编码", "房屋编码", "楼栋编码"),
             "address": ("address", "地址", "住址", "门牌地址", "户籍地址")},
)

PEOPLE = Element(
    name="people", table="people", kind="residents", sample="people",
    # a person's data, every column of it: only the audited path of twin.domain.buildings
    columns=Columns(public=("id", *CELLS),
                    personal=("household_id", "name", "sex", "birth_date", "relation", "tags",
                              "id_hash", "id_masked", "phone_hash", "phone_masked")),
    load=("id", "household_id", "name", "sex", "birth_date", "relation", "tags", "id_hash",
          "id_masked", "phone_hash", "phone_masked"),
    aliases={"household": _HOUSEHOLD, "person_name": ("name", "姓名"),
             "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码", "证件号码"),
             "phone": ("phone", "手机号", "手机号码", "联系电话", "电话"),
             "sex": ("sex", "性别"), "birth_date": ("birth_date", "出生日期", "出生年月"),
             "relation": ("relation", "与户主关系", "关系"),
             "tags": ("tags", "标签", "人员类别", "人群标签")},
)


def _count(name: str, expr: str, complement: str | None = None) -> Prop:
    """A count of people, null below twin.domain.access.MIN_COUNT ("fewer than five")."""
    return Prop(name, counted(expr, complement=complement), COUNT)


# Residents per building: the tile and the export count them live.
_PER_BUILDING = """buildings t CROSS JOIN LATERAL (
            SELECT count(*) AS residents,
                   count(*) FILTER (WHERE p.tags @> '{elderly}') AS elderly
              FROM households h
              JOIN people p ON p.town_id = h.town_id AND p.household_id = h.id
             WHERE h.town_id = t.town_id AND h.building_id = t.id) r"""

RESIDENTS = Element(
    name="residents", table="buildings", kind="resident_counts", layer="people",
    # the aggregate-only form of people: a carrier (a building, a micro-grid) and counts
    columns=Columns(public=("id", "code", "name")),
    tiles=(TileSpec(
        # Residents only as counts per building: never a person in a tile, and a count
        # below twin.domain.access.MIN_COUNT is null ("fewer than five").
        name="residents", title_zh="居民（按房屋汇总）", title_en="Residents per building",
        source=_PER_BUILDING, where="r.residents > 0", minzoom=14, maxzoom=16,
        versions=("people", "households", "buildings"),
        properties=(Prop("building_id", "t.id"), _count("residents", "r.residents"),
                    _count("elderly", "r.elderly", complement="r.residents"))),),
    ogc=(OgcSpec(
        id="residents", title="人口统计（微网格）",
        description="Residents as aggregates per micro-grid only: counts, never a person; "
                    "a count below five is null.",
        table="units", where="t.level = 'microgrid'", cells=False,
        properties=(*cols("code", "name"), _count("residents", unit_count("residents")),
                    _count("households", unit_count("households")),
                    _count("elderly", unit_count("elderly"),
                           complement=unit_count("residents"))),
        filters={"code": "t.code = :v"}),),
    export=ExportSpec(
        # how many live in each building, never who, and a count below five left empty
        name="residents", group_by=" GROUP BY t.town_id, t.id",
        source="buildings t JOIN households h ON h.town_id = t.town_id AND h.building_id = t.id "
               "JOIN people p ON p.town_id = h.town_id AND p.household_id = h.id",
        properties=(Prop("building", "t.code"), _count("residents", "count(p.id)"))),
)
