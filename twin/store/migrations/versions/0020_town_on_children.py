"""Every row of a town's work carries its town: ``town_id`` on the child tables.

Citus distributes the twin by ``town_id`` (docs/scaling.md), and a row can be placed on its
town's shard only if it names its town. The element tables have carried it since 0001; this
gives it to the tables that follow a parent, and makes each one's foreign key to that
parent composite, ``(town_id, parent_id) → parent (town_id, id)``. So:

- a child's town is always its parent's: the key checks it on every write, and follows
  the parent if the parent's town changes (``ON UPDATE CASCADE``);
- the writers give ``town_id`` themselves (there is no trigger to fill it: on Citus the
  row is routed before a trigger could run), taking it from the parent row they already
  hold; a writer that forgets it is refused by ``NOT NULL``;
- each table keeps ``town_id`` in a unique constraint beside its key, as the element
  tables do since 0006 (the constraint Citus's key becomes);
- on one PostgreSQL nothing else changes: the old keys and indexes stay.

Field links name an event, a grid or a leader, without a foreign key: their town is the
one of what they open. ``unit_counts`` (the county's own row has no town) and
``sync_inbox`` (a refused record names no event) are not in this step.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from alembic import op

from twin.store import sqlfiles

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# (child, its key, [(column, parent, ON DELETE of the key)]): parents before children.
_CHILDREN = [
    ("event_log", "id", [("event_id", "events", "NO ACTION")]),
    ("event_photos", "id", [("event_id", "events", "NO ACTION")]),
    ("volunteer_reports", "event_id", [("event_id", "events", "CASCADE")]),
    ("warning_episodes", "id", [("station_id", "stations", "CASCADE")]),
    ("station_latest", "station_id, parameter", [("station_id", "stations", "CASCADE")]),
    ("organization_members", "organization_id, person_id",
     [("organization_id", "organizations", "CASCADE")]),
    ("party_coverage", "grid_id, organization_id", [("grid_id", "units", "NO ACTION"),
                                                    ("organization_id", "organizations",
                                                     "CASCADE")]),
    ("cadre_assessments", "cadre_id, year", [("cadre_id", "cadres", "CASCADE")]),
    ("sync_outbox", "id", [("event_log_id", "event_log", "CASCADE")]),
    ("volunteer_hours", "activity_id, person_id",
     [("activity_id", "volunteer_activities", "CASCADE")]),
    ("shop_items", "id", [("unit_id", "units", "NO ACTION")]),
    ("compacts", "unit_id, version", [("unit_id", "units", "NO ACTION")]),
    ("consultation_sessions", "id", [("consultation_id", "consultations", "CASCADE")]),
    ("credit_consents", "household_id", [("household_id", "households", "NO ACTION")]),
    ("dispute_parties", "id", [("dispute_id", "disputes", "CASCADE")]),
    ("dispute_log", "id", [("dispute_id", "disputes", "CASCADE")]),
    ("dispute_sessions", "id", [("dispute_id", "disputes", "CASCADE")]),
    ("agreements", "id", [("dispute_id", "disputes", "CASCADE")]),
    ("agreement_signatures", "agreement_id, party_id",
     [("agreement_id", "agreements", "CASCADE"), ("party_id", "dispute_parties", "CASCADE")]),
    ("legal_appointments", "id", [("place_id", "legal_places", "NO ACTION")]),
]


def _unique(table: str, key: str) -> str:
    return f"{table}_town_id_{key.replace(', ', '_')}_key"


def upgrade() -> None:
    for table, key, parents in _CHILDREN:
        column, parent, _ = parents[0]
        op.execute(f"""
ALTER TABLE {table} ADD COLUMN town_id bigint;
ALTER TABLE {table} DISABLE TRIGGER USER;  -- the fill is no change (append-only, versions)
UPDATE {table} c SET town_id = p.town_id FROM {parent} p WHERE p.id = c.{column};
ALTER TABLE {table} ENABLE TRIGGER USER;
ALTER TABLE {table} ALTER COLUMN town_id SET NOT NULL;
ALTER TABLE {table} ADD CONSTRAINT {_unique(table, key)} UNIQUE (town_id, {key});
""")
        for column, parent, on_delete in parents:
            op.execute(f"""
ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey;
ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY (town_id, {column})
    REFERENCES {parent} (town_id, id) ON UPDATE CASCADE ON DELETE {on_delete};
""")
    op.execute("""
ALTER TABLE field_links ADD COLUMN town_id bigint;
UPDATE field_links f SET town_id = coalesce(
    (SELECT town_id FROM events e WHERE f.scope = 'event' AND e.id = f.scope_id),
    (SELECT town_id FROM units u WHERE f.scope = 'grid' AND u.id = f.scope_id),
    (SELECT town_id FROM microgrid_leaders l WHERE f.scope = 'leader' AND l.id = f.scope_id));
DELETE FROM field_links WHERE town_id IS NULL;  -- a link to something gone opens nothing
ALTER TABLE field_links ALTER COLUMN town_id SET NOT NULL;
ALTER TABLE field_links ADD CONSTRAINT field_links_town_id_id_key UNIQUE (town_id, id);
""")
    # The two triggers that write child rows take the town from the row they follow.
    sqlfiles.run(op, "functions/twin_sync_enqueue.sql", "functions/twin_station_latest.sql")


def downgrade() -> None:
    op.execute("ALTER TABLE field_links DROP COLUMN town_id")
    for table, _key, parents in reversed(_CHILDREN):
        for column, parent, on_delete in parents:
            op.execute(f"""
ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey;
ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY ({column})
    REFERENCES {parent} (id) ON DELETE {on_delete};
""")
        op.execute(f"ALTER TABLE {table} DROP COLUMN town_id")
    op.execute(_without_town())


# The two functions as they were before this revision: today's, without the town.
_WITH_TOWN = {
    "functions/twin_sync_enqueue.sql": (
        ("INSERT INTO sync_outbox (town_id, event_log_id, payload)\n"
         "    SELECT NEW.town_id, NEW.id, jsonb_build_object(",
         "INSERT INTO sync_outbox (event_log_id, payload)\n"
         "    SELECT NEW.id, jsonb_build_object("),),
    "functions/twin_station_latest.sql": (
        ("INSERT INTO station_latest (town_id, station_id, parameter, observed_at, value)\n"
         "    SELECT DISTINCT ON (station_id, parameter) town_id, station_id, parameter, "
         "observed_at,\n           value",
         "INSERT INTO station_latest (station_id, parameter, observed_at, value)\n"
         "    SELECT DISTINCT ON (station_id, parameter) station_id, parameter, observed_at, "
         "value"),),
}


def _without_town() -> str:
    texts = []
    for name, edits in _WITH_TOWN.items():
        text = sqlfiles.read(name)
        for now, before in edits:
            text = text.replace(now, before)
        texts.append(text)
    return "\n".join(texts)
