"""Vector tiles: content, budgets, privacy, caching by data version, and bad requests."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa
from shapely import box

from twin.domain.workflow import OPEN

TMS = morecantile.tms.get("WebMercatorQuad")


def _busiest_tile(sample, z: int) -> morecantile.Tile:
    """The z tile holding the most buildings of the sample."""
    pts = sample.buildings.geometry.representative_point()
    tiles = [TMS.tile(p.x, p.y, z) for p in pts]
    return max(set(tiles), key=tiles.count)


def _decode(content: bytes) -> dict:
    return mapbox_vector_tile.decode(content) if content else {}


def _current(client, layer: str) -> tuple[str, str]:
    meta = client.get(f"/tiles/{layer}.json").json()
    return meta["tiles"][0], meta["data_version"]


def test_buildings_tile_has_3d_attributes_and_matches_the_sample(client, village_sample):
    t = _busiest_tile(village_sample, 15)
    r = client.get(f"/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = _decode(r.content)["buildings"]["features"]
    b = TMS.bounds(t)
    inside = village_sample.buildings.geometry.within(box(b.left, b.bottom, b.right, b.top)).sum()
    touching = village_sample.buildings.geometry.intersects(
        box(b.left - 0.001, b.bottom - 0.001, b.right + 0.001, b.top + 0.001)).sum()
    assert inside <= len(features) <= touching
    props = features[0]["properties"]
    assert {"id", "use", "floors", "height_m"} <= props.keys()
    assert props["height_m"] > 0


def test_low_zoom_buildings_keep_to_the_budget(client, village_sample):
    from twin.publish.tiles import LAYERS

    for z in (12, 13):
        t = _busiest_tile(village_sample, z)
        r = client.get(f"/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt")
        features = _decode(r.content)["buildings"]["features"]
        assert len(features) <= LAYERS["buildings"].budget_at(z)
        assert len(r.content) < 500_000
        # the budget keeps the largest footprints
        ids = {f["properties"]["id"] for f in features}
        assert len(ids) == len(features)


def test_residents_only_as_counts_per_building(client, village_sample):
    t = _busiest_tile(village_sample, 15)
    r = client.get(f"/tiles/residents/{t.z}/{t.x}/{t.y}.mvt")
    features = _decode(r.content)["residents"]["features"]
    assert features
    assert all({"building_id"} <= set(f["properties"]) <= {"building_id", "residents", "elderly"}
               for f in features)
    hh = village_sample.households.set_index("id")["building_id"]
    per_building = village_sample.people["household_id"].map(hh).value_counts()
    for f in features:  # a count below five is left out: "fewer than five"
        n = per_building[f["properties"]["building_id"]]
        assert f["properties"].get("residents") == (n if n >= 5 else None)
    assert any("residents" in f["properties"] for f in features)


@pytest.mark.parametrize("layer", ["towns", "villages", "grids", "microgrids", "land",
                                   "facilities", "stations", "events", "organizations",
                                   "routes"])
def test_every_layer_serves_its_features(client, village_sample, layer):
    from twin.publish.tiles import LAYERS

    z = max(LAYERS[layer].minzoom, 13)
    t = _busiest_tile(village_sample, z)
    if layer == "events":  # open events only: the tile of one
        events = village_sample.events
        point = events[events["status"].isin(OPEN)].geometry.iloc[0]
        t = TMS.tile(point.x, point.y, z)
    r = client.get(f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200, r.text
    assert _decode(r.content)[layer]["features"]


def test_stations_carry_latest_reading_and_alarm(client, village_sample):
    st = village_sample.stations.geometry.iloc[0]
    t = TMS.tile(st.x, st.y, 12)
    features = _decode(client.get(f"/tiles/stations/12/{t.x}/{t.y}.mvt").content)[
        "stations"]["features"]
    props = features[0]["properties"]
    assert {"code", "kind", "latest", "observed_at", "alarm"} <= props.keys()
    assert isinstance(props["alarm"], bool)


def test_stations_carry_their_national_grade(client, village_sample, sample_engine):
    import json

    import sqlalchemy as sa

    seen = set()
    for st in village_sample.stations.itertuples():
        t = TMS.tile(st.geometry.x, st.geometry.y, 14)
        for f in _decode(client.get(f"/tiles/stations/14/{t.x}/{t.y}.mvt").content)[
                "stations"]["features"]:
            props = f["properties"]
            latest = json.loads(props["latest"])
            with sample_engine.connect() as conn:
                if props["kind"] == "air":
                    aqi = max(conn.execute(sa.text("SELECT twin_iaqi(:p, :v)"),
                                           {"p": p, "v": v}).scalar() for p, v in latest.items())
                    assert props["aqi"] == aqi
                    assert props["grade"] == conn.execute(
                        sa.text("SELECT twin_aqi_category(:a)"), {"a": aqi}).scalar()
                elif props["kind"] == "water":
                    assert props["grade"] == max(conn.execute(
                        sa.text("SELECT twin_water_class(:p, :v)"), {"p": p, "v": v}).scalar()
                        for p, v in latest.items())
                else:
                    assert "grade" not in props
            seen.add(props["kind"])
    assert {"air", "water"} <= seen


def test_event_tiles_hold_the_open_events_only(client, village_sample):
    from twin.domain.summary import OPEN_STATUSES

    events = village_sample.events
    lon, lat = events.geometry.x.mean(), events.geometry.y.mean()
    t = TMS.tile(lon, lat, 8)
    features = _decode(client.get(f"/tiles/events/8/{t.x}/{t.y}.mvt").content)["events"][
        "features"]
    west, south, east, north = TMS.bounds(t)
    inside = events.cx[west:east, south:north]
    assert sorted(f["properties"]["code"] for f in features) == sorted(
        inside.loc[inside["status"].isin(OPEN_STATUSES), "code"])
    assert len(features) < len(inside)  # the closed ones stay out of the map's tiles


def test_open_events_whole_as_geojson(client, village_sample):
    from twin.domain.summary import OPEN_STATUSES

    version = client.get("/tiles/events.json").json()["data_version"]
    r = client.get(f"/events/open.geojson?v={version}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    # which events depends on who asks: immutable, but for this browser only
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    features = r.json()["features"]
    events = village_sample.events
    open_ = events[events["status"].isin(OPEN_STATUSES)]
    assert sorted(f["properties"]["code"] for f in features) == sorted(open_["code"])
    assert len(features) > 0
    times = [f["properties"]["reported_at"] for f in features]
    assert times == sorted(times, reverse=True)
    first = open_.sort_values("reported_at", ascending=False).iloc[0]
    assert features[0]["geometry"]["coordinates"] == pytest.approx(
        [first.geometry.x, first.geometry.y], abs=1e-6)
    assert client.get("/events/open.geojson").headers["cache-control"] == "no-cache"


def test_event_heat_counts_events_per_cell(client, village_sample):
    events = village_sample.events
    start = int(events["reported_at"].min().timestamp())
    end = int(events["reported_at"].max().timestamp()) + 1
    version = client.get("/tiles/events.json").json()["data_version"]
    r = client.get(f"/heat/events.json?from={start}&to={end}&v={version}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert sum(cell["w"] for cell in r.json()) == len(events)
    stale = client.get(f"/heat/events.json?from={start}&to={end}&v=0")
    assert stale.headers["cache-control"] == "no-cache"
    bad = client.get(f"/heat/events.json?from={end}&to={start}")
    assert bad.status_code == 400 and "'to' must follow 'from'" in bad.json()["detail"]
    assert client.get("/heat/events.json?from=x&to=1").status_code == 400


def test_version_in_url_gives_immutable_cached_tiles_and_304(client, api, village_sample):
    t = _busiest_tile(village_sample, 15)
    template, version = _current(client, "buildings")
    assert template.endswith(f"/tiles/buildings/{{z}}/{{x}}/{{y}}.mvt?v={version}")
    url = f"/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt?v={version}"
    first = client.get(url)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    hits = api.state.tile_cache.hits
    second = client.get(url)
    assert second.content == first.content and api.state.tile_cache.hits == hits + 1
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    plain = client.get(f"/tiles/buildings/{t.z}/{t.x}/{t.y}.mvt")
    assert plain.headers["cache-control"] == "no-cache" and plain.headers["etag"]


def test_a_daily_layer_is_versioned_by_the_day_as_well(client, api, village_sample):
    """A layer whose properties depend on today (visited in the last 30 days) carries the
    local day in its version: tomorrow's URLs are new, and today's are cached as any."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("-%Y%m%d")
    _, leaders = _current(client, "leaders")
    _, buildings = _current(client, "buildings")
    assert leaders.endswith(today) and not buildings.endswith(today)
    t = _busiest_tile(village_sample, 14)
    url = f"/tiles/leaders/{t.z}/{t.x}/{t.y}.mvt?v={leaders}"
    first = client.get(url)
    assert first.status_code == 200, (first.status_code, first.text)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    hits = api.state.tile_cache.hits
    assert client.get(url).content == first.content and api.state.tile_cache.hits == hits + 1


