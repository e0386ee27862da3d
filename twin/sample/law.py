"""法治 of the sample twin: the mediation network — each town's people's mediation committee
and professional mediation rooms beside the villages' committees, their mediators, the
community judges each linked to a few villages — the public legal service places
(党群服务中心, 法治小院, 板凳法庭, judges' and mediators' stations), a year of disputes
mediated on 桐解码 with their parties, sessions and log, and a year of appointments.

Derived in the database like the party board (twin.sample.party): set-based statements in
the loader's transaction, their "randomness" a hash of the seed, a salt and a row id. The
totals keep Tongxiang's published proportions (scaled per town or per household): 57
mediation organisations and 56 community judges for 217 villages in 11 towns; some 2,500
disputes a year (4,982 parties served) for ~424,000 households, 72.3% of them resolved
before litigation and 99.5% of those mediated settled; a typical online dispute handled in
about 30 minutes instead of 6 hours. No agreements are made here: their PDFs are the
product's (twin.domain.agreement), so ``agreements`` stays empty.

The disputes' statements share one plan (:data:`_PLAN`), recomputed by each of them — it
is a pure function of the seed, ``end`` and the rows already written — and joined to the
written disputes by their ``client_key`` ('sample:<village id>/<n>').
"""

from __future__ import annotations

import re

from twin.sample.party import _expand

# --- the network -------------------------------------------------------------------------
ORGS_PER_TOWN = 57 / 11            # Tongxiang: 57 mediation organisations in 11 towns
# the town's organisations, in the order they are made: its committee, then rooms
TOWN_ORGS = (("general", "人民调解委员会"), ("traffic", "交通事故纠纷调解室"),
             ("labour", "劳动争议调解室"), ("family", "婚姻家庭纠纷调解室"),
             ("property", "物业纠纷调解室"), ("consumer", "消费纠纷调解室"),
             ("land", "土地承包纠纷调解室"))
VILLAGE_MEDIATORS = (2, 4)         # mediators of a village's committee
TOWN_MEDIATORS = (4, 6)            # mediators of a town's committee or room
JUDGE_VILLAGES = 217 / 56          # Tongxiang: 56 community judges for 217 villages
BENCH_VILLAGES = 4                 # a 板凳法庭 for about four villages
INACTIVE = 0.04                    # mediators not taking cases now
KINDS = ("neighbour", "family", "land", "homestead", "labour", "contract", "damage",
         "traffic", "property", "consumer", "other")
# the share of each kind among the disputes, in percent
KIND_SHARES = {"neighbour": 25, "family": 15, "land": 10, "homestead": 10, "labour": 10,
               "contract": 8, "damage": 8, "traffic": 6, "property": 5, "consumer": 2,
               "other": 1}
WEEKDAYS = ("周一至周五 8:30–17:00", (1, 2, 3, 4, 5))
SIX_DAYS = ("周一至周六 8:30–17:00", (1, 2, 3, 4, 5, 6))
OPENS, CLOSES = "08:30", "17:00"
SATURDAY_YARDS = 0.4               # 法治小院 open on Saturdays too
CENTRE_SERVICES = ("consultation", "legal_aid", "mediation", "health_check")
YARD_SERVICES = ("consultation", "legal_aid", "mediation")
BENCH_SERVICES = ("mediation", "consultation")
JUDGE_SERVICES = ("consultation", "mediation")
TOWN_SERVICES = ("mediation", "consultation", "notarisation", "appraisal")
ROOM_SERVICES = ("mediation", "consultation")

# --- disputes ------------------------------------------------------------------------------
DISPUTES = 2500 / 424_000          # a year's disputes per household (4,982 parties ≈ 2 each)
MIN_DISPUTES = 5                   # at least so many in every village
CHANNELS = {"resident": 0.45, "official": 0.35}  # the rest come from an event
ONLINE = 0.4                       # mediated online on 桐解码
FAST_KINDS = ("neighbour", "consumer", "family", "property")  # online: 20–90 minutes
# of the disputes that ended: settled before litigation 72.3%; 99.5% of those mediated
# settled, so a few mediations fail; a few applications are withdrawn; the rest went to
# court because a party declined mediation
SETTLED = 0.723
FAILED = SETTLED * 0.005 / 0.995
WITHDRAWN = 0.01
CONFIRM_REQUESTED = 0.5            # of the settled: judicial confirmation asked for …
CONFIRMED = 0.4                    # … and given (the rest of those asked: still pending)
PENDING = 0.5                      # disputes of the last 21 days still under way
OVERRIDE = 0.08                    # the parties chose the second candidate
COURTS = ("桐乡市人民法院",)       # or the town's 人民法庭
# (kind, title, facts, claim, amount from, amount to): facts and claims name no one
DISPUTE_TEXTS = {
    "neighbour": (("相邻通行纠纷", "邻里噪音纠纷", "相邻排水纠纷", "违规搭建影响采光纠纷"),
                  ("双方因房前通道使用问题发生争执，多次协商未果。",
                   "一方装修及夜间活动产生噪音，影响另一方正常休息。",
                   "一方改建排水沟后雨水流入另一方院内，双方产生矛盾。"),
                  ("请求对方恢复原状，保障正常通行。", "请求对方停止侵害，赔礼道歉。"),
                  None),
    "family": (("赡养费纠纷", "离婚财产分割纠纷", "抚养费纠纷", "继承纠纷"),
               ("子女之间就老人赡养费用分担问题未能达成一致。",
                "双方因家庭财产分割问题产生争议，希望通过调解解决。",
                "兄弟姐妹之间就父母遗留房屋的继承问题产生分歧。"),
               ("请求按月支付赡养费用。", "请求依法合理分割共同财产。"), (2000, 60000)),
    "land": (("土地流转租金纠纷", "承包地边界纠纷", "土地征收补偿分配纠纷"),
             ("承租方拖欠土地流转租金，出租农户多次催讨未果。",
              "双方承包地相邻，因田埂位置变动发生争执。",
              "家庭成员之间就土地补偿款分配比例存在分歧。"),
             ("请求支付拖欠的土地流转租金。", "请求重新确认承包地边界。"), (2000, 40000)),
    "homestead": (("宅基地界址纠纷", "农房建设占地纠纷", "宅基地使用权纠纷"),
                  ("双方宅基地相邻，因新建围墙位置产生争议。",
                   "一方翻建农房时超出原有范围，另一方认为侵占其用地。"),
                  ("请求按原界址拆除越界部分。", "请求确认宅基地使用范围。"), None),
    "labour": (("拖欠工资纠纷", "工伤赔偿纠纷", "劳动合同解除纠纷"),
               ("务工人员与用工单位就工资结算发生争议，尚有部分工资未支付。",
                "务工人员在工作中受伤，双方就医疗费用及误工费赔偿存在分歧。",
                "用工单位提前解除劳动关系，双方就经济补偿金额产生争议。"),
               ("请求支付拖欠的工资。", "请求赔偿医疗费和误工费。"), (3000, 80000)),
    "contract": (("借款纠纷", "买卖合同纠纷", "装修工程款纠纷"),
                 ("双方存在民间借贷关系，借款到期后未按约定归还。",
                  "双方就货款结算金额存在争议，一方拒绝支付尾款。",
                  "房屋装修完工后双方就工程质量和工程款结算发生争执。"),
                 ("请求归还借款本金及利息。", "请求支付剩余款项。"), (5000, 200000)),
    "damage": (("宠物伤人赔偿纠纷", "财产损坏赔偿纠纷", "人身损害赔偿纠纷"),
               ("一方饲养的犬只咬伤他人，双方就医疗费用赔偿未达成一致。",
                "一方施工时损坏了相邻房屋墙体，双方就维修费用产生争议。"),
               ("请求赔偿医疗费等各项损失。", "请求承担维修费用。"), (1000, 50000)),
    "traffic": (("电动车碰撞纠纷", "交通事故损害赔偿纠纷", "车辆刮擦纠纷"),
                ("两车在村道路口发生碰撞，一方受轻伤，双方对责任划分无异议但赔偿未谈妥。",
                 "车辆停放时被刮擦，双方就维修费用承担产生分歧。"),
                ("请求赔偿医疗费、误工费及车辆维修费。", "请求赔偿车辆维修费用。"),
                (1000, 80000)),
    "property": (("物业费纠纷", "小区停车管理纠纷", "房屋漏水维修纠纷"),
                 ("业主认为物业服务不到位，拒绝缴纳物业费。",
                  "楼上住户房屋漏水导致楼下住户天花板受损，双方就维修责任产生争议。"),
                 ("请求支付拖欠的物业费。", "请求维修并赔偿损失。"), (500, 10000)),
    "consumer": (("网购商品退货纠纷", "预付卡退费纠纷", "商品质量纠纷"),
                 ("消费者购买的商品存在质量问题，商家拒绝退货退款。",
                  "经营者停业后，消费者预付的费用未能退还。"),
                 ("请求退货并退还货款。", "请求退还预付费用。"), (100, 5000)),
    "other": (("合伙经营纠纷", "集体经济收益分配纠纷"),
              ("双方合伙经营期间就收益分配产生分歧。",
               "村民对集体经济收益分配方案有异议。"),
              ("请求依约分配收益。",), (2000, 50000)),
}
SESSION_NOTES = ("调解员释法说理，双方陈述各自意见", "核实现场情况，听取双方诉求",
                 "背靠背分别做工作，缩小分歧", "邀请乡贤和法律顾问共同参与调解")

