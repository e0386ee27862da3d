"""The twin's tables spread over a Citus cluster by town (docs/scaling.md, step 4).

``python -m twin cluster distribute`` runs this on the coordinator, once, after ``twin db
upgrade`` (and, for a sample or a county's data, after loading it there: Citus moves the
rows into the workers' shards). In one transaction it

1. places every table: **distributed** by ``town_id`` and co-located (every table with a
   ``town_id`` column, but the reference ones), **reference** (copied to every node), or
   **local** (on the coordinator only); a table the plan does not place stops it;
2. makes each distributed table's keys include ``town_id``, as Citus requires of every
   unique index: the primary key becomes the ``UNIQUE (town_id, …)`` that 0006 and 0020
   made, the old key stays as a plain index (lookups by ``id``), and the other unique
   constraints and indexes gain ``town_id`` first (a code or a client key is unique in its
   town);
3. turns each foreign key between two distributed tables into ``(town_id, col) →
   (town_id, id)`` (the 0020 ones are so already): a row and what it names are in one town,
   so on one shard; keys to reference tables stay as they are; a key from a local table to
   a distributed one is dropped (``sync_inbox``: a record received, kept for idempotency);
4. keeps the triggers that work on a shard and drops the others (measured on Citus 13.2,
   docs/scaling.md "Triggers on Citus"): a trigger runs on the worker that holds the shard,
   cannot query another distributed or local table from there, cannot use a statement's
   transition table, and cannot move a row to another town's shard.

What this leaves for later is said in docs/scaling.md: the writers' half (cells, counters and
versions computed by the writer rather than by the dropped triggers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from twin.errors import ClusterError

DISTRIBUTION_COLUMN = "town_id"
# Copied to every node: the county's rules and dictionaries, and the counters per unit
# (which every unit's figures read; the county's own row has no town).
REFERENCE = ("unit_counts", "event_categories", "event_deadlines", "departments",
             "parameters", "layer_versions", "party_projects", "points_rules", "credit_levels",
             "match_weights", "scenes")
# On the coordinator only: the accounts and everything about who signed in and what they
# did (personal-data control in one place), the schema's revision, the platform's peers and
# the records received from them.
LOCAL = ("accounts", "sessions", "sign_in_failures", "audit_log", "alembic_version",
         "sync_peers", "sync_inbox")
# PostGIS's own table, on every node by the extension.
EXTENSION_TABLES = ("spatial_ref_sys",)
# Trigger functions that work on a shard: they read only the row itself or reference tables.
SHARD_SAFE_TRIGGERS = ("twin_append_only",)


@dataclass
class Plan:
    distributed: list[str]
    reference: list[str] = field(default_factory=lambda: list(REFERENCE))
    local: list[str] = field(default_factory=lambda: list(LOCAL))


@dataclass
class Report:
    plan: Plan
    keys: list[str] = field(default_factory=list)          # keys changed to carry town_id
    foreign_keys: list[str] = field(default_factory=list)  # foreign keys made composite
    dropped_foreign_keys: list[str] = field(default_factory=list)
    dropped_triggers: list[str] = field(default_factory=list)


def plan(conn: Connection) -> Plan:
    """Where each table of the schema goes; ClusterError names a table nothing places."""
    tables = set(conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    with_town = set(conn.execute(sa.text(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = :c"), {"c": DISTRIBUTION_COLUMN}).scalars())
    distributed = sorted(with_town - set(REFERENCE))
    placed = set(distributed) | set(REFERENCE) | set(LOCAL) | set(EXTENSION_TABLES)
    unplaced = sorted(tables - placed)
    if unplaced:
        raise ClusterError(f"table(s) {', '.join(unplaced)} have no place in the distribution "
                           "plan (twin.store.distribution): add them there and to "
                           "docs/scaling.md")
    missing = sorted((set(REFERENCE) | set(LOCAL)) - tables)
    if missing:
        raise ClusterError(f"the distribution plan names table(s) {', '.join(missing)}, "
                           "which the schema does not have: run twin db upgrade first")
    return Plan(distributed=distributed)


def is_distributed(conn: Connection) -> bool:
    """Whether the twin's tables are spread over Citus already (False on a plain PostGIS:
    Citus's catalogue is looked for first, a query naming it would not parse there)."""
    if not conn.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar():
        return False
    return bool(conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_dist_partition "
        "WHERE logicalrelid = 'public.buildings'::regclass)")).scalar())


