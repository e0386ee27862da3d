"""`twin cluster distribute`: the twin's own tables spread over two workers by town. What
the product reads is the same as on one node, a town's query goes to one worker, and a
worker that stops gives a clear 503 until it is back."""

from __future__ import annotations

import json
import time

import mapbox_vector_tile
import morecantile
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from scaletests.conftest import run
from tests.conftest import sign_in
from twin.api import create_api
from twin.domain.accounts import add_user, set_password
from twin.domain.summary import rollup
from twin.publish.tiles import LAYERS
from twin.store import db as twin_db
from twin.store.distribution import LOCAL, REFERENCE

PASSWORD = "Scale-test-pass-2026!"
TMS = morecantile.tms.get("WebMercatorQuad")
NOW = int(time.time())  # one period for the reads before and after


@pytest.fixture(scope="session")
def engine(settings, loaded):
    engine = twin_db.make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def town(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT id, ST_X(ST_Centroid(geom)) AS lon, ST_Y(ST_Centroid(geom)) AS lat "
            "FROM units WHERE level = 'town' ORDER BY id LIMIT 1")).mappings().one())


@pytest.fixture(scope="session")
def reader(settings, engine) -> TestClient:
    """The county's administrator, signed in to the API on the coordinator."""
    add_user(engine, "scale-admin", "admin", password=PASSWORD)
    set_password(engine, "scale-admin", PASSWORD, must_change=False)
    with TestClient(create_api(settings, engine=engine)) as client:
        assert sign_in(client, "scale-admin", PASSWORD).status_code == 303
        yield client


def _reads(client: TestClient, engine, town: dict) -> dict:
    """What the product reads, as comparable values: every tile layer at three zooms over
    the town (its features' ids), the OGC collections' items in a box, Open311's requests,
    the open events and the heat layer, and the roll-ups of the county and the town."""
    seen: dict = {}
    for z in (12, 14, 16):
        tile = TMS.tile(town["lon"], town["lat"], z)
        for layer in LAYERS:
            r = client.get(f"/tiles/{layer}/{z}/{tile.x}/{tile.y}.mvt")
            if r.status_code in (403, 404):  # not for this role, or not at this zoom: the
                seen[f"tile {layer} z{z}"] = r.json()  # same answer on one node
                continue
            assert r.status_code in (200, 204), (layer, z, r.text[:300])
            decoded = mapbox_vector_tile.decode(r.content) if r.content else {}
            seen[f"tile {layer} z{z}"] = sorted(
                json.dumps(f["properties"], sort_keys=True, default=str)
                for lyr in decoded.values() for f in lyr["features"])
    box = f"{town['lon'] - 0.02},{town['lat'] - 0.02},{town['lon'] + 0.02},{town['lat'] + 0.02}"
    collections = client.get("/ogc/collections").json()["collections"]
    assert collections
    for c in collections:
        r = client.get(f"/ogc/collections/{c['id']}/items", params={"bbox": box,
                                                                    "limit": 10000})
        assert r.status_code == 200, (c["id"], r.text[:300])
        seen[f"ogc {c['id']}"] = sorted(json.dumps(f, sort_keys=True)
                                        for f in r.json()["features"])
    month = {"from": NOW - 30 * 86400, "to": NOW + 3600}
    for path, params in (("/open311/v2/requests.json", {}), ("/events/open.geojson", {}),
                         ("/heat/events.json", month), ("/measures.json", month)):
        r = client.get(path, params=params)
        assert r.status_code == 200, (path, r.text[:300])
        seen[path] = r.json()
    seen["rollup county"] = rollup(engine)
    seen["rollup town"] = rollup(engine, town["id"])
    return seen