# --- appointments --------------------------------------------------------------------------
APPOINTMENTS_PER_TOWN = 6000 / 11  # bookings a year (云司法 counts ~65,000 visits: not all)
PLACE_WEIGHTS = {"service_centre": 5, "law_yard": 3, "bench_court": 1, "judge_station": 1,
                 "mediator_station": 1}  # how bookings fall on the places of a town
AHEAD_DAYS = 14                    # bookings already made for the next days
ATTENDED, MISSED = 0.85, 0.05      # of past bookings; the rest were cancelled
SURNAMES = ("沈", "朱", "徐", "钱", "陆", "姚", "吴", "张", "王", "李", "陈", "周", "杨", "金",
            "顾", "褚", "孙", "蒋", "屠", "费")
APPOINTMENT_NOTES = {
    "consultation": ("咨询土地承包经营权流转", "咨询劳动合同问题", "咨询婚姻家庭问题",
                     "咨询邻里纠纷处理办法"),
    "legal_aid": ("申请法律援助", "咨询法律援助条件"),
    "mediation": ("申请调解邻里纠纷", "申请调解家庭矛盾"),
    "notarisation": ("咨询遗嘱公证", "办理委托公证"),
    "appraisal": ("咨询伤残鉴定",),
    "health_check": ("法治体检",),
}

# a point in a micro-grid of village ``v`` (an alias with ``id``), drawn with ``salt``
_POINT = """(SELECT ST_PointOnSurface(m.geom) FROM units m
         WHERE m.level = 'microgrid' AND m.village_id = {v}.id
         ORDER BY RAND(m.id, {salt}) LIMIT 1)"""
# whether village ``v`` has micro-grids (where its rows can lie)
_HAS_MICROGRID = ("EXISTS (SELECT 1 FROM units m WHERE m.level = 'microgrid' "
                  "AND m.village_id = {v}.id)")
# the codes of the villages of town ``t`` (an expression)
_TOWN_VILLAGES = ("(SELECT array_agg(w.code ORDER BY w.code) FROM units w "
                  "WHERE w.level = 'village' AND w.town_id = {t})")
# the villages of each town in code order, cut into groups of about ``per`` villages
_GROUPS = """
WITH v AS (
    SELECT v.id, v.code, v.name, v.town_id,
           row_number() OVER (PARTITION BY v.town_id ORDER BY v.code) - 1 AS i,
           count(*) OVER (PARTITION BY v.town_id) AS n
      FROM units v WHERE v.level = 'village' AND HAS_MICROGRID(v)
), g AS (
    SELECT v.*, floor(v.i * greatest(1, round(v.n / CAST({per} AS double precision)))
                      / v.n)::int AS g
      FROM v
), groups AS (
    SELECT town_id, g, array_agg(code ORDER BY code) AS serves FROM g GROUP BY town_id, g
)"""
_PLACE = ("INSERT INTO legal_places (code, kind, name, opening_hours, open_days, opens, "
          "closes, slot_minutes, services, serves, organization_id, geom)")
_HOURS = """CAST(:law_weekdays AS text), CAST(:law_weekdays_open AS smallint[]),
       CAST(:law_opens AS time), CAST(:law_closes AS time)"""

