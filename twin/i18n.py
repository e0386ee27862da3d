"""The one catalog of user-facing text: Simplified Chinese by default, English selectable."""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

CATALOG: dict[str, dict[str, str]] = {
    "app.title": {"zh": "乡村数字孪生", "en": "Village Twin"},
    "app.subtitle": {"zh": "基层治理一张图", "en": "One map for grassroots governance"},
    "app.language": {"zh": "语言", "en": "Language"},
    "app.level": {"zh": "显示层级", "en": "Show level"},
    "app.no_data": {
        "zh": "孪生库中还没有数据：运行 `python -m twin sample` 生成样例县。",
        "en": "The twin holds no data yet: run `python -m twin sample` to build a sample county.",
    },
    "app.db_error": {"zh": "数据库不可用", "en": "Database unavailable"},
    "level.county": {"zh": "全县", "en": "County"},
    "level.town": {"zh": "镇（街道）", "en": "Towns"},
    "level.village": {"zh": "村（社区）", "en": "Villages"},
    "level.grid": {"zh": "网格", "en": "Grids"},
    "level.microgrid": {"zh": "微网格", "en": "Micro-grids"},
    "kpi.residents": {"zh": "居民", "en": "Residents"},
    "kpi.households": {"zh": "户", "en": "Households"},
    "kpi.buildings": {"zh": "房屋", "en": "Buildings"},
    "kpi.events_open": {"zh": "在办事件", "en": "Open events"},
    "kpi.stations_in_alarm": {"zh": "告警站点", "en": "Stations in alarm"},
    "kpi.organizations": {"zh": "组织", "en": "Organizations"},
    "nav.county": {"zh": "全县", "en": "County"},
    "nav.children": {"zh": "进入下级单元", "en": "Go down to"},
    "nav.choose": {"zh": "请选择…", "en": "Choose…"},
    "panel.title": {"zh": "六要素概况", "en": "Six elements"},
    "panel.people": {"zh": "人", "en": "People"},
    "panel.land": {"zh": "地", "en": "Land"},
    "panel.objects": {"zh": "物", "en": "Objects"},
    "panel.conditions": {"zh": "情", "en": "Conditions"},
    "panel.events": {"zh": "事", "en": "Events"},
    "panel.orgs": {"zh": "组织", "en": "Organizations"},
    "panel.residents_hidden": {"zh": "居民明细需相应权限，此处仅显示统计数。", "en": "Resident details need a role that allows them; counts only."},
    "kpi.elderly": {"zh": "60岁以上", "en": "Aged 60+"},
    "kpi.land_area": {"zh": "土地面积", "en": "Land area"},
    "kpi.facilities": {"zh": "设施", "en": "Facilities"},
    "kpi.events_closed": {"zh": "已办结", "en": "Closed"},
    "landuse.farmland": {"zh": "耕地", "en": "Farmland"},
    "landuse.homestead": {"zh": "宅基地", "en": "Homestead"},
    "landuse.forest": {"zh": "林地", "en": "Forest"},
    "landuse.water": {"zh": "水域", "en": "Water"},
    "landuse.construction": {"zh": "建设用地", "en": "Construction"},
    "landuse.road": {"zh": "道路", "en": "Roads"},
    "landuse.garden": {"zh": "园地", "en": "Garden"},
    "landuse.other": {"zh": "其他", "en": "Other"},
    "app.applications": {"zh": "应用", "en": "Applications"},
    "app.legend": {"zh": "图例", "en": "Legend"},
    "app.governance": {"zh": "基层治理", "en": "Governance"},
    "app.environment": {"zh": "生态环境", "en": "Environment"},
    "app.tourism": {"zh": "文旅", "en": "Tourism"},
    "app.base": {"zh": "底图（房屋）", "en": "Base (buildings)"},
    "legend.event_status": {"zh": "事件状态", "en": "Event status"},
    "status.reported": {"zh": "已上报", "en": "Reported"},
    "status.triaged": {"zh": "已研判", "en": "Triaged"},
    "status.dispatched": {"zh": "已派单", "en": "Dispatched"},
    "status.handling": {"zh": "处置中", "en": "Handling"},
    "status.escalated": {"zh": "已上报上级", "en": "Escalated"},
    "status.resolved": {"zh": "已办结", "en": "Resolved"},
    "status.closed": {"zh": "已反馈关闭", "en": "Closed"},
    "kpi.events_overdue": {"zh": "超期事件", "en": "Overdue events"},
    "kpi.resolution_rate": {"zh": "办结率", "en": "Resolution rate"},
    "legend.stations": {"zh": "监测站（最新读数）", "en": "Stations (latest reading)"},
    "station.normal": {"zh": "正常", "en": "Normal"},
    "station.alarm": {"zh": "超标告警", "en": "Above limit"},
    "kpi.stations": {"zh": "监测站", "en": "Stations"},
    "legend.poi_kind": {"zh": "文旅设施", "en": "Tourism facilities"},
    "kind.scenic_spot": {"zh": "景点", "en": "Scenic spots"},
    "kind.homestay": {"zh": "民宿", "en": "Homestays"},
    "kind.restaurant": {"zh": "餐饮", "en": "Restaurants"},
    "kind.parking": {"zh": "停车场", "en": "Parking"},
    "kind.toilet": {"zh": "公厕", "en": "Toilets"},
    "legend.building_use": {"zh": "房屋用途", "en": "Building use"},
    "use.residential": {"zh": "住宅", "en": "Residential"},
    "use.commercial": {"zh": "商业", "en": "Commercial"},
    "use.industrial": {"zh": "工业", "en": "Industrial"},
    "use.public": {"zh": "公共服务", "en": "Public"},
    "use.agricultural": {"zh": "农业", "en": "Agricultural"},
    "kpi.floor_area": {"zh": "建筑面积", "en": "Floor area"},
    "unit.hectare": {"zh": "公顷", "en": "ha"},
}


def t(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The text of ``key`` in ``lang`` (falls back to Chinese, then to the key itself)."""
    entry = CATALOG.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]
