"""The event centre's counts from the index alone: the index of open events by deadline
also carries their status and cells, so a town official's counts (20,000 open events in
scope) are an index-only scan — 47 ms → 15 ms, scripts/bench_centre.py.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from alembic import op

from twin.domain.workflow import OPEN

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN) + ")"


def upgrade() -> None:
    op.execute(f"""
DROP INDEX events_open_deadline_idx;
CREATE INDEX events_open_deadline_idx ON events (deadline_at)
    INCLUDE (status, town_id, village_id, grid_id, microgrid_id)
    WHERE status IN {OPEN_SQL};
""")


def downgrade() -> None:
    op.execute(f"""
DROP INDEX events_open_deadline_idx;
CREATE INDEX events_open_deadline_idx ON events (deadline_at) WHERE status IN {OPEN_SQL};
""")