def _panels(engine, town: dict) -> dict:
    """What the map's panels, the boards and the desk read (the domain's functions), for the
    county and for the town, as comparable values."""
    import datetime as dt

    from twin.domain import buildings, environment, inbox, law, party, points, selfgov, summary
    from twin.domain.access import Principal
    from twin.domain.units import unit_path, units_geojson

    admin = Principal("admin", (), "scale-admin")
    official = Principal("official", (), "scale-official")
    end = dt.datetime.fromtimestamp(NOW, dt.UTC)
    start, now = end - dt.timedelta(days=30), end
    with engine.connect() as conn:
        code = conn.execute(sa.text("SELECT code FROM units WHERE id = :t"),
                            {"t": town["id"]}).scalar()
        building = conn.execute(sa.text("SELECT min(id) FROM buildings")).scalar()
    the_town = unit_path(engine, code)[-1]
    seen: dict = {"towns": units_geojson(engine, "town"),
                  "villages": units_geojson(engine, "village", town["id"]),
                  "building": buildings.building_detail(engine, building, official,
                                                        today=end.date()),
                  "inbox": inbox.inbox(engine, admin, now=now)}
    for name, unit in (("county", None), ("town", the_town)):
        seen |= {
            f"{name} events": summary.event_counts(engine, unit, start, end),
            f"{name} daily": summary.events_daily(engine, unit, start, end),
            f"{name} loop": summary.loop_measures(engine, unit, start, end),
            f"{name} grades": environment.daily_grades(engine, unit, start, end),
            f"{name} breaches": environment.breaches(engine, unit, start, end),
            f"{name} party": party.measures(engine, unit),
            f"{name} visits": party.visit_measures(engine, unit, now=now),
            f"{name} coverage": party.coverage_by_child(engine, unit),
            f"{name} cadres": party.cadre_structure(engine, admin, unit, today=end.date()),
            f"{name} selfgov": selfgov.measures(engine, unit, start, end),
            f"{name} matters": selfgov.matters(engine, unit),
            f"{name} points": points.measures(engine, unit, start, end),
            f"{name} law": law.measures(engine, unit, start, end),
        }
    return {k: json.dumps(_plain(v), sort_keys=True, default=str) for k, v in seen.items()}


def _plain(value):
    """A panel's answer as JSON-able values: frames as their records, dataclasses as dicts
    (so that the order of a dict's keys, which no query fixes, is not compared)."""
    import dataclasses

    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        return _plain(value.to_dict("records"))
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="session")
def on_one_node(reader, engine, town) -> dict:
    """The reads before the tables are spread (the coordinator alone holds them)."""
    return _reads(reader, engine, town) | _panels(engine, town)


@pytest.fixture(scope="session")
def distributed(settings, on_one_node) -> str:
    out = run(settings, "cluster", "distribute")
    assert out.exit_code == 0, out.output
    return out.output


def test_every_table_is_placed_by_the_plan(distributed, engine, nodes):
    assert "distributed by town: " in distributed
    with engine.connect() as conn:
        placed = dict(conn.execute(sa.text(
            "SELECT logicalrelid::text, partmethod FROM pg_dist_partition")).all())
        with_town = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'town_id'")).scalars())
        workers = set(conn.execute(sa.text(
            "SELECT DISTINCT nodeport FROM citus_shards WHERE citus_table_type = "
            "'distributed'")).scalars())
        groups = conn.execute(sa.text(
            "SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE partmethod = "
            "'h'")).scalar()
    assert {t for t, m in placed.items() if m == "h"} == with_town - set(REFERENCE)
    assert {t for t, m in placed.items() if m == "n"} == set(REFERENCE)
    assert not set(placed) & set(LOCAL)
    assert workers == {nodes.node(n).port for n in ("worker-1", "worker-2")}
    assert groups == 1  # all co-located


def test_what_the_product_reads_is_the_same_on_the_workers(distributed, reader, engine,
                                                         town, on_one_node):
    after = _reads(reader, engine, town) | _panels(engine, town)
    assert after.keys() == on_one_node.keys()
    different = [k for k in after if after[k] != on_one_node[k]]
    assert different == [], {k: (on_one_node[k], after[k]) for k in different[:3]}
    assert sum(len(v) for k, v in after.items() if k.startswith("tile ")) > 1000


def test_a_town_is_one_task_on_one_worker(distributed, engine, town):
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(sa.text(
            "EXPLAIN SELECT count(*) FROM people p JOIN households h ON h.town_id = p.town_id "
            "AND h.id = p.household_id WHERE p.town_id = :t"), {"t": town["id"]}).scalars())
    assert "Task Count: 1" in plan
    assert "Router" in plan or "Task Count: 1" in plan


