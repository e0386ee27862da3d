"""党建统领: the party board's measures, the micro-grid leader's work, and the cadres.

- :func:`measures` — leaders, households linked (联户), visits, workrooms, cadres and
  projects of a unit, in one round trip (coverage of grids is in ``twin_rollup``).
- :func:`coverage_by_child` — grids covered, leaders and households linked per child unit.
- :func:`leader_page` / :func:`record_visit` — the leader's phone page: their households,
  when each was last visited, and the visit form (民情笔记). A visit whose finding needs
  handling opens an event of the loop in the same transaction (both or neither).
- :func:`cadre_structure` — the one-map analysis of village cadres and reserves: age and
  education structure, vacancies, terms ending, reserves, per village; only for officials
  scoped to the unit, like residents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from twin.domain import workflow as wf
from twin.domain.access import Principal, may_see_residents
from twin.domain.pii import scrub_text
from twin.domain.units import CELL_COLUMNS, in_unit
from twin.errors import NotFound, TwinError
from twin.store import writes
from twin.store.schema import households, microgrid_leaders, units, visits

VISIT_KINDS = ("patrol", "day_night", "knock")  # 巡查走访 · 日访夜谈 · 书记来敲门
PARTY_KINDS = ("party_committee", "party_general_branch", "party_branch", "party_group")
# The posts a village's "两委" should fill (the rest are reserves): vacancies are counted
# against these.
POSTS = {"secretary": 1, "director": 1, "deputy_secretary": 1, "committee": 2,
         "grid_worker": 1}
AGE_BANDS = ((0, 35, "age_lt35"), (35, 45, "age_35_44"), (45, 55, "age_45_54"),
             (55, 200, "age_ge55"))
EDUCATION = ("junior", "senior", "college", "bachelor", "master")
MAX_HEARD = 2000
RECENT_DAYS = 30


class VisitError(TwinError):
    """A visit that cannot be recorded: the household is not the leader's, bad kind, …"""


def _unit_params(unit: dict[str, Any] | None) -> dict[str, Any]:
    return {"unit": unit["id"] if unit else None, "u0": unit["id"] if unit else 0}


def measures(engine: Engine, unit: dict[str, Any] | None) -> dict[str, Any]:
    """The party board's figures of a unit (None = the county): serving leaders and how
    many are party members, micro-grids with homes, households linked, party
    organisations and members, cadres, reserves, and projects and problems by status."""
    f_cells = in_unit(unit, "t")
    f_units = "true" if unit is None else (
        f"(m.{CELL_COLUMNS[unit['level']]} = :unit OR m.id = :unit)")
    f_projects = "true" if unit is None else (
        f"(u.id = :unit OR u.{CELL_COLUMNS[unit['level']]} = :unit)")
    sql = f"""
    WITH c AS (SELECT measure, value FROM unit_counts WHERE unit_id = :u0)
    SELECT
      (SELECT coalesce(sum(value), 0)::int FROM c WHERE measure = 'leaders') AS leaders,
      (SELECT coalesce(sum(value), 0)::int FROM c WHERE measure = 'leaders_party')
          AS leaders_party,
      (SELECT coalesce(sum(value), 0)::int FROM c WHERE measure = 'households') AS households,
      (SELECT coalesce(sum(value), 0)::int FROM c WHERE measure = 'households_linked')
          AS households_linked,
      (SELECT coalesce(sum(value), 0)::int FROM c WHERE measure = 'workrooms') AS workrooms,
      (SELECT count(*) FROM unit_counts k JOIN units m ON m.id = k.unit_id
        WHERE k.measure = 'households' AND k.value > 0 AND m.level = 'microgrid'
          AND {f_units}) AS microgrids_inhabited,
      (SELECT count(*) FROM units m WHERE m.level = 'microgrid' AND {f_units}) AS microgrids,
      (SELECT count(*) FROM organizations t WHERE t.kind = ANY(:kinds) AND {f_cells})
          AS party_orgs,
      (SELECT coalesce(sum(t.members), 0)::int FROM organizations t JOIN units g
           ON g.town_id = t.town_id AND g.id = t.unit_id AND g.level = 'grid'
        WHERE t.kind = ANY(:kinds) AND {f_cells}) AS party_members,
      (SELECT count(*) FROM cadres t WHERE t.post <> 'reserve' AND {f_cells}) AS cadres,
      (SELECT count(*) FROM cadres t WHERE t.post = 'reserve' AND {f_cells}) AS reserves,
      (SELECT coalesce(jsonb_object_agg(k, n), '{{}}') FROM (
          SELECT p.kind || ':' || p.status AS k, count(*) AS n
            FROM party_projects p LEFT JOIN units u ON u.id = p.unit_id
           WHERE {f_projects} GROUP BY 1) s) AS projects
    """  # noqa: S608 - identifiers from CELL_COLUMNS only
    with engine.connect() as conn:
        row = conn.execute(sa.text(sql), {**_unit_params(unit), "kinds": list(PARTY_KINDS)}
                           ).mappings().one()
    out = dict(row)
    out["linked_pct"] = _pct(out["households_linked"], out["households"])
    out["leaders_party_pct"] = _pct(out["leaders_party"], out["leaders"])
    out["led_pct"] = _pct(out["leaders"], out["microgrids_inhabited"])
    return out


