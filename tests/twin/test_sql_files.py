"""The current SQL of every function and trigger is the one in its file
(``twin/store/sql``): the files and a migrated database agree, both ways."""

from __future__ import annotations

import sqlalchemy as sa

from twin.store import sqlfiles


def test_every_function_and_trigger_is_its_file(db_factory):
    engine = db_factory("sqlfiles")
    with engine.connect() as conn:
        functions = dict(conn.execute(sa.text(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "AND p.proname LIKE 'twin\\_%'")).all())
        triggers: dict[str, set[str]] = {}
        for table, definition in conn.execute(sa.text(
                "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                "AND NOT t.tgisinternal")):
            triggers.setdefault(table, set()).add(
                definition.replace("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER", 1) + ";")
    files = {p.stem: sqlfiles.read(p) for p in (sqlfiles.SQL / "functions").glob("*.sql")}
    assert set(files) == set(functions)
    for name, text in files.items():
        assert text.rstrip().removesuffix(";") == functions[name].rstrip(), name
    by_table = {p.stem: set(sqlfiles.read(p).splitlines())
                for p in (sqlfiles.SQL / "triggers").glob("*.sql")}
    assert by_table == triggers
