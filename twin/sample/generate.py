"""Sample twin generator: a synthetic but plausible Tongxiang (330483) at three scales.

``generate(scale, seed)`` builds every table of the twin in memory: the unit hierarchy
(town → village → grid → micro-grid, each level tiling its parent exactly), land parcels
tiling each micro-grid, buildings, households, people, organizations, facilities,
monitoring stations with hourly observations, and a year of governance events with their
status logs. Geometry is computed in :data:`~geodata.crs.METRIC_CRS` and returned in
:data:`~geodata.crs.STORAGE_CRS`. Same scale and seed give identical output.

``people.id_number`` and ``people.phone`` are plain only in memory: never write or print
them; the loader hashes and masks them before storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.crs import STORAGE_CRS
from twin.sample import law as law_board
from twin.sample import party as party_board
from twin.sample import points as points_board
from twin.sample import selfgov as selfgov_board
from twin.sample.common import snap_polygons, to_lonlat
from twin.sample.events import build_events
from twin.sample.land import build_land, group_households
from twin.sample.people import build_households, build_people
from twin.sample.things import (
    build_facilities,
    build_observations,
    build_organizations,
    build_routes,
    build_stations,
    build_workrooms,
    choose_public_buildings,
)
from twin.sample.units import build_units

SCALES = ("village", "town", "county")


def default_end() -> dt.datetime:
    """Where a sample's timeline ends unless told: now, to the hour (a demo is lived in)."""
    return dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)


Progress = Callable[[str, int], None]


class SampleError(ValueError):
    """A sample twin cannot be generated as asked (e.g. an unknown scale)."""


