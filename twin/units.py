"""Units of the five-level grid as map data."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

LEVELS = ("town", "village", "grid", "microgrid")
# Simplification tolerance in degrees per level (≈ 20 m, 10 m, 5 m, 2 m).
_TOLERANCE = {"town": 2e-4, "village": 1e-4, "grid": 5e-5, "microgrid": 2e-5}

_UNITS = sa.text("""
    SELECT jsonb_build_object(
        'type', 'FeatureCollection',
        'bbox', (SELECT jsonb_build_array(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e))
                   FROM (SELECT ST_Extent(geom) AS e FROM units WHERE level = :level) x),
        'features', coalesce(jsonb_agg(jsonb_build_object(
            'type', 'Feature',
            'id', id,
            'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6)::jsonb,
            'properties', jsonb_build_object('id', id, 'code', code, 'name', name,
                                             'level', level, 'area_km2',
                                             round((area_m2 / 1e6)::numeric, 2))
        ) ORDER BY code), '[]'::jsonb))
      FROM units WHERE level = :level
""")


def units_geojson(engine: Engine, level: str) -> dict[str, Any]:
    """All units of one level as a GeoJSON FeatureCollection (EPSG:4326, simplified)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
    with engine.connect() as conn:
        data = conn.execute(_UNITS, {"level": level, "tol": _TOLERANCE[level]}).scalar()
    return data if isinstance(data, dict) else json.loads(data)
