"""The events' closed loop: deadlines per category and owning level, in a table the
admin can edit (the sweep reads open events by deadline through 0001's partial index).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Hours an owning level has to handle an event before it climbs to the level above
# ("小事不出格": the micro-grid first). Urgent categories get half the time.
LEVEL_HOURS = {"microgrid": 24, "grid": 48, "village": 72, "town": 120}
URGENT = ("fire", "safety", "flood", "environment")

UPGRADE = f"""
CREATE TABLE event_deadlines (
    category text NOT NULL REFERENCES event_categories (code) ON DELETE CASCADE,
    level    text NOT NULL CHECK (level IN ('microgrid', 'grid', 'village', 'town')),
    hours    real NOT NULL CHECK (hours > 0),
    PRIMARY KEY (category, level)
);
INSERT INTO event_deadlines (category, level, hours)
SELECT c.code, l.level, l.hours * CASE WHEN c.code IN {URGENT!r} THEN 0.5 ELSE 1 END
  FROM event_categories c
 CROSS JOIN (VALUES {", ".join(f"('{k}', {v})" for k, v in LEVEL_HOURS.items())})
       AS l (level, hours);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS event_deadlines;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