def test_a_stopped_worker_answers_503_and_the_product_recovers(distributed, reader, nodes,
                                                              engine, town):
    tile = TMS.tile(town["lon"], town["lat"], 14)
    path = f"/tiles/buildings/14/{tile.x}/{tile.y}.mvt"
    assert reader.get(path).status_code == 200
    with engine.connect() as conn:  # the worker holding the town's shards
        port = conn.execute(sa.text(
            "SELECT nodeport FROM citus_shards s JOIN pg_dist_shard d USING (shardid) "
            "WHERE s.table_name = 'buildings'::regclass AND d.shardid = "
            "get_shard_id_for_distribution_column('buildings', :t)"), {"t": town["id"]}).scalar()
    name = next(n for n in ("worker-1", "worker-2") if nodes.node(n).port == port)
    nodes.node(name).stop()
    try:
        down = reader.get(path.replace("/14/", "/14/") + "?fresh=1")
        assert down.status_code == 503, down.text
        assert "Retry-After" in down.headers
        assert "database" in down.json()["detail"]
        assert str(port) not in down.text  # no internals to the client
    finally:
        nodes.node(name).start()
    assert reader.get(path + "?again=1").status_code == 200


def test_the_sweep_escalates_overdue_events_town_by_town(distributed, engine):
    """The escalation sweep on the workers: one statement per town, each on one shard (a
    sweep over every shard at once, with its row locks, is refused by Citus)."""
    import datetime as dt

    from twin.domain.workflow import OPEN, sweep

    later = dt.datetime.fromtimestamp(NOW, dt.UTC) + dt.timedelta(days=30)
    with engine.connect() as conn:
        due = conn.execute(sa.text(
            "SELECT count(*) FROM events e JOIN event_categories c ON c.code = e.category "
            "WHERE e.status = ANY(:open) AND e.deadline_at < :t AND e.owner_level <> 'county' "
            "AND (e.owner_level <> 'town' OR c.department IS NOT NULL)"),
            {"open": list(OPEN), "t": later}).scalar()
        logged = conn.execute(sa.text(
            "SELECT count(*) FROM event_log WHERE actor = 'system:escalation'")).scalar()
    assert due > 0
    assert sweep(engine, now=later) == due
    assert sweep(engine, now=later) == 0  # the new deadlines are ahead
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM event_log WHERE actor = 'system:escalation'")).scalar() \
            == logged + due


def _versions(engine, *layers: str) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT layer, version FROM layer_versions WHERE layer = ANY(:l)"),
            {"l": list(layers)}).all())


def _counted_and_live(engine, unit: int) -> tuple[dict, dict]:
    """The events counters of a unit (0: the county) and the same counted from the rows."""
    from twin.domain.workflow import OPEN

    with engine.connect() as conn:
        counted = dict(conn.execute(sa.text(
            "SELECT measure, value::bigint FROM unit_counts WHERE unit_id = :u AND measure IN "
            "('events', 'events_open', 'events_closed')"), {"u": unit}).all())
        live = conn.execute(sa.text(
            "SELECT count(*) AS events, count(*) FILTER (WHERE status = ANY(:open)) AS "
            "events_open, count(*) FILTER (WHERE status = ANY(:closed)) AS events_closed "
            "FROM events WHERE :u = 0 OR :u IN (microgrid_id, grid_id, village_id, town_id)"),
            {"u": unit, "open": list(OPEN), "closed": ["resolved", "closed"]}).mappings().one()
    return counted, dict(live)


