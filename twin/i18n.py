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
}


def t(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The text of ``key`` in ``lang`` (falls back to Chinese, then to the key itself)."""
    entry = CATALOG.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]
