"""Units of the five-level grid as map data."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain.access import counted

LEVELS = ("town", "village", "grid", "microgrid")  # top-down: the one list of the levels
# (the fifth, the household, is not a unit)
# Simplification tolerance in degrees per level (≈ 20 m, 10 m, 5 m, 2 m).
_TOLERANCE = {"town": 2e-4, "village": 1e-4, "grid": 5e-5, "microgrid": 2e-5}

_UNITS = sa.text(f"""
    SELECT jsonb_build_object(
        'type', 'FeatureCollection',
        'bbox', jsonb_build_array(ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)),
                                  ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom))),
        'features', coalesce(jsonb_agg(jsonb_build_object(
            'type', 'Feature',
            'id', id,
            'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6)::jsonb,
            'properties', jsonb_build_object('id', id, 'code', code, 'name', name,
                                             'level', level, 'area_km2',
                                             round((area_m2 / 1e6)::numeric, 2),
                                             'residents', {counted('coalesce(c.residents, 0)')},
                                             'events_open', coalesce(c.events_open, 0))
        ) ORDER BY code), '[]'::jsonb))
      FROM units
      LEFT JOIN LATERAL (  -- counters kept by triggers: counts only, never a person
          SELECT sum(value) FILTER (WHERE measure = 'residents')::bigint AS residents,
                 sum(value) FILTER (WHERE measure = 'events_open')::bigint AS events_open
            FROM unit_counts WHERE unit_id = units.id) c ON true
     WHERE level = :level
       AND (CAST(:parent AS bigint) IS NULL OR parent_id = :parent)
""")  # noqa: S608 - the only interpolation is twin.domain.access.counted


def units_geojson(engine: Engine, level: str, parent_id: int | None = None) -> dict[str, Any]:
    """The units of one level (only the children of ``parent_id`` if given) as a GeoJSON
    FeatureCollection (EPSG:4326, simplified for display)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
    with engine.connect() as conn:
        data = conn.execute(_UNITS, {"level": level, "tol": _TOLERANCE[level],
                                     "parent": parent_id}).scalar()
    return data if isinstance(data, dict) else json.loads(data)


# Unit level → the cell column of element rows that holds it (identifiers only from here).
CELL_COLUMNS = {"town": "town_id", "village": "village_id", "grid": "grid_id",
                "microgrid": "microgrid_id"}


def in_unit(unit: dict[str, Any] | None, alias: str) -> str:
    """A SQL condition keeping the rows of ``alias`` inside ``unit`` (bind ``:unit`` to its
    id); always true for the county (``None``)."""
    if unit is None:
        return "true"
    return f"{alias}.{CELL_COLUMNS[unit['level']]} = :unit"


# Element tables that a map click may land on (identifiers only from here).
ELEMENT_TABLES = ("events", "stations", "facilities", "organizations", "land_parcels",
                  "buildings", "routes", "households")


def unit_of_element(engine: Engine, table: str, element_id: int, level: str) -> str | None:
    """The code of the unit of ``level`` that holds an element (a clicked event, station …),
    None when there is no such element."""
    if table not in ELEMENT_TABLES:
        raise ValueError(f"unknown element table {table!r}")
    sql = (f"SELECT u.code FROM {table} e JOIN units u ON u.id = e.{CELL_COLUMNS[level]} "  # noqa: S608 - whitelisted
           "WHERE e.id = :id")
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), {"id": element_id}).scalar()


def child_level(level: str | None) -> str | None:
    """The level below ``level`` (None = the county, whose children are towns)."""
    if level is None:
        return LEVELS[0]
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


# A unit and its ancestors from its own ancestry columns (one town: one shard on Citus,
# where a recursive walk up the parents is not planned)
_PATH = sa.text(f"""
    SELECT a.id, a.parent_id, a.level, a.code, a.name
      FROM units u
      JOIN units a ON a.town_id = u.town_id AND a.id IN (u.id, u.town_id, u.village_id, u.grid_id)
     WHERE u.code = :code
     ORDER BY array_position(ARRAY{list(LEVELS)!r}, a.level)
""")  # noqa: S608 - the levels are code


def unit_path(engine: Engine, code: str | None) -> list[dict[str, Any]]:
    """The unit with this code and its ancestors, town first ([] for the county or an
    unknown code)."""
    if not code:
        return []
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(_PATH, {"code": code}).mappings()]
