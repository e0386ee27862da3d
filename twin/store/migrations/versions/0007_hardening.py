"""Hardening after the attack of issue 13.

Sign-in failures are counted per account name and client address, so guessing from one
address locks that address out of that account, not the account's owner (the account-wide
counter goes). Free text already stored in events and their log is scrubbed of ID-card and
phone numbers, as every new text now is on its way in (``twin.domain.pii.scrub_text``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# the text columns people type into, by table (identifiers only from here)
TEXT_COLUMNS = {"events": ("title", "description"), "event_log": ("note",)}
# rows worth a look: some run of seven digits or more
DIGITS = r"\d{3}[\s-]?\d{4}"


def upgrade() -> None:
    op.execute("""
CREATE TABLE sign_in_failures (
    username      text NOT NULL,
    address       text NOT NULL,
    failures      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    last_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, address)
);
CREATE INDEX sign_in_failures_last_idx ON sign_in_failures (last_at);
ALTER TABLE accounts DROP COLUMN failed_logins, DROP COLUMN locked_until;
""")
    _scrub_stored_text()


def _scrub_stored_text() -> None:
    from twin.domain.pii import scrub_text

    conn = op.get_bind()
    op.execute("ALTER TABLE event_log DISABLE TRIGGER event_log_append_only")
    for table, columns in TEXT_COLUMNS.items():
        for column in columns:
            rows = conn.execute(sa.text(
                f"SELECT id, {column} FROM {table} WHERE {column} ~ :digits"),  # noqa: S608
                {"digits": DIGITS}).all()
            changed = [{"id": i, "v": scrub_text(v)} for i, v in rows if scrub_text(v) != v]
            if changed:
                conn.execute(sa.text(
                    f"UPDATE {table} SET {column} = :v WHERE id = :id"),  # noqa: S608
                    changed)
    op.execute("ALTER TABLE event_log ENABLE TRIGGER event_log_append_only")


def downgrade() -> None:
    op.execute("""
DROP TABLE IF EXISTS sign_in_failures;
ALTER TABLE accounts ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
                     ADD COLUMN locked_until timestamptz;
""")
