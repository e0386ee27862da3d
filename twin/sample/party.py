"""党建统领 of the sample twin: party organisations on every grid, micro-grid leaders with
their households (联户), a year of visits, village cadres and reserves, secretary-led
projects and the problem list.

They hang off rows the loader has just written (people, households, units, workrooms), so
they are derived in the database, set-based, in the loader's transaction: the statements
below, run in order with ``seed`` and ``end`` bound. Their "randomness" is a hash of the
seed, a salt and a row id, so the same sample gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import re

# Tongxiang's figures (REFERENCE.md, issue 16): 11,000+ party-member leaders on 15,000
# micro-grids, 1,500+ cadres and reserves in 217 villages, 23 problems on the list.
LEADER_PARTY_SHARE = 0.75   # a party member is chosen where the micro-grid has one
PROBLEMS_PER_TOWN = 23 / 11
VISIT_EVERY_DAYS = (60, 180)  # each household is visited every so many days


def rand(expr: str, salt: str) -> str:
    """SQL for a number in [0, 1) drawn from the seed, ``salt`` and the value of ``expr``."""
    return (f"((('x' || substr(md5(CAST(:seed AS text) || '/{salt}/' || ({expr})::text), "
            f"1, 8))::bit(32)::bigint & 2147483647) / 2147483648.0)")


def _expand(sql: str) -> str:
    """The statements below as PostgreSQL reads them: ``RAND(expr, salt)`` is :func:`rand`,
    ``PARTY(p)`` says that person ``p`` is a party member."""
    sql = re.sub(r"RAND\(([^,()]+(?:\([^()]*\))?[^,()]*), ([\w-]+)\)",
                 lambda m: rand(m[1].strip(), m[2]), sql)
    return re.sub(r"PARTY\((\w+)\)", r"\1.tags @> '{party_member}'", sql)


HEARD = ("反映路灯不亮，晚上出行不便", "希望增加垃圾清运次数", "邻里因停车位产生矛盾",
         "独居老人身体欠佳，需要常去看看", "询问医保缴费和报销办法", "河道有漂浮物",
         "门前道路破损积水", "咨询孩子入学政策", "希望村里组织技能培训", "反映自来水压力小")
PROBLEMS = (
    "村级集体经济增收渠道单一", "网格员队伍年龄结构偏大", "部分微网格长履职不到位",
    "农村生活污水设施运维薄弱", "小区物业矛盾化解机制不健全", "流动人口党员管理不够精准",
    "村务公开不及时不规范", "基层矛盾纠纷多头受理", "农村危旧房排查整治滞后",
    "数字化应用基层使用率不高", "后备干部储备不足", "村级议事协商流于形式",
    "居家养老服务覆盖不足", "农村人居环境长效管护不够", "企业安全生产隐患排查不深",
    "网格事务准入把关不严", "走访民情记录不全", "村干部教育培训针对性不强",
    "信访积案化解进度偏慢", "新就业群体党建覆盖不足", "农业面源污染治理不到位",
    "公共服务事项下沉承接能力弱", "志愿服务常态化不够")
PROJECTS = ("强村富民共富工坊", "乌镇大道沿线环境提升", "数字乡村一张图",
            "未来乡村建设", "红色物业联盟", "共富联合体", "村级养老服务中心提升",
            "美丽河湖共建", "邻里中心建设", "党群服务中心改造")

_STATEMENTS = (
    # a party committee for each town; the village branches under it
    ("organizations", """
INSERT INTO organizations (kind, name, members, unit_id, geom)
SELECT 'party_committee', '中共桐乡市' || t.name || '委员会',
       (SELECT count(*) FROM people p WHERE p.town_id = t.id AND PARTY(p)), t.id,
       ST_PointOnSurface(t.geom)
  FROM units t WHERE t.level = 'town' ORDER BY t.id"""),
    ("organizations", """
UPDATE organizations o SET parent_id = c.id
  FROM units v, organizations c
 WHERE o.kind IN ('party_branch', 'party_general_branch') AND v.id = o.unit_id
   AND v.level = 'village' AND c.kind = 'party_committee' AND c.unit_id = v.town_id"""),
    # "支部建在网格上": a branch on every grid with three members or more, else a party
    # group, at the grid's workroom where it has one
    ("organizations", """
