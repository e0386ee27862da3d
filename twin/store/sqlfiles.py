"""The current definition of every PostGIS function and trigger of the twin, one ``.sql``
file per function (``sql/functions/<name>.sql``) and per table's triggers
(``sql/triggers/<table>.sql``), in the form PostgreSQL itself prints them
(``pg_get_functiondef``, ``pg_get_triggerdef``) and idempotent (``CREATE OR REPLACE``).

A migration that changes a function edits its file and runs it (``run(op, "functions/…")``),
so a review shows the changed lines, not the function rewritten in full. A test checks
that the files and a migrated database agree. SQL-language functions are checked when
they are created: change such a file only together with the migration that adds what it
needs (the plpgsql ones are checked when they run).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

SQL = Path(__file__).parent / "sql"


def files() -> list[Path]:
    """Every definition file: the functions first (the triggers call them)."""
    return sorted((SQL / "functions").glob("*.sql")) + sorted((SQL / "triggers").glob("*.sql"))


def read(name: str | Path) -> str:
    """The text of a definition file (``functions/twin_rollup.sql``, or a path)."""
    path = name if isinstance(name, Path) else SQL / name
    return path.read_text(encoding="utf-8")


def run(op, *names: str) -> None:
    """In a migration: (re)create the objects of the named files, or of every file whose
    table exists at that point of the history (a later migration creates the others)."""
    conn = op.get_bind()
    for path in ([SQL / n for n in names] if names else files()):
        if path.parent.name == "triggers" and not names and conn.execute(
                sa.text("SELECT to_regclass(:t) IS NULL"), {"t": f"public.{path.stem}"}
        ).scalar():
            continue
        op.execute(read(path))
