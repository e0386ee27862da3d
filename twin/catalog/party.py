"""党建统领 (party leadership): party organisations on the grids, micro-grid leaders and the
households they serve (联户), visits (民情笔记), village cadres, secretary-led projects and
the problem list.

Who leads, who was visited and who the cadres are is a person's data: leaders, visits and
cadres leave only through ``twin.domain.party`` (scoped, audited, masked like residents).
The map gets facts about places: a grid is covered or not, a micro-grid has a leader and a
share of its households linked and visited; the 联户 lines and the visit recency of each
household are household data (an official's or a grid worker's own units only).
"""

from __future__ import annotations

from twin.catalog.model import (
    CELLS,
    Columns,
    Element,
    OgcSpec,
    Prop,
    TileSpec,
    cols,
    unit_count,
)
from twin.catalog.units import UNITS, VILLAGE

# How the registers of the party board name their fields (spreadsheets, Chinese headers).
TERM_START = ("term_start", "任期开始", "任职时间", "任职日期", "开始日期", "任期起")
TERM_END = ("term_end", "任期结束", "任期届满", "届满日期", "结束日期", "任期止")
PARTY_MEMBER = ("party_member", "是否党员", "政治面貌", "党员")

# The party board's facts about units: how many party organisations cover a grid, whether
# a micro-grid has a serving leader, and how many of its households are linked and visited.
_ORGS = Prop("orgs", "(SELECT count(*) FROM party_coverage c "
                   "WHERE c.town_id = t.town_id AND c.grid_id = t.id)::int")
_HOMES = unit_count("households")
_SHARE_LINKED = Prop("linked_pct", f"""CASE WHEN {_HOMES} > 0 THEN
    round(100.0 * {unit_count("households_linked")} / {_HOMES})::int END""")
_SHARE_VISITED = Prop("visited_30d_pct", f"""CASE WHEN {_HOMES} > 0 THEN round(100.0 * (
    SELECT count(DISTINCT v.household_id) FROM visits v
     WHERE v.town_id = t.town_id AND v.microgrid_id = t.id AND v.visited_at > now() - interval '30 days')
    / {_HOMES})::int END""")
_LEADER = Prop("leader", f"({unit_count('leaders')} > 0)::int")

PARTY_UNITS = Element(
    name="party_units", table="units", kind="geography", layer="party_coverage",
    columns=UNITS.columns,
    tiles=(
        TileSpec(name="party_coverage", title_zh="党组织覆盖（网格）",
                 title_en="Party coverage of grids", minzoom=9, maxzoom=16,
                 where="t.level = 'grid'", properties=(*cols("id", "code", "name"), _ORGS),
                 versions=("units", "party_coverage", "organizations"),
                 simplify={10: 1e-4, 12: 2e-5}),
        TileSpec(name="leaders", title_zh="微网格长与联户", title_en="Micro-grid leaders",
                 minzoom=12, maxzoom=16, where="t.level = 'microgrid'",
                 properties=(*cols("id", "code", "name"), _LEADER, _SHARE_LINKED,
                             _SHARE_VISITED),
                 versions=("units", "microgrid_leaders", "household_links", "visits"),
                 simplify={12: 2e-5}, daily=True),
    ),
)

HOUSEHOLD_LINKS = Element(
    name="household_links", table="household_links", kind="households",
    columns=Columns(public=("household_id", "leader_id", "linked_on", "geom", *CELLS)),
    tiles=(TileSpec(
        # the 联户地图: a line from each leader's home to every household the leader serves
        name="household_links", title_zh="联户连线", title_en="Leader–household links",
        minzoom=13, maxzoom=16, properties=cols("leader_id"), geometry_type="LineString",
        order="t.leader_id, t.household_id"),),
)