# every dispute's whole way, planned from the seed: who, what, when each step would come;
# then cut at ``end`` (and at its stage, for those still under way)
_PLAN = """
adults AS (
    SELECT p.id, p.village_id, p.microgrid_id,
           row_number() OVER (PARTITION BY p.village_id ORDER BY RAND(p.id, law-party)) AS r
      FROM people p
     WHERE p.birth_date BETWEEN CAST(:end AS date) - interval '80 years'
                            AND CAST(:end AS date) - interval '18 years'
), villages AS (
    SELECT v.id AS village_id, v.code AS village_code, v.name AS village_name, v.town_id,
           t.name AS town_name, h.n AS households, a.n AS adults
      FROM units v JOIN units t ON t.id = v.town_id
      JOIN (SELECT village_id, count(*) AS n FROM households GROUP BY village_id) h
        ON h.village_id = v.id
      JOIN (SELECT village_id, count(*) AS n FROM adults GROUP BY village_id) a
        ON a.village_id = v.id
     WHERE v.level = 'village' AND HAS_MICROGRID(v)
), drawn AS (
    -- u: where the dispute falls among its town's, one in each equal stretch of [0, 1)
    -- (so a town's outcomes keep the shares below however few its disputes are)
    SELECT v.*, k, v.village_id || '/' || k AS key,
           (row_number() OVER (PARTITION BY v.town_id
                               ORDER BY RAND(v.village_id || '/' || k, law-order)) - 1
            + RAND(v.village_id || '/' || k, law-jitter))
           / count(*) OVER (PARTITION BY v.town_id) AS u
      FROM villages v
     CROSS JOIN generate_series(1, greatest(:law_min_disputes,
                                            round(:law_disputes * v.households))::int) AS k
), kinds AS (
    SELECT d.*,
           (CAST(:law_kind_pool AS text[]))[1 + floor(RAND(d.key, law-kind) * 100)::int]
               AS kind,
           CASE WHEN RAND(d.key, law-channel) < :law_resident THEN 'resident'
                WHEN RAND(d.key, law-channel) < :law_resident + :law_official THEN 'official'
                ELSE 'event' END AS asked,
           RAND(d.key, law-online) < :law_online AS online,
           ((CAST(CAST(:end AS timestamptz) AT TIME ZONE 'Asia/Shanghai' AS date)
             - 1 - floor(RAND(d.key, law-day) * 365)::int)
            + interval '8 hours' + interval '1 minute' * floor(RAND(d.key, law-minute) * 720))
               AT TIME ZONE 'Asia/Shanghai' AS at0,
           -- the parties: two adults of the village (their ranks in ``adults``)
           a.r1, 1 + (a.r1 + floor(RAND(d.key, law-respondent) * (d.adults - 1))::int)
                     % d.adults AS r2
      FROM drawn d
     CROSS JOIN LATERAL (SELECT 1 + floor(RAND(d.key, law-applicant) * d.adults)::int AS r1) a
), ev AS (
    SELECT e.id, e.village_id, e.reported_at, e.geom,
           row_number() OVER (PARTITION BY e.village_id ORDER BY RAND(e.id, law-event)) AS r
      FROM events e
     WHERE e.category = 'dispute'
       AND e.reported_at < CAST(:end AS timestamptz) - interval '1 hour'
), asking AS (
    SELECT k.key, row_number() OVER (PARTITION BY k.village_id
                                     ORDER BY RAND(k.key, law-asking)) AS r
      FROM kinds k WHERE k.asked = 'event'
), base AS (
    SELECT k.*, e.id AS event_id, e.geom AS event_geom,
           CASE WHEN k.asked = 'event' AND e.id IS NULL THEN 'official' ELSE k.asked END
               AS channel,
           CASE WHEN e.id IS NULL THEN k.at0
                ELSE greatest(e.reported_at, least(
                    e.reported_at + interval '1 minute' * (60 + floor(RAND(k.key, law-lag)
                                                                      * 2820)),
                    CAST(:end AS timestamptz) - interval '30 minutes')) END AS t_app,
           k.online AND k.kind = ANY (CAST(:law_fast_kinds AS text[])) AS fast,
           -- an online simple dispute's whole way, in minutes: 20 to 90, median ~34
           20 * power(4.5, power(RAND(k.key, law-fast), 1.5)) AS dur
      FROM kinds k
      LEFT JOIN asking a ON a.key = k.key
      LEFT JOIN ev e ON e.village_id = k.village_id AND e.r = a.r
), paths AS (
    SELECT b.*,
           CASE WHEN b.t_app > CAST(:end AS timestamptz) - interval '21 days'
                     AND RAND(b.key, law-pending) < :law_pending THEN 'pending'
                WHEN b.u < :law_settled THEN 'settled'
                WHEN b.u < :law_settled + :law_failed THEN 'failed'
                WHEN b.u < :law_settled + :law_failed + :law_withdrawn THEN 'withdrawn'
                ELSE 'declined' END AS path,
           2 + floor(RAND(b.key, law-stage) * 3)::int AS stage,
           b.t_app + interval '1 minute'
               * CASE WHEN b.fast THEN b.dur * (0.25 + 0.1 * RAND(b.key, law-accept))
                      WHEN b.online THEN 5 + 55 * RAND(b.key, law-accept)
                      ELSE 60 + 1380 * RAND(b.key, law-accept) END AS t_acc
      FROM base b
), matched AS (
    SELECT p.*,
           CASE WHEN p.path <> 'withdrawn' THEN p.t_acc + interval '1 minute'
               * CASE WHEN p.fast THEN p.dur * 0.1 ELSE 10 + 170 * RAND(p.key, law-match) END
           END AS t_mat,
           CASE WHEN p.path IN ('settled', 'failed', 'pending')
                THEN CASE WHEN p.fast THEN 1
                          ELSE 1 + floor(RAND(p.key, law-sessions) * 3)::int END
                ELSE 0 END AS n_sess
      FROM paths p
), mediated AS (
    SELECT m.*,
           -- from matching to the end of mediation: the rest of the fast way; else an
           -- hour to a day online, 2 hours to 9 days in person
           CASE WHEN m.fast THEN m.t_app + interval '1 minute' * m.dur - m.t_mat
                WHEN m.online
                THEN interval '1 hour' * power(24, power(RAND(m.key, law-mediate), 1.3))
                ELSE interval '2 hours' * power(108, power(RAND(m.key, law-mediate), 1.3))
           END AS med
      FROM matched m
), planned AS (
    SELECT m.*,
           CASE WHEN m.n_sess > 0 THEN m.t_mat + m.med * (0.3 / m.n_sess) END AS t_first,
           CASE WHEN m.path = 'settled' THEN m.t_mat + m.med END AS t_agreed,
           CASE WHEN m.path = 'settled' AND m.u / :law_settled < :law_requested
                THEN m.t_mat + m.med + interval '1 minute'
                     * (1440 + floor(RAND(m.key, law-request) * 2880)) END AS t_req,
           CASE WHEN m.path = 'failed' THEN m.t_mat + m.med + interval '1 minute'
                     * (1440 + floor(RAND(m.key, law-court) * 2880))
                WHEN m.path = 'declined' THEN m.t_mat + interval '1 minute'
                     * (1440 + floor(RAND(m.key, law-court) * 5760)) END AS t_lit,
           CASE WHEN m.path = 'withdrawn' THEN m.t_acc + interval '1 minute'
                     * (60 + floor(RAND(m.key, law-withdraw) * 4260)) END AS t_wd
      FROM mediated m
), cut AS (
    SELECT p.*,
           CASE WHEN p.t_acc <= CAST(:end AS timestamptz) THEN p.t_acc END AS c_acc,
           CASE WHEN p.t_mat <= CAST(:end AS timestamptz)
                     AND (p.path <> 'pending' OR p.stage >= 3) THEN p.t_mat END AS c_mat,
           CASE WHEN p.t_first <= CAST(:end AS timestamptz)
                     AND (p.path <> 'pending' OR p.stage >= 4) THEN p.t_first END AS c_first,
           CASE WHEN p.t_agreed <= CAST(:end AS timestamptz) THEN p.t_agreed END AS c_agreed,
           CASE WHEN p.t_req <= CAST(:end AS timestamptz) THEN p.t_req END AS c_req,
           CASE WHEN p.u / :law_settled < :law_confirmed
                     AND p.t_req + interval '1 minute'
                         * (4320 + floor(RAND(p.key, law-confirm) * 17280))
                         <= CAST(:end AS timestamptz)
                THEN p.t_req + interval '1 minute'
                     * (4320 + floor(RAND(p.key, law-confirm) * 17280)) END AS c_conf,
           CASE WHEN p.t_lit <= CAST(:end AS timestamptz) THEN p.t_lit END AS c_lit,
           CASE WHEN p.t_wd <= CAST(:end AS timestamptz) THEN p.t_wd END AS c_wd,
           CASE WHEN RAND(p.key, law-court-which) < 0.5 THEN (CAST(:law_courts AS text[]))[1]
                ELSE regexp_replace(p.town_name, '(镇|街道)$', '') || '人民法庭' END AS court
      FROM planned p
), parties AS (
    SELECT c.*, a1.id AS applicant, a2.id AS respondent,
           coalesce(c.event_geom, (SELECT ST_PointOnSurface(m.geom) FROM units m
                                    WHERE m.id = a1.microgrid_id)) AS geom
      FROM cut c
      JOIN adults a1 ON a1.village_id = c.village_id AND a1.r = c.r1
      JOIN adults a2 ON a2.village_id = c.village_id AND a2.r = c.r2
), weights AS (
    SELECT w.* FROM match_weights w ORDER BY w.set_at DESC, w.id DESC LIMIT 1
), plan AS (
    SELECT p.*, c.ids, c.orgs, c.scores,
           CASE WHEN cardinality(c.ids) >= 2 AND RAND(p.key, law-override) < :law_override
                THEN 2 WHEN cardinality(c.ids) >= 1 THEN 1 END AS rank,
           (SELECT j.id FROM mediators j WHERE j.kind = 'judge'
               AND j.villages @> ARRAY[p.village_code] ORDER BY j.id LIMIT 1) AS judge_id,
           CASE WHEN p.c_conf IS NOT NULL THEN 'confirmed'
                WHEN p.c_req IS NOT NULL THEN 'confirm_requested'
                WHEN p.c_agreed IS NOT NULL THEN 'agreed'
                WHEN p.c_lit IS NOT NULL THEN 'litigation'
                WHEN p.c_wd IS NOT NULL THEN 'withdrawn'
                WHEN p.c_first IS NOT NULL THEN 'mediating'
                WHEN p.c_mat IS NOT NULL THEN 'matched'
                WHEN p.c_acc IS NOT NULL THEN 'accepted'
                ELSE 'applied' END AS status
      FROM parties p
     CROSS JOIN LATERAL (
        -- 智能匹配 as the product weighs it: expertise, distance, caseload, success (the
        -- last two drawn), over the mediators of the village's and the town's organisations
        SELECT array_agg(s.id ORDER BY s.score DESC, s.id) AS ids,
               array_agg(s.organization_id ORDER BY s.score DESC, s.id) AS orgs,
               array_agg(s.score ORDER BY s.score DESC, s.id) AS scores
          FROM (SELECT m.id, m.organization_id,
                       (w.expertise * CASE WHEN p.kind = ANY (m.expertise) THEN 1.0
                                           WHEN 'general' = ANY (m.expertise) THEN 0.5
                                           ELSE 0.0 END
                        + w.distance * greatest(0.0, 1.0 - ST_Distance(
                              m.geom::geography, p.geom::geography) / 1000.0 / w.reach_km)
                        + w.caseload * (0.5 + 0.5 * RAND(m.id || '/' || p.key, law-load))
                        + w.success * (0.8 + 0.2 * RAND(m.id || '/' || p.key, law-won)))
                       / (w.expertise + w.distance + w.caseload + w.success) AS score
                  FROM mediators m JOIN organizations o ON o.id = m.organization_id
                 CROSS JOIN weights w
                 WHERE m.kind = 'mediator' AND m.active
                   AND o.unit_id IN (p.village_id, p.town_id)) s) c
)"""