def test_a_write_moves_the_version_in_tilejson(client, sample_engine):
    _, before = _current(client, "organizations")
    with sample_engine.begin() as conn:  # a no-op write still counts as a write
        conn.execute(sa.text("UPDATE organizations SET members = members WHERE id = 1"))
    _, after = _current(client, "organizations")
    assert after != before


@pytest.mark.parametrize("url, status", [
    ("/tiles/buildings/23/0/0.mvt", 400),
    ("/tiles/buildings/14/16384/0.mvt", 400),
    ("/tiles/buildings/14/-1/0.mvt", 400),
    ("/tiles/buildings/14/a/0.mvt", 400),
    ("/tiles/buildings/3/0/0.mvt", 404),
    ("/tiles/buildings/11/0/0.mvt", 404),
    ("/tiles/people/14/0/0.mvt", 404),
    ("/tiles/nope.json", 404),
    ("/tiles/buildings;DROP TABLE units/14/0/0.mvt", 400),
    ("/tiles/buildings/14/0/0.mvt?v=1;DROP", 400),
    ("/tiles/buildings/14/0/0.mvt?v=' OR 1=1", 400),
])
def test_bad_tile_requests_get_a_short_json_4xx(client, url, status):
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status and body["detail"]
    assert "SELECT" not in r.text and "Traceback" not in r.text


def test_tables_survive_the_injection_attempts(sample_engine, village_sample):
    with sample_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM units")).scalar() == len(
            village_sample.units)