def visit_measures(engine: Engine, unit: dict[str, Any] | None,
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """Visits in the last 30 days in a unit, the households they reached, and that share
    of the linked households."""
    now = now or wf.now_utc()
    sql = f"""
    SELECT v.*, (SELECT coalesce(sum(value), 0)::int FROM unit_counts
                  WHERE unit_id = :u0 AND measure = 'households_linked') AS households_linked
      FROM (SELECT count(*) AS visits_30d,
                   count(DISTINCT t.household_id) AS households_visited_30d
              FROM visits t WHERE t.visited_at > :since AND {in_unit(unit, "t")}) v"""  # noqa: S608
    with engine.connect() as conn:
        row = dict(conn.execute(sa.text(sql), {
            **_unit_params(unit), "since": now - dt.timedelta(days=RECENT_DAYS)}
        ).mappings().one())
    row["visited_30d_pct"] = _pct(row["households_visited_30d"], row["households_linked"])
    return row


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def progress(figures: dict[str, Any], kind: str) -> tuple[int, int]:
    """(done, all) of the projects or the problems (``kind``) in :func:`measures`."""
    counts = figures["projects"]
    return (counts.get(f"{kind}:done", 0),
            sum(n for k, n in counts.items() if k.split(":")[0] == kind))


def coverage_pct(summary: dict[str, Any]) -> float | None:
    """Grids covered by a party organisation ÷ grids, from a unit's roll-up."""
    return _pct(summary.get("grids_party", 0), summary.get("grids", 0))


_BY_CHILD = """
SELECT s.id, s.code, s.name,
       (SELECT count(*) FROM units g WHERE g.town_id = s.town_id AND g.level = 'grid'
           AND g.{col} = s.id) AS grids,
       (SELECT count(*) FROM units g WHERE g.town_id = s.town_id AND g.level = 'grid'
           AND g.{col} = s.id
           AND EXISTS (SELECT 1 FROM party_coverage c
                        WHERE c.town_id = g.town_id AND c.grid_id = g.id))
           AS grids_party,
       coalesce((SELECT sum(k.value) FROM unit_counts k
                  WHERE k.unit_id = s.id AND k.measure = 'leaders'), 0)::int AS leaders,
       coalesce((SELECT sum(k.value) FROM unit_counts k
                  WHERE k.unit_id = s.id AND k.measure = 'households_linked'), 0)::int
           AS households_linked,
       coalesce((SELECT sum(k.value) FROM unit_counts k
                  WHERE k.unit_id = s.id AND k.measure = 'households'), 0)::int AS households
  FROM units s WHERE s.level = :child AND {parent}
 ORDER BY s.code"""
_CHILD = {None: "town", "town": "village", "village": "grid"}


def coverage_by_child(engine: Engine, unit: dict[str, Any] | None) -> pd.DataFrame:
    """Per child unit (towns of the county, villages of a town, grids of a village): grids,
    grids covered by a party organisation, serving leaders, households and those linked."""
    level = None if unit is None else unit["level"]
    child = _CHILD.get(level)
    if child is None:
        return pd.DataFrame(columns=["code", "name", "grids", "grids_party", "leaders",
                                     "households", "households_linked"])
    parent = "true" if unit is None else f"s.{CELL_COLUMNS[level]} = :unit"
    sql = _BY_CHILD.format(col=CELL_COLUMNS[child], parent=parent)
    with engine.connect() as conn:
        return pd.read_sql_query(sa.text(sql), conn,
                                 params={"child": child, **_unit_params(unit)})


def visits_weekly(engine: Engine, unit: dict[str, Any] | None, start: Any,
                  end: Any) -> pd.DataFrame:
    """Visits per week (local weeks from Monday, by their first day) and kind in the period."""
    sql = f"""
    SELECT to_char(date_trunc('week', t.visited_at AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
               AS week, t.kind, count(*) AS n
      FROM visits t WHERE t.visited_at >= :start AND t.visited_at < :end AND {in_unit(unit, 't')}
     GROUP BY 1, 2 ORDER BY 1"""  # noqa: S608
    with engine.connect() as conn:
        df = pd.read_sql_query(sa.text(sql), conn,
                               params={"start": start, "end": end, **_unit_params(unit)})
    if df.empty:
        return pd.DataFrame(columns=list(VISIT_KINDS))
    return df.pivot_table(index="week", columns="kind", values="n", fill_value=0).reindex(
        columns=list(VISIT_KINDS), fill_value=0).astype(int)


# --- the leader's phone page ---------------------------------------------------------------
@dataclass(frozen=True)
class LeaderPage:
    leader_id: int
    microgrid_id: int
    microgrid: str
    village: str
    term_end: dt.date
    wechat_group: str | None
    wechat_members: int | None
    outline: str                 # the micro-grid as SVG path data (x = lon, y = −lat)
    households: list[dict]       # id, code, address, lon, lat, last_visit, days
    visited_30d: int


def leader_page(engine: Engine, leader_id: int, now: dt.datetime | None = None) -> LeaderPage:
    """What a serving leader's page shows: the micro-grid, the households linked to the
    leader with when each was last visited, newest visit last. No resident's name."""
    now = now or wf.now_utc()
    with engine.connect() as conn:
        head = conn.execute(sa.text("""
            SELECT l.id, l.microgrid_id, m.name AS microgrid, v.name AS village, l.term_end,
                   l.wechat_group, l.wechat_members,
                   ST_AsSVG(ST_SimplifyPreserveTopology(m.geom, 0.00002), 0, 6) AS outline
              FROM microgrid_leaders l
              JOIN units m ON m.town_id = l.town_id AND m.id = l.microgrid_id
              JOIN units v ON v.town_id = l.town_id AND v.id = l.village_id
             WHERE l.id = :id AND l.relieved_on IS NULL"""), {"id": leader_id}).mappings(
        ).one_or_none()
        if head is None:
            raise NotFound(f"no serving leader with id {leader_id}")
        rows = conn.execute(sa.text("""
            SELECT h.id, h.code, h.address, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
                   (SELECT max(v.visited_at) FROM visits v
                     WHERE v.town_id = h.town_id AND v.household_id = h.id)
                       AS last_visit
              FROM household_links k
              JOIN households h ON h.town_id = k.town_id AND h.id = k.household_id
             WHERE k.leader_id = :id ORDER BY h.code"""), {"id": leader_id}).mappings().all()
    homes = []
    for r in rows:
        days = None if r["last_visit"] is None else (now - r["last_visit"]).days
        homes.append({**dict(r), "days": days})
    recent = sum(1 for h in homes if h["days"] is not None and h["days"] < RECENT_DAYS)
    return LeaderPage(head["id"], head["microgrid_id"], head["microgrid"], head["village"],
                      head["term_end"], head["wechat_group"], head["wechat_members"],
                      head["outline"] or "", homes, recent)


def record_visit(engine: Engine, *, household_id: int, visitor: str, kind: str,
                 heard: str | None = None, finding: str | None = None,
                 leader_id: int | None = None, client_key: str | None = None,
                 now: dt.datetime | None = None) -> tuple[int, wf.Event | None]:
    """Write one visit (民情笔记); with ``finding`` (an event category) the words heard
    also open an event of the loop at the household, owned by its micro-grid, in the same
    transaction: both are written or neither. With ``leader_id`` the household must be one
    the leader serves. A retried submission (same ``client_key``) returns the first one.
    Returns (visit id, the event or None)."""
    now = now or wf.now_utc()
    if kind not in VISIT_KINDS:
        raise VisitError(f"unknown kind of visit {kind!r}: one of {', '.join(VISIT_KINDS)}")
    heard = scrub_text((heard or "").strip()) or None
    if heard and len(heard) > MAX_HEARD:
        raise VisitError(f"what was heard is {len(heard)} characters: at most {MAX_HEARD}")
    if finding and not heard:
        raise VisitError("a finding to be handled needs the words of what was heard")
    with engine.begin() as conn:
        if client_key is not None:
            found = conn.execute(sa.select(visits.c.id, visits.c.event_id).where(
                visits.c.client_key == client_key)).one_or_none()
            if found is not None:
                return found.id, (wf.get_event(conn, found.event_id) if found.event_id
                                  else None)
        home = conn.execute(sa.select(
            households.c.id, sa.func.ST_X(households.c.geom).label("lon"),
            sa.func.ST_Y(households.c.geom).label("lat"),
            *(households.c[c] for c in writes.CELL)).where(
            households.c.id == household_id)).mappings().one_or_none()
        if home is None:
            raise NotFound(f"no household with id {household_id}")
        if leader_id is not None and not conn.execute(sa.text(
                "SELECT EXISTS (SELECT 1 FROM household_links WHERE household_id = :h "
                "AND leader_id = :l)"), {"h": household_id, "l": leader_id}).scalar():
            raise VisitError(f"household {household_id} is not linked to leader {leader_id}")
        event = None
        if finding:
            event = wf.report(conn, category=finding, title=heard.splitlines()[0][:60],
                              description=heard, lon=home["lon"], lat=home["lat"],
                              source="visit",
                              actor=visitor,
                              client_key=f"visit:{client_key}" if client_key else None,
                              now=now)
        visit_id = conn.execute(pg_insert(visits).values(  # in the household's cell
            household_id=household_id, leader_id=leader_id, visitor=visitor, kind=kind,
            visited_at=now, heard=heard, event_id=event.id if event else None,
            client_key=client_key, **{c: home[c] for c in writes.CELL},
        ).returning(visits.c.id)).scalar()
        writes.added(conn, "visits", [visit_id])  # on Citus: the layer's version
    return visit_id, event


def leader_of_microgrid(engine: Engine, microgrid_code: str) -> int:
    """The serving leader of a micro-grid, by its code."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(microgrid_leaders.c.id).join(
            units, units.c.id == microgrid_leaders.c.microgrid_id).where(
            units.c.code == microgrid_code, microgrid_leaders.c.relieved_on.is_(None))).scalar()
    if found is None:
        raise NotFound(f"micro-grid {microgrid_code!r} has no serving leader")
    return found


# --- cadres ----------------------------------------------------------------------------------
def cadre_structure(engine: Engine, principal: Principal, unit: dict[str, Any] | None,
                    today: dt.date | None = None) -> pd.DataFrame | None:
    """Per village of the unit: cadres serving, reserves, vacancies against POSTS, terms
    ending within 180 days, and counts by age band and education. Only for principals who
    may see the unit's residents (officials scoped to it); None for anyone else."""
    if unit is None or unit["level"] not in ("town", "village"):
        return None
    with engine.connect() as conn:
        if not may_see_residents(conn, principal, unit["id"]):
            return None
        today = today or dt.date.today()
        bands = ", ".join(
            f"count(*) FILTER (WHERE t.post <> 'reserve' AND {today.year} - t.birth_year "
            f">= {lo} AND {today.year} - t.birth_year < {hi}) AS {label}"
            for lo, hi, label in AGE_BANDS)
        schools = ", ".join(f"count(*) FILTER (WHERE t.education = '{e}') AS edu_{e}"
                            for e in EDUCATION)
        wanted = sum(POSTS.values())
        filled = " + ".join(
            f"least({n}, count(*) FILTER (WHERE t.post = '{p}'))" for p, n in POSTS.items())
        sql = f"""
        SELECT v.code, v.name,
               count(t.id) FILTER (WHERE t.post <> 'reserve') AS serving,
               count(t.id) FILTER (WHERE t.post = 'reserve') AS reserves,
               {wanted} - ({filled}) AS vacancies,
               count(t.id) FILTER (WHERE t.term_end BETWEEN :today AND :soon) AS terms_ending,
               {bands}, {schools}
          FROM units v LEFT JOIN cadres t ON t.town_id = v.town_id AND t.village_id = v.id
         WHERE v.level = 'village' AND v.{CELL_COLUMNS[unit['level']]} = :unit
         GROUP BY v.town_id, v.id ORDER BY v.code"""  # noqa: S608 - literals of this module
        return pd.read_sql_query(sa.text(sql), conn, params={
            "unit": unit["id"], "today": today, "soon": today + dt.timedelta(days=180)})