INSERT INTO organizations (kind, name, members, unit_id, geom, parent_id)
SELECT CASE WHEN g.members >= 3 THEN 'party_branch' ELSE 'party_group' END,
       '中共' || g.name || CASE WHEN g.members >= 3 THEN '党支部' ELSE '党小组' END,
       g.members, g.id, coalesce(g.room, ST_PointOnSurface(g.geom)), g.parent
  FROM (SELECT u.id, u.name, u.geom, coalesce(m.members, 0) AS members,
               (SELECT w.geom FROM workrooms w WHERE w.grid_id = u.id ORDER BY w.id LIMIT 1)
                   AS room,
               (SELECT b.id FROM organizations b WHERE b.unit_id = u.village_id
                   AND b.kind IN ('party_branch', 'party_general_branch')
                 ORDER BY b.id LIMIT 1) AS parent
          FROM units u
          LEFT JOIN (SELECT p.grid_id, count(*) AS members FROM people p WHERE PARTY(p)
                      GROUP BY p.grid_id) m ON m.grid_id = u.id  -- one pass, not one per grid
         WHERE u.level = 'grid') g
 ORDER BY g.id"""),
    ("party_coverage", """
INSERT INTO party_coverage (town_id, organization_id, grid_id)
SELECT g.town_id, o.id, o.unit_id FROM organizations o JOIN units g ON g.id = o.unit_id
 WHERE g.level = 'grid' AND o.kind LIKE 'party%'
UNION
SELECT g.town_id, o.id, g.id FROM organizations o JOIN units g ON g.village_id = o.unit_id
 WHERE g.level = 'grid' AND o.kind IN ('party_branch', 'party_general_branch')"""),
    # party members belong to the branch (or group) of their grid; each has a secretary,
    # and so has each village's branch
    ("organization_members", """
INSERT INTO organization_members (town_id, organization_id, person_id, role)
SELECT o.town_id, o.id, p.id, 'member'
  FROM people p JOIN organizations o ON o.unit_id = p.grid_id AND o.kind LIKE 'party%'
 WHERE PARTY(p) ORDER BY o.id, p.id"""),
    ("organization_members", """
UPDATE organization_members m SET role = 'secretary'
  FROM (SELECT DISTINCT ON (x.organization_id) x.organization_id, x.person_id
          FROM organization_members x
         ORDER BY x.organization_id, RAND(x.person_id, secretary)) s
 WHERE m.organization_id = s.organization_id AND m.person_id = s.person_id"""),
    ("organization_members", """
INSERT INTO organization_members (town_id, organization_id, person_id, role)
SELECT DISTINCT ON (o.id) o.town_id, o.id, p.id, 'secretary'
  FROM organizations o JOIN people p ON p.village_id = o.unit_id AND PARTY(p)
 WHERE o.kind IN ('party_branch', 'party_general_branch')
 ORDER BY o.id, RAND(p.id, village-secretary)"""),
    # a leader for every micro-grid with homes: an adult of it (25 to 68 where there is
    # one), a party member where it has one (for about three leaders in four), serving a
    # three-year term
    ("microgrid_leaders", """
INSERT INTO microgrid_leaders (person_id, party_member, term_start, term_end, wechat_group,
                               microgrid_id)
SELECT DISTINCT ON (p.microgrid_id) p.id, PARTY(p), s.start, s.start + 3 * 365,
       m.name || '邻里群', p.microgrid_id
  FROM people p JOIN units m ON m.id = p.microgrid_id
 CROSS JOIN LATERAL (SELECT CAST(:end AS date)
                            - floor(RAND(p.microgrid_id, term) * 1000)::int AS start) s
 WHERE p.birth_date <= CAST(:end AS date) - 18 * 365
 ORDER BY p.microgrid_id,
          p.birth_date BETWEEN CAST(:end AS date) - 68 * 365
                           AND CAST(:end AS date) - 25 * 365 DESC,
          (PARTY(p) AND RAND(p.microgrid_id, leader-party) < :party_share) DESC,
          RAND(p.id, leader)"""),
    ("household_links", """
INSERT INTO household_links (household_id, leader_id, linked_on)
SELECT h.id, l.id, l.term_start
  FROM households h JOIN microgrid_leaders l ON l.microgrid_id = h.microgrid_id
 WHERE l.relieved_on IS NULL ORDER BY h.id"""),
    ("microgrid_leaders", """
UPDATE microgrid_leaders l SET wechat_members = round(s.n * (1.2 + RAND(l.id, wechat) * 0.8))
  FROM (SELECT leader_id, count(*) AS n FROM household_links GROUP BY leader_id) s
 WHERE s.leader_id = l.id"""),
    # a year of visits: each household every 60 to 180 days, most by its leader, one in ten
    # by the village secretary (书记来敲门); some with what was heard
    ("visits", """
