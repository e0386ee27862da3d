"""The large loop (大闭环): the county's departments as owners of events. An event the town
cannot close climbs to the department of its category (or is dispatched to one), owned at
the level ``county`` with that department's deadline.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from alembic import op

from twin.store.seed import DEPARTMENT_OF_CATEGORY, DEPARTMENTS

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    rows = ",\n".join(f"({_q(c)}, {_q(zh)}, {_q(en)}, {h})" for c, (zh, en, h) in DEPARTMENTS.items())
    mapping = ",\n".join(f"({_q(c)}, {_q(d)})" for c, d in DEPARTMENT_OF_CATEGORY.items())
    op.execute(f"""
CREATE TABLE departments (
    code    text PRIMARY KEY,
    name_zh text NOT NULL,
    name_en text NOT NULL,
    hours   real NOT NULL CHECK (hours > 0)
);
INSERT INTO departments (code, name_zh, name_en, hours) VALUES
{rows};
ALTER TABLE event_categories ADD COLUMN department text REFERENCES departments (code);
UPDATE event_categories c SET department = m.department
  FROM (VALUES {mapping}) AS m (category, department) WHERE c.code = m.category;

ALTER TABLE events ADD COLUMN department text REFERENCES departments (code);
ALTER TABLE events DROP CONSTRAINT events_owner_level_check;
ALTER TABLE events ADD CONSTRAINT events_owner_level_check
    CHECK (owner_level IN ('microgrid', 'grid', 'village', 'town', 'county'));
ALTER TABLE events ADD CONSTRAINT events_department_owns_the_county_level
    CHECK ((owner_level = 'county') = (department IS NOT NULL));
ALTER TABLE event_deadlines DROP CONSTRAINT event_deadlines_level_check;
ALTER TABLE event_deadlines ADD CONSTRAINT event_deadlines_level_check
    CHECK (level IN ('microgrid', 'grid', 'village', 'town', 'county'));
CREATE INDEX events_department_idx ON events (department) WHERE department IS NOT NULL;
""")  # noqa: S608 - literals of this file


def downgrade() -> None:
    op.execute("""
UPDATE events SET owner_level = 'town', department = NULL WHERE owner_level = 'county';
DROP INDEX IF EXISTS events_department_idx;
ALTER TABLE event_deadlines DROP CONSTRAINT event_deadlines_level_check;
DELETE FROM event_deadlines WHERE level = 'county';
ALTER TABLE event_deadlines ADD CONSTRAINT event_deadlines_level_check
    CHECK (level IN ('microgrid', 'grid', 'village', 'town'));
ALTER TABLE events DROP CONSTRAINT events_department_owns_the_county_level;
ALTER TABLE events DROP CONSTRAINT events_owner_level_check;
ALTER TABLE events ADD CONSTRAINT events_owner_level_check
    CHECK (owner_level IN ('microgrid', 'grid', 'village', 'town'));
ALTER TABLE events DROP COLUMN department;
ALTER TABLE event_categories DROP COLUMN department;
DROP TABLE departments;
""")
