"""Keep every element table distributable by town: town_id in a unique constraint.

Citus (docs/scaling.md) distributes a table by one column, and every primary key and
unique constraint of a distributed table must hold it. Every table that carries the cells
(``town_id``…) gets UNIQUE (town_id, id) now — the key it would be distributed on — so the
step to distribution is swapping the primary key, not finding out what breaks. The
readings' primary key takes town_id as its last column (lookups by station keep their
index prefix).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ELEMENT_TABLES = ("units", "buildings", "households", "people", "land_parcels", "facilities",
                  "routes", "stations", "events", "organizations")


def upgrade() -> None:
    for table in ELEMENT_TABLES:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_town_id_id_key "
                   "UNIQUE (town_id, id)")
    op.execute("ALTER TABLE observations DROP CONSTRAINT observations_pkey, "
               "ADD PRIMARY KEY (station_id, parameter, observed_at, town_id)")


def downgrade() -> None:
    op.execute("ALTER TABLE observations DROP CONSTRAINT observations_pkey, "
               "ADD PRIMARY KEY (station_id, parameter, observed_at)")
    for table in ELEMENT_TABLES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_town_id_id_key")
