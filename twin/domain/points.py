"""三治积分 (points for self-, rule-of-law- and moral governance) and 三治信用 (credit).

A household earns or loses points by the published standard (``points_rules``: each
behaviour's board, points and evidence, versioned), and spends them at its village's
points shop (积分超市). Every award, deduction and redemption is one append-only row of
``points_ledger``; the database keeps each household's balance as the sum of its entries
(``household_points``, written only by the ledger's trigger) and refuses any entry that
would take it below zero, so concurrent redemptions can never overdraw, and the shop's
stock never goes below zero. Credit levels (A/AA/AAA) follow the points earned and the
thresholds in force (``credit_levels``); changing the thresholds recomputes the levels and
never touches the ledger. Volunteer hours turn into points exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from twin.domain.access import Principal, audit, row_filter
from twin.domain.pii import scrub_text
from twin.domain.units import CELL_COLUMNS, in_unit
from twin.domain.workflow import now_utc
from twin.errors import NotFound, TwinError
from twin.store.schema import (
    credit_consents,
    credit_levels,
    household_credit,
    household_points,
    households,
    points_ledger,
    points_rules,
    shop_items,
    town_of,
)

BOARDS = ("self", "law", "moral")  # 自治 · 法治 · 德治
SOURCES = ("visit", "volunteer", "report", "council", "manual", "redemption")
EVIDENCE = ("none", "photo", "record", "approval")
LEVELS = ("A", "AA", "AAA")  # lowest first
HOUR_RULE = "self.volunteer_hour"  # the rule volunteer hours are converted by


class PointsError(TwinError):
    """A points entry, rule or redemption that cannot be made, with the reason."""


class Overdraft(PointsError):
    """The household's balance does not cover the redemption."""


class OutOfStock(PointsError):
    """The shop has fewer of the item than asked for (or no longer offers it)."""


@dataclass(frozen=True)
class Rule:
    code: str
    version: int
    board: str
    name_zh: str
    name_en: str
    points: int
    per: str
    evidence: str


def _violation(exc: sa.exc.DBAPIError, name: str) -> bool:
    """Whether the database refused with the named constraint."""
    diag = getattr(exc.orig, "diag", None)
    return diag is not None and diag.constraint_name == name


# --- the standard --------------------------------------------------------------------------
def current_rules(conn: Connection | Engine) -> dict[str, Rule]:
    """The rules in force, by code."""
    r = points_rules.c
    query = sa.select(r.code, r.version, r.board, r.name_zh, r.name_en, r.points, r.per,
                      r.evidence).where(r.valid_to.is_(None)).order_by(r.board, r.code)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return {row.code: Rule(*row) for row in c.execute(query)}
    return {row.code: Rule(*row) for row in conn.execute(query)}


def set_rule(engine: Engine, code: str, *, board: str, name_zh: str, name_en: str,
             points: int, evidence: str, per: str = "time", actor: str,
             now: dt.datetime | None = None) -> int:
    """Publish a behaviour of the standard, or a new version of one: the version in force is
    closed, never edited, and entries made under it keep its points. Returns the version."""
    if board not in BOARDS:
        raise PointsError(f"rule {code}: board must be one of {', '.join(BOARDS)}, not {board!r}")
    if evidence not in EVIDENCE:
        raise PointsError(f"rule {code}: evidence must be one of {', '.join(EVIDENCE)}")
    if per not in ("time", "hour"):
        raise PointsError(f"rule {code}: points are per 'time' or per 'hour', not {per!r}")
    if not points or abs(points) > 1000:
        raise PointsError(f"rule {code}: points must be non-zero and at most 1,000 either way")
    now = now or now_utc()
    r = points_rules.c
    with engine.begin() as conn:
        last = conn.execute(sa.select(r.version).where(r.code == code)  # locked: one writer
                            .order_by(r.version.desc()).limit(1).with_for_update()).scalar()
        conn.execute(sa.update(points_rules).values(valid_to=now)
                     .where(r.code == code, r.valid_to.is_(None)))
        version = (last or 0) + 1
        conn.execute(sa.insert(points_rules).values(
            code=code, version=version, board=board, name_zh=name_zh, name_en=name_en,
            points=points, per=per, evidence=evidence, valid_from=now, changed_by=actor))
    return version


