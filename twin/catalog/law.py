"""法治 (rule of law): disputes of 桐解码 and their parties, log, sessions and agreements;
mediators and community judges; the matching weights; public legal service places and the
appointments booked there.

What leaves by tiles and OGC is public business: a dispute's kind, status, channel, place
and times (its title only to the roles that read event text, in scope), the service
places with their hours, services and the villages they serve, and per village how many
disputes arose and how far the nearest mediator sits. The parties, the mediators and the
judges are persons: their names, numbers, signatures and the agreement's PDF never leave
by a projection; the mediators' table holds no name at all (``person_id`` → ``people``).
"""

from __future__ import annotations

from twin.catalog.model import (
    CELLS,
    Columns,
    Element,
    OgcSpec,
    Prop,
    TileSpec,
    col,
    cols,
    unit_code,
    utc,
)
from twin.catalog.model import TEXT as TYPED
from twin.catalog.units import UNITS

_ORG = Prop("organization", "(SELECT o.name FROM organizations o "
                            "WHERE o.town_id = t.town_id AND o.id = t.organization_id)")

DISPUTES = Element(
    name="disputes", table="disputes", kind="events",
    columns=Columns(
        public=("id", "code", "kind", "channel", "online", "status", "organization_id",
                "match_rank", "match_score", "handed_to", "applied_at", "accepted_at",
                "matched_at", "agreed_at", "closed_at", "version", "geom", *CELLS),
        text=("title", "facts", "claim", "override_reason"),
        internal=("event_id", "amount", "client_key", "actor"),
        personal=("mediator_id", "judge_id")),  # a mediator or judge is a person
    tiles=(TileSpec(
        name="disputes", title_zh="矛盾纠纷（桐解码）", title_en="Disputes (mediation)",
        minzoom=9, maxzoom=16, geometry_type="Point", order="t.applied_at DESC, t.id",
        properties=(*cols("id", "code", "kind", "status", "online"),
                    Prop("applied_on", "(t.applied_at AT TIME ZONE 'Asia/Shanghai')::date::text"),
                    Prop("name", "t.code"))),),
    ogc=(OgcSpec(
        id="disputes", title="矛盾纠纷调解",
        description="Disputes brought to mediation (桐解码): kind, channel, status, the "
                    "mediation organisation, and the times of application, agreement and "
                    "closing. No party, mediator or judge is named.",
        properties=(*cols("code", "kind", "channel", "online", "status", "handed_to"), _ORG,
                    col("title", privacy=TYPED),
                    Prop("applied_at", utc("t.applied_at")),
                    Prop("agreed_at", utc("t.agreed_at")),
                    Prop("closed_at", utc("t.closed_at"))),
        filters={"status": "t.status = :v", "kind": "t.kind = :v"},
        temporal="t.applied_at", order="t.applied_at DESC, t.id"),),
)

DISPUTE_PARTIES = Element(
    name="dispute_parties", table="dispute_parties", kind="residents",
    columns=Columns(public=("town_id", "id", "dispute_id", "role"),
                    personal=("name", "id_hash", "id_masked", "phone_hash", "phone_masked",
                              "person_id")),
)

DISPUTE_LOG = Element(
    name="dispute_log", table="dispute_log", kind="events",
    columns=Columns(public=("town_id", "id", "dispute_id", "at", "from_status", "to_status"),
                    text=("note",), internal=("actor",)),
)

DISPUTE_SESSIONS = Element(
    name="dispute_sessions", table="dispute_sessions", kind="events",
    columns=Columns(public=("town_id", "id", "dispute_id", "scheduled_at", "held_at", "mode",
                            "attendees"),
                    text=("place", "room", "notes"), internal=("client_key", "actor"),
                    personal=("present",)),
)

AGREEMENTS = Element(  # the PDF names the parties: it leaves only to them and the officials
    name="agreements", table="agreements", kind="residents",
    columns=Columns(public=("town_id", "id", "dispute_id", "version", "sha256", "drafted_at"),
                    text=("terms",), internal=("drafted_by",), personal=("pdf",)),
)

AGREEMENT_SIGNATURES = Element(
    name="agreement_signatures", table="agreement_signatures", kind="residents",
    columns=Columns(public=("town_id", "agreement_id", "party_id", "consent", "sha256", "signed_at"),
                    personal=("typed_name",)),
)

