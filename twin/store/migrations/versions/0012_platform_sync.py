"""Two-way flow with the provincial grassroots-governance platform (基层治理四平台): an outbox
of event changes written in the same transaction as each change (a trigger on event_log,
only while a platform is configured, never for changes that came from it), and an inbox
of the platform's changes keyed by the platform's own id (each applied once).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from alembic import op

from twin.store import sqlfiles

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE sync_peers (
    name       text PRIMARY KEY,
    url        text NOT NULL,
    enabled_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sync_outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_log_id bigint NOT NULL UNIQUE REFERENCES event_log (id) ON DELETE CASCADE,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX sync_outbox_unsent_idx ON sync_outbox (id) WHERE sent_at IS NULL;
CREATE TABLE sync_inbox (
    remote_id   text PRIMARY KEY CHECK (length(remote_id) BETWEEN 1 AND 200),
    received_at timestamptz NOT NULL DEFAULT now(),
    event_id    bigint REFERENCES events (id) ON DELETE CASCADE,
    outcome     text NOT NULL
);
ALTER TABLE events DROP CONSTRAINT events_source_check;
ALTER TABLE events ADD CONSTRAINT events_source_check CHECK (source IN (
    'grid_worker', 'resident', 'sensor', 'hotline', 'inspection', 'open311', 'platform'));
""")
    sqlfiles.run(op, "functions/twin_sync_enqueue.sql", "triggers/event_log.sql")


def downgrade() -> None:
    op.execute("""
DROP TRIGGER IF EXISTS event_log_sync ON event_log;
DROP FUNCTION IF EXISTS twin_sync_enqueue();
DROP TABLE IF EXISTS sync_inbox, sync_outbox, sync_peers;
UPDATE events SET source = 'hotline' WHERE source = 'platform';
ALTER TABLE events DROP CONSTRAINT events_source_check;
ALTER TABLE events ADD CONSTRAINT events_source_check CHECK (source IN (
    'grid_worker', 'resident', 'sensor', 'hotline', 'inspection', 'open311'));
""")
