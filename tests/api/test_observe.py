"""Request ids, one JSON access line per request without query strings, and Prometheus
metrics: per route, tile cache, pool and open events by level."""

from __future__ import annotations

import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from twin.api.observe import JsonFormatter


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_request_ids_and_an_access_line_without_the_query(client, caplog):
    caplog.set_level(logging.INFO, logger="twin.access")
    r = client.get("/tiles/buildings.json?link=secret-token-123",
                   headers={"X-Request-ID": "wall-7"})
    assert r.headers["x-request-id"] == "wall-7"
    fresh = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert fresh.headers["x-request-id"] != "bad id with spaces"
    assert len(fresh.headers["x-request-id"]) == 16
    line = next(rec for rec in caplog.records if getattr(rec, "request_id", "") == "wall-7")
    out = json.loads(JsonFormatter().format(line))
    assert out["route"] == "/tiles/{layer}.json" and out["status"] == 200
    assert out["request_id"] == "wall-7" and "ms" in out
    assert "secret-token" not in caplog.text


def test_metrics_in_prometheus_format(client, sample_engine, village_sample):
    from twin.domain.workflow import OPEN

    for _ in range(3):
        client.get("/tiles/towns/8/213/104.mvt?v=x")
    text = client.get("/metrics").text
    families = _families(text)
    requests = families["twin_http_requests"]
    assert any(s.labels["route"] == "/tiles/{layer}/{z}/{x}/{y}.mvt" and s.value >= 3
               for s in requests.samples)
    assert "twin_http_request_duration_seconds" in families
    assert "twin_tile_cache_hits" in families and "twin_db_pool_connections" in families
    open_events = {s.labels["level"]: s.value for s in families["twin_events_open"].samples}
    expected = village_sample.events[village_sample.events.status.isin(OPEN)]
    assert sum(open_events.values()) == len(expected)
    assert open_events["microgrid"] == (expected.owner_level == "microgrid").sum()


def test_metrics_are_for_a_local_scraper_or_an_admin(anonymous, api):
    from fastapi.testclient import TestClient

    assert anonymous.get("/metrics").status_code == 403  # TestClient's address is not local
    with TestClient(api, client=("127.0.0.1", 50000)) as local:
        assert local.get("/metrics").status_code == 200


def test_the_server_log_is_written_off_the_request_path_as_json():
    import io
    import logging as stdlib_logging
    import time

    from twin.api.observe import configure_logging, request_id

    twin_log = stdlib_logging.getLogger("twin")
    saved = (twin_log.handlers[:], twin_log.propagate, twin_log.level)
    out = io.StringIO()
    configure_logging(stream=out)
    log = stdlib_logging.getLogger("twin.test")
    token = request_id.set("abc123")
    lines: list[dict] = []
    try:
        log.info("hello %s", "world")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(lines) < 2:
            time.sleep(0.05)
            lines = [json.loads(x) for x in out.getvalue().splitlines() if x.startswith("{")]
    finally:
        request_id.reset(token)
        twin_log.handlers[:], twin_log.propagate = saved[0], saved[1]
        twin_log.setLevel(saved[2])
    assert lines[0]["msg"] == "hello world" and lines[0]["request_id"] == "abc123"
    assert lines[1]["error"] == "ValueError: boom"