# --- awards and redemptions ----------------------------------------------------------------
def award(engine: Engine, household_id: int, rule_code: str, *, source: str, actor: str,
          quantity: float = 1, source_ref: str | None = None, reason: str | None = None,
          approver: str | None = None, client_key: str | None = None,
          at: dt.datetime | None = None) -> int | None:
    """Award (or deduct) the points of a rule in force to a household: one ledger entry.
    ``quantity`` counts times, or hours for a per-hour rule. A manual award needs a reason
    and an approver. Returns the entry's id, or None when ``client_key`` was already used
    (a retry writes nothing)."""
    if source not in SOURCES or source == "redemption":
        raise PointsError(f"an award's source is one of {', '.join(SOURCES[:-1])}, "
                          f"not {source!r}")
    if source == "manual" and not (reason and reason.strip() and approver):
        raise PointsError("a manual award needs a reason and the approver's name")
    if quantity <= 0:
        raise PointsError("the quantity of an award must be positive")
    with engine.begin() as conn:
        rule = current_rules(conn).get(rule_code)
        if rule is None:
            raise NotFound(f"no rule {rule_code!r} in force")
        if rule.per == "time" and quantity != int(quantity):
            raise PointsError(f"rule {rule_code} counts times: give a whole number")
        points = round(rule.points * quantity)
        if points == 0:
            raise PointsError(f"{quantity} of rule {rule_code} is less than one point")
        return post(conn, household_id, points, rule=rule, source=source, actor=actor,
                     source_ref=source_ref, reason=reason, approver=approver,
                     client_key=client_key, at=at)


def post(conn: Connection, household_id: int, points: int, *, rule: Rule, source: str,
          actor: str, source_ref: str | None = None, reason: str | None = None,
          approver: str | None = None, client_key: str | None = None,
          at: dt.datetime | None = None) -> int | None:
    """One ledger entry of a rule in the caller's transaction (the balance follows by
    trigger): how another board's writer awards points together with its own rows."""
    values = {"household_id": household_id, "points": points, "source": source,
              "source_ref": source_ref, "reason": scrub_text(reason) if reason else None,
              "approver": approver, "actor": actor, "at": at or now_utc(),
              "client_key": client_key, "rule_code": rule.code, "rule_version": rule.version}
    stmt = (sa.dialects.postgresql.insert(points_ledger).values(**values)
            .on_conflict_do_nothing(index_elements=["client_key"])
            .returning(points_ledger.c.id))
    with _refusals(household_id, f"{-points} points"):  # aborts the caller's transaction
        return conn.execute(stmt).scalar()


