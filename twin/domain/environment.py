"""Readings of the monitoring stations of a unit over a period: daily national grades
(AQI of HJ 633-2012 for air, GB 3838-2002 classes for water), visitor counts and breaches.

The grading itself lives in the database (``twin_iaqi``, ``twin_water_class``), so the map's
tiles and these charts can never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain.summary import LOCAL_TZ
from twin.domain.units import in_unit

AQI_CATEGORIES = ("excellent", "good", "light", "moderate", "heavy", "severe")
WATER_CLASSES = ("I", "II", "III", "IV", "V", "worse_than_V")


def _params(unit: dict[str, Any] | None, start: dt.datetime, end: dt.datetime) -> dict:
    return {"unit": unit["id"] if unit else None, "start": start, "end": end, "tz": LOCAL_TZ}


def daily_grades(engine: Engine, unit: dict[str, Any] | None, start: dt.datetime,
                 end: dt.datetime) -> pd.DataFrame:
    """One row per air or water station and local day in [start, end): ``aqi`` (daily AQI:
    24 h means, O3 by its highest hour) and ``category`` 1–6 for air, ``water_class`` 1–6
    (6 = worse than V) for water."""
    sql = f"""
        WITH d AS (
            SELECT s.id, s.name, s.kind, o.parameter,
                   (o.observed_at AT TIME ZONE :tz)::date AS day,
                   avg(o.value) AS mean, max(o.value) AS peak
              FROM observations o JOIN stations s ON s.town_id = o.town_id AND s.id = o.station_id
             WHERE s.kind IN ('air', 'water') AND {in_unit(unit, 's')}
               AND o.observed_at >= :start AND o.observed_at < :end
             GROUP BY 1, 2, 3, 4, 5)
        SELECT id AS station_id, name AS station, kind, day,
               max(twin_iaqi(parameter, CASE parameter WHEN 'o3' THEN peak ELSE mean END))
                   AS aqi,
               twin_aqi_category(max(twin_iaqi(parameter, CASE parameter WHEN 'o3' THEN peak
                                                                      ELSE mean END)))
                   AS category,
               max(twin_water_class(parameter, mean)) AS water_class
          FROM d GROUP BY 1, 2, 3, 4 ORDER BY day, station
    """  # noqa: S608 - the only interpolation is a column from CELL_COLUMNS
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn, params=_params(unit, start, end))


def daily_visitors(engine: Engine, unit: dict[str, Any] | None, start: dt.datetime,
                   end: dt.datetime) -> pd.DataFrame:
    """Visitors counted per local day and counter in [start, end)."""
    sql = f"""
        SELECT s.name AS station, (o.observed_at AT TIME ZONE :tz)::date AS day,
               sum(o.value)::bigint AS visitors
          FROM observations o JOIN stations s ON s.town_id = o.town_id AND s.id = o.station_id
         WHERE s.kind = 'visitors' AND o.parameter = 'visitors' AND {in_unit(unit, 's')}
           AND o.observed_at >= :start AND o.observed_at < :end
         GROUP BY 1, 2 ORDER BY 2, 1
    """  # noqa: S608 - the only interpolation is a column from CELL_COLUMNS
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn, params=_params(unit, start, end))


def breaches(engine: Engine, unit: dict[str, Any] | None, start: dt.datetime,
             end: dt.datetime, limit: int = 200) -> pd.DataFrame:
    """Readings beyond their warning limits in [start, end), one row per station, parameter
    and local day: hours in breach, the worst value and the limit. Latest days first."""
    sql = f"""
        SELECT (o.observed_at AT TIME ZONE :tz)::date AS day, s.name AS station,
               p.code AS parameter, p.name_zh, p.name_en, p.unit,
               count(*) AS hours,
               CASE WHEN p.warn_above IS NOT NULL THEN max(o.value) ELSE min(o.value) END
                   AS worst,
               coalesce(p.warn_above, p.warn_below) AS limit_value
          FROM observations o
          JOIN stations s ON s.town_id = o.town_id AND s.id = o.station_id
          JOIN parameters p ON p.code = o.parameter
         WHERE (o.value > p.warn_above OR o.value < p.warn_below) AND {in_unit(unit, 's')}
           AND o.observed_at >= :start AND o.observed_at < :end
         GROUP BY 1, 2, 3, 4, 5, 6, p.warn_above, p.warn_below
         ORDER BY day DESC, hours DESC, station, parameter
         LIMIT :limit
    """  # noqa: S608 - the only interpolation is a column from CELL_COLUMNS
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn,
                           params={**_params(unit, start, end), "limit": limit})


def observations_period(engine: Engine) -> tuple[Any, Any] | None:
    """The first and last observation time (None when there are none)."""
    with engine.connect() as conn:
        lo, hi = conn.execute(sa.text(
            "SELECT min(observed_at), max(observed_at) FROM observations")).one()
    return None if lo is None else (lo, hi)