INSERT INTO visits (household_id, leader_id, visitor, kind, visited_at, heard)
SELECT v.household_id, CASE WHEN v.kind = 'knock' THEN NULL ELSE v.leader_id END,
       CASE WHEN v.kind = 'knock' THEN 'village_secretary' ELSE 'leader:' || v.leader_id END,
       v.kind, v.at, v.heard
  FROM (SELECT l.household_id, l.leader_id,
               CASE WHEN RAND(l.household_id * 10 + k, kind) < 0.1 THEN 'knock'
                    WHEN RAND(l.household_id * 10 + k, kind) < 0.4 THEN 'day_night'
                    ELSE 'patrol' END AS kind,
               CAST(:end AS timestamptz) - interval '1 day' * (g.offset_days + k * g.every)
                   - interval '1 minute' * floor(RAND(l.household_id * 10 + k, minute) * 600)
                   AS at,
               CASE WHEN RAND(l.household_id * 10 + k, heard) < 0.15
                    THEN (CAST(:heard AS text[]))[1 + floor(RAND(l.household_id * 10 + k, what)
                          * cardinality(CAST(:heard AS text[])))::int] END AS heard
          FROM household_links l
         CROSS JOIN LATERAL (
               SELECT e.every, RAND(l.household_id, offset) * e.every AS offset_days
                 FROM (SELECT :every_min + RAND(l.household_id, every)
                                           * (:every_max - :every_min) AS every) e) g
         CROSS JOIN LATERAL generate_series(0, floor((365 - g.offset_days) / g.every)::int)
               AS k) v
 ORDER BY v.at, v.household_id"""),
    # cadres and reserves: six to eight posts per village, filled by adults of the village
    # (reserve talents under 38); a few posts left vacant
    ("cadres", """
INSERT INTO cadres (unit_id, name, sex, birth_year, education, post, party_member,
                    term_start, term_end, care)
SELECT s.village_id, c.name, c.sex, extract(year FROM c.birth_date)::smallint,
       CASE WHEN s.post = 'reserve' THEN
                CASE WHEN c.r < 0.5 THEN 'bachelor' WHEN c.r < 0.85 THEN 'college'
                     ELSE 'master' END
            ELSE CASE WHEN c.r < 0.12 THEN 'junior' WHEN c.r < 0.4 THEN 'senior'
                      WHEN c.r < 0.8 THEN 'college' ELSE 'bachelor' END END,
       s.post, s.post IN ('secretary', 'deputy_secretary') OR c.party OR c.r < 0.5,
       CASE WHEN s.post <> 'reserve' THEN s.start END,
       CASE WHEN s.post <> 'reserve' THEN s.start + 5 * 365 END,
       CASE WHEN c.r2 < 0.03 THEN ARRAY['fault_tolerance'] ELSE '{}' END
  FROM (SELECT v.id AS village_id, x.post, x.k,
               CAST(:end AS date) - floor(RAND(v.id, term) * 1800)::int AS start
          FROM units v
         CROSS JOIN (VALUES ('secretary', 1), ('director', 2), ('deputy_secretary', 3),
                            ('committee', 4), ('committee', 5), ('grid_worker', 6),
                            ('reserve', 7), ('reserve', 8)) AS x (post, k)
         WHERE v.level = 'village'
           AND (x.k NOT IN (5, 8) OR RAND(v.id * 10 + x.k, post) < 0.75)) s
  JOIN (SELECT p.village_id, p.name, p.sex, p.birth_date, PARTY(p) AS party,
               RAND(p.id, education) AS r, RAND(p.id, care) AS r2,
               p.birth_date > CAST(:end AS date) - 38 * 365 AS young,
               row_number() OVER (PARTITION BY p.village_id,
                                               p.birth_date > CAST(:end AS date) - 38 * 365
                                  ORDER BY RAND(p.id, cadre)) AS k
          FROM people p
         WHERE p.birth_date BETWEEN CAST(:end AS date) - 60 * 365
                                AND CAST(:end AS date) - 24 * 365
           AND RAND(p.id, cadre-pool) < 0.1) c
    ON c.village_id = s.village_id AND c.young = (s.post = 'reserve')
   AND c.k = CASE WHEN s.post = 'reserve' THEN s.k - 6 ELSE s.k END
 ORDER BY s.village_id, s.k"""),
    ("cadres", """
UPDATE cadres r SET mentor_id = s.id
  FROM cadres s WHERE r.post = 'reserve' AND s.post = 'secretary'
   AND s.village_id = r.village_id"""),
    ("cadre_assessments", """
