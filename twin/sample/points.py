"""三治积分 and volunteers of the sample twin: the published standard (a rule catalogue of
41 behaviours on the three boards), volunteers in every village's team and a 文明啄木鸟
team in every town, a year of their activities and hours, a year of ledger entries for the
households, each village's points shop and what was redeemed there, and the credit levels
that follow.

Derived in the database like the party board (twin.sample.party): set-based statements in
the loader's transaction, their "randomness" a hash of the seed, a salt and a row id.
"""

from __future__ import annotations

import datetime as dt

from twin.sample.party import _expand

# Tongxiang (REFERENCE.md, issue 17): 100,000+ residents in volunteer service and 文明啄木鸟
# among ~565,000 — about one in six adults.
VOLUNTEER_SHARE = 0.18
WOODPECKER_SHARE = 0.04      # of the volunteers, also in the town's 文明啄木鸟 team
ACTIVITY_EVERY_DAYS = 14     # each team meets about every two weeks
ATTENDANCE = 0.15            # of a team's members, at each activity
ENTRIES_MAX = 12             # behaviour entries a household gets in the year: 0 … 12
REDEEMING_SHARE = 0.35       # of the households with 50 points or more

# code, board, 中文, English, points, per, evidence, the source it usually comes from
RULES: tuple[tuple[str, str, str, str, int, str, str, str], ...] = (
    ("self.meeting", "self", "参加村民（居民）议事会", "Attending the residents' council", 5, "time", "record", "council"),
    ("self.consult", "self", "参与协商议事并提出建议", "A proposal in a consultation", 10, "time", "record", "council"),
    ("self.compact", "self", "遵守村规民约，签订承诺书", "Signing the village compact", 5, "time", "record", "council"),
    ("self.volunteer_hour", "self", "志愿服务（每小时）", "Volunteer service (per hour)", 2, "hour", "record", "volunteer"),
    ("self.sorting", "self", "垃圾分类准确投放", "Sorting rubbish correctly", 3, "time", "photo", "visit"),
    ("self.courtyard", "self", "美丽庭院创建达标", "A model courtyard", 10, "time", "photo", "visit"),
    ("self.clean_up", "self", "参加村庄环境整治", "Joining a village clean-up", 5, "time", "record", "council"),
    ("self.river", "self", "参与河道护河巡查", "River patrol", 5, "time", "record", "council"),
    ("self.elections", "self", "参加村（社区）换届选举", "Voting in the village election", 5, "time", "record", "council"),
    ("self.fees", "self", "按时缴纳医保养老保险", "Paying insurance on time", 3, "time", "record", "manual"),
    ("self.demolition", "self", "配合拆违治危工作", "Co-operating in clearing illegal buildings", 15, "time", "approval", "manual"),
    ("self.project", "self", "参与村级微治理项目", "Joining a micro-governance project", 10, "time", "record", "council"),
    ("self.neglect", "self", "房前屋后乱堆乱放", "Clutter around the house", -5, "time", "photo", "visit"),
    ("self.woodpecker", "self", "文明啄木鸟随手拍问题经核实解决", "A woodpecker's report resolved", 5, "time", "photo", "report"),
    ("law.study", "law", "参加法治宣传学习", "Attending a legal-education session", 5, "time", "record", "council"),
    ("law.mediate", "law", "主动参与矛盾纠纷调解", "Helping mediate a dispute", 10, "time", "record", "report"),
    ("law.patrol", "law", "参加平安巡防", "Neighbourhood safety patrol", 5, "time", "record", "volunteer"),
    ("law.report_hazard", "law", "报告安全隐患并经核实", "A hazard reported and confirmed", 5, "time", "photo", "report"),
    ("law.anti_fraud", "law", "安装国家反诈中心APP", "Installing the anti-fraud app", 3, "time", "photo", "visit"),
    ("law.clue", "law", "提供涉黑涉恶有效线索", "A valid clue on organised crime", 30, "time", "approval", "manual"),
    ("law.fire_check", "law", "配合消防安全检查", "Co-operating in a fire-safety check", 3, "time", "record", "visit"),
    ("law.rental", "law", "出租房屋按规定登记", "Registering a rented house", 5, "time", "record", "visit"),
    ("law.illegal_build", "law", "违章搭建", "Illegal building", -20, "time", "photo", "report"),
    ("law.dumping", "law", "乱倒垃圾、乱排污水", "Dumping rubbish or sewage", -10, "time", "photo", "report"),
    ("law.gambling", "law", "参与赌博等违法行为", "Gambling or other offences", -50, "time", "approval", "report"),
    ("law.petition_abuse", "law", "无理缠访闹访", "Abusive petitioning", -20, "time", "approval", "report"),
    ("moral.filial", "moral", "孝老爱亲", "Caring for elders", 20, "time", "record", "visit"),
    ("moral.good_deed", "moral", "好人好事", "A good deed", 10, "time", "record", "visit"),
    ("moral.brave", "moral", "见义勇为", "Acting bravely for others", 50, "time", "approval", "manual"),
    ("moral.family", "moral", "评为文明家庭、最美家庭", "A model family", 30, "time", "approval", "manual"),
    ("moral.neighbour", "moral", "邻里互帮互助", "Helping neighbours", 5, "time", "record", "visit"),
    ("moral.blood", "moral", "无偿献血", "Giving blood", 20, "time", "record", "manual"),
    ("moral.donate", "moral", "慈善捐款捐物", "A charitable donation", 10, "time", "record", "manual"),
    ("moral.frugal", "moral", "红事新办、白事简办", "A simple wedding or funeral", 15, "time", "record", "visit"),
    ("moral.study", "moral", "参加道德讲堂", "Attending a moral-education class", 3, "time", "record", "council"),
    ("moral.education", "moral", "子女教育表现突出", "Children's education commended", 10, "time", "approval", "manual"),
    ("moral.culture", "moral", "参加文体活动", "Joining cultural activities", 3, "time", "record", "council"),
    ("moral.judged", "moral", "道德评判团评议表扬", "Praised by the moral-judgement group", 15, "time", "approval", "council"),
    ("moral.disrespect", "moral", "不赡养老人", "Neglecting elderly parents", -30, "time", "approval", "report"),
    ("moral.quarrel", "moral", "邻里纠纷挑起事端", "Starting a quarrel with neighbours", -10, "time", "record", "report"),
    ("moral.extravagance", "moral", "大操大办、铺张浪费", "An extravagant banquet", -10, "time", "record", "visit"),
)