@contextlib.contextmanager
def _refusals(household_id: int, what: str) -> Iterator[None]:
    """The database's refusals of a ledger entry, said as what they mean."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        if _violation(exc, "household_points_balance_check"):
            raise Overdraft(f"household {household_id}: its balance does not cover "
                            f"{what}") from None
        if isinstance(exc.orig, psycopg.errors.ForeignKeyViolation):
            raise NotFound(f"no household with id {household_id}") from None
        raise


def redeem(engine: Engine, household_id: int, item_id: int, *, actor: str, quantity: int = 1,
           client_key: str | None = None) -> int | None:
    """Redeem ``quantity`` of a shop item for a household, in one transaction: the stock is
    taken only if there is enough, and the entry only if the balance covers it (the
    database refuses either otherwise, however many redeem at once). Returns the entry's
    id, or None when ``client_key`` was already used."""
    if quantity < 1:
        raise PointsError("redeem at least one item")
    with engine.connect() as conn, conn.begin() as tx:
        with _refusals(household_id, f"{quantity} of shop item {item_id}"):
            cost, entry = conn.execute(REDEEM, {
                "item": item_id, "q": quantity, "household": household_id, "actor": actor,
                "key": client_key}).one()
        if cost is None:  # nothing was taken: say why
            stock = conn.execute(sa.select(shop_items.c.stock).where(
                shop_items.c.id == item_id)).scalar()
            if stock is None:
                raise NotFound(f"no shop item with id {item_id}")
            raise OutOfStock(f"shop item {item_id}: {stock} left, {quantity} asked for")
        if entry is None:  # the key was used: a retry takes no stock a second time
            tx.rollback()
        return entry


# A redemption in one statement (one round trip): the stock is taken only if there is
# enough, and the entry written for what it cost; the ledger's trigger then refuses it if
# the balance does not cover it (and the whole transaction with it).
REDEEM = sa.text("""
    WITH taken AS (
        UPDATE shop_items SET stock = stock - :q
         WHERE id = :item AND active AND stock >= :q
        RETURNING id, cost
    ), entry AS (
        INSERT INTO points_ledger (household_id, points, source, source_ref, actor, at,
                                   client_key)
        SELECT :household, -taken.cost * :q, 'redemption', 'shop:' || taken.id, :actor,
               now(), :key
          FROM taken
        ON CONFLICT (client_key) DO NOTHING
        RETURNING id
    )
    SELECT (SELECT cost FROM taken), (SELECT id FROM entry)""")


def convert_hours(engine: Engine, activity_id: int, *, actor: str) -> int:
    """Turn the hours of a volunteer activity into points for each volunteer's household,
    exactly once (a retry, or a second call, writes nothing): returns the entries written."""
    with engine.begin() as conn:
        rule = current_rules(conn).get(HOUR_RULE)
        if rule is None:
            raise NotFound(f"no rule {HOUR_RULE!r} in force: volunteer hours earn nothing")
        return conn.execute(sa.text("SELECT twin_convert_hours(:activity, :actor)"),
                            {"activity": activity_id, "actor": actor}).scalar()


# --- credit --------------------------------------------------------------------------------
def set_credit_levels(engine: Engine, thresholds: dict[str, int], *, actor: str,
                      now: dt.datetime | None = None) -> int:
    """New thresholds of points earned for A, AA and AAA (rising), then every household's
    level recomputed; the ledger is not touched. Returns the new version."""
    if set(thresholds) != set(LEVELS):
        raise PointsError(f"give the threshold of each of {', '.join(LEVELS)}")
    values = [thresholds[level] for level in LEVELS]
    if any(v < 0 for v in values) or values != sorted(set(values)):
        raise PointsError("thresholds must be non-negative and rise from A to AAA")
    now = now or now_utc()
    c = credit_levels.c
    with engine.begin() as conn:
        version = (conn.execute(sa.select(c.version).order_by(c.version.desc()).limit(1)
                                .with_for_update()).scalar() or 0) + 1
        conn.execute(sa.update(credit_levels).values(valid_to=now).where(c.valid_to.is_(None)))
        conn.execute(sa.insert(credit_levels), [
            {"version": version, "level": level, "min_earned": thresholds[level],
             "valid_from": now, "changed_by": actor} for level in LEVELS])
        recompute_credit(conn, now=now)
    return version


def recompute_credit(conn: Connection | Engine, now: dt.datetime | None = None) -> int:
    """Every household's level from its points earned and the thresholds in force, in one
    statement (the database's twin_credit_recompute); returns the households with points."""
    sql, params = sa.text("SELECT twin_credit_recompute(:now)"), {"now": now or now_utc()}
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return c.execute(sql, params).scalar()
    return conn.execute(sql, params).scalar()


# --- reading -------------------------------------------------------------------------------
def ledger_faults(engine: Engine) -> list[tuple[int, int, int]]:
    """(household, balance, sum of entries) for every household whose balance is not the
    sum of its entries — empty when the ledger and the balances agree."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("""
            SELECT coalesce(hp.household_id, l.household_id), hp.balance, l.total
              FROM household_points hp
              FULL JOIN (SELECT town_id, household_id, sum(points)::int AS total,
                                count(*) AS n
                           FROM points_ledger GROUP BY town_id, household_id) l
                ON l.town_id = hp.town_id AND l.household_id = hp.household_id
             WHERE hp.balance IS DISTINCT FROM l.total
                OR hp.entries IS DISTINCT FROM l.n::int"""))]


def ranking(engine: Engine, principal: Principal, unit_code: str,
            limit: int = 20) -> list[dict]:
    """The households of a unit with the most points earned (a village's or a grid's 红榜),
    for a principal who may see those households; none otherwise."""
    visible, params = row_filter(principal, "households", "hp")
    with engine.connect() as conn:
        unit = conn.execute(sa.text("SELECT id, level FROM units WHERE code = :c"),
                            {"c": unit_code}).first()
        if unit is None:
            raise NotFound(f"no unit {unit_code!r}")
        column = {"town": "town_id", "village": "village_id", "grid": "grid_id",
                  "microgrid": "microgrid_id"}[unit.level]  # a whitelist, never user text
        hp, hc = household_points.alias("hp"), household_credit.c
        query = (sa.select(hp.c.household_id, households.c.code, hp.c.earned, hp.c.balance,
                           hc.level)
                 .join_from(hp, households, sa.and_(households.c.town_id == hp.c.town_id,
                                                    households.c.id == hp.c.household_id))
                 .outerjoin(household_credit, sa.and_(hc.town_id == hp.c.town_id,
                                                      hc.household_id == hp.c.household_id))
                 .where(hp.c[column] == unit.id, sa.text(visible).bindparams(**params))
                 .order_by(hp.c.earned.desc(), hp.c.household_id).limit(limit))
        return [dict(r) for r in conn.execute(query).mappings()]


def balance_of(engine: Engine, household_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(household_points.c.balance).where(
            household_points.c.household_id == household_id)).scalar() or 0


def measures(engine: Engine, unit: dict | None, start: dt.datetime,
             end: dt.datetime) -> dict:
    """德治's figures of a unit (None = the county): households holding points and all
    households, the median earned, households per credit level, volunteers and their teams,
    and in the period the points awarded per board, volunteer activities and hours, and
    redemptions. Aggregates only: no household is named."""
    f = in_unit(unit, "t")
    sql = f"""
    SELECT
      (SELECT count(*) FROM household_points t WHERE {f}) AS scored,
      (SELECT count(*) FROM households t WHERE {f}) AS households,
      (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY t.earned)
         FROM household_points t WHERE {f}) AS median_earned,
      (SELECT coalesce(jsonb_object_agg(level, n), '{{}}') FROM (
          SELECT t.level, count(*) AS n FROM household_credit t
           WHERE t.level IS NOT NULL AND {f} GROUP BY t.level) s) AS credit,
      (SELECT count(DISTINCT m.person_id) FROM organization_members m
         JOIN organizations t ON t.town_id = m.town_id AND t.id = m.organization_id
        WHERE t.kind = 'volunteer_team' AND {f}) AS volunteers,
      (SELECT count(*) FROM organizations t WHERE t.kind = 'volunteer_team' AND {f})
          AS teams,
      (SELECT count(*) FROM volunteer_activities t
        WHERE t.starts_at >= :start AND t.starts_at < :end AND {f}) AS activities,
      (SELECT coalesce(sum(h.hours), 0)::float FROM volunteer_hours h
         JOIN volunteer_activities t ON t.town_id = h.town_id AND t.id = h.activity_id
        WHERE t.starts_at >= :start AND t.starts_at < :end AND {f}) AS hours,
      (SELECT coalesce(jsonb_object_agg(board, n), '{{}}') FROM (
          SELECT r.board, sum(t.points) AS n FROM points_ledger t
            JOIN points_rules r ON r.code = t.rule_code AND r.version = t.rule_version
           WHERE t.at >= :start AND t.at < :end AND {f} GROUP BY r.board) s) AS by_board,
      (SELECT count(*) FROM points_ledger t
        WHERE t.source = 'redemption' AND t.at >= :start AND t.at < :end AND {f})
          AS redemptions,
      (SELECT coalesce(-sum(t.points), 0)::int FROM points_ledger t
        WHERE t.source = 'redemption' AND t.at >= :start AND t.at < :end AND {f})
          AS redeemed
    """  # noqa: S608 - the unit's column comes from CELL_COLUMNS only (in_unit)
    with engine.connect() as conn:
        row = dict(conn.execute(sa.text(sql), {"unit": unit["id"] if unit else None,
                                               "start": start, "end": end}).mappings().one())
    credited = sum(row["credit"].values())
    row["credit_pct"] = round(100.0 * credited / row["households"], 1) if row["households"] \
        else None
    row["scored_pct"] = round(100.0 * row["scored"] / row["households"], 1) if row[
        "households"] else None
    return row


def by_child(engine: Engine, unit: dict | None) -> list[dict]:
    """Per child unit (the towns of the county, the villages of a town …): households
    holding points, their median earned, and the share with a credit level."""
    if unit is not None and unit["level"] == "microgrid":
        return []  # a micro-grid's children are households: see ranking()
    child, parent = _child_level(unit)
    where = "u.level = :child" + ("" if unit is None else f" AND u.{parent} = :unit")
    column = CELL_COLUMNS[child]
    sql = f"""
    SELECT u.code, u.name, count(hp.household_id) AS scored,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY hp.earned) AS median_earned,
           count(hc.level) AS credited
      FROM units u
      LEFT JOIN household_points hp ON hp.{column} = u.id
      LEFT JOIN household_credit hc ON hc.town_id = hp.town_id AND hc.household_id = hp.household_id
                                    AND hc.level IS NOT NULL
     WHERE {where}
     GROUP BY u.town_id, u.id, u.code, u.name ORDER BY u.code"""  # noqa: S608 - whitelisted columns
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), {
            "child": child, "unit": unit["id"] if unit else None}).mappings()]


def _child_level(unit: dict | None) -> tuple[str, str | None]:
    order = ("town", "village", "grid", "microgrid")
    if unit is None:
        return "town", None
    level = unit["level"]
    child = order[min(order.index(level) + 1, len(order) - 1)]
    return child, CELL_COLUMNS[level]


def shop(engine: Engine, unit: dict) -> list[dict]:
    """The items of a village's points shop (积分超市), cheapest first."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(shop_items.c.id, shop_items.c.name, shop_items.c.cost, shop_items.c.stock)
            .where(shop_items.c.unit_id == unit["id"], shop_items.c.active)
            .order_by(shop_items.c.cost, shop_items.c.id)).mappings()]


