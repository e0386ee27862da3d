"""Micro-grid workrooms (微网格工作室): where a micro-grid's leader meets the households of
the micro-grids the room serves (the seed counts 436 in Tongxiang). Public places: name,
opening hours, and the micro-grids they serve."""

from __future__ import annotations

from twin.catalog.model import CELLS, Columns, Element, ExportSpec, OgcSpec, Prop, TileSpec, cols
from twin.catalog.units import CODE, NAME

_SERVES = Prop("serves", "array_to_string(t.serves, ',')")

WORKROOMS = Element(
    name="workrooms", table="workrooms", kind="geography", sample="workrooms",
    columns=Columns(public=("id", "code", "name", "opening_hours", "serves", "geom",
                            *CELLS)),
    tiles=(TileSpec(
        name="workrooms", title_zh="微网格工作室", title_en="Micro-grid workrooms",
        minzoom=10, maxzoom=16, properties=cols("id", "code", "name", "opening_hours"),
        geometry_type="Point"),),
    ogc=(OgcSpec(
        id="workrooms", title="微网格工作室",
        description="Micro-grid workrooms: opening hours and the micro-grids they serve.",
        properties=(*cols("code", "name", "opening_hours"), _SERVES),
        filters={"code": "t.code = :v"}),),
    export=ExportSpec(name="workrooms",
                      properties=(*cols("code", "name", "opening_hours"), _SERVES)),
    load=("id", "code", "name", "opening_hours", "serves", "geom"),
    aliases={"code": CODE, "name": NAME,
             "opening_hours": ("opening_hours", "开放时间", "服务时间", "办公时间"),
             "serves": ("serves", "服务微网格", "联系微网格", "微网格")},
)
