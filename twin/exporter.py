"""Exporting layers of the twin to the files GIS departments and web maps use.

WGS84 by default, any EPSG CRS on request, or GCJ-02/BD-09 for Chinese web maps.
Residents leave only as counts per building: no person is ever exported.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geodata.chinacrs import transform_geometries
from twin.access import Principal, audit, counted, in_scope, may, row_filter
from twin.errors import TwinError
from twin.units import in_unit

# Layer → the SELECT behind it (identifiers only from here); the alias of the table is t.
LAYERS = {
    "units": "SELECT t.code, t.name, t.level, p.code AS parent, round(t.area_m2) AS area_m2, "
             "t.geom FROM units t LEFT JOIN units p ON p.id = t.parent_id",
    "buildings": "SELECT t.code, t.use, t.floors, t.height_m, t.year_built, t.geom "
                 "FROM buildings t",
    "facilities": "SELECT t.id, t.kind, t.name, t.geom FROM facilities t",
    "land": "SELECT t.code, t.use_class, round(t.area_m2) AS area_m2, t.geom "
            "FROM land_parcels t",
    "events": "SELECT t.code, t.category, t.status, t.owner_level, t.reported_at, "
              "t.resolved_at, t.geom FROM events t",
    "stations": "SELECT t.code, t.kind, t.name, t.geom FROM stations t",
    # residents only aggregated: how many live in each building, never who, and a count
    # below five is left empty ("fewer than five": twin.access.MIN_COUNT)
    "residents": f"SELECT t.code AS building, {counted('count(p.id)')} AS residents, "  # noqa: S608
                 "t.geom FROM buildings t JOIN households h ON h.building_id = t.id "
                 "JOIN people p ON p.household_id = h.id",
}
GROUP_BY = {"residents": " GROUP BY t.id"}
# what twin.access calls each layer's rows (the rest is geography)
KINDS = {"events": "events", "residents": "resident_counts"}
FORMATS = {"geojson": "GeoJSON", "gpkg": "GPKG", "csv": "CSV", "shp": "ESRI Shapefile"}


class ExportError(TwinError):
    """An export that cannot be made, with the reason."""


def export_layer(engine: Engine, layer: str, output: str | Path, fmt: str = "geojson",
                 unit: dict | None = None, crs: str = "EPSG:4326", *,
                 principal: Principal) -> int:
    """Write ``layer`` (inside ``unit`` if given) to ``output`` for ``principal`` (roles
    that export; an official only inside their own units); returns features written. Every
    export is written to the audit log."""
    if not may(principal, "export"):
        raise ExportError(f"role {principal.role} may not export")
    if principal.scope:
        with engine.connect() as conn:
            if unit is None or not in_scope(conn, principal, unit["id"]):
                raise ExportError("an export of a scoped account must name one of its units "
                                  f"({', '.join(principal.scope)}) or a unit inside them")
    if layer not in LAYERS:
        raise ExportError(f"unknown layer {layer!r}: one of {', '.join(LAYERS)}")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    where = (in_unit(unit, "t") if layer != "units" else
             "(t.id = :unit OR t.town_id = :unit OR t.village_id = :unit OR t.grid_id = :unit)"
             if unit else "true")
    visible, scope = row_filter(principal, KINDS.get(layer, "geography"))
    sql = (f"{LAYERS[layer]} WHERE {where} AND {visible}"  # noqa: S608 - constants
           f"{GROUP_BY.get(layer, '')}")
    with engine.begin() as conn:
        frame = gpd.read_postgis(sa.text(sql), conn, geom_col="geom",
                                 params={"unit": unit["id"] if unit else None, **scope})
        audit(conn, principal, "export", f"layer:{layer}",
              unit_code=unit["code"] if unit else None,
              detail={"features": len(frame), "format": fmt, "crs": crs})
    target = crs.lower()
    if target in ("gcj02", "bd09"):
        frame = frame.set_geometry(gpd.GeoSeries(
            transform_geometries(frame.geometry.to_numpy(), "wgs84", target),
            index=frame.index, crs="EPSG:4326"))
    elif target not in ("epsg:4326", "wgs84"):
        try:
            frame = frame.to_crs(crs)
        except Exception as exc:  # noqa: BLE001 - pyproj raises several kinds
            raise ExportError(f"unknown CRS {crs!r} ({exc})") from None
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    options = {"GEOMETRY": "AS_WKT"} if fmt == "csv" else {}
    encoding = "UTF-8" if fmt in ("shp", "csv") else None
    pyogrio.write_dataframe(frame, output, driver=FORMATS[fmt], encoding=encoding,
                            layer_options=options or None)
    if fmt == "shp":  # say the encoding, so GIS software reads the Chinese names right
        output.with_suffix(".cpg").write_text("UTF-8")
    return len(frame)
