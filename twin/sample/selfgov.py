"""自治 of the sample twin: "一约两会三团" in every village — its compact (some revised once),
the residents' and worthies' councils and the three groups with their members — the
micro-governance consultations with their sittings, decisions and votes, and 文明啄木鸟:
a share of the residents' reports made by the town's woodpeckers, whose resolved reports
earn points.

Derived in the database like the party board (twin.sample.party): set-based statements in
the loader's transaction, their "randomness" a hash of the seed, a salt and a row id. The
totals keep Tongxiang's proportions (REFERENCE.md, issue 17): 51 consultation projects,
375 sittings and 267 livelihood matters solved, 3,231 woodpecker reports in the county.
"""

from __future__ import annotations

from twin.sample.party import _expand

# (kind, name, members): the two councils and three groups of every village
COUNCILS = (("residents_council", "百姓议事会", 13), ("worthies_council", "乡贤参事会", 9),
            ("service_group", "百事服务团", 11), ("legal_group", "法律服务团", 7),
            ("moral_group", "道德评判团", 9))
PROJECTS_PER_TOWN = 51 / 11        # Tongxiang: 51 projects in its 11 towns and subdistricts
SESSIONS = (4, 11)                 # sittings of a project: 375 / 51 ≈ 7.4 on average
MATTERS = (3, 8)                   # livelihood matters a project solves: 267 / 51 ≈ 5.2
WOODPECKER_REPORTS = 3231 / 424_000  # reports per household and year
REVISED_SHARE = 0.3                # villages whose compact was revised once
BRANDS = ("麻花议事", "平安贤话", "桂花树下来协商", "荷塘月色议事站")
RAISERS = ("resident", "council", "grid_worker", "party")
MATTER_TITLES = (
    "老旧小区加装电梯", "村道拓宽与停车位规划", "河道保洁长效管理", "垃圾分类积分兑换办法",
    "闲置农房盘活利用", "居家养老服务站建设", "美丽庭院创建评比", "文化礼堂活动安排",
    "村集体资产租金分配", "农贸市场周边秩序整治", "公共区域路灯改造", "村民健身广场选址",
    "小区物业费调整", "农村饮用水管网改造", "红白喜事操办标准")
MINUTES = ("听取村民意见，梳理主要诉求", "实地查看现场，形成初步方案", "邀请乡贤和法律顾问论证方案",
           "方案公示后收集反馈意见", "协调相关部门，明确责任分工", "通报实施进度，听取群众评价")
DECISIONS = ("同意按方案实施，由村委会负责推进", "同意方案，费用由村集体和受益户按比例分担",
             "同意先行试点，三个月后评估", "同意修改后实施，纳入村规民约执行")
CLAUSES = (
    "热爱祖国，拥护党的领导，遵守国家法律法规。", "崇尚科学，反对封建迷信，不参与赌博等违法活动。",
    "孝敬父母，赡养老人，邻里和睦，互帮互助。", "红事新办，白事简办，反对铺张浪费和大操大办。",
    "爱护环境，垃圾分类投放，不乱倒垃圾、不乱排污水。", "美化庭院，房前屋后整洁有序，不乱堆乱放。",
    "依法建房，不违章搭建，不占用河道和道路。", "珍惜土地资源，不抛荒耕地，不违法占用耕地。",
    "遵守交通规则，文明出行，电动车佩戴头盔。", "积极参加村民议事协商和志愿服务活动。",
    "矛盾纠纷依法依规协商解决，不无理缠访闹访。", "出租房屋按规定登记，做好消防安全。",
)
REVISION = "落实三治积分管理，村民行为纳入积分评定并与三治信用挂钩。"

