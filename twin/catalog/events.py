"""Events (事): what happens and is handled, with its workflow state; and their log."""

from __future__ import annotations

from twin.catalog.model import (
    CELLS,
    TEXT,
    Columns,
    Element,
    ExportSpec,
    OgcSpec,
    Prop,
    TileSpec,
    col,
    cols,
    utc,
)
from twin.domain.workflow import OPEN

EVENTS = Element(
    name="events", table="events", kind="events", sample="events",
    columns=Columns(
        public=("id", "code", "category", "status", "owner_level", "department", "source",
                "reported_at", "deadline_at", "resolved_at", "closed_at", "escalations", "geom",
                *CELLS),
        text=("title", "description"),
        # a device's idempotency key, the optimistic lock, a resident's own rating
        internal=("client_key", "version", "satisfaction", "assignee", "duplicate_of")),
    tiles=(TileSpec(
        # Open events only: the map shows what still needs handling (closed ones are
        # history, counted in the KPIs and drawn by the heat layer from /api/heat).
        name="events", title_zh="在办事件", title_en="Open events", minzoom=8, maxzoom=16,
        where="t.status IN (" + ", ".join(f"'{s}'" for s in OPEN) + ")",
        properties=(*cols("id", "code", "category", "status", "owner_level", "source"),
                    Prop("reported_at", "extract(epoch FROM t.reported_at)::bigint"),
                    col("escalations")),
        order="t.reported_at DESC, t.id", budget={8: 3000, 12: 10000},
        geometry_type="Point"),),
    ogc=(OgcSpec(
        id="events", title="事件", description="Reported events and their workflow state.",
        temporal="t.reported_at",
        properties=(*cols("code", "category"), col("title", privacy=TEXT),
                    *cols("status", "owner_level", "source"),
                    *(Prop(c, utc(f"t.{c}")) for c in ("reported_at", "deadline_at",
                                                        "resolved_at", "closed_at")),
                    col("escalations")),
        filters={"status": "t.status = :v", "category": "t.category = :v",
                 "owner_level": "t.owner_level = :v", "source": "t.source = :v",
                 "code": "t.code = :v"}),),
    export=ExportSpec(name="events", properties=cols(
        "code", "category", "status", "owner_level", "reported_at", "resolved_at")),
    load=("id", "code", "category", "title", "description", "status", "owner_level",
          "department", "source", "reported_at", "deadline_at", "resolved_at", "closed_at",
          "escalations", "satisfaction", "geom"),
    # Open311 GeoReport v2: a service request is an event (rows e, with its category c and
    # its micro-grid m)
    open311=(*cols("code", "status", "category", alias="e"), col("name_zh", "c"),
             col("title", "e", TEXT), col("description", "e", TEXT),
             *cols("owner_level", "reported_at", "deadline_at", alias="e"),
             Prop("updated", "greatest(e.reported_at, e.resolved_at, e.closed_at,\n"
                             "                    (SELECT max(l.at) FROM event_log l "
                             "WHERE l.town_id = e.town_id AND l.event_id = e.id))"),
             Prop("lon", "ST_X(e.geom)"), Prop("lat", "ST_Y(e.geom)"),
             Prop("microgrid", "m.name")),
    aliases={"event_code": ("code", "事件编号", "工单号", "编号", "事件编码"),
             "category": ("category", "事件类别", "事件类型", "类别", "类型"),
             "title": ("title", "事件标题", "标题", "事件名称"),
             "description": ("description", "事件描述", "描述", "事件内容", "内容"),
             "status": ("status", "事件状态", "状态", "办理状态"),
             "reported_at": ("reported_at", "上报时间", "发生时间", "受理时间", "登记时间"),
             "resolved_at": ("resolved_at", "办结时间", "处置时间", "完成时间"),
             "closed_at": ("closed_at", "结案时间", "归档时间"),
             "source": ("source", "事件来源", "来源"),
             "satisfaction": ("satisfaction", "满意度", "评价"),
             "level": ("owner_level", "处置层级", "层级")},
)

EVENT_LOG = Element(
    name="event_log", table="event_log", kind="events", layer="events", sample="event_log",
    # who moved an event when: shown on the event's own pages, never published as features
    columns=Columns(public=("town_id", "id", "event_id", "at", "from_status", "to_status"),
                    text=("note",), internal=("actor", "client_key")),
    load=("town_id", "event_id", "at", "actor", "from_status", "to_status", "note"),
    follows=("event_id", "events"),
)