def test_the_loop_runs_on_the_workers(distributed, reader, engine, town):
    """Report (Open311), dispatch, accept, resolve and close an event on the workers: the
    writer finds the cell, keeps the counters and moves the layer's version, which the
    triggers did on one node."""
    from twin.domain import workflow

    with engine.connect() as conn:
        micro = conn.execute(sa.text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) "
            "AS lat FROM units WHERE level = 'microgrid' AND town_id = :t ORDER BY id LIMIT 1"),
            {"t": town["id"]}).mappings().one()
    versions = _versions(engine, "events")
    reader.headers["Origin"] = "http://testserver"
    form = {"service_code": "sanitation", "lat": str(micro["lat"]), "long": str(micro["lon"]),
            "description": "河边垃圾堆积，联系13800000000"}
    posted = reader.post("/open311/v2/requests.json", data=form,
                         headers={"Idempotency-Key": "scale-0001"})
    assert posted.status_code == 200, posted.text
    code = posted.json()[0]["service_request_id"]
    again = reader.post("/open311/v2/requests.json", data=form,
                        headers={"Idempotency-Key": "scale-0001"})
    assert again.json()[0]["service_request_id"] == code
    outside = reader.post("/open311/v2/requests.json",
                          data={**form, "lat": "39.9", "long": "116.4"})
    assert outside.status_code == 400
    assert "lies outside every micro-grid" in outside.json()[0]["description"]

    with engine.connect() as conn:
        event = conn.execute(sa.text(
            "SELECT id, microgrid_id, grid_id, town_id, description FROM events WHERE code = :c"),
            {"c": code}).mappings().one()
    assert (event["microgrid_id"], event["town_id"]) == (micro["id"], town["id"])
    assert "13800000000" not in event["description"]
    e = workflow.get_event(engine, event["id"])
    e = workflow.dispatch(engine, e.id, "张师傅", actor="scale-admin",
                          expected_version=e.version)
    e = workflow.accept(engine, e.id, actor="scale-field", expected_version=e.version)
    e = workflow.transition(engine, e.id, "resolved", actor="scale-field",
                            expected_version=e.version)
    e = workflow.rate(engine, e.id, 5, actor="open311", expected_version=e.version)
    assert e.status == "closed"
    with engine.connect() as conn:
        moves = conn.execute(sa.text(
            "SELECT to_status FROM event_log WHERE town_id = :t AND event_id = :e ORDER BY id"),
            {"t": town["id"], "e": e.id}).scalars().all()
    assert _versions(engine, "events")["events"] > versions["events"]
    assert moves == ["reported", "dispatched", "handling", "resolved", "closed"]
    (got,) = reader.get(f"/open311/v2/requests/{code}.json").json()
    assert got["status"] == "closed"
    # a field link to it and to its grid, opened, then withdrawn
    from twin.domain import links

    settings = reader.app.state.settings
    for scope, scope_id in (("event", e.id), ("grid", event["grid_id"])):
        token = links.create(engine, settings, scope, scope_id, "scale-admin")
        link = links.verify(engine, settings, token)
        assert links.covers(engine, link, e.id)
        cards = links.events_in_scope(engine, link)
        assert (scope == "event") == ([c["code"] for c in cards] == [code])
        links.revoke(engine, link.id, created_by="scale-admin")
        with pytest.raises(links.LinkError, match="withdrawn"):
            links.verify(engine, settings, token)
    for unit in (micro["id"], town["id"], 0):
        counted, live = _counted_and_live(engine, unit)
        assert counted == live, unit


def test_an_import_lands_on_the_workers_with_its_cells_and_counts(distributed, engine, town,
                                                                  tmp_path):
    """A buildings file imported on the workers: each house in its micro-grid, the counters
    of the county and the town moved as one node's triggers move them, all or nothing."""
    from twin.ingest.importer import ImportError_, import_file

    with engine.connect() as conn:
        near = conn.execute(sa.text(
            "SELECT microgrid_id, ST_AsGeoJSON(ST_Translate(geom, 0.00001, 0)) AS g "
            "FROM buildings WHERE town_id = :t ORDER BY id LIMIT 5"),
            {"t": town["id"]}).mappings().all()
    versions = _versions(engine, "buildings")

    def write(name, geometries):
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": json.loads(g),
             "properties": {"编号": f"SCALE-{i}", "层数": "3", "用途": "住宅"}}
            for i, g in enumerate(geometries)]}, ensure_ascii=False), encoding="utf-8")
        return path

    def counters(unit):
        with engine.connect() as conn:
            counted = dict(conn.execute(sa.text(
                "SELECT measure, round(value) FROM unit_counts WHERE unit_id = :u "
                "AND measure IN ('buildings', 'floor_area_m2')"), {"u": unit}).all())
            live = conn.execute(sa.text(
                "SELECT count(*), round(sum(footprint_m2 * floors)) FROM buildings "
                "WHERE :u = 0 OR town_id = :u"), {"u": unit}).one()
        return counted, {"buildings": live[0], "floor_area_m2": live[1]}

    outside = '{"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.41, 39.9], ' \
              '[116.41, 39.91], [116.4, 39.9]]]}'
    before = counters(0)[1]["buildings"]
    with pytest.raises(ImportError_, match="bad.geojson.*outside every micro-grid"):
        import_file(engine, write("bad.geojson", [near[0]["g"], outside]), "buildings")
    assert counters(0)[1]["buildings"] == before  # nothing half-written

    report = import_file(engine, write("houses.geojson", [r["g"] for r in near]), "buildings")
    assert report.written == 5
    with engine.connect() as conn:
        cells = conn.execute(sa.text(
            "SELECT microgrid_id FROM buildings WHERE town_id = :t AND code LIKE 'SCALE-%' "
            "ORDER BY code"), {"t": town["id"]}).scalars().all()
    assert _versions(engine, "buildings")["buildings"] > versions["buildings"]
    assert cells == [r["microgrid_id"] for r in near]
    assert counters(0)[1]["buildings"] == before + 5
    for unit in (0, town["id"]):
        counted, live = counters(unit)
        assert counted == live, unit