# --- consent and the bank's file ------------------------------------------------------------
BANK_FIELDS = ("key", "level", "earned", "levels_version", "computed_on", "village_code")


def consent(engine: Engine, household_id: int, *, actor: str, on: dt.date | None = None,
            withdraw: bool = False) -> None:
    """Record a household's consent to its credit level being given to the partner bank
    (三治信用贷), or its withdrawal (from then on it is left out of every export)."""
    on = on or now_utc().date()
    c = credit_consents.c
    with engine.begin() as conn:
        if withdraw:
            done = conn.execute(sa.update(credit_consents).values(withdrawn_on=on).where(
                c.household_id == household_id, c.withdrawn_on.is_(None))).rowcount
            if not done:
                raise NotFound(f"household {household_id} has no consent to withdraw")
            return
        with _refusals(household_id, "a consent"):
            conn.execute(sa.dialects.postgresql.insert(credit_consents).values(
                town_id=town_of(conn, households, household_id), household_id=household_id,
                consented_on=on, recorded_by=actor)
                .on_conflict_do_update(index_elements=["household_id"], set_={
                    "consented_on": on, "withdrawn_on": None, "recorded_by": actor}))


def bank_key(key: bytes, household_code: str) -> str:
    """The key a household is known by in the bank's file: HMAC-SHA256 of its code under
    the partner's key (docs/bank-export.md). The household's 信用证明 carries it."""
    return hmac.new(key, household_code.encode(), hashlib.sha256).hexdigest()