_STATEMENTS = (
    # each town's people's mediation committee and professional rooms, in a village of it
    ("organizations", """
INSERT INTO organizations (kind, name, members, unit_id, geom)
SELECT 'mediation_committee', t.name || r.name, 0, t.id,
       (SELECT ST_PointOnSurface(m.geom) FROM units m
         WHERE m.level = 'microgrid' AND m.village_id = s.id
         ORDER BY RAND(m.id || '/' || r.k, law-org-place) LIMIT 1)
  FROM units t
 CROSS JOIN LATERAL (SELECT v.id FROM units v
                      WHERE v.level = 'village' AND v.town_id = t.id
                        AND HAS_MICROGRID(v)
                      ORDER BY RAND(v.id, law-seat) LIMIT 1) s
 CROSS JOIN unnest(CAST(:law_org_kinds AS text[]), CAST(:law_org_names AS text[]))
            WITH ORDINALITY AS r (kind, name, k)
 WHERE t.level = 'town'
   AND r.k <= greatest(2, floor(:law_orgs_per_town + RAND(t.id, law-orgs)))
 ORDER BY t.id, r.k"""),
    # a 党群服务中心 in every village, where its committee's mediators sit
    ("legal_places", """
INSERT_PLACE
SELECT 'LP-' || v.code || '-1', 'service_centre', v.name || '党群服务中心', OPEN_HOURS,
       30, CAST(:law_centre_services AS text[]), ARRAY[v.code],
       (SELECT o.id FROM organizations o WHERE o.unit_id = v.id
           AND o.kind = 'mediation_committee' ORDER BY o.id LIMIT 1),
       coalesce((SELECT o.geom FROM organizations o WHERE o.unit_id = v.id
                    AND o.kind = 'village_committee' ORDER BY o.id LIMIT 1),
                POINT_IN(v, law-centre))
  FROM units v WHERE v.level = 'village' AND HAS_MICROGRID(v)
 ORDER BY v.code"""),
    # a 法治小院 in a village of each town (some open on Saturdays), serving the town
    ("legal_places", """
INSERT_PLACE
SELECT DISTINCT ON (v.town_id) 'LP-' || v.code || '-2', 'law_yard', v.name || '法治小院',
       CASE WHEN RAND(v.town_id, law-saturday) < :law_saturday THEN CAST(:law_six_days AS text)
            ELSE CAST(:law_weekdays AS text) END,
       CASE WHEN RAND(v.town_id, law-saturday) < :law_saturday
            THEN CAST(:law_six_days_open AS smallint[])
            ELSE CAST(:law_weekdays_open AS smallint[]) END,
       CAST(:law_opens AS time), CAST(:law_closes AS time), 60,
       CAST(:law_yard_services AS text[]), TOWN_VILLAGES(v.town_id),
       NULL, POINT_IN(v, law-yard-place)
  FROM units v WHERE v.level = 'village' AND HAS_MICROGRID(v)
 ORDER BY v.town_id, RAND(v.id, law-yard)"""),
    # a 板凳法庭 for about four neighbouring villages (in code order), in one of them
    ("legal_places", """
GROUPS(:law_bench_villages)
INSERT_PLACE
SELECT DISTINCT ON (g.town_id, g.g) 'LP-' || g.code || '-3', 'bench_court',
       g.name || '板凳法庭', OPEN_HOURS, 60, CAST(:law_bench_services AS text[]),
       s.serves, NULL, POINT_IN(g, law-bench-place)
  FROM g JOIN groups s ON s.town_id = g.town_id AND s.g = g.g
 ORDER BY g.town_id, g.g, RAND(g.id, law-bench)"""),
    # a community judge's station in the first of the villages the judge is linked to
    ("legal_places", """
GROUPS(:law_judge_villages)
INSERT_PLACE
SELECT DISTINCT ON (g.town_id, g.g) 'LP-' || g.code || '-4', 'judge_station',
       g.name || '法官工作站', OPEN_HOURS, 60, CAST(:law_judge_services AS text[]),
       s.serves, NULL, POINT_IN(g, law-judge-place)
  FROM g JOIN groups s ON s.town_id = g.town_id AND s.g = g.g
 ORDER BY g.town_id, g.g, g.i"""),
    # a station of each town organisation's mediators, at the organisation
    ("legal_places", """
INSERT_PLACE
SELECT 'LP-' || t.code || '-' || row_number() OVER (PARTITION BY t.id ORDER BY o.id),
       'mediator_station',
       CASE WHEN o.name = t.name || (CAST(:law_org_names AS text[]))[1]
            THEN o.name || '调解员工作站' ELSE o.name END, OPEN_HOURS, 60,
       CASE WHEN o.name = t.name || (CAST(:law_org_names AS text[]))[1]
            THEN CAST(:law_town_services AS text[])
            ELSE CAST(:law_room_services AS text[]) END,
       TOWN_VILLAGES(t.id), o.id, o.geom
  FROM organizations o JOIN units t ON t.id = o.unit_id AND t.level = 'town'
 WHERE o.kind = 'mediation_committee'
 ORDER BY t.id, o.id"""),
    # the mediators of the villages' committees: adults of the village, 'general' and two
    # or three kinds they know
    ("mediators", """
WITH pool AS (
    SELECT p.id, p.village_id,
           row_number() OVER (PARTITION BY p.village_id ORDER BY RAND(p.id, law-mediator)) AS r
      FROM people p
     WHERE p.birth_date BETWEEN CAST(:end AS date) - interval '70 years'
                            AND CAST(:end AS date) - interval '30 years'
       AND RAND(p.id, law-pool) < 0.4
)
INSERT INTO mediators (kind, person_id, organization_id, place_id, expertise, active, since,
                       geom)
SELECT 'mediator', p.id, o.id,
       (SELECT lp.id FROM legal_places lp WHERE lp.organization_id = o.id
           AND lp.kind = 'service_centre' ORDER BY lp.id LIMIT 1),
       (ARRAY(SELECT x FROM unnest(CAST(:law_kinds AS text[])) AS x
               ORDER BY RAND(p.id || '/' || x, law-expertise)))[1:2 + floor(
           RAND(p.id, law-expertise-n) * 2)::int] || CAST('{general}' AS text[]),
       RAND(p.id, law-active) >= :law_inactive,
       CAST(:end AS date) - (365 + floor(RAND(p.id, law-since) * 3285))::int, o.geom
  FROM organizations o JOIN units v ON v.id = o.unit_id AND v.level = 'village'
  JOIN pool p ON p.village_id = v.id
   AND p.r <= :law_village_min + floor(RAND(o.id, law-size)
                                       * (:law_village_max - :law_village_min + 1))
 WHERE o.kind = 'mediation_committee'
 ORDER BY o.id, p.r
ON CONFLICT (kind, person_id) DO NOTHING"""),
    # the mediators of the towns' committees and rooms: adults of the town; a room's know
    # its kind first
    ("mediators", """
WITH pool AS (
    SELECT p.id, p.town_id,
           row_number() OVER (PARTITION BY p.town_id ORDER BY RAND(p.id, law-mediator)) AS r
      FROM people p
     WHERE p.birth_date BETWEEN CAST(:end AS date) - interval '70 years'
                            AND CAST(:end AS date) - interval '30 years'
       AND RAND(p.id, law-pool) >= 0.4 AND RAND(p.id, law-pool) < 0.7
), orgs AS (
    SELECT o.id, o.unit_id AS town_id, o.geom, coalesce(r.kind, 'general') AS room,
           :law_town_min + floor(RAND(o.id, law-size)
                                 * (:law_town_max - :law_town_min + 1))::int AS size
      FROM organizations o JOIN units t ON t.id = o.unit_id AND t.level = 'town'
      LEFT JOIN unnest(CAST(:law_org_kinds AS text[]), CAST(:law_org_names AS text[]))
                AS r (kind, name) ON o.name = t.name || r.name
     WHERE o.kind = 'mediation_committee'
), slots AS (
    SELECT o.*, sum(o.size) OVER (PARTITION BY o.town_id ORDER BY o.id) - o.size AS before
      FROM orgs o
)
INSERT INTO mediators (kind, person_id, organization_id, place_id, expertise, active, since,
                       geom)
SELECT 'mediator', p.id, s.id,
       (SELECT lp.id FROM legal_places lp WHERE lp.organization_id = s.id
           AND lp.kind = 'mediator_station' ORDER BY lp.id LIMIT 1),
       (ARRAY(SELECT x FROM unnest(CAST(:law_kinds AS text[])) AS x
               ORDER BY x = s.room DESC, RAND(p.id || '/' || x, law-expertise)))[1:2 + floor(
           RAND(p.id, law-expertise-n) * 2)::int],
       RAND(p.id, law-active) >= :law_inactive,
       CAST(:end AS date) - (365 + floor(RAND(p.id, law-since) * 3285))::int, s.geom
  FROM slots s JOIN pool p ON p.town_id = s.town_id
   AND p.r > s.before AND p.r <= s.before + s.size
 ORDER BY s.id, p.r
ON CONFLICT (kind, person_id) DO NOTHING"""),
    # a community judge at each judge's station, linked to the villages it serves
    ("mediators", """
WITH pool AS (
    SELECT p.id, p.town_id,
           row_number() OVER (PARTITION BY p.town_id ORDER BY RAND(p.id, law-judge)) AS r
      FROM people p
     WHERE p.birth_date BETWEEN CAST(:end AS date) - interval '60 years'
                            AND CAST(:end AS date) - interval '30 years'
       AND RAND(p.id, law-pool) >= 0.7
), stations AS (
    SELECT lp.id, lp.town_id, lp.serves, lp.geom,
           row_number() OVER (PARTITION BY lp.town_id ORDER BY lp.id) AS r
      FROM legal_places lp WHERE lp.kind = 'judge_station'
)
INSERT INTO mediators (kind, person_id, organization_id, place_id, expertise, villages,
                       active, since, geom)
SELECT 'judge', p.id, NULL, s.id, CAST('{general}' AS text[]), s.serves, true,
       CAST(:end AS date) - (365 + floor(RAND(p.id, law-since) * 3285))::int, s.geom
  FROM stations s JOIN pool p ON p.town_id = s.town_id AND p.r = s.r
 ORDER BY s.id
ON CONFLICT (kind, person_id) DO NOTHING"""),
    ("organization_members", """
INSERT INTO organization_members (town_id, organization_id, person_id, role)
SELECT o.town_id, m.organization_id, m.person_id, 'member'
  FROM mediators m JOIN organizations o ON o.id = m.organization_id
 WHERE m.kind = 'mediator' AND m.organization_id IS NOT NULL
 ORDER BY m.organization_id, m.id
ON CONFLICT DO NOTHING"""),
    ("organizations", """
UPDATE organizations o SET members = greatest(o.members, n.members)
  FROM (SELECT organization_id, count(*) AS members FROM mediators
         WHERE kind = 'mediator' GROUP BY organization_id) n
 WHERE n.organization_id = o.id AND o.kind = 'mediation_committee'"""),
    # a year of disputes: ids and codes as the product makes them (TJM<yyyymm>-<id>)
    ("disputes", """
WITH PLAN
INSERT INTO disputes (id, code, kind, title, facts, claim, amount, channel, online, status,
                      event_id, mediator_id, organization_id, judge_id, match_rank,
                      match_score, override_reason, handed_to, applied_at, accepted_at,
                      matched_at, agreed_at, closed_at, client_key, actor, geom)
SELECT q.id, 'TJM' || to_char(q.t_app AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') || '-'
           || lpad(q.id::text, 5, '0'),
       q.kind,
       (SELECT x.t FROM unnest(CAST(:law_title_kinds AS text[]), CAST(:law_titles AS text[]))
                        AS x (kind, t)
         WHERE x.kind = q.kind ORDER BY RAND(q.key || x.t, law-title) LIMIT 1),
       (SELECT x.t FROM unnest(CAST(:law_fact_kinds AS text[]), CAST(:law_facts AS text[]))
                        AS x (kind, t)
         WHERE x.kind = q.kind ORDER BY RAND(q.key || x.t, law-facts) LIMIT 1),
       (SELECT x.t FROM unnest(CAST(:law_claim_kinds AS text[]), CAST(:law_claims AS text[]))
                        AS x (kind, t)
         WHERE x.kind = q.kind ORDER BY RAND(q.key || x.t, law-claim) LIMIT 1),
       (SELECT round(CAST(x.lo + (x.hi - x.lo) * power(RAND(q.key, law-amount), 2)
                          AS numeric), -2)
          FROM unnest(CAST(:law_amount_kinds AS text[]), CAST(:law_amount_lo AS int[]),
                      CAST(:law_amount_hi AS int[])) AS x (kind, lo, hi)
         WHERE x.kind = q.kind),
       q.channel, q.online, q.status, CASE WHEN q.channel = 'event' THEN q.event_id END,
       CASE WHEN q.c_mat IS NOT NULL THEN q.ids[q.rank] END,
       CASE WHEN q.c_mat IS NOT NULL THEN q.orgs[q.rank] END,
       q.judge_id,
       CASE WHEN q.c_mat IS NOT NULL THEN q.rank END,
       CASE WHEN q.c_mat IS NOT NULL
            THEN round(CAST(0.5 + 0.45 * q.scores[q.rank] AS numeric), 3) END,
       CASE WHEN q.c_mat IS NOT NULL AND q.rank > 1 THEN '当事人指定调解员' END,
       CASE WHEN q.status = 'litigation' THEN q.court END,
       q.t_app, q.c_acc, q.c_mat, q.c_agreed,
       CASE WHEN q.status IN ('confirmed', 'litigation', 'withdrawn')
            THEN coalesce(q.c_conf, q.c_lit, q.c_wd) END,
       'sample:' || q.key, 'sample', q.geom
  FROM (SELECT nextval(pg_get_serial_sequence('disputes', 'id')) AS id, o.*
          FROM (SELECT * FROM plan ORDER BY t_app, village_id, k) o) q
 ORDER BY q.id"""),
    # the parties: two residents of the village, their names and numbers as in people
    ("dispute_parties", """
WITH PLAN
INSERT INTO dispute_parties (town_id, dispute_id, role, name, id_hash, id_masked,
                             phone_hash, phone_masked, person_id)
SELECT d.town_id, d.id, r.role, p.name, p.id_hash, p.id_masked, p.phone_hash, p.phone_masked, p.id
  FROM plan q JOIN disputes d ON d.client_key = 'sample:' || q.key
 CROSS JOIN LATERAL (VALUES (1, 'applicant', q.applicant), (2, 'respondent', q.respondent))
       AS r (n, role, person_id)
  JOIN people p ON p.id = r.person_id
 ORDER BY d.id, r.n"""),
    # the sessions: one to three before the end of mediation (held when past); those still
    # under way have their next one scheduled
    ("dispute_sessions", """
WITH PLAN
INSERT INTO dispute_sessions (town_id, dispute_id, scheduled_at, held_at, mode, place, room,
                              present, attendees, notes, actor)
SELECT d.town_id, d.id, s.at, CASE WHEN s.held THEN s.at END,
       CASE WHEN q.online THEN 'online' ELSE 'in_person' END,
       CASE WHEN NOT q.online THEN q.village_name || '调解室' END,
       CASE WHEN q.online THEN '桐解码-' || d.code END,
       CASE WHEN s.held THEN ARRAY(SELECT x.id FROM dispute_parties x
                                    WHERE x.dispute_id = d.id ORDER BY x.id)
            ELSE CAST('{}' AS bigint[]) END,
       CASE WHEN s.held THEN 3 + floor(RAND(d.id || '/' || s.i, law-attendees) * 6)::int END,
       CASE WHEN s.held THEN (CAST(:law_session_notes AS text[]))[
           1 + floor(RAND(d.id || '/' || s.i, law-notes)
                     * cardinality(CAST(:law_session_notes AS text[])))::int] END,
       'sample'
  FROM plan q JOIN disputes d ON d.client_key = 'sample:' || q.key
 CROSS JOIN LATERAL (
    SELECT i, q.t_mat + q.med * ((i - 0.7) / q.n_sess) AS at,
           q.t_mat + q.med * ((i - 0.7) / q.n_sess) <= CAST(:end AS timestamptz) AS held
      FROM generate_series(1, q.n_sess) AS i
     WHERE q.path <> 'pending' AND q.c_mat IS NOT NULL
    UNION ALL
    SELECT 1, q.c_first, true WHERE q.path = 'pending' AND q.c_first IS NOT NULL
    UNION ALL
    SELECT 2, ((CAST(CAST(:end AS timestamptz) AT TIME ZONE 'Asia/Shanghai' AS date)
                + 1 + floor(RAND(q.key, law-next-day) * 7)::int)
               + interval '9 hours' + interval '30 minutes'
                 * floor(RAND(q.key, law-next-time) * 14)) AT TIME ZONE 'Asia/Shanghai',
           false
     WHERE q.path = 'pending' AND q.c_mat IS NOT NULL) s
 ORDER BY d.id, s.at"""),
    # the log: each step the dispute has taken, at its time
    ("dispute_log", """
WITH PLAN
INSERT INTO dispute_log (town_id, dispute_id, at, actor, from_status, to_status, note)
SELECT d.town_id, d.id, s.at, 'sample', s.from_status, s.to_status, s.note
  FROM plan q JOIN disputes d ON d.client_key = 'sample:' || q.key
 CROSS JOIN LATERAL (VALUES
    (1, q.t_app, NULL, 'applied',
     CASE q.channel WHEN 'resident' THEN '桐解码一键申请' WHEN 'official' THEN '工作人员代为申请'
                    ELSE '由事件转为调解' END),
    (2, q.c_acc, 'applied', 'accepted', '受理调解申请'),
    (3, q.c_mat, 'accepted', 'matched',
     CASE WHEN q.rank > 1 THEN '按当事人意愿指定调解员' ELSE '智能匹配调解员' END),
    (4, q.c_first, 'matched', 'mediating',
     CASE WHEN q.online THEN '线上视频调解' ELSE '组织双方当面调解' END),
    (5, q.c_agreed, 'mediating', 'agreed', '双方签署调解协议'),
    (6, q.c_req, 'agreed', 'confirm_requested', '双方共同申请司法确认'),
    (7, q.c_conf, 'confirm_requested', 'confirmed', '人民法院裁定调解协议有效'),
    (8, q.c_lit, CASE WHEN q.path = 'failed' THEN 'mediating' ELSE 'matched' END,
     'litigation', CASE WHEN q.path = 'failed' THEN '调解不成，引导诉讼'
                        ELSE '一方不同意调解，引导诉讼' END),
    (9, q.c_wd, 'accepted', 'withdrawn', '申请人撤回')) AS s (n, at, from_status, to_status,
                                                            note)
 WHERE s.at IS NOT NULL
 ORDER BY d.id, s.n"""),
    # a year of appointments at the places of each town (a few for the next days): on an
    # open day, on the place's slot grid (Beijing time), one per place and start
    ("legal_appointments", """
WITH places AS (
    SELECT lp.id, lp.town_id, lp.services, lp.open_days, lp.opens, lp.closes,
           lp.slot_minutes, w.weight,
           sum(w.weight) OVER (PARTITION BY lp.town_id ORDER BY lp.id) AS upto,
           sum(w.weight) OVER (PARTITION BY lp.town_id) AS total
      FROM legal_places lp
      JOIN unnest(CAST(:law_place_kinds AS text[]), CAST(:law_place_weights AS int[]))
           AS w (kind, weight) ON w.kind = lp.kind
), drawn AS (
    SELECT t.id AS town_id, t.id || '/' || k AS key
      FROM units t CROSS JOIN generate_series(1, round(:law_appointments)::int) AS k
     WHERE t.level = 'town'
), picked AS (
    SELECT d.key, p.id AS place_id, p.services, p.open_days, p.opens, p.closes,
           p.slot_minutes,
           CAST(CAST(:end AS timestamptz) AT TIME ZONE 'Asia/Shanghai' AS date) - 365
               + floor(RAND(d.key, law-appt-day) * (365 + :law_ahead))::int AS day0
      FROM drawn d JOIN places p ON p.town_id = d.town_id
       AND RAND(d.key, law-appt-place) * p.total >= p.upto - p.weight
       AND RAND(d.key, law-appt-place) * p.total < p.upto
), timed AS (
    SELECT q.*,
           ((q.day0 + s.shift + q.opens) + interval '1 minute' * q.slot_minutes
             * floor(RAND(q.key, law-appt-slot)
                     * floor(extract(epoch FROM q.closes - q.opens) / 60 / q.slot_minutes)))
               AT TIME ZONE 'Asia/Shanghai' AS starts_at
      FROM picked q
     CROSS JOIN LATERAL (SELECT min(x) AS shift FROM generate_series(0, 6) AS x
                          WHERE extract(isodow FROM q.day0 + x)::int = ANY (q.open_days)) s
), once AS (
    SELECT DISTINCT ON (t.place_id, t.starts_at) t.* FROM timed t
     ORDER BY t.place_id, t.starts_at, t.key
), numbered AS (
    SELECT nextval(pg_get_serial_sequence('legal_appointments', 'id')) AS id, o.*
      FROM (SELECT * FROM once ORDER BY starts_at, place_id) o
), told AS (
    SELECT n.*, n.services[1 + floor(RAND(n.key, law-appt-service)
                                     * cardinality(n.services))::int] AS service,
           CASE WHEN n.starts_at > CAST(:end AS timestamptz)
                THEN CASE WHEN RAND(n.key, law-appt-status) < 0.95 THEN 'booked'
                          ELSE 'cancelled' END
                WHEN RAND(n.key, law-appt-status) < :law_attended THEN 'attended'
                WHEN RAND(n.key, law-appt-status) < :law_attended + :law_missed THEN 'missed'
                ELSE 'cancelled' END AS status
      FROM numbered n
)
INSERT INTO legal_appointments (town_id, id, code, place_id, service, starts_at, status,
                                name_masked, note, booked_at)
SELECT (SELECT lp.town_id FROM legal_places lp WHERE lp.id = t.place_id), t.id, 'YY' || to_char(t.starts_at AT TIME ZONE 'Asia/Shanghai', 'MMDD') || '-'
           || lpad(t.id::text, 5, '0'),
       t.place_id, t.service, t.starts_at, t.status,
       (CAST(:law_surnames AS text[]))[1 + floor(RAND(t.key, law-appt-name)
                                                 * cardinality(CAST(:law_surnames AS text[])))::int]
           || '*',
       CASE WHEN RAND(t.key, law-appt-note) < 0.4 THEN
           (SELECT x.note FROM unnest(CAST(:law_note_services AS text[]),
                                      CAST(:law_notes AS text[])) AS x (service, note)
             WHERE x.service = t.service ORDER BY RAND(t.key || x.note, law-appt-what)
             LIMIT 1) END,
       least(t.starts_at - interval '1 hour'
                 - interval '1 minute' * floor(RAND(t.key, law-appt-booked) * 10080),
             CAST(:end AS timestamptz) - interval '10 minutes'
                 - interval '1 minute' * floor(RAND(t.key, law-appt-booked) * 4320))
  FROM told t
 ORDER BY t.id
ON CONFLICT (place_id, starts_at) WHERE status <> 'cancelled' DO NOTHING"""),
)



