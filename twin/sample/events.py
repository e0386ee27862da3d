"""Governance events and their status logs for the sample twin."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from twin.domain.workflow import LEVELS, OPEN, default_hours
from twin.sample.common import rng_for
from twin.sample.land import Land
from twin.sample.people import _SURNAME_P, _SURNAMES, given_names
from twin.sample.things import building_point, points_in
from twin.sample.units import Units
from twin.store.seed import DEPARTMENT_OF_CATEGORY, DEPARTMENTS

EVENTS_PER_HOUSEHOLD = 0.1  # a year's events: one for every ten households
MIN_EVENTS = 60
OPEN_STATUSES = ("reported", "triaged", "dispatched", "handling", "escalated")
FINAL_STATUSES = ("closed", "rejected", "duplicate")

# category: (share, hour budget, titles, details)
CATEGORIES: dict[str, tuple[float, int, tuple[str, ...], tuple[str, ...]]] = {
    "sanitation": (0.22, 48, ("垃圾堆放未清运", "河道漂浮物", "公厕卫生差", "垃圾分类不规范",
                              "乱倒建筑垃圾"), ("影响村容村貌", "群众反映气味较大", "需尽快清理")),
    "dispute": (0.17, 72, ("邻里宅基地纠纷", "家庭矛盾", "土地流转纠纷", "劳资纠纷",
                           "噪音扰民纠纷"), ("双方情绪激动", "需调解员介入", "已多次协商未果")),
    "safety": (0.14, 24, ("电线私拉乱接", "危旧房屋隐患", "河边护栏缺失", "电动车楼道充电",
                          "燃气使用不规范"), ("存在安全隐患", "需尽快整改", "已现场提醒")),
    "public_facility": (0.09, 120, ("路灯不亮", "井盖破损", "健身器材损坏", "公交站亭破损"),
                        ("影响群众出行", "需维修更换", "已拍照上报")),
    "livelihood": (0.08, 120, ("独居老人需要帮扶", "低保政策咨询", "医保缴费咨询",
                               "残疾人补贴申请"), ("需上门走访", "已联系家属", "需协调办理")),
    "environment": (0.07, 72, ("河水发黑发臭", "露天焚烧秸秆", "企业废气异味",
                               "工地扬尘"), ("群众反映强烈", "需环保部门核查", "已取样")),
    "traffic": (0.06, 24, ("道路坑洼", "违章停车堵路", "交通标志缺失", "桥梁限高损坏"),
                ("影响通行", "存在事故隐患", "需交警协助")),
    "fire": (0.05, 12, ("消防通道堵塞", "灭火器过期", "违规动火作业", "出租房消防隐患"),
             ("存在火灾隐患", "需立即整改", "已责令停止")),
    "illegal_construction": (0.05, 168, ("违章搭建彩钢棚", "未批先建", "占用河道搭建",
                                         "农房超面积建设"), ("需核实审批手续", "已拍照取证",
                                                            "需拆除整改")),
    "public_order": (0.04, 24, ("可疑人员出没", "聚众赌博线索", "电信诈骗宣传需求",
                                "治安巡逻请求"), ("需派出所协同", "已加强巡逻", "已登记")),
    "food_drug": (0.02, 48, ("无证小作坊", "过期食品销售", "农村家宴备案"),
                  ("需市场监管核查", "已现场检查", "已登记备案")),
    "flood": (0.01, 12, ("河道水位上涨", "排涝泵站故障", "低洼地段积水", "堤防渗漏"),
              ("需加强巡查", "已启动应急响应", "需转移群众")),
}
SOURCES = ("grid_worker", "resident", "hotline", "inspection", "sensor")
SOURCE_P = (0.47, 0.25, 0.12, 0.10, 0.06)
SENSOR_CATEGORIES = ("environment", "flood", "fire", "safety")
LEVEL_ROLE = {"microgrid": "微网格长", "grid": "网格员", "village": "村干部", "town": "镇综治中心",
              "county": "科员"}
LEVEL_LABEL = {"microgrid": "微网格", "grid": "网格", "village": "村（社区）", "town": "镇（街道）"}
# matters the town hands straight to a county department (the large loop), among those it owns
TO_DEPARTMENT = ("environment", "illegal_construction", "food_drug", "traffic", "flood")
SATISFACTION_P = (0.02, 0.03, 0.08, 0.32, 0.55)


def _label(level: str, category: str) -> str:
    """Who an owner is, as the log names it: the level, or the county department."""
    if level == "county":
        return DEPARTMENTS[DEPARTMENT_OF_CATEGORY[category]][0]
    return LEVEL_LABEL[level]


def build_events(units: Units, land: Land, seed: int, end: dt.datetime, households: int,
                 progress=None):
    """Events (METRIC_CRS x/y) for the 365 days before ``end``, and their status log."""
    n_mg = len(units.mg_ids)
    n = max(MIN_EVENTS, int(round(EVENTS_PER_HOUSEHOLD * households)))
    rng = rng_for(seed, "events", n_mg)
    cats = np.array(list(CATEGORIES))
    share = np.array([c[0] for c in CATEGORIES.values()])
    category = rng.choice(cats, size=n, p=share / share.sum())
    end_s = pd.Timestamp(end).timestamp()
    year = 365 * 86400.0
    t0 = end_s - rng.uniform(0, year, n)
    flood = np.flatnonzero(category == "flood")
    for _ in range(50):  # floods only in the June–September flood season
        month = pd.to_datetime(t0[flood], unit="s", utc=True).month
        bad = flood[(month < 6) | (month > 9)]
        if len(bad) == 0:
            break
        t0[bad] = end_s - rng.uniform(0, year, len(bad))
    t0 = np.round(t0)
    order = np.argsort(t0, kind="stable")
    t0, category = t0[order], category[order]
    # where: mostly at a building, otherwise anywhere in a micro-grid
    nb = len(land.b_geom)
    at_building = (rng.random(n) < 0.8) & (nb > 0)
    xy = np.zeros((n, 2))
    if at_building.any():
        bidx = rng.integers(0, max(nb, 1), at_building.sum())
        xy[at_building] = building_point(land, bidx, rng)
    mg_pick = rng.integers(0, n_mg, (~at_building).sum())
    xy[~at_building] = points_in(units.mg_geom[mg_pick], rng)
    mg_of = np.zeros(n, dtype=np.int64)
    if at_building.any():
        mg_of[at_building] = land.b_mg[bidx]
    mg_of[~at_building] = mg_pick
    mg_name = {r["id"]: r["name"] for r in units.rows}

    source = rng.choice(np.array(SOURCES), size=n, p=SOURCE_P)
    not_sensor = (source == "sensor") & ~np.isin(category, SENSOR_CATEGORIES)
    source[not_sensor] = "grid_worker"
    level0 = rng.choice(4, size=n, p=[0.58, 0.32, 0.08, 0.02])
    n_esc = rng.choice(4, size=n, p=[0.86, 0.10, 0.035, 0.005])
    budget = np.array([CATEGORIES[c][1] for c in category], dtype=float)
    reject = rng.random(n) < 0.035
    duplicate = reject & (rng.random(n) < 0.5)
    names = _SURNAMES[rng.choice(len(_SURNAMES), size=4 * n, p=_SURNAME_P)] + given_names(
        rng, rng.random(4 * n) < 0.6)
    surnames = _SURNAMES[rng.choice(len(_SURNAMES), size=n, p=_SURNAME_P)]
    u = rng.random((n, 12))
    # some matters the town owns go straight to the county department (the large loop)
    level0[(level0 == 3) & np.isin(category, TO_DEPARTMENT) & (u[:, 5] < 0.6)] = 4
    n_esc = np.minimum(n_esc, len(LEVELS) - 1 - level0)
    sat = rng.choice(np.arange(1, 6), size=n, p=SATISFACTION_P)
    title_pick = rng.integers(0, 100, n)
    detail_pick = rng.integers(0, 100, n)

    log: list[tuple] = []
    status = np.empty(n, dtype=object)
    owner = np.empty(n, dtype=object)
    escalations = np.zeros(n, dtype=np.int64)
    resolved = np.full(n, np.nan)
    closed = np.full(n, np.nan)
    satisfaction = np.full(n, -1, dtype=np.int64)
    deadline = t0 + budget * 3600  # an open event's is its owner's, set below
    titles = np.empty(n, dtype=object)
    descriptions = np.empty(n, dtype=object)
    for i in range(n):
        cat = category[i]
        _, _, tlist, dlist = CATEGORIES[cat]
        titles[i] = tlist[title_pick[i] % len(tlist)]
        where = mg_name[int(units.mg_ids[mg_of[i]])]
        descriptions[i] = f"{where}：{titles[i]}，{dlist[detail_pick[i] % len(dlist)]}。"
        src = source[i]
        if src == "grid_worker":
            reporter = f"网格员{names[4 * i]}"
        elif src == "resident":
            reporter = f"居民{surnames[i]}某"
        elif src == "hotline":
            reporter = "12345热线"
        elif src == "inspection":
            reporter = f"巡查员{names[4 * i]}"
        else:
            reporter = "system"
        lvl = int(level0[i])
        handler = f"{LEVEL_ROLE[LEVELS[lvl]]}{names[4 * i + 1]}"
        steps: list[tuple[float, str, str, str]] = [(t0[i], reporter, "reported", "上报事件")]
        t = t0[i]
        ui = u[i]

        def step(dt_h, actor, to, note, _steps=steps):
            nonlocal t
            t = t + round(max(dt_h, 1 / 60) * 3600.0)
            _steps.append((t, actor, to, note))

        if duplicate[i]:
            step(0.2 + 2 * ui[0], "system", "duplicate", "重复事件，已合并")
        else:
            step(-0.6 * np.log(1 - ui[0]) + 0.05, "system" if src == "sensor" else
                 f"网格长{names[4 * i + 2]}", "triaged", "核实受理")
            if reject[i]:
                step(0.5 + 4 * ui[1], f"网格长{names[4 * i + 2]}", "rejected", "不属于受理范围")
            else:
                step(-1.0 * np.log(1 - ui[1]) + 0.05, "system", "dispatched",
                     f"派单至{_label(LEVELS[lvl], cat)}")
                step(-2.0 * np.log(1 - ui[2]) + 0.1, handler, "handling", "开始处置")
                for k in range(int(n_esc[i])):
                    step(budget[i] * (0.6 + 0.5 * ui[3 + k]), "system", "escalated",
                         f"超过处置时限，上报至{_label(LEVELS[lvl + 1], cat)}")
                    lvl += 1
                    handler = f"{LEVEL_ROLE[LEVELS[lvl]]}{names[4 * i + 3]}"
                    step(-1.0 * np.log(1 - ui[6 + k]) + 0.1, "system", "dispatched",
                         f"派单至{_label(LEVELS[lvl], cat)}")
                    step(-1.5 * np.log(1 - ui[9]) + 0.1, handler, "handling", "开始处置")
                slow = 1.0 + 6.0 * ui[10] ** 12  # a few matters drag on
                step(budget[i] * (0.05 + 0.6 * ui[10] ** 1.5) * slow, handler, "resolved",
                     "处置完成")
                step(-20.0 * np.log(1 - ui[11]) + 0.5,
                     "居民反馈" if src == "resident" else "system", "closed",
                     f"办结回访，满意度{sat[i]}星")
        kept = [s for s in steps if s[0] <= end_s]
        if kept[-1][2] in OPEN:  # still open at the end: the system escalated it when due
            lvl = int(level0[i]) + sum(s[2] == "escalated" for s in kept)
            due = max(s[0] for s in kept if s[2] in ("reported", "escalated")) + \
                3600 * default_hours(cat, LEVELS[lvl])
            while due < end_s and lvl < len(LEVELS) - 1:
                to = LEVELS[lvl + 1]
                kept.append((due, "system:escalation", "escalated", f"overdue: {LEVELS[lvl]} → "
                             f"{DEPARTMENT_OF_CATEGORY[cat] if to == 'county' else to}"))
                lvl += 1
                due += 3600 * default_hours(cat, LEVELS[lvl])
            deadline[i] = due
        prev = None
        for at, actor, to, note in kept:
            log.append((i + 1, at, actor, prev, to, note))
            prev = to
            if to == "escalated":
                escalations[i] += 1
            elif to == "resolved":
                resolved[i] = at
            elif to == "closed":
                closed[i] = at
        status[i] = prev
        owner[i] = LEVELS[int(level0[i]) + int(escalations[i])]
        if prev == "closed":
            satisfaction[i] = sat[i]
        if progress and i % 5000 == 4999:
            progress("events", i + 1)

    def ts(sec):
        return pd.to_datetime(sec, unit="s", utc=True).astype("datetime64[us, UTC]")

    reported_at = ts(t0)
    events = pd.DataFrame({
        "id": np.arange(1, n + 1, dtype=np.int64),
        "code": [f"SJ{d}{i:06d}" for d, i in zip(reported_at.strftime("%Y%m%d"),
                                                 range(1, n + 1), strict=True)],
        "category": category.astype(object),
        "title": titles,
        "description": descriptions,
        "status": status,
        "owner_level": owner,
        "department": [DEPARTMENT_OF_CATEGORY[c] if o == "county" else None
                       for c, o in zip(category, owner, strict=True)],
        "source": source.astype(object),
        "reported_at": reported_at,
        "deadline_at": ts(np.round(deadline)),
        "resolved_at": ts(resolved),
        "closed_at": ts(closed),
        "escalations": escalations,
        "satisfaction": pd.array(np.where(satisfaction > 0, satisfaction, 0),
                                 dtype="Int64"),
        "x": xy[:, 0],
        "y": xy[:, 1],
    })
    events.loc[satisfaction <= 0, "satisfaction"] = pd.NA
    lg = pd.DataFrame(log, columns=["event_id", "at", "actor", "from_status", "to_status",
                                    "note"])
    lg["at"] = ts(lg["at"].to_numpy())
    lg["event_id"] = lg["event_id"].astype(np.int64)
    lg["from_status"] = lg["from_status"].astype(object)
    lg.loc[lg["from_status"].isna(), "from_status"] = None
    return events, lg
