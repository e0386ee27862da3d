"""The roll-up joins a station's latest readings and a grid's party coverage on the town as
well as the key, so that on Citus each join stays on one shard (docs/scaling.md).

On one PostgreSQL the answer is the same: a child's town is its parent's (0020).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from alembic import op

from twin.store import sqlfiles

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlfiles.run(op, "functions/twin_rollup.sql")


# The two joins as they were before.
_BY_TOWN = (("JOIN station_latest l ON l.town_id = s.town_id\n"
             "                                                         AND l.station_id = s.id",
             "JOIN station_latest l ON l.station_id = s.id"),
            ("WHERE pc.town_id = g.town_id\n"
             "                                              AND pc.grid_id = g.id)),",
             "WHERE pc.grid_id = g.id)),"))


def downgrade() -> None:
    text = sqlfiles.read("functions/twin_rollup.sql")
    for now, before in _BY_TOWN:
        text = text.replace(now, before)
    op.execute(text)