def _fill(sql: str) -> str:
    """The statements above with their shared parts in place: ``PLAN`` (the disputes'
    plan), ``GROUPS(per)``, ``INSERT_PLACE``, ``OPEN_HOURS``, ``HAS_MICROGRID(v)``,
    ``POINT_IN(v, salt)`` and ``TOWN_VILLAGES(t)``."""
    sql = sql.replace("WITH PLAN", "WITH " + _PLAN)
    sql = re.sub(r"GROUPS\((:\w+)\)", lambda m: _GROUPS.replace("{per}", m[1]), sql)
    sql = sql.replace("INSERT_PLACE", _PLACE).replace("OPEN_HOURS", _HOURS)
    sql = re.sub(r"HAS_MICROGRID\((\w+)\)", lambda m: _HAS_MICROGRID.replace("{v}", m[1]),
                 sql)
    sql = re.sub(r"POINT_IN\((\w+), ([\w-]+)\)",
                 lambda m: _POINT.replace("{v}", m[1]).replace("{salt}", m[2]), sql)
    return re.sub(r"TOWN_VILLAGES\(([\w.]+)\)",
                  lambda m: _TOWN_VILLAGES.replace("{t}", m[1]), sql)


STATEMENTS: tuple[tuple[str, str], ...] = tuple((table, _expand(_fill(sql)))
                                                for table, sql in _STATEMENTS)


