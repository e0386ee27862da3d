"""docs/scaling.md matches the schema: every table is placed, every element table keeps
town_id in its primary key or a unique constraint (so it stays distributable by town)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from twin.config import PROJECT_ROOT
from twin.store.distribution import EXTENSION_TABLES, LOCAL, REFERENCE

DOC = (PROJECT_ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index(title)
    end = DOC.find("\n**", start + len(title))
    end = DOC.find("\n### ", start) if end == -1 else end
    return DOC[start:end]


def _named(text: str) -> set[str]:
    return set(re.findall(r"`([a-z_]+)`", text))


def test_every_table_with_town_id_keeps_it_in_a_key(sample_engine):
    with sample_engine.connect() as conn:
        with_town = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'town_id'")).scalars())
        keyed = set(conn.execute(sa.text("""
            SELECT c.conrelid::regclass::text FROM pg_constraint c
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
             WHERE c.contype IN ('p', 'u') AND a.attname = 'town_id'""")).scalars())
        nullable = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'town_id' AND is_nullable = 'YES'")).scalars())
    assert with_town and with_town <= keyed
    assert nullable == set()  # every row knows its town


def test_the_scaling_page_places_every_table_of_the_schema(sample_engine):
    with sample_engine.connect() as conn:
        tables = set(conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        with_town = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'town_id'")).scalars())
    distributed = _named(_section("**Distributed by `town_id`, all co-located**")) - {
        "town_id", "id", "observations_pkey"} - {"station_id", "parameter", "observed_at"}
    following = _named(_section("**Distributed by `town_id`, following their parent**")) - {
        "town_id", "id", "follows"}
    to_add = _named(_section("**Distributed by `town_id` after a column is added**")) - {
        "town_id"}
    reference = _named(_section("**Reference tables**"))
    local = _named(_section("**On the coordinator only**"))
    placed = [distributed, following, to_add, reference, local]
    assert sum(len(p) for p in placed) == len(set().union(*placed))  # each table once
    assert set().union(*placed) == tables
    assert distributed | following == with_town  # those distributed have town_id
    assert not to_add & with_town
    # the plan that `twin cluster distribute` follows is this page's
    assert reference == set(REFERENCE) | set(EXTENSION_TABLES)
    assert local == set(LOCAL)
