"""Objects (物): buildings, facilities and points of interest, tourist routes; and land (地)."""

from __future__ import annotations

from twin.catalog.model import CELLS, Columns, Element, ExportSpec, OgcSpec, Prop, TileSpec, cols
from twin.catalog.units import CODE, NAME

KIND = ("kind", "类型", "类别", "amenity", "lx")

BUILDINGS = Element(
    name="buildings", table="buildings", kind="geography", sample="buildings",
    columns=Columns(public=("id", "code", "use", "floors", "height_m", "year_built", "geom",
                            "footprint_m2", *CELLS),
                    internal=("geom_3857",)),  # geom in Web Mercator, for the tiles only
    tiles=(TileSpec(
        name="buildings", title_zh="房屋", title_en="Buildings", minzoom=12, maxzoom=16,
        # Small, repeated values only: a unique code per feature would double the tile.
        # Rounded to 0.1 m in double precision: through numeric, 9 % of a z13 tile's time.
        properties=(*cols("id", "use", "floors"),
                    Prop("height_m", "round(t.height_m * 10) / 10")),
        order="t.footprint_m2 DESC, t.id", budget={12: 5000, 13: 8000},
        # the densest layer: projected once when written, not in every tile (migration 0019)
        mercator="t.geom_3857"),),
    ogc=(OgcSpec(
        id="buildings", title="建筑", description="Buildings with use, floors and footprint.",
        properties=(*cols("code", "use", "floors", "height_m", "year_built"),
                    Prop("footprint_m2", "round(t.footprint_m2::numeric, 1)")),
        filters={"use": "t.use = :v", "code": "t.code = :v"}),),
    export=ExportSpec(name="buildings",
                      properties=cols("code", "use", "floors", "height_m", "year_built")),
    load=("id", "code", "use", "floors", "height_m", "year_built", "geom"),
    aliases={"code": CODE, "use": ("use", "用途", "building", "yt"),
             "floors": ("floors", "层数", "building:levels", "cs", "levels"),
             "height_m": ("height_m", "height", "高度", "gd"),
             "year_built": ("year_built", "建成年份", "start_date")},
)

LAND = Element(
    name="land", table="land_parcels", kind="geography", layer="land", sample="land",
    columns=Columns(public=("id", "code", "use_class", "geom", "area_m2", *CELLS)),
    tiles=(TileSpec(
        name="land", title_zh="土地", title_en="Land use", minzoom=11, maxzoom=16,
        properties=(*cols("id", "use_class"), Prop("area_m2", "round(t.area_m2)")),
        order="t.area_m2 DESC, t.id", budget={11: 4000, 13: 8000},
        simplify={11: 5e-5, 12: 2e-5, 13: 1e-5}),),
    ogc=(OgcSpec(
        id="land", title="地块", description="Land parcels by use class.",
        properties=(*cols("code", "use_class"),
                    Prop("area_m2", "round(t.area_m2::numeric, 1)")),
        filters={"use_class": "t.use_class = :v", "code": "t.code = :v"}),),
    export=ExportSpec(name="land", properties=(*cols("code", "use_class"),
                                               Prop("area_m2", "round(t.area_m2)"))),
    load=("id", "code", "use_class", "geom"),
    aliases={"code": CODE,
             "use_class": ("use_class", "地类名称", "dlmc", "地类", "用地类型", "landuse",
                           "natural")},
)

FACILITIES = Element(
    name="facilities", table="facilities", kind="geography", sample="facilities",
    # props: the register's other columns, without those about a person (twin.ingest)
    columns=Columns(public=("id", "kind", "name", "props", "geom", *CELLS)),
    tiles=(TileSpec(
        name="facilities", title_zh="设施与兴趣点", title_en="Facilities and POIs",
        minzoom=12, maxzoom=16, properties=cols("id", "kind", "name"), geometry_type="Point"),),
    ogc=(OgcSpec(
        id="facilities", title="设施", description="Public facilities and points of interest.",
        properties=cols("kind", "name", "props"), filters={"kind": "t.kind = :v"}),),
    export=ExportSpec(name="facilities", properties=cols("id", "kind", "name")),
    load=("id", "kind", "name", "props", "geom"),
    aliases={"name": NAME, "kind": KIND},
)

ROUTES = Element(
    name="routes", table="routes", kind="geography", sample="routes",
    columns=Columns(public=("id", "code", "kind", "name", "props", "geom", "length_m",
                            *CELLS)),
    tiles=(TileSpec(
        name="routes", title_zh="游览线路", title_en="Tourist routes", minzoom=10, maxzoom=16,
        properties=(*cols("id", "code", "kind", "name"), Prop("length_m", "round(t.length_m)")),
        geometry_type="LineString"),),
    load=("id", "code", "kind", "name", "props", "geom"),
)
