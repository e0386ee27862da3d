"""Units: town, village, grid and micro-grid — the first four levels of the grid."""

from __future__ import annotations

from twin.catalog.model import Columns, Element, ExportSpec, OgcSpec, Prop, TileSpec, cols
from twin.catalog.model import unit_code as _code

# level → tile layer name, titles, lowest zoom
_LEVEL_NAMES = {"town": ("towns", "镇（街道）", "Towns", 6),
                "village": ("villages", "村（社区）", "Villages", 8),
                "grid": ("grids", "网格", "Grids", 10),
                "microgrid": ("microgrids", "微网格", "Micro-grids", 12)}
_AREA = Prop("area_m2", "round(t.area_m2)")
_PARENT = _code("t.parent_id")
# A unit's code and name as the files of the offices that draw them spell them: the national
# land survey (XZQDM/XZQMC), DataV/Amap boundaries (adcode/name), grid registers.
CODE = ("code", "编码", "编号", "bm", "id")
UNIT_CODE = (*CODE, "xzqdm", "adcode", "代码", "行政区划代码", "区划代码", "网格编码",
             "微网格编码", "单元编码")
NAME = ("name", "名称", "mc", "name:zh")
UNIT_NAME = (*NAME, "xzqmc", "行政区划名称", "区划名称", "网格名称", "微网格名称", "单元名称")
# a unit named in a register (a village or town: cadres, shops, organisations' rolls)
VILLAGE = ("unit", *UNIT_CODE[1:], "村社编码", "所在村社编码")

UNITS = Element(
    name="units", table="units", kind="geography", sample="units",
    columns=Columns(public=("id", "level", "code", "name", "parent_id", "town_id",
                            "village_id", "grid_id", "geom", "area_m2")),
    tiles=tuple(TileSpec(
        name=name, title_zh=zh, title_en=en, minzoom=minzoom, maxzoom=16,
        where=f"t.level = '{level}'", properties=(*cols("id", "code", "name", "level"), _AREA),
        simplify={8: 2e-4, 10: 1e-4, 12: 2e-5}) for level, (name, zh, en, minzoom)
        in _LEVEL_NAMES.items()),
    ogc=tuple(OgcSpec(
        id=f"{level}s", title=zh, description=f"{en}: units of level {level}.",
        where=f"t.level = '{level}'", cells=False,
        properties=(*cols("code", "name", "level"), Prop("parent_code", _PARENT), _AREA),
        filters={"code": "t.code = :v", "parent_code": f"{_PARENT} = :v"})
        for level, (_, zh, en, _) in _LEVEL_NAMES.items()),
    export=ExportSpec(
        name="units",
        source="units t LEFT JOIN units p ON p.town_id = t.town_id AND p.id = t.parent_id",
        properties=(*cols("code", "name", "level"), Prop("parent", "p.code"), _AREA),
        unit_where="(t.id = :unit OR t.town_id = :unit OR t.village_id = :unit "
                   "OR t.grid_id = :unit)"),
    load=("id", "level", "code", "name", "parent_id", "geom"),
    aliases={"code": UNIT_CODE, "name": UNIT_NAME,
             "parent": ("parent", "parent_code", "上级编码", "上级代码", "sjbm")},
)
