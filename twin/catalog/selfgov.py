"""自治 (self-governance): village compacts, the councils' members, the consultation
projects and their sittings, 文明啄木鸟 reports, and consents to the credit export.

A consultation is public business: its matter, place, brand, status and sittings leave by
tiles and OGC API (the minutes and decisions are words people typed: OGC only, nulled for
roles that may not read them). Who raised it (a household) and who serves on a council or
reported as a woodpecker (a person) are personal: they never leave by a projection.
"""

from __future__ import annotations

from twin.catalog.model import CELLS, Columns, Element, OgcSpec, Prop, TileSpec, cols
from twin.catalog.units import VILLAGE

_SESSIONS = ("(SELECT count(*) FROM consultation_sessions s "
             "WHERE s.town_id = t.town_id AND s.consultation_id = t.id)")
_COUNCIL = ("(SELECT o.name FROM organizations o "
            "WHERE o.town_id = t.town_id AND o.id = t.organization_id)")
_CONSULTATION = (*cols("code", "brand", "status", "raised_by", "matters_solved"),
                 Prop("sessions", _SESSIONS), Prop("council", _COUNCIL))

CONSULTATIONS = Element(
    name="consultations", table="consultations", kind="geography",
    columns=Columns(public=("id", "code", "title", "brand", "organization_id", "raised_by",
                            "status", "matters_solved", "opened_on", "done_on", "geom",
                            *CELLS),
                    internal=("household_id", "event_id", "client_key", "actor")),
    tiles=(TileSpec(
        name="consultations", title_zh="微治理协商项目", title_en="Consultation projects",
        minzoom=8, maxzoom=16, geometry_type="Point", order="t.opened_on DESC, t.id",
        properties=(Prop("id", "t.id"), Prop("name", "t.title"), *_CONSULTATION,
                    Prop("opened_on", "t.opened_on::text"))),),  # the map's tooltip: name
    ogc=(OgcSpec(
        id="consultations", title="微治理协商项目",
        description="Micro-governance consultation projects (议事协商): the matter, where, "
                    "the council consulting, its sittings, status and livelihood matters "
                    "solved.",
        properties=(*cols("title"), *_CONSULTATION, Prop("opened_on", "t.opened_on::text"),
                    Prop("done_on", "t.done_on::text")),
        filters={"status": "t.status = :v", "brand": "t.brand = :v"}),),
)

CONSULTATION_SESSIONS = Element(
    name="consultation_sessions", table="consultation_sessions", kind="geography",
    columns=Columns(public=("town_id", "id", "consultation_id", "held_at", "place", "attendees",
                            "votes_for", "votes_against", "votes_abstain"),
                    text=("minutes", "decision"),
                    internal=("opens_event_id", "closes_event_id", "client_key", "actor")),
)

COMPACTS = Element(
    name="compacts", table="compacts", kind="geography",
    columns=Columns(public=("town_id", "unit_id", "version", "kind", "title", "clauses", "adopted_on",
                            "adopted_by", "votes_for", "votes_total", "valid_to"),
                    internal=("changed_by",)),
)

COUNCIL_MEMBERS = Element(  # the rolls of "两会三团" and of volunteer teams
    name="organization_members", table="organization_members", kind="residents",
    columns=Columns(public=("town_id", "organization_id", "role"), personal=("person_id",)),
    aliases={"unit": VILLAGE,
             "organization": ("organization", "组织名称", "队伍名称", "团队名称", "所在组织"),
             "org_kind": ("kind", "组织类型", "类型", "队伍类型"),
             "role": ("role", "职务", "角色", "身份")},
)

VOLUNTEER_REPORTS = Element(
    name="volunteer_reports", table="volunteer_reports", kind="residents",
    columns=Columns(public=("town_id", "event_id", "organization_id"),
                    personal=("person_id", "household_id")),
)

CREDIT_CONSENTS = Element(
    name="credit_consents", table="credit_consents", kind="households",
    columns=Columns(public=("town_id", "household_id", "consented_on", "withdrawn_on"),
                    internal=("recorded_by",)),
)