_STATEMENTS = (
    # the councils and groups, each meeting at a place of its own in the village
    ("organizations", """
INSERT INTO organizations (kind, name, members, unit_id, geom)
SELECT c.kind, v.name || c.name, 0, v.id,
       (SELECT ST_PointOnSurface(m.geom) FROM units m
         WHERE m.level = 'microgrid' AND m.village_id = v.id
         ORDER BY RAND(m.id || '/' || c.kind, council-place) LIMIT 1)
  FROM units v
 CROSS JOIN unnest(CAST(:council_kinds AS text[]), CAST(:council_names AS text[]))
            AS c (kind, name)
 WHERE v.level = 'village'
   AND EXISTS (SELECT 1 FROM units m WHERE m.level = 'microgrid' AND m.village_id = v.id)
 ORDER BY v.id, c.kind"""),
    # members: adults of the village drawn by hash; the first of each is its chair
    ("organization_members", """
WITH drawn AS (
    SELECT o.town_id, o.id AS organization_id, p.id AS person_id,
           row_number() OVER (PARTITION BY o.id
                              ORDER BY RAND(p.id || '/' || o.kind, council-member)) AS k,
           s.size
      FROM organizations o
      JOIN unnest(CAST(:council_kinds AS text[]), CAST(:council_sizes AS int[]))
           AS s (kind, size) ON s.kind = o.kind
      JOIN people p ON p.village_id = o.unit_id
     WHERE p.birth_date BETWEEN CAST(:end AS date) - interval '75 years'
                            AND CAST(:end AS date) - interval '25 years'
       AND RAND(p.id || '/' || o.kind, council-pool) < 0.2
)
INSERT INTO organization_members (town_id, organization_id, person_id, role)
SELECT town_id, organization_id, person_id, CASE WHEN k = 1 THEN 'chair' ELSE 'member' END
  FROM drawn WHERE k <= size"""),
    ("organizations", """
UPDATE organizations o SET members = n.members
  FROM (SELECT organization_id, count(*) AS members FROM organization_members
         GROUP BY organization_id) n
 WHERE n.organization_id = o.id AND o.kind = ANY (CAST(:council_kinds AS text[]))"""),
    # every village's compact; some revised once since (the first version then ended)
    ("compacts", """
INSERT INTO compacts (town_id, unit_id, version, kind, title, clauses, adopted_on,
                      adopted_by, votes_for, votes_total, valid_to, changed_by)
SELECT v.town_id, v.id, k, CASE WHEN v.name LIKE '%社区' THEN 'community' ELSE 'village' END,
       v.name || CASE WHEN v.name LIKE '%社区' THEN '居民公约' ELSE '村规民约' END,
       to_jsonb(CAST(:clauses AS text[]) || CASE WHEN k = 2 THEN CAST(:revision AS text[])
                                                  ELSE CAST('{}' AS text[]) END),
       CAST(:end AS date) - CASE WHEN k = 1 THEN 1400 + floor(RAND(v.id, compact-1) * 500)::int
                                 ELSE 200 + floor(RAND(v.id, compact-2) * 700)::int END,
       CASE WHEN k = 1 THEN '村民代表会议' ELSE '村民代表会议（修订）' END,
       40 + floor(RAND(v.id || '/' || k, compact-for) * 20)::int,
       62 + floor(RAND(v.id || '/' || k, compact-cast) * 3)::int,
       CASE WHEN k = 1 AND RAND(v.id, compact-revised) < :revised
            THEN CAST(:end AS date) - 200 - floor(RAND(v.id, compact-2) * 700)::int END,
       'sample'
  FROM units v CROSS JOIN generate_series(1, 2) AS k
 WHERE v.level = 'village' AND (k = 1 OR RAND(v.id, compact-revised) < :revised)"""),
    # the consultation projects: in villages drawn by hash, a place in one of its micro-grids
    ("consultations", """
WITH villages AS (
    SELECT v.id, v.town_id,
           row_number() OVER (ORDER BY RAND(v.id, project-village)) AS k
      FROM units v WHERE v.level = 'village'
       AND EXISTS (SELECT 1 FROM units m WHERE m.level = 'microgrid' AND m.village_id = v.id)
), chosen AS (
    SELECT v.id, v.k, CAST(:end AS date) - 60 - floor(RAND(v.id, project-open) * 640)::int
           AS opened_on
      FROM villages v
     WHERE v.k <= greatest(3, round(:per_town * (SELECT count(*) FROM units
                                                  WHERE level = 'town')))
)
INSERT INTO consultations (code, title, brand, organization_id, raised_by, household_id,
                           status, matters_solved, opened_on, done_on, actor, geom)
SELECT 'YS' || to_char(c.opened_on, 'YYYYMM') || '-' || lpad(c.k::text, 5, '0'),
       (CAST(:titles AS text[]))[1 + floor(RAND(c.id, project-title)
                                           * cardinality(CAST(:titles AS text[])))::int],
       (CAST(:brands AS text[]))[1 + floor(RAND(c.id, project-brand) * 4)::int],
       (SELECT o.id FROM organizations o WHERE o.unit_id = c.id
           AND o.kind = CASE WHEN RAND(c.id, project-council) < 0.7 THEN 'residents_council'
                             ELSE 'worthies_council' END),
       r.raised_by,
       CASE WHEN r.raised_by = 'resident' THEN (
           SELECT h.id FROM households h WHERE h.village_id = c.id
            ORDER BY RAND(h.id, project-household) LIMIT 1) END,
       s.status,
       CASE WHEN s.status = 'done' THEN :matters_min + floor(RAND(c.id, project-matters)
                                         * (:matters_max - :matters_min + 1))::int ELSE 0 END,
       c.opened_on,
       CASE WHEN s.status = 'done'
            THEN least(CAST(:end AS date) - 1, c.opened_on + 45
                       + floor(RAND(c.id, project-done) * 120)::int) END,
       'sample',
       (SELECT ST_PointOnSurface(m.geom) FROM units m
         WHERE m.level = 'microgrid' AND m.village_id = c.id
         ORDER BY RAND(m.id, project-place) LIMIT 1)
  FROM chosen c
 CROSS JOIN LATERAL (SELECT (CAST(:raisers AS text[]))[1 + floor(RAND(c.id, project-raiser)
                                                                  * 4)::int] AS raised_by) r
 CROSS JOIN LATERAL (SELECT CASE WHEN RAND(c.id, project-status) < 0.7 THEN 'done'
                                 WHEN RAND(c.id, project-status) < 0.85 THEN 'decided'
                                 ELSE 'consulting' END AS status) s"""),
    # the sittings: evenly through the project's time; the last of a decided one decides
    ("consultation_sessions", """
WITH span AS (
    SELECT t.id, t.status, t.opened_on,
           coalesce(t.done_on, CAST(:end AS date) - 1) AS until,
           :sessions_min + floor(RAND(t.id, sessions) * (:sessions_max - :sessions_min + 1))::int
           AS n
      FROM consultations t WHERE t.actor = 'sample'
), sittings AS (
    SELECT s.*, k, 15 + floor(RAND(s.id || '/' || k, attendees) * 30)::int AS attendees
      FROM span s CROSS JOIN generate_series(1, s.n) AS k
)
INSERT INTO consultation_sessions (town_id, consultation_id, held_at, place, attendees,
                                   minutes, decision, votes_for, votes_against, votes_abstain,
                                   actor)
SELECT (SELECT c.town_id FROM consultations c WHERE c.id = s.id), s.id,
       (s.opened_on + (s.until - s.opened_on) * (k - 1) / s.n)::timestamp
           AT TIME ZONE 'Asia/Shanghai' + interval '19 hours',
       '村文化礼堂', s.attendees,
       (CAST(:minutes AS text[]))[1 + (k - 1) % cardinality(CAST(:minutes AS text[]))],
       CASE WHEN k = s.n AND s.status IN ('decided', 'done')
            THEN (CAST(:decisions AS text[]))[1 + floor(RAND(s.id, decision) * 4)::int] END,
       CASE WHEN k = s.n AND s.status IN ('decided', 'done')
            THEN s.attendees - 1 - floor(RAND(s.id, against) * 3)::int END,
       CASE WHEN k = s.n AND s.status IN ('decided', 'done')
            THEN floor(RAND(s.id, against) * 3)::int END,
       CASE WHEN k = s.n AND s.status IN ('decided', 'done') THEN 0 END,
       'sample'
  FROM sittings s"""),
    # the household that raised a decided matter earned the proposal's points
    ("points_ledger", """
INSERT INTO points_ledger (household_id, rule_code, rule_version, points, source, source_ref,
                           actor, at, client_key)
SELECT t.household_id, r.code, r.version, r.points, 'council', 'session:' || s.id, 'sample',
       s.held_at, 'council:' || t.id
  FROM consultations t
  JOIN consultation_sessions s ON s.consultation_id = t.id AND s.decision IS NOT NULL
  JOIN points_rules r ON r.code = 'self.consult' AND r.valid_to IS NULL
 WHERE t.household_id IS NOT NULL
ON CONFLICT (client_key) DO NOTHING"""),
    # 文明啄木鸟: a share of the residents' reports were a woodpecker's
    ("events", """
UPDATE events e SET source = 'volunteer'
 WHERE e.source = 'resident'
   AND RAND(e.id, woodpecker-report) < :woodpecker_reports * (SELECT count(*) FROM households)
       / greatest((SELECT count(*) FROM events WHERE source = 'resident'), 1)"""),
    ("volunteer_reports", """
INSERT INTO volunteer_reports (town_id, event_id, person_id, household_id, organization_id)
SELECT e.town_id, e.id, w.person_id, p.household_id, w.organization_id
  FROM events e
 CROSS JOIN LATERAL (
    SELECT m.person_id, m.organization_id FROM organization_members m
      JOIN organizations o ON o.id = m.organization_id AND o.kind = 'volunteer_team'
                          AND o.unit_id = e.town_id
     ORDER BY RAND(m.person_id || '/' || e.id, woodpecker-who) LIMIT 1) w
  JOIN people p ON p.id = w.person_id
 WHERE e.source = 'volunteer' AND p.household_id IS NOT NULL"""),
    ("points_ledger", """
SELECT twin_report_points(ARRAY(SELECT event_id FROM volunteer_reports), 'sample')"""),
)

STATEMENTS: tuple[tuple[str, str], ...] = tuple((table, _expand(sql))
                                                for table, sql in _STATEMENTS)


def params() -> dict:
    """The values the statements are run with (beside the party board's ``seed``, ``end``)."""
    return {"council_kinds": [c[0] for c in COUNCILS], "council_names": [c[1] for c in COUNCILS],
            "council_sizes": [c[2] for c in COUNCILS], "clauses": list(CLAUSES),
            "revision": [REVISION], "revised": REVISED_SHARE, "per_town": PROJECTS_PER_TOWN,
            "titles": list(MATTER_TITLES), "brands": list(BRANDS), "raisers": list(RAISERS),
            "matters_min": MATTERS[0], "matters_max": MATTERS[1],
            "sessions_min": SESSIONS[0], "sessions_max": SESSIONS[1],
            "minutes": list(MINUTES), "decisions": list(DECISIONS),
            "woodpecker_reports": WOODPECKER_REPORTS}
