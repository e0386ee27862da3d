"""Conditions (情): monitoring stations, their latest readings and alarm state, and the
readings themselves."""

from __future__ import annotations

from twin.catalog.model import (
    CELLS,
    ENVELOPE,
    OBSERVATION_KEY,
    Columns,
    Element,
    ExportSpec,
    OgcSpec,
    Prop,
    TileSpec,
    col,
    cols,
    observation_key,
    utc,
)
from twin.catalog.objects import KIND
from twin.catalog.units import CODE, NAME

# The latest reading of each parameter of the station t, graded (twin_iaqi, GB 3838 class).
_LATEST_READINGS = """stations t LEFT JOIN LATERAL (
            SELECT jsonb_object_agg(l.parameter, l.value)::text AS latest,
                   max(l.observed_at) AS observed_at,
                   bool_or(l.value > p.warn_above OR l.value < p.warn_below) AS alarm,
                   max(twin_iaqi(l.parameter, l.value)) AS aqi,
                   max(twin_water_class(l.parameter, l.value)) AS water_class
              FROM station_latest l JOIN parameters p ON p.code = l.parameter
             WHERE l.town_id = t.town_id AND l.station_id = t.id) r ON true"""
_LATEST = """(SELECT json_agg(json_build_object(
        'parameter', l.parameter, 'name', p.name_zh, 'value', l.value, 'unit', p.unit,
        'observed_at', {at},
        'alarm', coalesce(l.value > p.warn_above, false) OR coalesce(l.value < p.warn_below, false)
    ) ORDER BY l.parameter)
    FROM station_latest l JOIN parameters p ON p.code = l.parameter
    WHERE l.town_id = t.town_id AND l.station_id = t.id)""".format(at=utc("l.observed_at"))
_IN_ALARM = """EXISTS (SELECT 1 FROM station_latest l JOIN parameters p ON p.code = l.parameter
    WHERE l.town_id = t.town_id AND l.station_id = t.id AND (l.value > p.warn_above OR l.value < p.warn_below))"""

STATIONS = Element(
    name="stations", table="stations", kind="geography", sample="stations",
    columns=Columns(public=("id", "code", "kind", "name", "geom", *CELLS)),
    tiles=(TileSpec(
        name="stations", title_zh="监测站", title_en="Monitoring stations", minzoom=6,
        maxzoom=16, source=_LATEST_READINGS, versions=("stations", "observations"),
        properties=(*cols("id", "code", "kind", "name"), col("latest", "r"),
                    Prop("observed_at", "to_char(r.observed_at AT TIME ZONE 'UTC', "
                                        "'YYYY-MM-DD\"T\"HH24:MI\"Z\"')"),
                    Prop("alarm", "coalesce(r.alarm, false)"), col("aqi", "r"),
                    Prop("grade", "twin_grade(t.kind, r.aqi, r.water_class)")),
        geometry_type="Point"),),
    ogc=(OgcSpec(
        id="stations", title="监测站点",
        description="Monitoring stations with their latest readings and alarm state.",
        properties=(*cols("code", "kind", "name"), Prop("in_alarm", _IN_ALARM),
                    Prop("latest", _LATEST)),
        filters={"kind": "t.kind = :v", "code": "t.code = :v"}),),
    export=ExportSpec(name="stations", properties=cols("code", "kind", "name")),
    load=("id", "code", "kind", "name", "geom"),
    aliases={"code": CODE, "name": NAME, "kind": KIND},
)

_STATION = "(SELECT s.geom FROM stations s WHERE s.town_id = t.town_id AND s.id = t.station_id)"
OBSERVATIONS = Element(
    name="observations", table="observations", kind="geography", sample="observations",
    columns=Columns(public=("station_id", "parameter", "observed_at", "value", *CELLS)),
    ogc=(OgcSpec(
        id="observations", title="监测数据",
        description="Observations of the monitoring stations; geometry is the station's "
                    "point.",
        geom=_STATION, cells=False,
        key=OBSERVATION_KEY,
        order="t.station_id, t.parameter, t.observed_at", lookup=observation_key,
        bbox=("t.station_id IN (SELECT s.id FROM stations s WHERE s.geom && "
              f"{ENVELOPE} AND ST_Intersects(s.geom, {ENVELOPE}))"),
        temporal="t.observed_at",
        properties=(Prop("station_code", "(SELECT s.code FROM stations s WHERE "
                                         "s.town_id = t.town_id AND s.id = t.station_id)"),
                    col("parameter"),
                    Prop("unit", "(SELECT p.unit FROM parameters p WHERE p.code = t.parameter)"),
                    Prop("observed_at", utc("t.observed_at")), col("value")),
        filters={"parameter": "t.parameter = :v",
                 "station_code": "t.station_id = (SELECT s.id FROM stations s "
                                 "WHERE s.code = :v)"},
        extent_from="stations t"),),
    load=("station_id", "parameter", "observed_at", "value"),
    aliases={"station": ("station", "station_code", "站点编码", "测站编码", "站点", "站点名称",
                         "测站"),
             "time": ("observed_at", "time", "监测时间", "时间", "日期时间", "采样时间"),
             "parameter": ("parameter", "监测项目", "指标", "监测因子", "因子"),
             "value": ("value", "监测值", "数值", "浓度", "测值")},
)