@dataclass
class SampleTwin:
    """Every table of a generated sample twin (GeoDataFrames in EPSG:4326)."""

    scale: str
    seed: int
    units: gpd.GeoDataFrame
    land: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    households: gpd.GeoDataFrame
    people: pd.DataFrame
    facilities: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    observations: pd.DataFrame
    events: gpd.GeoDataFrame
    event_log: pd.DataFrame
    organizations: gpd.GeoDataFrame
    workrooms: gpd.GeoDataFrame
    # rows derived in the database from the rows above, in the loader's transaction:
    # (table, SQL) run in order with ``derived_params`` bound (twin.sample.party)
    derived: tuple[tuple[str, str], ...] = ()
    derived_params: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows per table written from frames."""
        return {f.name: len(getattr(self, f.name)) for f in fields(self)
                if f.name not in ("scale", "seed", "derived", "derived_params")}


def _gdf(data: dict | pd.DataFrame, geoms: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(data).reset_index(drop=True),
                            geometry=gpd.GeoSeries(to_lonlat(geoms)), crs=STORAGE_CRS)


def _points(df: pd.DataFrame) -> np.ndarray:
    return shapely.points(df["x"].to_numpy(float), df["y"].to_numpy(float))


def _codes_by_cell(cell_idx: np.ndarray, mg_ids: np.ndarray, mg_code, fmt: str) -> np.ndarray:
    """Codes "<micro-grid code><fmt(n)>", numbering features 1, 2, … within each micro-grid."""
    prefix = np.array([mg_code[i] for i in mg_ids[cell_idx]], dtype=object)
    seq = pd.Series(cell_idx).groupby(cell_idx).cumcount().to_numpy() + 1
    return prefix + pd.Series(seq).map(fmt.format).to_numpy(object)


def generate(scale: str, seed: int = 0, *, days: int = 30, end: dt.datetime | None = None,
             progress: Progress | None = None) -> SampleTwin:
    """Generate the sample twin of Tongxiang at ``scale`` (village, town or county).

    ``days`` of hourly observations end at ``end`` (default: now, to the hour; the same
    seed gives the same rows relative to it);
    events cover the 365 days before ``end``. ``progress(stage, n_done)`` is called
    between and during stages.
    """
    if scale not in SCALES:
        raise SampleError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    if days < 1:
        raise SampleError(f"days must be at least 1, got {days}")
    end = default_end() if end is None else end
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    seed = int(seed)
    report = progress or (lambda stage, n: None)

    units = build_units(scale, seed, report)
    land = build_land(units, seed, report)
    group_households(units, land)  # a micro-grid is a group of households
    unit_df = pd.DataFrame(units.rows)
    report("units", len(unit_df))
    public = choose_public_buildings(units, land, seed)
    hh = build_households(units, land, seed)
    people = build_people(hh, seed, end)
    report("people", len(people))

    emitted = shapely.union_all([t["geometry"] for t in units.towns])
    shapely.prepare(emitted)
    fac = build_facilities(units, land, public, seed, emitted)
    hh_village = hh["village_id"].to_numpy()
    party = pd.Series(
        ["party_member" in t for t in people["tags"]], dtype=bool
    ).groupby(hh_village[people["household_id"].to_numpy() - 1]).sum()
    orgs = build_organizations(units, land, party, seed)
    workrooms = build_workrooms(units, land, seed)
    stations = build_stations(units, land, fac, scale, seed)
    routes, route_lines = build_routes(fac, seed)
    obs = build_observations(stations, days, end, seed)
    report("observations", len(obs))
    events, log = build_events(units, land, seed, end, len(hh), report)
    report("events", len(events))

    mg_code = dict(zip(unit_df["id"], unit_df["code"], strict=True))
    units_gdf = _gdf(
        {
            "id": unit_df["id"].astype(np.int64),
            "level": unit_df["level"],
            "code": unit_df["code"],
            "name": unit_df["name"],
            "parent_id": pd.array(unit_df["parent_id"].tolist(), dtype="Int64"),
        },
        snap_polygons(unit_df["geometry"].to_numpy()),
    )

    parcels = snap_polygons(land.parcel_geom)
    keep = ~shapely.is_empty(parcels)  # a sliver may collapse on the output grid
    land.parcel_geom, land.parcel_class, land.parcel_mg = (
        parcels[keep], land.parcel_class[keep], land.parcel_mg[keep])
    land_gdf = _gdf(
        {
            "id": np.arange(1, len(land.parcel_geom) + 1, dtype=np.int64),
            "code": _codes_by_cell(land.parcel_mg, units.mg_ids, mg_code, "-{:03d}"),
            "use_class": land.parcel_class.astype(object),
        },
        land.parcel_geom,
    )

    buildings_gdf = _gdf(
        {
            "id": np.arange(1, len(land.b_geom) + 1, dtype=np.int64),
            "code": _codes_by_cell(land.b_mg, units.mg_ids, mg_code, "B{:04d}"),
            "use": land.b_use.astype(object),
            "floors": land.b_floors.astype(np.int64),
            "height_m": land.b_height.astype(float),
            "year_built": land.b_year.astype(np.int64),
        },
        shapely.multipolygons(land.b_geom, indices=np.arange(len(land.b_geom))),
    )

    households_gdf = _gdf(
        {
            "id": np.arange(1, len(hh) + 1, dtype=np.int64),
            "code": hh["code"].to_numpy(object),
            "building_id": hh["building_index"].to_numpy(np.int64) + 1,
            "address": hh["address"].to_numpy(object),
        },
        _points(hh),
    )

    facilities_gdf = _gdf(
        {
            "id": np.arange(1, len(fac) + 1, dtype=np.int64),
            "kind": fac["kind"].to_numpy(object),
            "name": fac["name"].to_numpy(object),
            "props": fac["props"].to_numpy(object),
        },
        _points(fac),
    )
    routes_gdf = _gdf(routes, np.array([shapely.linestrings(line) for line in route_lines],
                                       dtype=object))
    stations_gdf = _gdf(stations[["id", "code", "kind", "name"]], _points(stations))
    events_gdf = _gdf(events.drop(columns=["x", "y"]), _points(events))
    orgs_gdf = _gdf(
        {
            "id": np.arange(1, len(orgs) + 1, dtype=np.int64),
            "kind": orgs["kind"].to_numpy(object),
            "name": orgs["name"].to_numpy(object),
            "members": orgs["members"].to_numpy(np.int64),
            "unit_id": orgs["unit_id"].to_numpy(np.int64),
        },
        _points(orgs),
    )
    workrooms_gdf = _gdf(
        {"id": np.arange(1, len(workrooms) + 1, dtype=np.int64),
         **{c: workrooms[c].to_numpy(object) for c in ("code", "name", "opening_hours",
                                                         "serves")}},
        _points(workrooms))
    twin = SampleTwin(
        scale=scale, seed=seed, units=units_gdf, land=land_gdf, buildings=buildings_gdf,
        households=households_gdf, people=people, facilities=facilities_gdf, routes=routes_gdf,
        stations=stations_gdf, observations=obs, events=events_gdf, event_log=log,
        organizations=orgs_gdf, workrooms=workrooms_gdf,
        derived=(party_board.STATEMENTS + points_board.STATEMENTS + selfgov_board.STATEMENTS
                 + law_board.STATEMENTS + points_board.CREDIT),
        derived_params={**party_board.params(seed, end, len(units.towns)),
                        **points_board.params(end), **selfgov_board.params(),
                        **law_board.params()},
    )
    report("done", sum(twin.counts().values()))
    return twin
