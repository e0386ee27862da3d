"""The event centre's moves: an event dispatched to someone (a unit, a department, a
person: ``assignee``), merged onto another (``duplicate_of``), and notes that a retried
submission writes once (``event_log.client_key``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE events ADD COLUMN assignee text,
                   ADD COLUMN duplicate_of bigint REFERENCES events (id);
ALTER TABLE event_log ADD COLUMN client_key text;
CREATE UNIQUE INDEX event_log_client_key_idx ON event_log (event_id, client_key)
    WHERE client_key IS NOT NULL;
""")


def downgrade() -> None:
    op.execute("""
DROP INDEX IF EXISTS event_log_client_key_idx;
ALTER TABLE event_log DROP COLUMN client_key;
ALTER TABLE events DROP COLUMN duplicate_of, DROP COLUMN assignee;
""")