def bank_export(engine: Engine, principal: Principal, *, key: bytes,
                purpose: str) -> list[dict]:
    """The partner bank's file (docs/bank-export.md): for each household in the principal's
    scope that consented and has not withdrawn, its hash key and credit level — no name, ID
    or phone number, no household code. Audited with its purpose."""
    if len(key) < 32:
        raise PointsError("the partner's key must be at least 32 bytes")
    purpose = (purpose or "").strip()
    if not purpose:
        raise PointsError("say what the export is for (the purpose is audited)")
    visible, params = row_filter(principal, "households", "hc")
    if visible == "false":
        raise PointsError(f"role {principal.role} sees no households: no credit to export")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(f"""
            SELECT h.code, hc.level, hc.earned, hc.levels_version,
                   (hc.computed_at AT TIME ZONE 'Asia/Shanghai')::date AS computed_on,
                   v.code AS village_code
              FROM household_credit hc
              JOIN credit_consents cc ON cc.town_id = hc.town_id
                                     AND cc.household_id = hc.household_id
                                     AND cc.withdrawn_on IS NULL
              JOIN households h ON h.town_id = hc.town_id AND h.id = hc.household_id
              JOIN units v ON v.town_id = hc.town_id AND v.id = hc.village_id
             WHERE hc.level IS NOT NULL AND {visible}
             ORDER BY hc.household_id"""), params).mappings().all()  # noqa: S608 - row_filter
        audit(conn, principal, "credit_export", "household_credit", purpose=purpose[:500],
              detail={"households": len(rows)})
    return [{"key": bank_key(key, r["code"]), "level": r["level"], "earned": r["earned"],
             "levels_version": r["levels_version"], "computed_on": r["computed_on"].isoformat(),
             "village_code": r["village_code"]} for r in rows]


def household_card(engine: Engine, principal: Principal, code: str) -> dict | None:
    """A household by its code, for a principal who sees it (its unit's official or grid
    worker): balance, earned, credit level, consent, and its village's shop. None when
    there is no such household or the principal may not see it."""
    visible, params = row_filter(principal, "households", "h")
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"""
            SELECT h.id, h.code, h.village_id, coalesce(hp.balance, 0) AS balance,
                   coalesce(hp.earned, 0) AS earned, hc.level,
                   (cc.household_id IS NOT NULL AND cc.withdrawn_on IS NULL) AS consented
              FROM households h
              LEFT JOIN household_points hp ON hp.town_id = h.town_id AND hp.household_id = h.id
              LEFT JOIN household_credit hc ON hc.town_id = h.town_id AND hc.household_id = h.id
              LEFT JOIN credit_consents cc ON cc.town_id = h.town_id AND cc.household_id = h.id
             WHERE h.code = :code AND {visible}"""),  # noqa: S608 - row_filter's own SQL
            {"code": code.strip(), **params}).mappings().one_or_none()
    return dict(row) if row else None
