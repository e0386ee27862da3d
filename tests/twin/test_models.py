"""The Core table definitions agree with what the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from twin.store.schema import metadata


def _relevant(diff) -> bool:
    """Column, table and type differences; indexes, defaults and comments are the migration's."""
    op = diff[0][0] if isinstance(diff, list) else diff[0]
    return op in ("add_table", "remove_table", "add_column", "remove_column", "modify_type",
                  "modify_nullable")


def test_models_match_migrated_schema(db_factory):
    engine = db_factory("models")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, type_, parent: not (
                type_ == "table" and name in ("spatial_ref_sys", "alembic_version")),
        })
        diffs = [d for d in compare_metadata(ctx, metadata) if _relevant(d)]
    assert diffs == []
