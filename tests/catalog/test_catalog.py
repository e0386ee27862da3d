"""The element catalogue describes each family once, and privacy stays explicit: every
column of every table is classified, and no projection — tiles, OGC, export, Open311 —
lets a personal or internal column leave; words people typed leave only where they are
nulled for the roles that may not read them; counts of people only through ``counted``."""

from __future__ import annotations

import re

import pytest

from twin.catalog import BY_NAME, CATALOG, EXPORT_ORDER, LOAD_ORDER
from twin.catalog.model import CELL_PROPERTIES, COUNT, PUBLIC, TEXT, Element
from twin.domain.access import KINDS, MIN_COUNT
from twin.publish import exporter, ogc, tiles
from twin.store.schema import metadata


def projections(e: Element):
    """(projection, properties, FROM clause) of every way the element is published."""
    for s in e.tiles:
        yield f"tiles:{s.name}", s.properties, s.source or ""
    for s in e.ogc:
        yield (f"ogc:{s.id}", (*s.properties, *(CELL_PROPERTIES if s.cells else ())),
               s.bbox or "")
    if e.export:
        yield f"export:{e.export.name}", e.export.properties, e.export.source or ""
    if e.open311:
        yield "open311", e.open311, ""


@pytest.mark.parametrize("e", CATALOG, ids=lambda e: e.name)
def test_every_column_is_classified(e):
    tables = {e.table, *(s.table for s in e.ogc if s.table)}
    columns = {c.name for t in tables for c in metadata.tables[t].columns}
    declared = e.columns.all()
    if e.kind == "resident_counts":  # an aggregate: its carriers' public identity only
        assert declared <= columns
    else:
        assert declared == columns, e.name
    assert e.kind in KINDS


@pytest.mark.parametrize("e", CATALOG, ids=lambda e: e.name)
def test_nothing_personal_leaves_by_any_projection(e):
    allowed = set(e.columns.public)
    for name, props, source in projections(e):
        for p in props:
            refs = set(re.findall(r"\bt\.(\w+)", p.sql))
            if p.privacy == COUNT:
                # a count of people, suppressed below five: only in an aggregate family
                assert e.kind == "resident_counts", (name, p.name)
                assert p.sql.startswith("CASE WHEN") and f">= {MIN_COUNT}" in p.sql
                continue
            assert "people" not in p.sql, (name, p.name)  # persons only inside counts
            if p.privacy == TEXT:  # what people typed: nulled per principal, OGC and Open311
                assert name.startswith(("ogc:", "open311")), (name, p.name)
                assert refs <= set(e.columns.text) | allowed, (name, p.name)
                continue
            assert p.privacy == PUBLIC
            assert refs <= allowed, (name, p.name, refs - allowed)
        if e.kind != "resident_counts":
            assert "people" not in source, name


def test_persons_never_leave_as_features():
    people = BY_NAME["people"]
    assert not (people.tiles or people.ogc or people.export or people.open311)
    assert set(people.columns.personal) >= {"name", "id_hash", "id_masked", "phone_hash",
                                            "phone_masked", "birth_date", "tags"}


def test_the_projections_are_derived_from_the_catalogue():
    assert list(tiles.LAYERS) == [s.name for e in CATALOG for s in e.tiles]
    assert list(ogc.COLLECTIONS) == [s.id for e in CATALOG for s in e.ogc]
    assert list(exporter.LAYERS) == list(EXPORT_ORDER)
    assert {e.name for e in CATALOG if e.load} == set(LOAD_ORDER)
    for spec in tiles.LAYERS.values():
        assert spec.kind in KINDS
    for c in ogc.COLLECTIONS.values():
        assert c.text <= {"title"}  # the only typed words a collection carries