MEDIATORS = Element(  # people's mediators and community judges: persons, never features
    name="mediators", table="mediators", kind="residents",
    columns=Columns(public=("id", "kind", "organization_id", "place_id", "expertise",
                            "villages", "active", "since", "geom", *CELLS),
                    personal=("person_id",)),
)

MATCH_WEIGHTS = Element(
    name="match_weights", table="match_weights", kind="geography",
    columns=Columns(public=("id", "expertise", "distance", "caseload", "success", "reach_km",
                            "set_at"), internal=("set_by",)),
)

_SERVICES = Prop("services", "array_to_string(t.services, ',')")
LEGAL_PLACES = Element(
    name="legal_places", table="legal_places", kind="geography",
    columns=Columns(public=("id", "code", "kind", "name", "opening_hours", "open_days",
                            "opens", "closes", "slot_minutes", "services", "serves",
                            "organization_id", "geom", *CELLS)),
    tiles=(
        TileSpec(name="legal_places", title_zh="公共法律服务点", title_en="Legal service places",
                 minzoom=9, maxzoom=16, geometry_type="Point",
                 properties=(*cols("id", "code", "kind", "name", "opening_hours"), _SERVICES,
                             Prop("villages", "cardinality(t.serves)"))),
        # the villages each place serves (its catchment), one feature per place and village
        TileSpec(name="legal_catchments", title_zh="法律服务覆盖村社",
                 title_en="Villages served by legal places", minzoom=9, maxzoom=16,
                 source="(SELECT p.id, p.code, p.kind, p.name, v.geom FROM legal_places p "
                        "JOIN units v ON v.town_id = p.town_id AND v.level = 'village' "
                        "AND v.code = ANY (p.serves)) t",
                 versions=("legal_places", "units"), order="t.kind, t.id",
                 properties=cols("id", "code", "kind", "name"), simplify={10: 1e-4})),
    ogc=(OgcSpec(
        id="legal_places", title="公共法律服务点",
        description="Public legal service places (党群服务中心, 法治小院, 板凳法庭, judges' and "
                    "mediators' stations): opening hours, services booked there and the "
                    "villages they serve.",
        properties=(*cols("code", "kind", "name", "opening_hours", "slot_minutes"), _SERVICES,
                    Prop("serves", "array_to_string(t.serves, ',')"),
                    Prop("unit_code", unit_code("t.village_id"))),
        filters={"kind": "t.kind = :v", "code": "t.code = :v"}),),
)

# per village: disputes of the last year, and how far the nearest active mediator sits
_NEAREST_KM = ("(SELECT round((ST_Distance(m.geom::geography, ST_PointOnSurface(t.geom)"
               "::geography) / 1000.0)::numeric, 1)::float8 FROM mediators m "
               "WHERE m.town_id = t.town_id AND m.kind = 'mediator' AND m.active "
               "ORDER BY m.geom <-> ST_PointOnSurface(t.geom) LIMIT 1)")
_YEAR = ("(SELECT count(*) FROM disputes d WHERE d.town_id = t.town_id AND d.village_id = t.id "
         "AND d.applied_at >= now() - interval '365 days')")
LAW_UNITS = Element(
    name="law_units", table="units", kind="geography", layer="units",
    columns=UNITS.columns,
    tiles=(TileSpec(
        name="law_villages", title_zh="纠纷密度与调解覆盖（村社）",
        title_en="Disputes and mediator reach per village", minzoom=8, maxzoom=16,
        where="t.level = 'village'", versions=("units", "disputes", "mediators"),
        simplify={8: 3e-4, 10: 1e-4, 12: 2e-5}, daily=True,  # "the last year" moves daily
        properties=(*cols("id", "code", "name"), Prop("disputes", _YEAR),
                    Prop("disputes_per_1000", f"""CASE WHEN (SELECT coalesce(sum(c.value), 0)
                        FROM unit_counts c WHERE c.unit_id = t.id
                         AND c.measure = 'households') > 0 THEN round((1000.0 * {_YEAR}
                        / (SELECT sum(c.value) FROM unit_counts c WHERE c.unit_id = t.id
                            AND c.measure = 'households'))::numeric, 1)::float8 END"""),
                    Prop("mediator_km", _NEAREST_KM))),),
)

LEGAL_APPOINTMENTS = Element(
    name="legal_appointments", table="legal_appointments", kind="residents",
    columns=Columns(public=("town_id", "id", "code", "place_id", "service", "starts_at", "status",
                            "booked_at"),
                    text=("note",), internal=("client_key",),
                    personal=("name_masked", "phone_hash", "phone_masked")),
)