SHOP = (("毛巾", 10, 120), ("肥皂", 10, 150), ("洗衣液", 20, 100), ("酱油", 15, 100),
        ("理发券", 15, 80), ("保温杯", 25, 60), ("食用油（5升）", 40, 60),
        ("大米（5公斤）", 50, 60), ("家电维修服务", 30, 40), ("体检套餐", 80, 20))

ACTIVITIES = ("河道清理", "敬老院慰问", "垃圾分类宣传", "平安巡防", "交通文明劝导",
              "义诊进村", "文明啄木鸟随手拍", "爱心助学", "反诈宣传", "关爱独居老人")

_STATEMENTS = (
    ("points_rules", """
INSERT INTO points_rules (code, version, board, name_zh, name_en, points, per, evidence,
                          valid_from, changed_by)
SELECT r.code, 1, r.board, r.name_zh, r.name_en, r.points, r.per, r.evidence,
       CAST(:end AS timestamptz) - interval '400 days', 'sample'
  FROM unnest(CAST(:rule_codes AS text[]), CAST(:rule_boards AS text[]),
              CAST(:rule_zh AS text[]), CAST(:rule_en AS text[]),
              CAST(:rule_points AS int[]), CAST(:rule_per AS text[]),
              CAST(:rule_evidence AS text[]))
       AS r (code, board, name_zh, name_en, points, per, evidence)
ON CONFLICT DO NOTHING"""),
    # a 文明啄木鸟 team in every town, beside each village's volunteer team
    ("organizations", """
INSERT INTO organizations (kind, name, members, unit_id, geom)
SELECT 'volunteer_team', t.name || '文明啄木鸟志愿队', 0, t.id, ST_PointOnSurface(t.geom)
  FROM units t WHERE t.level = 'town' ORDER BY t.id"""),
    ("organization_members", """
INSERT INTO organization_members (town_id, organization_id, person_id, role)
SELECT o.town_id, o.id, p.id, 'member'
  FROM people p
  JOIN organizations o ON o.kind = 'volunteer_team' AND o.unit_id = p.village_id
 WHERE p.birth_date BETWEEN CAST(:end AS date) - interval '75 years'
                        AND CAST(:end AS date) - interval '16 years'
   AND RAND(p.id, volunteer) < :volunteer_share
ON CONFLICT DO NOTHING"""),
    ("organization_members", """
INSERT INTO organization_members (town_id, organization_id, person_id, role)
SELECT w.town_id, w.id, m.person_id, 'member'
  FROM organization_members m
  JOIN organizations o ON o.id = m.organization_id AND o.kind = 'volunteer_team'
  JOIN units v ON v.id = o.unit_id AND v.level = 'village'
  JOIN organizations w ON w.kind = 'volunteer_team' AND w.unit_id = v.town_id
 WHERE RAND(m.person_id, woodpecker) < :woodpecker_share
ON CONFLICT DO NOTHING"""),
    ("organizations", """
UPDATE organizations o SET members = greatest(n.members, 1)
  FROM (SELECT organization_id, count(*) AS members FROM organization_members
         GROUP BY organization_id) n
 WHERE n.organization_id = o.id AND o.kind = 'volunteer_team'"""),
    # a year of activities, each in a micro-grid of the team's unit (a place, not a home)
    ("volunteer_activities", """
INSERT INTO volunteer_activities (organization_id, title, starts_at, hours, geom)
SELECT o.id, (CAST(:activities AS text[]))[1 + floor(RAND(o.id || '/' || k, act-title)
                                                      * cardinality(CAST(:activities AS text[])))::int],
       date_trunc('hour', CAST(:end AS timestamptz) - make_interval(days => k * :every)
                  - make_interval(hours => floor(RAND(o.id || '/' || k, act-day) * 240)::int)),
       2 + floor(RAND(o.id || '/' || k, act-hours) * 3)::int,
       (SELECT ST_PointOnSurface(m.geom) FROM units m
         WHERE m.level = 'microgrid' AND (m.village_id = o.unit_id OR m.town_id = o.unit_id)
         ORDER BY RAND(m.id || '/' || o.id || '/' || k, act-place) LIMIT 1)
  FROM organizations o
 CROSS JOIN generate_series(0, floor(365 / :every)::int - 1) AS k
 WHERE o.kind = 'volunteer_team' AND o.members > 1"""),
    ("volunteer_hours", """
INSERT INTO volunteer_hours (town_id, activity_id, person_id, hours)
SELECT a.town_id, a.id, m.person_id, a.hours
  FROM volunteer_activities a
  JOIN organization_members m ON m.organization_id = a.organization_id
 WHERE RAND(a.id || '/' || m.person_id, attend) < :attendance
ON CONFLICT DO NOTHING"""),
    # the hours turned into points (twin.domain.points.convert_hours, for every activity)
    ("points_ledger", "SELECT twin_convert_hours(NULL, 'sample')"),
    # a year of behaviours; a household's deductions are kept only where its awards cover them
    ("points_ledger", """
WITH rules AS (
    SELECT r.code, r.version, r.points, s.source,
           row_number() OVER (ORDER BY r.code) - 1 AS i, count(*) OVER () AS n
      FROM points_rules r
      JOIN unnest(CAST(:rule_codes AS text[]), CAST(:rule_sources AS text[])) AS s (code, source)
        ON s.code = r.code
     WHERE r.valid_to IS NULL AND r.per = 'time'
), drawn AS (
    SELECT h.id AS household_id, k,
           floor(RAND(h.id || '/' || k, entry-rule) * (SELECT max(n) FROM rules))::int AS i,
           CAST(:end AS timestamptz)
             - make_interval(mins => floor(RAND(h.id || '/' || k, entry-at) * 525600)::int) AS at
      FROM households h
     CROSS JOIN generate_series(1, :entries_max) AS k
     WHERE k <= floor(RAND(h.id, entries) * (:entries_max + 1))
), entries AS (
    SELECT d.household_id, d.k, d.at, r.code, r.version, r.points, r.source,
           sum(r.points) OVER (PARTITION BY d.household_id) AS total
      FROM drawn d JOIN rules r ON r.i = d.i
     -- deductions are rarer than awards (two in three drawn are dropped), and so are the
     -- big awards a village's committee decides by hand (three in four dropped)
     WHERE CASE WHEN r.points < 0 THEN RAND(d.household_id || '/' || d.k, entry-keep) < 0.33
                WHEN r.source = 'manual'
                THEN RAND(d.household_id || '/' || d.k, entry-manual) < 0.25
                ELSE true END
)
INSERT INTO points_ledger (household_id, rule_code, rule_version, points, source, source_ref,
                           reason, approver, actor, at)
SELECT e.household_id, e.code, e.version, e.points, e.source, NULL,
       CASE WHEN e.source = 'manual' THEN '按积分标准认定' END,
       CASE WHEN e.source = 'manual' THEN '村三治积分评议小组' END, 'sample', e.at
  FROM entries e
 WHERE e.points > 0 OR e.total >= 0"""),
    ("shop_items", """
INSERT INTO shop_items (town_id, unit_id, name, cost, stock)
SELECT v.town_id, v.id, s.name, s.cost, s.stock
  FROM units v
 CROSS JOIN unnest(CAST(:shop_names AS text[]), CAST(:shop_costs AS int[]),
                   CAST(:shop_stock AS int[])) AS s (name, cost, stock)
 WHERE v.level = 'village'"""),
    # what households redeemed: one item each, one they could afford, in the last two months
    ("points_ledger", """
WITH chosen AS (
    SELECT hp.household_id, hp.balance, i.id AS item, i.cost,
           row_number() OVER (PARTITION BY hp.household_id ORDER BY i.id) - 1 AS j,
           floor(RAND(hp.household_id, redeem-item) * :shop_size)::int AS pick
      FROM household_points hp
      JOIN shop_items i ON i.unit_id = hp.village_id
     WHERE hp.earned >= 50 AND RAND(hp.household_id, redeem) < :redeeming
)
INSERT INTO points_ledger (household_id, points, source, source_ref, actor, at)
SELECT c.household_id, -c.cost, 'redemption', 'shop:' || c.item, 'sample',
       CAST(:end AS timestamptz)
         - make_interval(mins => floor(RAND(c.household_id, redeem-at) * 86400)::int)
  FROM chosen c WHERE c.j = c.pick AND c.cost <= c.balance"""),
    ("shop_items", """
UPDATE shop_items i SET stock = greatest(i.stock - n.taken, 0)
  FROM (SELECT substr(source_ref, 6)::bigint AS item, count(*) AS taken FROM points_ledger
         WHERE source = 'redemption' GROUP BY 1) n
 WHERE n.item = i.id"""),
)