INSERT INTO cadre_assessments (town_id, cadre_id, year, grade)
SELECT c.town_id, c.id, y.year, CASE WHEN RAND(c.id * 10000 + y.year, grade) < 0.2 THEN 'excellent'
                          WHEN RAND(c.id * 10000 + y.year, grade) < 0.92 THEN 'competent'
                          WHEN RAND(c.id * 10000 + y.year, grade) < 0.99 THEN 'basic'
                          ELSE 'incompetent' END
  FROM cadres c
 CROSS JOIN generate_series(extract(year FROM CAST(:end AS date))::int - 3,
                            extract(year FROM CAST(:end AS date))::int - 1) AS y (year)
 WHERE c.post <> 'reserve' AND c.term_start <= make_date(y.year, 12, 31)
 ORDER BY c.id, y.year"""),
    # the problem list (七张问题清单), each worked by a village's secretary, and the
    # secretary-led projects (书记领办) of the city (at the county seat: the first town),
    # each town and some villages
    ("party_projects", """
WITH p AS (SELECT CAST(:projects AS text[]) AS names),
items AS (
    SELECT 'P' || lpad(n::text, 3, '0') AS code, 'problem' AS kind,
           (CAST(:problems AS text[]))[1 + (n - 1) % cardinality(CAST(:problems AS text[]))]
               AS title,
           'village' AS level, v.id AS unit_id, '村党组织书记' AS owner, '七张问题清单' AS source,
           ST_PointOnSurface(v.geom) AS geom, RAND(n, problem) AS r
      FROM generate_series(1, :n_problems) AS n
      JOIN LATERAL (SELECT u.id, u.geom FROM units u WHERE u.level = 'village'
                     ORDER BY RAND(u.id * 100 + n, problem-village) LIMIT 1) v ON true
    UNION ALL
    SELECT 'X' || t.code, 'project',
           t.name || p.names[1 + floor(RAND(t.id, town-project) * cardinality(p.names))::int],
           'town', t.id, '镇（街道）党委书记', '书记领办', ST_PointOnSurface(t.geom),
           RAND(t.id, town-status)
      FROM units t, p WHERE t.level = 'town'
    UNION ALL
    SELECT 'X' || v.code, 'project',
           v.name || p.names[1 + floor(RAND(v.id, village-project) * cardinality(p.names))::int],
           'village', v.id, '村党组织书记', '书记领办', ST_PointOnSurface(v.geom),
           RAND(v.id, village-status)
      FROM units v, p WHERE v.level = 'village' AND RAND(v.id, has-project) < 0.3
    UNION ALL
    SELECT 'C' || lpad(n::text, 3, '0'), 'project', p.names[n], 'city', NULL, '市委书记',
           '书记领办', (SELECT ST_PointOnSurface(t.geom) FROM units t WHERE t.level = 'town'
                         ORDER BY t.code LIMIT 1), RAND(n, city-status)
      FROM generate_series(1, 3) AS n, p),
dated AS (
    SELECT i.*, CASE WHEN i.r < 0.55 THEN 'done' WHEN i.r < 0.9 THEN 'doing'
                     ELSE 'planned' END AS status,
           CAST(:end AS date) - 60 - floor(i.r * 240)::int AS opened
      FROM items i)
INSERT INTO party_projects (code, kind, title, level, unit_id, owner, source, status,
                            opened_on, due_on, done_on, milestones, geom)
SELECT d.code, d.kind, d.title, d.level, d.unit_id, d.owner, d.source, d.status, d.opened,
       d.opened + 180, CASE WHEN d.status = 'done' THEN d.opened + 150 END,
       jsonb_build_array(
           jsonb_build_object('name', '制定方案', 'due', d.opened + 30, 'done', true),
           jsonb_build_object('name', '推进实施', 'due', d.opened + 120,
                              'done', d.status <> 'planned'),
           jsonb_build_object('name', '验收销号', 'due', d.opened + 180,
                              'done', d.status = 'done')),
       d.geom
  FROM dated d ORDER BY d.code"""),
)
# (table, SQL): what the loader runs, in order, with :func:`params` bound
STATEMENTS: tuple[tuple[str, str], ...] = tuple((table, _expand(sql))
                                                for table, sql in _STATEMENTS)


def params(seed: int, end: dt.datetime, towns: int) -> dict:
    """The values the statements are run with."""
    return {"seed": int(seed), "end": end, "party_share": LEADER_PARTY_SHARE,
            "every_min": VISIT_EVERY_DAYS[0], "every_max": VISIT_EVERY_DAYS[1],
            "heard": list(HEARD), "problems": list(PROBLEMS), "projects": list(PROJECTS),
            "n_problems": max(3, round(PROBLEMS_PER_TOWN * towns))}
