"""Cell assignment, unit nesting, versions and the append-only log, on hand-made rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

# Two 0.01° square micro-grids side by side, sharing the meridian x = 120.50.
WEST = "MULTIPOLYGON(((120.49 30.70, 120.50 30.70, 120.50 30.71, 120.49 30.71, 120.49 30.70)))"
EAST = "MULTIPOLYGON(((120.50 30.70, 120.51 30.70, 120.51 30.71, 120.50 30.71, 120.50 30.70)))"
BOTH = "MULTIPOLYGON(((120.49 30.70, 120.51 30.70, 120.51 30.71, 120.49 30.71, 120.49 30.70)))"


def _grid(conn) -> dict[str, int]:
    """town 1 > village 2 > grid 3 > micro-grids 4 (west) and 5 (east)."""
    rows = [
        (1, "town", "330483101", "乌镇镇", None, BOTH),
        (2, "village", "330483101201", "新桥村", 1, BOTH),
        (3, "grid", "330483101201001", "新桥村第1网格", 2, BOTH),
        (4, "microgrid", "330483101201001001", "第1微网格", 3, WEST),
        (5, "microgrid", "330483101201001002", "第2微网格", 3, EAST),
    ]
    for r in rows:
        conn.execute(
            sa.text("INSERT INTO units (id, level, code, name, parent_id, geom) "
                    "VALUES (:id, :lv, :code, :name, :parent, ST_GeomFromText(:wkt, 4326))"),
            dict(zip(("id", "lv", "code", "name", "parent", "wkt"), r, strict=True)),
        )
    return {"west": 4, "east": 5}


def _facility(conn, x: float, y: float, name: str = "监控") -> dict:
    return conn.execute(
        sa.text("INSERT INTO facilities (kind, name, geom) VALUES ('camera', :n, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
                "RETURNING microgrid_id, grid_id, village_id, town_id"),
        {"n": name, "x": x, "y": y},
    ).mappings().one()


def _building(conn) -> None:
    """Building 1: a ~9.6 m × 11.1 m box in the east micro-grid."""
    conn.execute(sa.text(
        "INSERT INTO buildings (code, use, floors, height_m, geom) VALUES ('B1', "
        "'residential', 3, 10, ST_Multi(ST_MakeEnvelope(120.5051, 30.7051, 120.5052, "
        "30.7052, 4326)))"))


def test_unit_ancestry_and_area_filled(scratch):
    with scratch.begin() as conn:
        _grid(conn)
        row = conn.execute(sa.text(
            "SELECT town_id, village_id, grid_id, area_m2 FROM units WHERE id = 4")).one()
    assert row[:3] == (1, 2, 3)
    # 0.01° × 0.01° at 30.7°N ≈ 957 m × 1109 m
    assert 1.0e6 < row.area_m2 < 1.1e6


def test_unit_must_sit_in_the_level_above(scratch):
    with scratch.begin() as conn:
        _grid(conn)
    with pytest.raises(sa.exc.DBAPIError, match="a microgrid must sit in a grid"), \
            scratch.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO units (level, code, name, parent_id, geom) VALUES "
            "('microgrid', '330483101201009001', 'x', 2, ST_GeomFromText(:w, 4326))"), {"w": WEST})


def test_point_gets_its_cell_and_ancestry(scratch):
    with scratch.begin() as conn:
        cells = _grid(conn)
        west = _facility(conn, 120.495, 30.705)
        east = _facility(conn, 120.505, 30.705)
    assert west["microgrid_id"] == cells["west"]
    assert east["microgrid_id"] == cells["east"]
    assert (west["grid_id"], west["village_id"], west["town_id"]) == (3, 2, 1)


def test_point_on_shared_boundary_lands_in_exactly_one_cell(scratch):
    with scratch.begin() as conn:
        _grid(conn)
        on_edge = _facility(conn, 120.50, 30.705)
        corner = _facility(conn, 120.50, 30.70)
        n = conn.execute(sa.text("SELECT count(*) FROM facilities")).scalar()
    assert n == 2  # each written once, not once per touching cell
    assert on_edge["microgrid_id"] == 4 and corner["microgrid_id"] == 4  # lowest id wins


def test_feature_outside_every_cell_is_refused_and_nothing_written(scratch):
    with scratch.begin() as conn:
        _grid(conn)
    with pytest.raises(sa.exc.DBAPIError) as err, scratch.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO stations (code, kind, name, geom) VALUES "
            "('AQ-1', 'air', '站1', ST_SetSRID(ST_MakePoint(120.495, 30.705), 4326)), "
            "('AQ-2', 'air', '站2', ST_SetSRID(ST_MakePoint(121.9, 31.2), 4326))"))
    message = str(err.value.orig)
    assert "stations: row AQ-2" in message and "outside every micro-grid" in message
    with scratch.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stations")).scalar() == 0


def test_polygons_children_and_observations_inherit_cells(scratch):
    with scratch.begin() as conn:
        _grid(conn)
        _building(conn)
        conn.execute(sa.text(
            "INSERT INTO households (code, building_id, geom) VALUES ('H1', 1, "
            "ST_SetSRID(ST_MakePoint(120.50515, 30.70515), 4326))"))
        conn.execute(sa.text(
            "INSERT INTO people (household_id, name, tags) VALUES (1, '张伟', '{elderly}')"))
        conn.execute(sa.text(
            "INSERT INTO stations (code, kind, name, geom) VALUES ('WQ-1', 'water', '新桥港', "
            "ST_SetSRID(ST_MakePoint(120.495, 30.705), 4326))"))
        conn.execute(sa.text(
            "INSERT INTO observations (station_id, parameter, observed_at, value) VALUES "
            "(1, 'nh3n', '2026-11-01T00:00Z', 0.4), (1, 'nh3n', '2026-11-01T01:00Z', 1.6), "
            "(1, 'do', '2026-11-01T01:00Z', 6.1)"))
        b = conn.execute(sa.text("SELECT microgrid_id, footprint_m2 FROM buildings")).one()
        p = conn.execute(sa.text("SELECT microgrid_id, town_id FROM people")).one()
        o = conn.execute(sa.text("SELECT DISTINCT microgrid_id FROM observations")).scalar()
        latest = dict(conn.execute(sa.text(
            "SELECT parameter, value FROM station_latest")).all())
    assert b.microgrid_id == 5 and 100 < b.footprint_m2 < 120  # ~9.6 m × 11.1 m
    assert tuple(p) == (5, 1)
    assert o == 4
    assert latest == {"nh3n": 1.6, "do": 6.1}


def test_household_must_lie_in_its_building(scratch):
    with scratch.begin() as conn:
        _grid(conn)
        _building(conn)
    with pytest.raises(sa.exc.DBAPIError, match="households: row H9 is not inside its "
                       "building 1"), scratch.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO households (code, building_id, geom) VALUES ('H9', 1, "
            "ST_SetSRID(ST_MakePoint(120.506, 30.706), 4326))"))


def test_every_write_bumps_the_layer_version(scratch):
    def version(conn, layer):
        return conn.execute(sa.text("SELECT version FROM layer_versions WHERE layer = :l"),
                            {"l": layer}).scalar()

    with scratch.begin() as conn:
        _grid(conn)
        before = version(conn, "facilities"), version(conn, "stations")
        _facility(conn, 120.495, 30.705)
        conn.execute(sa.text("UPDATE facilities SET name = '监控2'"))
        after = version(conn, "facilities"), version(conn, "stations")
    assert after[0] == before[0] + 2
    assert after[1] == before[1]


def test_event_log_is_append_only(scratch):
    with scratch.begin() as conn:
        _grid(conn)
        conn.execute(sa.text(
            "INSERT INTO events (code, category, title, status, owner_level, source, "
            "reported_at, geom) VALUES ('E1', 'sanitation', '垃圾堆放', 'reported', 'microgrid', "
            "'resident', now(), ST_SetSRID(ST_MakePoint(120.495, 30.705), 4326))"))
        conn.execute(sa.text(
            "INSERT INTO event_log (town_id, event_id, at, actor, to_status) "
            "SELECT town_id, id, now(), 'system', 'reported' FROM events WHERE id = 1"))
    for stmt in ("UPDATE event_log SET note = 'x'", "DELETE FROM event_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), scratch.begin() as conn:
            conn.execute(sa.text(stmt))


def test_counters_follow_inserts_updates_deletes_and_truncate(scratch):
    from twin.domain.summary import rollup

    with scratch.begin() as conn:
        _grid(conn)
        for i in range(3):
            _facility(conn, 120.495, 30.7051 + i * 0.001, f"监控{i}")
        _facility(conn, 120.505, 30.705)
        conn.execute(sa.text(
            "INSERT INTO events (code, category, title, status, owner_level, source, "
            "reported_at, deadline_at, geom) VALUES ('E1', 'sanitation', '垃圾', 'reported', "
            "'microgrid', 'resident', now() - interval '2 days', now() - interval '1 day', "
            "ST_SetSRID(ST_MakePoint(120.495, 30.705), 4326))"))
    west, county = rollup(scratch, 4), rollup(scratch, None)
    assert (west["facilities"], county["facilities"]) == (3, 4)
    assert west["facilities_by_kind"] == {"camera": 3}
    assert (west["events_open"], west["events_overdue"], west["events_closed"]) == (1, 1, 0)
    with scratch.begin() as conn:
        # move one camera east, close the event, delete another camera
        conn.execute(sa.text("UPDATE facilities SET geom = ST_SetSRID(ST_MakePoint("
                             "120.506, 30.706), 4326) WHERE name = '监控0'"))
        conn.execute(sa.text("UPDATE events SET status = 'closed'"))
        conn.execute(sa.text("DELETE FROM facilities WHERE name = '监控1'"))
    west, east = rollup(scratch, 4), rollup(scratch, 5)
    assert (west["facilities"], east["facilities"]) == (1, 2)
    assert (west["events_open"], west["events_overdue"], west["events_closed"]) == (0, 0, 1)
    assert rollup(scratch, 1)["facilities"] == 3
    with scratch.begin() as conn:
        conn.execute(sa.text("TRUNCATE facilities"))
    assert rollup(scratch, None)["facilities"] == 0
    assert rollup(scratch, None)["facilities_by_kind"] == {}
