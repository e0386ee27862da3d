"""The element catalogue: every element family of the twin described once
(``twin.catalog.model``); tiles, OGC collections, exports, bulk load, import and the Open311
read model are derived from it.

Adding a family is a migration, one module here with its entry, and its line in
``CATALOG`` (see docs/architecture.md).
"""

from __future__ import annotations

from twin.catalog.conditions import OBSERVATIONS, STATIONS
from twin.catalog.events import EVENT_LOG, EVENTS
from twin.catalog.law import (
    AGREEMENT_SIGNATURES,
    AGREEMENTS,
    DISPUTE_LOG,
    DISPUTE_PARTIES,
    DISPUTE_SESSIONS,
    DISPUTES,
    LAW_UNITS,
    LEGAL_APPOINTMENTS,
    LEGAL_PLACES,
    MATCH_WEIGHTS,
    MEDIATORS,
)
from twin.catalog.model import Element
from twin.catalog.objects import BUILDINGS, FACILITIES, LAND, ROUTES
from twin.catalog.organizations import ORGANIZATIONS
from twin.catalog.party import (
    CADRES,
    HOUSEHOLD_LINKS,
    MICROGRID_LEADERS,
    PARTY_PROJECTS,
    PARTY_UNITS,
    VISITS,
)
from twin.catalog.people import HOUSEHOLDS, PEOPLE, RESIDENTS
from twin.catalog.points import (
    HOUSEHOLD_CREDIT,
    HOUSEHOLD_POINTS,
    POINTS_LEDGER,
    POINTS_RULES,
    POINTS_UNITS,
    SHOP_ITEMS,
    VOLUNTEER_ACTIVITIES,
    VOLUNTEER_HOURS,
)
from twin.catalog.scenes import SCENES
from twin.catalog.selfgov import (
    COMPACTS,
    CONSULTATION_SESSIONS,
    CONSULTATIONS,
    COUNCIL_MEMBERS,
    CREDIT_CONSENTS,
    VOLUNTEER_REPORTS,
)
from twin.catalog.units import UNITS
from twin.catalog.workrooms import WORKROOMS
from twin.domain.units import LEVELS

# The families in the order their tile layers and collections are listed.
CATALOG: tuple[Element, ...] = (
    UNITS, BUILDINGS, LAND, FACILITIES, STATIONS, ROUTES, OBSERVATIONS, EVENTS,
    ORGANIZATIONS, HOUSEHOLDS, PEOPLE, EVENT_LOG, RESIDENTS, WORKROOMS, PARTY_UNITS,
    HOUSEHOLD_LINKS, MICROGRID_LEADERS, VISITS, CADRES, PARTY_PROJECTS, POINTS_UNITS,
    POINTS_LEDGER, HOUSEHOLD_POINTS, HOUSEHOLD_CREDIT, VOLUNTEER_ACTIVITIES, VOLUNTEER_HOURS,
    CONSULTATIONS, CONSULTATION_SESSIONS, COMPACTS, COUNCIL_MEMBERS, VOLUNTEER_REPORTS,
    CREDIT_CONSENTS, POINTS_RULES, SHOP_ITEMS, DISPUTES, LEGAL_PLACES, LAW_UNITS,
    DISPUTE_PARTIES, DISPUTE_LOG, DISPUTE_SESSIONS, AGREEMENTS, AGREEMENT_SIGNATURES,
    MEDIATORS, MATCH_WEIGHTS, LEGAL_APPOINTMENTS, SCENES,
)
BY_NAME: dict[str, Element] = {e.name: e for e in CATALOG}
# Parents before children: the order rows are loaded in (and cleared in reverse).
LOAD_ORDER = ("units", "buildings", "households", "people", "land", "facilities", "routes",
              "stations", "observations", "events", "event_log", "organizations", "workrooms",
              "microgrid_leaders", "visits", "cadres")
# Sample twin attribute → the table it is written to, in load order.
SAMPLE_TABLES: dict[str, str] = {
    BY_NAME[n].sample: BY_NAME[n].table for n in LOAD_ORDER if BY_NAME[n].sample}
# The order export layers and import kinds are offered in.
EXPORT_ORDER = ("units", "buildings", "facilities", "land", "events", "stations", "residents",
                "workrooms")
IMPORT_ORDER = ("units", "households", "people", "buildings", "facilities", "land", "stations",
                "observations", "events", "organizations", "workrooms", "microgrid_leaders",
                "visits", "cadres", "organization_members", "points_rules", "shop_items")


def element(name: str) -> Element:
    """The family of that name (KeyError naming the families otherwise)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no element family {name!r}: one of {', '.join(BY_NAME)}") from None


__all__ = ["BY_NAME", "CATALOG", "EXPORT_ORDER", "IMPORT_ORDER", "LEVELS", "LOAD_ORDER",
           "SAMPLE_TABLES", "Element", "element"]
