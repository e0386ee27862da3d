"""Organizations (组织): party branches, village committees, co-operatives, enterprises,
mediation committees, volunteer teams."""

from __future__ import annotations

from twin.catalog.model import CELLS, Columns, Element, OgcSpec, Prop, TileSpec, cols, unit_code
from twin.catalog.objects import KIND
from twin.catalog.units import NAME
from twin.domain.selfgov import COUNCILS

COUNCIL_KINDS = ", ".join(f"'{k}'" for k in COUNCILS)  # literals of the code, for the tile

ORGANIZATIONS = Element(
    name="organizations", table="organizations", kind="geography", sample="organizations",
    columns=Columns(public=("id", "kind", "name", "members", "unit_id", "parent_id", "geom",
                            *CELLS)),
    tiles=(TileSpec(
        name="organizations", title_zh="组织", title_en="Organizations", minzoom=10,
        maxzoom=16, properties=cols("id", "kind", "name", "members"), geometry_type="Point"),
        TileSpec(  # where "两会三团" meet (自治)
            name="councils", title_zh="议事会与服务团", title_en="Councils and groups",
            minzoom=9, maxzoom=16, where=f"t.kind IN ({COUNCIL_KINDS})",
            properties=cols("id", "kind", "name", "members"), geometry_type="Point")),
    ogc=(OgcSpec(
        id="organizations", title="组织", description="Organizations and their home unit.",
        properties=(*cols("kind", "name", "members"), Prop("unit_code", unit_code("t.unit_id")),
                    Prop("parent", "(SELECT p.name FROM organizations p "
                                   "WHERE p.town_id = t.town_id AND p.id = t.parent_id)")),
        filters={"kind": "t.kind = :v"}),),
    load=("id", "kind", "name", "members", "unit_id", "geom"),
    aliases={"name": NAME, "kind": KIND, "members": ("members", "人数", "成员数", "rs")},
)