def test_a_register_lands_with_its_households_cells(distributed, settings, engine, town,
                                                    tmp_path):
    """Residents imported on the workers take their household's cell (as the trigger did on
    one node), count in its units, and a resident of no household writes nothing."""
    from twin.domain.pii import PiiKey, id_check_digit
    from twin.ingest.importer import ImportError_, import_file

    with engine.connect() as conn:
        household = conn.execute(sa.text(
            "SELECT code, microgrid_id, town_id FROM households WHERE town_id = :t "
            "ORDER BY id LIMIT 1"), {"t": town["id"]}).mappings().one()
    numbers = [f"330483{birth}{seq}" for birth, seq in (("19800512", "123"),
                                                        ("19401130", "005"))]
    numbers = [n + id_check_digit(n) for n in numbers]
    key = PiiKey.from_settings(settings)

    def register(name, code):
        path = tmp_path / name
        path.write_text("户编码,姓名,身份证号,人员类别\n" + "".join(
            f"{code},居民{i},{n},{'老年人' if i else ''}\n" for i, n in enumerate(numbers)),
            encoding="utf-8")
        return path

    def residents(unit):
        with engine.connect() as conn:
            counted = conn.execute(sa.text(
                "SELECT value::bigint FROM unit_counts WHERE unit_id = :u "
                "AND measure = 'residents'"), {"u": unit}).scalar()
            live = conn.execute(sa.text(
                "SELECT count(*) FROM people WHERE :u IN (microgrid_id, town_id)"),
                {"u": unit}).scalar()
        return counted, live

    with pytest.raises(ImportError_, match="NOPE"):
        import_file(engine, register("bad.csv", "NOPE"), "people", pii_key=key)
    report = import_file(engine, register("people.csv", household["code"]), "people",
                         pii_key=key)
    assert report.written == 2
    with engine.connect() as conn:
        cells = conn.execute(sa.text(
            "SELECT DISTINCT microgrid_id, town_id FROM people WHERE id_hash = ANY(:h)"),
            {"h": [key.digest("id", n) for n in numbers]}).all()
    assert cells == [(household["microgrid_id"], household["town_id"])]
    for unit in (household["microgrid_id"], town["id"]):
        counted, live = residents(unit)
        assert counted == live, unit


