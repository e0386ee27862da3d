"""Reference data the migrations seed (then editable in the database): the county's
departments that own the large loop, and the department of each event category."""

from __future__ import annotations

# the seed: code → (name, English name, hours to handle an event)
DEPARTMENTS: dict[str, tuple[str, str, float]] = {
    "enforcement": ("综合行政执法局", "Comprehensive Law Enforcement Bureau", 120),
    "environment": ("生态环境分局", "Ecology and Environment Bureau", 72),
    "housing": ("住房和城乡建设局", "Housing and Urban-Rural Development Bureau", 168),
    "transport": ("交通运输局", "Transport Bureau", 72),
    "emergency": ("应急管理局", "Emergency Management Bureau", 24),
    "market": ("市场监督管理局", "Market Supervision Bureau", 72),
    "water": ("水利局", "Water Resources Bureau", 24),
    "civil": ("民政局", "Civil Affairs Bureau", 120),
    "justice": ("司法局", "Justice Bureau", 120),
    "police": ("公安局", "Public Security Bureau", 24),
}
# the department an event of a category climbs to (event_categories.department)
DEPARTMENT_OF_CATEGORY = {
    "sanitation": "enforcement", "illegal_construction": "enforcement",
    "environment": "environment", "public_facility": "housing", "traffic": "transport",
    "safety": "emergency", "fire": "emergency", "food_drug": "market", "flood": "water",
    "livelihood": "civil", "dispute": "justice", "public_order": "police",
}