def distribute(engine: Engine) -> Report:
    """Spread the twin's tables over the cluster, in one transaction (see the module)."""
    with engine.begin() as conn:
        if not conn.execute(sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar():
            raise ClusterError("this database has no Citus: run twin cluster start, and point "
                               "TWIN_DATABASE_URL at the coordinator (twin cluster url)")
        if is_distributed(conn):
            raise ClusterError("the twin's tables are distributed already")
        the_plan = plan(conn)
        report = Report(the_plan)
        conn.execute(sa.text("SET LOCAL citus.enable_unsafe_triggers = on"))
        conn.execute(sa.text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
        conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
        keys = _foreign_keys(conn)
        for fk in keys:
            conn.execute(sa.text(f'ALTER TABLE {fk.child} DROP CONSTRAINT "{fk.name}"'))
        _drop_unsafe_triggers(conn, the_plan, report)
        for table in the_plan.distributed:
            _key_by_town(conn, table, report)
        for table in the_plan.reference:
            conn.execute(sa.text("SELECT create_reference_table(:t)"), {"t": table})
        first = the_plan.distributed[0]
        for table in the_plan.distributed:
            conn.execute(sa.text(
                "SELECT create_distributed_table(:t, :c, colocate_with => :with)"),
                {"t": table, "c": DISTRIBUTION_COLUMN,
                 "with": "default" if table == first else first})
        for table in the_plan.reference + the_plan.distributed:
            conn.execute(sa.text("SELECT truncate_local_data_after_distributing_table(:t)"),
                         {"t": table})
        for fk in keys:
            _restore(conn, fk, the_plan, report)
    return report


# --- foreign keys -------------------------------------------------------------------------
@dataclass(frozen=True)
class _ForeignKey:
    name: str
    child: str
    parent: str
    columns: tuple[str, ...]
    definition: str


def _foreign_keys(conn: Connection) -> list[_ForeignKey]:
    rows = conn.execute(sa.text("""
        SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k (n, i)
                       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                      ORDER BY k.i),
               pg_get_constraintdef(c.oid)
          FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace
         WHERE c.contype = 'f' AND s.nspname = 'public'
         ORDER BY 2, 1""")).all()
    keys = [_ForeignKey(r[0], r[1], r[2], tuple(r[3]), r[4]) for r in rows]
    return [k for k in keys if not (k.child in LOCAL and k.parent in LOCAL)]


def _restore(conn: Connection, fk: _ForeignKey, the_plan: Plan, report: Report) -> None:
    """The key again, in the form Citus takes (see the module)."""
    definition = fk.definition
    if fk.child in the_plan.local or (fk.child in the_plan.reference
                                      and fk.parent in the_plan.distributed):
        report.dropped_foreign_keys.append(f"{fk.child}.{fk.name}: {definition}")
        return
    if fk.parent in the_plan.distributed:
        if fk.columns[0] != DISTRIBUTION_COLUMN:
            column = ", ".join(fk.columns)
            definition = re.sub(r"^FOREIGN KEY \((.+?)\) REFERENCES (\w+)\((.+?)\)",
                                rf"FOREIGN KEY ({DISTRIBUTION_COLUMN}, \1) REFERENCES "
                                rf"\2({DISTRIBUTION_COLUMN}, \3)", definition)
            note = ""
            if "ON DELETE SET NULL" in definition:
                # Citus refuses SET NULL on a key that holds the distribution column: the
                # parent of such a row is deleted only once the writer has cleared it
                definition = definition.replace("ON DELETE SET NULL", "")
                note = f" (ON DELETE SET NULL of {column}: now left to the writer)"
            report.foreign_keys.append(f"{fk.child}.{fk.name}{note}")
    # Citus cascades no change of the distribution column (a row's town never changes there)
    definition = definition.replace("ON UPDATE CASCADE", "")
    conn.execute(sa.text(
        f'ALTER TABLE {fk.child} ADD CONSTRAINT "{fk.name}" {definition}'))  # from pg_catalog


# --- keys ---------------------------------------------------------------------------------
def _key_by_town(conn: Connection, table: str, report: Report) -> None:
    """Every unique index of the table made to include town_id (Citus requires it)."""
    rows = conn.execute(sa.text("""
        SELECT i.indexrelid::regclass::text AS index, c.conname, c.contype,
               ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k (n, o)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                      ORDER BY k.o) AS columns,
               pg_get_indexdef(i.indexrelid) AS definition
          FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
         WHERE i.indrelid = CAST(:t AS regclass) AND i.indisunique
         ORDER BY i.indisprimary DESC, 1"""), {"t": table}).mappings().all()
    by_columns = {tuple(r["columns"]): r for r in rows}
    for r in rows:
        columns = tuple(r["columns"])
        if DISTRIBUTION_COLUMN in columns:
            continue
        if r["contype"] == "p":
            # the primary key: (town_id, …) of 0006/0020 takes its place; the old one stays
            # an index, for lookups by id
            town_key = by_columns.get((DISTRIBUTION_COLUMN, *columns))
            conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{r["conname"]}"'))
            if town_key is None:
                conn.execute(sa.text(f"ALTER TABLE {table} ADD PRIMARY KEY "
                                     f"({DISTRIBUTION_COLUMN}, {', '.join(columns)})"))
            else:
                conn.execute(sa.text(
                    f'ALTER TABLE {table} DROP CONSTRAINT "{town_key["conname"]}"'))
                conn.execute(sa.text(f"ALTER TABLE {table} ADD PRIMARY KEY "
                                     f"({DISTRIBUTION_COLUMN}, {', '.join(columns)})"))
            conn.execute(sa.text(f'CREATE INDEX "{table}_{"_".join(columns)}_idx" '
                                 f"ON {table} ({', '.join(columns)})"))
        elif r["contype"] == "u":
            conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{r["conname"]}"'))
            conn.execute(sa.text(
                f'ALTER TABLE {table} ADD CONSTRAINT "{r["conname"]}" UNIQUE '
                f"({DISTRIBUTION_COLUMN}, {', '.join(columns)})"))
        else:  # a unique index, often partial: the same with town_id first
            definition = re.sub(r"USING (\w+) \(", rf"USING \1 ({DISTRIBUTION_COLUMN}, ",
                                r["definition"], count=1)
            conn.execute(sa.text(f"DROP INDEX {r['index']}"))
            conn.execute(sa.text(definition))
        report.keys.append(f"{table}: {', '.join(columns)} → {DISTRIBUTION_COLUMN}, "
                           f"{', '.join(columns)}")


# --- triggers -----------------------------------------------------------------------------
def _drop_unsafe_triggers(conn: Connection, the_plan: Plan, report: Report) -> None:
    rows = conn.execute(sa.text("""
        SELECT DISTINCT t.tgname, t.tgrelid::regclass::text, p.proname
          FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE NOT t.tgisinternal AND t.tgrelid::regclass::text = ANY(:tables)
         ORDER BY 2, 1"""), {"tables": the_plan.distributed + the_plan.reference}).all()
    for name, table, function in rows:
        if function in SHARD_SAFE_TRIGGERS:
            continue
        conn.execute(sa.text(f'DROP TRIGGER "{name}" ON {table}'))  # names from pg_catalog
        report.dropped_triggers.append(f"{table}.{name} ({function})")