def test_readings_warn_and_recover_on_the_workers(distributed, engine, town):
    """Monitor → warn on the workers: a breach opens (or extends) its station's episode with
    a warning event in the station's cell, readings back within limits close it and
    resolve the event; the latest readings, the counters and the versions follow."""
    import datetime as dt

    from twin.domain import monitor

    with engine.connect() as conn:
        s = conn.execute(sa.text(
            "SELECT l.station_id, l.parameter, l.observed_at, p.warn_above, p.recover_hours "
            "FROM station_latest l JOIN parameters p ON p.code = l.parameter "
            "WHERE l.town_id = :t AND p.warn_above IS NOT NULL "
            "ORDER BY l.station_id, l.parameter LIMIT 1"), {"t": town["id"]}).mappings().one()
    versions = _versions(engine, "events", "observations")
    start = s["observed_at"] + dt.timedelta(days=1)
    high, low = float(s["warn_above"]) * 2, float(s["warn_above"]) / 2
    breach = monitor.ingest(engine, [(s["station_id"], s["parameter"], start, high)])
    assert breach["readings"] == 1 and breach["opened"] + breach["updated"] == 1
    with engine.connect() as conn:
        episode = conn.execute(sa.text(
            "SELECT w.event_id, e.status, e.town_id, e.microgrid_id = st.microgrid_id AS same "
            "FROM warning_episodes w JOIN events e ON e.town_id = w.town_id "
            "AND e.id = w.event_id JOIN stations st ON st.town_id = w.town_id "
            "AND st.id = w.station_id WHERE w.town_id = :t AND w.station_id = :s "
            "AND w.parameter = :p AND w.closed_at IS NULL"),
            {"t": town["id"], "s": s["station_id"], "p": s["parameter"]}).mappings().one()
    assert episode["town_id"] == town["id"] and episode["same"]
    hours = int(s["recover_hours"]) + 2
    back = monitor.ingest(engine, [(s["station_id"], s["parameter"],
                                    start + dt.timedelta(hours=h), low)
                                   for h in range(1, hours + 1)])
    assert back["closed"] >= 1
    with engine.connect() as conn:
        status = conn.execute(sa.text(
            "SELECT status FROM events WHERE town_id = :t AND id = :e"),
            {"t": town["id"], "e": episode["event_id"]}).scalar()
        latest = conn.execute(sa.text(
            "SELECT observed_at, value FROM station_latest WHERE town_id = :t "
            "AND station_id = :s AND parameter = :p"),
            {"t": town["id"], "s": s["station_id"], "p": s["parameter"]}).one()
    moved = _versions(engine, "events", "observations")
    assert status == ("resolved" if episode["status"] == "warned" else episode["status"])
    assert tuple(latest) == (start + dt.timedelta(hours=hours), low)
    assert all(moved[k] > versions[k] for k in versions)
    for unit in (0, town["id"]):
        counted, live = _counted_and_live(engine, unit)
        assert counted == live, unit


def test_a_visit_with_a_finding_lands_on_the_workers(distributed, engine, town):
    """民情笔记 on the workers: a leader's visit in its household's cell, and the finding it
    reports an event of the loop in the same transaction; a retried one is written once."""
    from twin.domain.party import record_visit

    with engine.connect() as conn:
        link = conn.execute(sa.text(
            "SELECT l.household_id, l.leader_id, h.microgrid_id FROM household_links l "
            "JOIN households h ON h.town_id = l.town_id AND h.id = l.household_id "
            "WHERE l.town_id = :t ORDER BY l.household_id LIMIT 1"),
            {"t": town["id"]}).mappings().one()
    versions = _versions(engine, "visits", "events")
    first = record_visit(engine, household_id=link["household_id"], visitor="scale-leader",
                         kind="knock", heard="门口路灯坏了一周", finding="public_facility",
                         leader_id=link["leader_id"], client_key="scale-visit-1")
    again = record_visit(engine, household_id=link["household_id"], visitor="scale-leader",
                         kind="knock", heard="门口路灯坏了一周", finding="public_facility",
                         leader_id=link["leader_id"], client_key="scale-visit-1")
    assert again[0] == first[0] and again[1].id == first[1].id
    with engine.connect() as conn:
        visit = conn.execute(sa.text(
            "SELECT v.microgrid_id, v.town_id, e.microgrid_id AS event_cell FROM visits v "
            "JOIN events e ON e.town_id = v.town_id AND e.id = v.event_id "
            "WHERE v.town_id = :t AND v.id = :v"), {"t": town["id"], "v": first[0]}).one()
    assert tuple(visit) == (link["microgrid_id"], town["id"], link["microgrid_id"])
    moved = _versions(engine, "visits", "events")
    assert all(moved[k] > versions[k] for k in versions)
    for unit in (link["microgrid_id"], town["id"], 0):
        counted, live = _counted_and_live(engine, unit)
        assert counted == live, unit