def params() -> dict:
    """The values the statements are run with (beside the party board's ``seed``, ``end``)."""
    texts = [(kind, t) for kind, spec in DISPUTE_TEXTS.items() for t in spec[0]]
    facts = [(kind, t) for kind, spec in DISPUTE_TEXTS.items() for t in spec[1]]
    claims = [(kind, t) for kind, spec in DISPUTE_TEXTS.items() for t in spec[2]]
    amounts = [(kind, *spec[3]) for kind, spec in DISPUTE_TEXTS.items() if spec[3]]
    notes = [(s, n) for s, ns in APPOINTMENT_NOTES.items() for n in ns]
    return {
        "law_orgs_per_town": ORGS_PER_TOWN,
        "law_org_kinds": [k for k, _ in TOWN_ORGS], "law_org_names": [n for _, n in TOWN_ORGS],
        "law_village_min": VILLAGE_MEDIATORS[0], "law_village_max": VILLAGE_MEDIATORS[1],
        "law_town_min": TOWN_MEDIATORS[0], "law_town_max": TOWN_MEDIATORS[1],
        "law_judge_villages": JUDGE_VILLAGES, "law_bench_villages": BENCH_VILLAGES,
        "law_inactive": INACTIVE, "law_kinds": list(KINDS),
        "law_kind_pool": [k for k, n in KIND_SHARES.items() for _ in range(n)],
        "law_weekdays": WEEKDAYS[0], "law_weekdays_open": list(WEEKDAYS[1]),
        "law_six_days": SIX_DAYS[0], "law_six_days_open": list(SIX_DAYS[1]),
        "law_opens": OPENS, "law_closes": CLOSES, "law_saturday": SATURDAY_YARDS,
        "law_centre_services": list(CENTRE_SERVICES), "law_yard_services": list(YARD_SERVICES),
        "law_bench_services": list(BENCH_SERVICES), "law_judge_services": list(JUDGE_SERVICES),
        "law_town_services": list(TOWN_SERVICES), "law_room_services": list(ROOM_SERVICES),
        "law_disputes": DISPUTES, "law_min_disputes": MIN_DISPUTES,
        "law_resident": CHANNELS["resident"], "law_official": CHANNELS["official"],
        "law_online": ONLINE, "law_fast_kinds": list(FAST_KINDS),
        "law_settled": SETTLED, "law_failed": FAILED, "law_withdrawn": WITHDRAWN,
        "law_requested": CONFIRM_REQUESTED, "law_confirmed": CONFIRMED,
        "law_pending": PENDING, "law_override": OVERRIDE, "law_courts": list(COURTS),
        "law_title_kinds": [k for k, _ in texts], "law_titles": [t for _, t in texts],
        "law_fact_kinds": [k for k, _ in facts], "law_facts": [t for _, t in facts],
        "law_claim_kinds": [k for k, _ in claims], "law_claims": [t for _, t in claims],
        "law_amount_kinds": [a[0] for a in amounts], "law_amount_lo": [a[1] for a in amounts],
        "law_amount_hi": [a[2] for a in amounts],
        "law_session_notes": list(SESSION_NOTES),
        "law_appointments": APPOINTMENTS_PER_TOWN, "law_ahead": AHEAD_DAYS,
        "law_place_kinds": list(PLACE_WEIGHTS), "law_place_weights": list(PLACE_WEIGHTS.values()),
        "law_attended": ATTENDED, "law_missed": MISSED, "law_surnames": list(SURNAMES),
        "law_note_services": [s for s, _ in notes], "law_notes": [n for _, n in notes],
    }