# When each household was last visited (days; null = not in the last year): household data.
VISIT_RECENCY = TileSpec(
    name="visit_recency", title_zh="走访时效（户）", title_en="Visit recency per household",
    minzoom=14, maxzoom=16, geometry_type="Point", versions=("households", "visits"),
    daily=True,
    properties=(Prop("days", "(SELECT floor(extract(epoch FROM now() - max(v.visited_at)) "
                             "/ 86400)::int FROM visits v WHERE v.town_id = t.town_id "
                             "AND v.household_id = t.id)"),))

MICROGRID_LEADERS = Element(
    name="microgrid_leaders", table="microgrid_leaders", kind="residents",
    # who the leader is and whether a party member: only by the audited path
    columns=Columns(public=("id", "term_start", "term_end", "relieved_on", "wechat_group",
                            "wechat_members", *CELLS),
                    personal=("person_id", "party_member")),
    # the 微网格长名册: who (by ID-card number, as a resident of the twin), where, the term
    load=("id", "person_id", "party_member", "term_start", "term_end", "wechat_group",
          "wechat_members", "microgrid_id"),
    aliases={"microgrid": ("microgrid", "微网格编码", "微网格代码", "所在微网格编码", "微网格"),
             "term_start": TERM_START, "term_end": TERM_END, "party_member": PARTY_MEMBER,
             "wechat_group": ("wechat_group", "微信群", "微信群名称", "群名称"),
             "wechat_members": ("wechat_members", "群成员数", "微信群人数", "群人数")},
)

VISITS = Element(
    name="visits", table="visits", kind="households",
    columns=Columns(public=("id", "household_id", "leader_id", "kind", "visited_at",
                            "event_id", *CELLS),
                    text=("heard",), internal=("visitor", "client_key")),
    # a 民情走访 export: which household, when, how, what was heard
    load=("id", "household_id", "leader_id", "visitor", "kind", "visited_at", "heard"),
    aliases={"visited_at": ("visited_at", "走访时间", "走访日期", "时间", "日期"),
             "visit_kind": ("kind", "走访方式", "走访类型", "方式"),
             "heard": ("heard", "走访内容", "民情内容", "群众诉求", "内容", "记录")},
)

CADRES = Element(
    name="cadres", table="cadres", kind="residents",
    columns=Columns(public=("id", "unit_id", "post", "term_start", "term_end", "mentor_id",
                            *CELLS),
                    personal=("name", "sex", "birth_year", "education", "party_member",
                              "care")),
    # the 村社干部名册 of the organisation department
    load=("id", "unit_id", "name", "sex", "birth_year", "education", "post", "party_member",
          "term_start", "term_end"),
    aliases={"unit": VILLAGE,
             "education": ("education", "学历", "文化程度", "最高学历"),
             "post": ("post", "职务", "岗位", "现任职务"),
             "term_start": TERM_START, "term_end": TERM_END, "party_member": PARTY_MEMBER},
)

_PROJECT = cols("code", "kind", "title", "level", "status")
PARTY_PROJECTS = Element(
    name="party_projects", table="party_projects", kind="geography",
    columns=Columns(public=("id", "code", "kind", "title", "level", "unit_id", "owner",
                            "source", "status", "opened_on", "due_on", "done_on",
                            "milestones", "geom")),
    tiles=(TileSpec(
        name="party_projects", title_zh="书记领办项目与问题清单",
        title_en="Secretary-led projects and problems", minzoom=8, maxzoom=16,
        properties=(Prop("id", "t.id"), *_PROJECT), geometry_type="Point"),),
    ogc=(OgcSpec(
        id="party_projects", title="书记领办项目与问题清单",
        description="Secretary-led projects (书记领办) and the problem list that have a "
                    "place, with their milestones and status.",
        where="t.geom IS NOT NULL",
        properties=(*_PROJECT, *cols("owner", "source", "opened_on", "due_on", "done_on"),
                    Prop("milestones", "t.milestones::text")),
        cells=False, filters={"kind": "t.kind = :v", "status": "t.status = :v"}),),
)
