"""Exporting layers of the twin to the files GIS departments and web maps use; the layers
and what each carries come from the element catalogue (``twin.catalog``).

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
from twin.catalog import BY_NAME, EXPORT_ORDER
from twin.catalog.model import Element
from twin.domain.access import Principal, audit, in_scope, may, row_filter
from twin.domain.units import in_unit
from twin.errors import TwinError
from twin.publish import EXPORT_FORMATS


def _select(element: Element) -> str:
    """The SELECT behind an element's export layer (identifiers only from the catalogue)."""
    spec = element.export
    items = ", ".join([*(p.select_item() for p in spec.properties), "t.geom"])
    return f"SELECT {items} FROM {spec.source or element.table + ' t'}"  # noqa: S608


# Export layer → its element, in the order they are offered.
ELEMENTS: dict[str, Element] = {name: BY_NAME[name] for name in EXPORT_ORDER}
LAYERS = {name: _select(e) for name, e in ELEMENTS.items()}
# the format → its GDAL driver
FORMATS = dict(zip(EXPORT_FORMATS, ("GeoJSON", "GPKG", "CSV", "ESRI Shapefile"), strict=True))


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
    spec = ELEMENTS[layer].export
    where = (spec.unit_where or in_unit(unit, "t")) if unit else "true"
    visible, scope = row_filter(principal, ELEMENTS[layer].kind)
    sql = f"{LAYERS[layer]} WHERE {where} AND {visible}{spec.group_by}"  # noqa: S608
    with engine.begin() as conn:
        frame = gpd.read_postgis(sa.text(sql), conn, geom_col="geom",
                                 params={"unit": unit["id"] if unit else None, **scope})
        audit(conn, principal, "export", f"layer:{layer}",
              unit_code=unit["code"] if unit else None,
              detail={"features": len(frame), "format": fmt, "crs": crs})
    if frame.crs is None:  # no row to read it from: the store's own
        frame = frame.set_crs("EPSG:4326")
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
