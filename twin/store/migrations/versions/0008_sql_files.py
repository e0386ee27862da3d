"""Functions and triggers from their files.

From here on, the current definition of each function lives in
``twin/store/sql/functions/<name>.sql`` and each table's triggers in
``twin/store/sql/triggers/<table>.sql`` (``twin.store.sqlfiles``); this revision (re)creates
them all from those files, which hold exactly what revisions 0001–0007 made, so it changes
nothing in a database that was at 0007.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from alembic import op

from twin.store import sqlfiles

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlfiles.run(op)


def downgrade() -> None:
    pass  # the definitions are those of 0007: nothing to undo