STATEMENTS: tuple[tuple[str, str], ...] = tuple((table, _expand(sql))
                                                for table, sql in _STATEMENTS)
# The sample county's thresholds (a county sets its own: twin.domain.points.set_credit_levels),
# published before the year began: about three households in ten reach A, as Tongxiang's
# 119,500 credited households and firms are of its ~424,000 households.
THRESHOLDS = {"A": 45, "AA": 90, "AAA": 140}
# the credit levels, once every board has written its points (run last)
CREDIT = (
    ("credit_levels", """
UPDATE credit_levels SET valid_to = CAST(:end AS timestamptz) - interval '400 days'
 WHERE valid_to IS NULL"""),
    ("credit_levels", """
INSERT INTO credit_levels (version, level, min_earned, valid_from, changed_by)
SELECT (SELECT max(version) FROM credit_levels) + 1, t.level, t.min_earned,
       CAST(:end AS timestamptz) - interval '400 days', 'sample'
  FROM unnest(CAST(:levels AS text[]), CAST(:thresholds AS int[])) AS t (level, min_earned)"""),
    ("household_credit", "SELECT twin_credit_recompute(CAST(:end AS timestamptz))"),
)


def params(end: dt.datetime) -> dict:
    """The values the statements are run with (beside the party board's ``seed``)."""
    return {"end": end, "volunteer_share": VOLUNTEER_SHARE,
            "woodpecker_share": WOODPECKER_SHARE, "every": ACTIVITY_EVERY_DAYS,
            "attendance": ATTENDANCE, "entries_max": ENTRIES_MAX,
            "redeeming": REDEEMING_SHARE, "activities": list(ACTIVITIES),
            "rule_codes": [r[0] for r in RULES], "rule_boards": [r[1] for r in RULES],
            "rule_zh": [r[2] for r in RULES], "rule_en": [r[3] for r in RULES],
            "rule_points": [r[4] for r in RULES], "rule_per": [r[5] for r in RULES],
            "rule_evidence": [r[6] for r in RULES], "rule_sources": [r[7] for r in RULES],
            "shop_names": [s[0] for s in SHOP], "shop_costs": [s[1] for s in SHOP],
            "shop_stock": [s[2] for s in SHOP], "shop_size": len(SHOP),
            "levels": list(THRESHOLDS), "thresholds": list(THRESHOLDS.values())}
