"""Observability: structured (JSON) logs that carry a request id, and Prometheus metrics.

Every API request gets an id (the caller's ``X-Request-ID`` if it is a short token, else a
new one), sent back in ``X-Request-ID`` and attached to every log line written while the
request runs. One line per request says method, route template, status and milliseconds —
never the query string (a field link's token travels there) nor any body; successful tile
requests are only counted (and logged when slower than half a second).

``/api/metrics`` (Prometheus text format) counts requests and their latencies per route,
and reads at each scrape the tile cache's hits and misses, the database pool's use, and
the open events per owning level.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                       default=None)
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("twin.access")
# tile routes: a map asks for hundreds a minute; their successes are counted in the metrics
# and logged only when slow, their errors always
QUIET_ROUTES = frozenset({"/tiles/{layer}/{z}/{x}/{y}.mvt", "/terrain/{z}/{x}/{y}.png",
                          "/imagery/{z}/{x}/{y}.png", "/imagery/{z}/{x}/{y}.webp"})
SLOW_S = 0.5


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    FIELDS = ("method", "route", "status", "ms", "client")

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                "level": record.levelname.lower(), "logger": record.name,
                "msg": record.getMessage()}
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        for name in self.FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        elif record.exc_text:
            line["error"] = record.exc_text.splitlines()[-1]
        return json.dumps(line, ensure_ascii=False)


class _ContextQueueHandler(logging.handlers.QueueHandler):
    """Queues records with the request id taken now (the writer thread has no context)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        import copy

        record = copy.copy(record)
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:  # the last line of the error travels, not the frames
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record


def configure_logging(level: str = "INFO", stream=None) -> None:
    """The server's logs: JSON lines on stderr for the ``twin`` loggers, formatted and
    written by a thread of their own so a request never waits for the log."""
    import atexit
    import queue

    out = logging.StreamHandler(stream)  # None = stderr
    out.setFormatter(JsonFormatter())
    records: queue.SimpleQueue = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, out)
    listener.start()
    atexit.register(listener.stop)
    root = logging.getLogger("twin")
    root.handlers[:] = [_ContextQueueHandler(records)]
    root.setLevel(level)
    root.propagate = False


class Metrics:
    """The API's Prometheus registry (one per API app, so tests do not share counters)."""

    def __init__(self, state) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("twin_http_requests", "HTTP requests to /api",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("twin_http_request_duration_seconds",
                                 "Time to answer an /api request", ("route",),
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.registry.register(_StateCollector(state))


class _StateCollector:
    """Read at scrape time: the tile cache, the pool, the open events by level."""

    def __init__(self, state) -> None:
        self.state = state

    def collect(self):
        cache = getattr(self.state, "tile_cache", None)
        hits = CounterMetricFamily("twin_tile_cache_hits", "Tiles served from the cache")
        misses = CounterMetricFamily("twin_tile_cache_misses", "Tiles not in the cache")
        hits.add_metric([], cache.hits if cache else 0)
        misses.add_metric([], cache.misses if cache else 0)
        yield hits
        yield misses
        engine = getattr(self.state, "engine", None)
        pool = GaugeMetricFamily("twin_db_pool_connections", "Database pool connections",
                                 labels=["state"])
        if engine is not None:
            p = engine.pool
            pool.add_metric(["checked_out"], p.checkedout())
            pool.add_metric(["idle"], p.checkedin())
            pool.add_metric(["size"], p.size())
            pool.add_metric(["overflow"], max(p.overflow(), 0))
        yield pool
        events = GaugeMetricFamily("twin_events_open", "Open events by owning level",
                                   labels=["level"])
        if engine is not None:
            import sqlalchemy as sa

            from twin.domain.workflow import LEVELS, OPEN

            try:
                with engine.connect() as conn:
                    counts = dict(conn.execute(sa.text(
                        "SELECT owner_level, count(*) FROM events WHERE status = ANY(:o) "
                        "GROUP BY owner_level"), {"o": list(OPEN)}).all())
            except sa.exc.SQLAlchemyError:
                counts = None  # the database is down: no figure rather than a wrong one
            if counts is not None:
                for level in LEVELS:
                    events.add_metric([level], counts.get(level, 0))
        yield events


class RequestContext:
    """Pure ASGI middleware: request id, one access-log line, and the metrics per route."""

    def __init__(self, app, metrics_of) -> None:
        self.app = app
        self.metrics_of = metrics_of  # () -> Metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _GIVEN_ID.match(given) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        status = {"code": 500}
        t0 = time.perf_counter()

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics = self.metrics_of()
            metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            metrics.latency.labels(route).observe(seconds)
            quiet = route in QUIET_ROUTES and status["code"] < 400 and seconds < SLOW_S
            if not quiet:  # a map asks for hundreds of tiles: counted, not each logged
                access_log.info("%s %s %s", scope["method"], route, status["code"],
                                extra={"method": scope["method"], "route": route,
                                       "status": status["code"],
                                       "ms": round(seconds * 1000, 1), "request_id": rid})
            request_id.reset(token)
