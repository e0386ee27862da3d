"""The twin's tables as SQLAlchemy Core objects, for queries written in Python.

The schema itself is made by the Alembic migrations; a test checks that these
definitions and the migrated database agree.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    CHAR,
    REAL,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    Time,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

SRID = 4326
# Areas in m² are computed by the database in CGCS2000 / 3-degree Gauss-Kruger CM 120E.
_METRIC_AREA = "ST_Area(ST_Transform(geom, 4549))"


def _id() -> Column:
    return Column("id", BigInteger, primary_key=True, autoincrement=True)


def _cells() -> list[Column]:
    return [
        Column("microgrid_id", BigInteger, ForeignKey("units.id"), nullable=False),
        Column("grid_id", BigInteger, nullable=False),
        Column("village_id", BigInteger, nullable=False),
        Column("town_id", BigInteger, nullable=False),
    ]


def _town() -> Column:
    """A child's town: its parent's (a composite key to the parent checks it; 0020)."""
    return Column("town_id", BigInteger, nullable=False)


def _point() -> Column:
    return Column("geom", Geometry("POINT", SRID, spatial_index=False), nullable=False)


def _area() -> Column:
    return Column("geom", Geometry("MULTIPOLYGON", SRID, spatial_index=False), nullable=False)


layer_versions = Table(
    "layer_versions", metadata,
    Column("layer", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

units = Table(
    "units", metadata, _id(),
    Column("level", Text, nullable=False),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("parent_id", BigInteger, ForeignKey("units.id")),
    Column("town_id", BigInteger, nullable=False),
    Column("village_id", BigInteger),
    Column("grid_id", BigInteger),
    _area(),
    Column("area_m2", Float, Computed(_METRIC_AREA), nullable=False),
)

buildings = Table(
    "buildings", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("use", Text, nullable=False),
    Column("floors", SmallInteger, nullable=False),
    Column("height_m", REAL, nullable=False),
    Column("year_built", SmallInteger),
    _area(),
    Column("footprint_m2", REAL, Computed(_METRIC_AREA), nullable=False),
    # the footprint in Web Mercator, for the building tiles (twin.publish.tiles)
    Column("geom_3857", Geometry("MULTIPOLYGON", 3857, spatial_index=False),
           Computed("ST_Transform(geom, 3857)"), nullable=False),
    *_cells(),
)

households = Table(
    "households", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("building_id", BigInteger, ForeignKey("buildings.id")),
    Column("address", Text),
    _point(), *_cells(),
)

people = Table(
    "people", metadata, _id(),
    Column("household_id", BigInteger, ForeignKey("households.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("sex", CHAR(1)),
    Column("birth_date", Date),
    Column("relation", Text),
    Column("tags", ARRAY(Text), nullable=False),
    Column("id_hash", CHAR(64)),
    Column("id_masked", Text),
    Column("phone_hash", CHAR(64)),
    Column("phone_masked", Text),
    *_cells(),
)

land_parcels = Table(
    "land_parcels", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("use_class", Text, nullable=False),
    _area(),
    Column("area_m2", Float, Computed(_METRIC_AREA), nullable=False),
    *_cells(),
)

facilities = Table(
    "facilities", metadata, _id(),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("props", JSONB, nullable=False),
    _point(), *_cells(),
)

workrooms = Table(
    "workrooms", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("opening_hours", Text),
    Column("serves", ARRAY(Text), nullable=False),
    _point(), *_cells(),
)

routes = Table(
    "routes", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("props", JSONB, nullable=False),
    Column("geom", Geometry("LINESTRING", SRID, spatial_index=False), nullable=False),
    Column("length_m", Float, Computed("ST_Length(ST_Transform(geom, 4549))")),
    *_cells(),
)

parameters = Table(
    "parameters", metadata,
    Column("code", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("warn_above", Float),
    Column("warn_below", Float),
    Column("standard", Text),
    Column("recover_hours", REAL, nullable=False),
)

stations = Table(
    "stations", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    _point(), *_cells(),
)

observations = Table(
    "observations", metadata,
    Column("station_id", BigInteger, ForeignKey("stations.id"), primary_key=True),
    Column("parameter", Text, ForeignKey("parameters.code"), primary_key=True),
    Column("observed_at", DateTime(timezone=True), primary_key=True),
    Column("value", Float, nullable=False),
    *_cells(),
)

station_latest = Table(
    "station_latest", metadata,
    _town(),
    Column("station_id", BigInteger, ForeignKey("stations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("parameter", Text, ForeignKey("parameters.code"), primary_key=True),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("value", Float, nullable=False),
)

event_deadlines = Table(
    "event_deadlines", metadata,
    Column("category", Text, ForeignKey("event_categories.code", ondelete="CASCADE"),
           primary_key=True),
    Column("level", Text, primary_key=True),
    Column("hours", REAL, nullable=False),
)

warning_episodes = Table(
    "warning_episodes", metadata, _id(),
    _town(),
    Column("station_id", BigInteger, ForeignKey("stations.id", ondelete="CASCADE"),
           nullable=False),
    Column("parameter", Text, ForeignKey("parameters.code"), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("first_breach_at", DateTime(timezone=True), nullable=False),
    Column("last_breach_at", DateTime(timezone=True), nullable=False),
    Column("breaches", Integer, nullable=False),
    Column("worst", Float, nullable=False),
    Column("closed_at", DateTime(timezone=True)),
)

field_links = Table(
    "field_links", metadata, _id(),
    _town(),
    Column("scope", Text, nullable=False),
    Column("scope_id", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

event_photos = Table(
    "event_photos", metadata, _id(),
    _town(),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("sha256", CHAR(64), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

departments = Table(
    "departments", metadata,
    Column("code", Text, primary_key=True),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("hours", REAL, nullable=False),
)

event_categories = Table(
    "event_categories", metadata,
    Column("code", Text, primary_key=True),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("department", Text, ForeignKey("departments.code")),
)

events = Table(
    "events", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("category", Text, ForeignKey("event_categories.code"), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("status", Text, nullable=False),
    Column("owner_level", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("deadline_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("escalations", SmallInteger, nullable=False),
    Column("satisfaction", SmallInteger),
    Column("client_key", Text, unique=True),
    Column("version", Integer, nullable=False),
    Column("assignee", Text),
    Column("duplicate_of", BigInteger, ForeignKey("events.id")),
    Column("department", Text, ForeignKey("departments.code")),
    _point(), *_cells(),
)

event_log = Table(
    "event_log", metadata, _id(),
    _town(),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("note", Text),
    Column("client_key", Text),
)

sync_peers = Table(
    "sync_peers", metadata,
    Column("name", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("enabled_at", DateTime(timezone=True), nullable=False),
)

sync_outbox = Table(
    "sync_outbox", metadata, _id(),
    _town(),
    Column("event_log_id", BigInteger, ForeignKey("event_log.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
)

sync_inbox = Table(
    "sync_inbox", metadata,
    Column("remote_id", Text, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id", ondelete="CASCADE")),
    Column("outcome", Text, nullable=False),
)

organizations = Table(
    "organizations", metadata, _id(),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("members", Integer, nullable=False),
    Column("unit_id", BigInteger, ForeignKey("units.id")),
    _point(), *_cells(),
    Column("parent_id", BigInteger, ForeignKey("organizations.id", ondelete="SET NULL")),
)

organization_members = Table(
    "organization_members", metadata,
    _town(),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("person_id", BigInteger, ForeignKey("people.id", ondelete="CASCADE"),
           primary_key=True),
    Column("role", Text, nullable=False),
)

party_coverage = Table(
    "party_coverage", metadata,
    _town(),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("units.id"), primary_key=True),
)

microgrid_leaders = Table(
    "microgrid_leaders", metadata, _id(),
    Column("person_id", BigInteger, ForeignKey("people.id"), nullable=False),
    Column("party_member", Boolean, nullable=False),
    Column("term_start", Date, nullable=False),
    Column("term_end", Date, nullable=False),
    Column("relieved_on", Date),
    Column("wechat_group", Text),
    Column("wechat_members", Integer),
    *_cells(),
)

household_links = Table(
    "household_links", metadata,
    Column("household_id", BigInteger, ForeignKey("households.id", ondelete="CASCADE"),
           primary_key=True),
    Column("leader_id", BigInteger, ForeignKey("microgrid_leaders.id", ondelete="CASCADE"),
           nullable=False),
    Column("linked_on", Date, nullable=False),
    Column("geom", Geometry("LINESTRING", SRID, spatial_index=False), nullable=False),
    *_cells(),
)

visits = Table(
    "visits", metadata, _id(),
    Column("household_id", BigInteger, ForeignKey("households.id", ondelete="CASCADE"),
           nullable=False),
    Column("leader_id", BigInteger, ForeignKey("microgrid_leaders.id", ondelete="SET NULL")),
    Column("visitor", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("visited_at", DateTime(timezone=True), nullable=False),
    Column("heard", Text),
    Column("event_id", BigInteger, ForeignKey("events.id", ondelete="SET NULL")),
    Column("client_key", Text, unique=True),
    *_cells(),
)

cadres = Table(
    "cadres", metadata, _id(),
    Column("unit_id", BigInteger, ForeignKey("units.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("sex", CHAR(1)),
    Column("birth_year", SmallInteger),
    Column("education", Text, nullable=False),
    Column("post", Text, nullable=False),
    Column("party_member", Boolean, nullable=False),
    Column("term_start", Date),
    Column("term_end", Date),
    Column("mentor_id", BigInteger, ForeignKey("cadres.id", ondelete="SET NULL")),
    Column("care", ARRAY(Text), nullable=False),
    Column("microgrid_id", BigInteger),
    Column("grid_id", BigInteger),
    Column("village_id", BigInteger, nullable=False),
    Column("town_id", BigInteger, nullable=False),
)

cadre_assessments = Table(
    "cadre_assessments", metadata,
    _town(),
    Column("cadre_id", BigInteger, ForeignKey("cadres.id", ondelete="CASCADE"),
           primary_key=True),
    Column("year", SmallInteger, primary_key=True),
    Column("grade", Text, nullable=False),
)

party_projects = Table(
    "party_projects", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("unit_id", BigInteger, ForeignKey("units.id")),
    Column("owner", Text, nullable=False),
    Column("source", Text),
    Column("status", Text, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("due_on", Date),
    Column("done_on", Date),
    Column("milestones", JSONB, nullable=False),
    Column("geom", Geometry("POINT", SRID, spatial_index=False)),
)

# 三治积分: the standard (versioned), the append-only ledger and the balances it writes, the
# points shop, 三治信用 levels, and volunteer activities (migration 0015)
points_rules = Table(
    "points_rules", metadata,
    Column("code", Text, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("board", Text, nullable=False),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("points", Integer, nullable=False),
    Column("per", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Column("changed_by", Text, nullable=False),
)

points_ledger = Table(
    "points_ledger", metadata, _id(),
    Column("household_id", BigInteger, ForeignKey("households.id"), nullable=False),
    Column("rule_code", Text),
    Column("rule_version", Integer),
    Column("points", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_ref", Text),
    Column("reason", Text),
    Column("approver", Text),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("client_key", Text, unique=True),
    *_cells(),
)

household_points = Table(
    "household_points", metadata,
    Column("household_id", BigInteger, ForeignKey("households.id"), primary_key=True),
    Column("balance", Integer, nullable=False),
    Column("earned", Integer, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    *_cells(),
)

shop_items = Table(
    "shop_items", metadata, _id(),
    _town(),
    Column("unit_id", BigInteger, ForeignKey("units.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("cost", Integer, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

credit_levels = Table(
    "credit_levels", metadata,
    Column("version", Integer, primary_key=True),
    Column("level", Text, primary_key=True),
    Column("min_earned", Integer, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Column("changed_by", Text, nullable=False),
)

household_credit = Table(
    "household_credit", metadata,
    Column("household_id", BigInteger, ForeignKey("households.id"), primary_key=True),
    Column("level", Text),
    Column("earned", Integer, nullable=False),
    Column("levels_version", Integer, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    *_cells(),
)

volunteer_activities = Table(
    "volunteer_activities", metadata, _id(),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"),
           nullable=False),
    Column("title", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("hours", Numeric(4, 1), nullable=False),
    _point(), *_cells(),
)

volunteer_hours = Table(
    "volunteer_hours", metadata,
    _town(),
    Column("activity_id", BigInteger, ForeignKey("volunteer_activities.id", ondelete="CASCADE"),
           primary_key=True),
    Column("person_id", BigInteger, ForeignKey("people.id"), primary_key=True),
    Column("hours", Numeric(4, 1), nullable=False),
)

compacts = Table(
    "compacts", metadata,
    _town(),
    Column("unit_id", BigInteger, ForeignKey("units.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("clauses", JSONB, nullable=False),
    Column("adopted_on", Date, nullable=False),
    Column("adopted_by", Text, nullable=False),
    Column("votes_for", Integer),
    Column("votes_total", Integer),
    Column("valid_to", Date),
    Column("changed_by", Text, nullable=False),
)

consultations = Table(
    "consultations", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("brand", Text),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="SET NULL")),
    Column("raised_by", Text, nullable=False),
    Column("household_id", BigInteger, ForeignKey("households.id")),
    Column("event_id", BigInteger, ForeignKey("events.id")),
    Column("status", Text, nullable=False),
    Column("matters_solved", Integer, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("done_on", Date),
    Column("client_key", Text, unique=True),
    Column("actor", Text, nullable=False),
    _point(), *_cells(),
)

consultation_sessions = Table(
    "consultation_sessions", metadata, _id(),
    _town(),
    Column("consultation_id", BigInteger, ForeignKey("consultations.id", ondelete="CASCADE"),
           nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
    Column("place", Text),
    Column("attendees", Integer, nullable=False),
    Column("minutes", Text, nullable=False),
    Column("decision", Text),
    Column("votes_for", Integer),
    Column("votes_against", Integer),
    Column("votes_abstain", Integer),
    Column("opens_event_id", BigInteger, ForeignKey("events.id")),
    Column("closes_event_id", BigInteger, ForeignKey("events.id")),
    Column("client_key", Text, unique=True),
    Column("actor", Text, nullable=False),
)

volunteer_reports = Table(
    "volunteer_reports", metadata,
    _town(),
    Column("event_id", BigInteger, ForeignKey("events.id", ondelete="CASCADE"),
           primary_key=True),
    Column("person_id", BigInteger, ForeignKey("people.id"), nullable=False),
    Column("household_id", BigInteger, ForeignKey("households.id"), nullable=False),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="SET NULL")),
)

credit_consents = Table(
    "credit_consents", metadata,
    _town(),
    Column("household_id", BigInteger, ForeignKey("households.id"), primary_key=True),
    Column("consented_on", Date, nullable=False),
    Column("withdrawn_on", Date),
    Column("recorded_by", Text, nullable=False),
)

# --- 法治: disputes (桐解码), mediators and judges, legal service places --------------------
legal_places = Table(
    "legal_places", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("opening_hours", Text, nullable=False),
    Column("open_days", ARRAY(SmallInteger), nullable=False),
    Column("opens", Time, nullable=False),
    Column("closes", Time, nullable=False),
    Column("slot_minutes", SmallInteger, nullable=False),
    Column("services", ARRAY(Text), nullable=False),
    Column("serves", ARRAY(Text), nullable=False),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="SET NULL")),
    _point(), *_cells(),
)

mediators = Table(
    "mediators", metadata, _id(),
    Column("kind", Text, nullable=False),
    Column("person_id", BigInteger, ForeignKey("people.id"), nullable=False),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="SET NULL")),
    Column("place_id", BigInteger, ForeignKey("legal_places.id", ondelete="SET NULL")),
    Column("expertise", ARRAY(Text), nullable=False),
    Column("villages", ARRAY(Text), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("since", Date, nullable=False),
    _point(), *_cells(),
)

match_weights = Table(
    "match_weights", metadata, _id(),
    Column("expertise", REAL, nullable=False),
    Column("distance", REAL, nullable=False),
    Column("caseload", REAL, nullable=False),
    Column("success", REAL, nullable=False),
    Column("reach_km", REAL, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

disputes = Table(
    "disputes", metadata, _id(),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("facts", Text, nullable=False),
    Column("claim", Text),
    Column("amount", Numeric(14, 2)),
    Column("channel", Text, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id")),
    Column("mediator_id", BigInteger, ForeignKey("mediators.id")),
    Column("organization_id", BigInteger, ForeignKey("organizations.id", ondelete="SET NULL")),
    Column("judge_id", BigInteger, ForeignKey("mediators.id")),
    Column("match_rank", SmallInteger),
    Column("match_score", REAL),
    Column("override_reason", Text),
    Column("handed_to", Text),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("matched_at", DateTime(timezone=True)),
    Column("agreed_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
    Column("client_key", Text, unique=True),
    Column("actor", Text, nullable=False),
    _point(), *_cells(),
)

dispute_parties = Table(
    "dispute_parties", metadata, _id(),
    _town(),
    Column("dispute_id", BigInteger, ForeignKey("disputes.id", ondelete="CASCADE"),
           nullable=False),
    Column("role", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("id_hash", CHAR(64)),
    Column("id_masked", Text),
    Column("phone_hash", CHAR(64)),
    Column("phone_masked", Text),
    Column("person_id", BigInteger, ForeignKey("people.id")),
)

dispute_log = Table(
    "dispute_log", metadata, _id(),
    _town(),
    Column("dispute_id", BigInteger, ForeignKey("disputes.id", ondelete="CASCADE"),
           nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("note", Text),
)

dispute_sessions = Table(
    "dispute_sessions", metadata, _id(),
    _town(),
    Column("dispute_id", BigInteger, ForeignKey("disputes.id", ondelete="CASCADE"),
           nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("held_at", DateTime(timezone=True)),
    Column("mode", Text, nullable=False),
    Column("place", Text),
    Column("room", Text),
    Column("present", ARRAY(BigInteger), nullable=False),
    Column("attendees", SmallInteger),
    Column("notes", Text),
    Column("client_key", Text, unique=True),
    Column("actor", Text, nullable=False),
)

agreements = Table(
    "agreements", metadata, _id(),
    _town(),
    Column("dispute_id", BigInteger, ForeignKey("disputes.id", ondelete="CASCADE"),
           nullable=False),
    Column("version", Integer, nullable=False),
    Column("terms", JSONB, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("sha256", CHAR(64), nullable=False, unique=True),
    Column("drafted_at", DateTime(timezone=True), nullable=False),
    Column("drafted_by", Text, nullable=False),
)

agreement_signatures = Table(
    "agreement_signatures", metadata,
    _town(),
    Column("agreement_id", BigInteger, ForeignKey("agreements.id", ondelete="CASCADE"),
           primary_key=True),
    Column("party_id", BigInteger, ForeignKey("dispute_parties.id", ondelete="CASCADE"),
           primary_key=True),
    Column("typed_name", Text, nullable=False),
    Column("consent", Boolean, nullable=False),
    Column("sha256", CHAR(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

legal_appointments = Table(
    "legal_appointments", metadata, _id(),
    _town(),
    Column("code", Text, nullable=False, unique=True),
    Column("place_id", BigInteger, ForeignKey("legal_places.id"), nullable=False),
    Column("service", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("name_masked", Text, nullable=False),
    Column("phone_hash", CHAR(64)),
    Column("phone_masked", Text),
    Column("note", Text),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    Column("client_key", Text, unique=True),
)

unit_counts = Table(
    "unit_counts", metadata,
    Column("unit_id", BigInteger, primary_key=True),
    Column("family", Text, nullable=False),
    Column("measure", Text, primary_key=True),
    Column("value", Float, nullable=False),
)

accounts = Table(
    "accounts", metadata, _id(),
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("scope", ARRAY(Text), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("must_change", Boolean, nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_sha256", CHAR(64), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("username", Text, primary_key=True),
    Column("address", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log", metadata, _id(),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("object", Text, nullable=False),
    Column("unit_code", Text),
    Column("purpose", Text),
    Column("detail", JSONB, nullable=False),
)

scenes = Table(
    "scenes", metadata, _id(),
    Column("name", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("files", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("footprint", Geometry("POLYGON", SRID, spatial_index=False), nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)


def town_of(conn, table: Table, row_id: int) -> int | None:
    """The town of one row of an element table (None when there is no such row): what a
    writer gives a child row's ``town_id`` (0020), so that the row goes to its town's shard."""
    return conn.execute(select(table.c.town_id).where(table.c.id == row_id)).scalar()
