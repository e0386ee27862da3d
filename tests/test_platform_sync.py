"""The exchange with the provincial platform against a fake platform on loopback: 1,000
changes each way, across a restart of each side and an outage of the platform — none lost,
none applied twice, each event's changes in the order they happened."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from twin.config import PROJECT_ROOT
from twin.domain import sync
from twin.domain import workflow as wf

KEY = "platform-test-key-0123456789"
EVENTS = 250  # × 4 changes = 1,000 each way


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakePlatform:
    """The province's side: takes signed batches, remembers every change_id it has applied
    (its own database: kept across its restarts) and acknowledges them; can be down."""

    def __init__(self, delay: float = 0.5) -> None:
        self.port, self.delay = _free_port(), delay
        self.deliveries: Counter[int] = Counter()  # how often each change arrived
        self.applied: dict[int, dict] = {}  # change_id → payload, each once
        self.down = False
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/changes"

    def start(self) -> None:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if platform.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                sync.check_signature(KEY.encode(), self.headers["X-Twin-Timestamp"],
                                     self.headers["X-Twin-Signature"], body)
                ids = []
                for change in json.loads(body)["changes"]:
                    platform.deliveries[change["change_id"]] += 1
                    platform.applied.setdefault(change["change_id"], change)
                    ids.append(change["change_id"])
                time.sleep(platform.delay)  # applied, not yet acknowledged: a kill here
                answer = json.dumps({"accepted": ids}).encode()  # makes a resend
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                try:
                    self.wfile.write(answer)
                except BrokenPipeError:  # the sender died waiting: it will send again
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def engine(sample_db):
    return sample_db("platform_sync")


@pytest.fixture(scope="module")
def points(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM units "
            "WHERE level = 'microgrid' ORDER BY code LIMIT 20")).all()


def _env(engine, tmp_path, **extra: str) -> dict[str, str]:
    return {**os.environ, "TWIN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "TWIN_DATA_DIR": str(tmp_path), "TWIN_PLATFORM_KEY": KEY,
            "TWIN_PLATFORM_NAME": "zj", "TWIN_SWEEP_SECONDS": "0", **extra}


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_thousand_changes_out_across_restarts_and_an_outage(engine, points, tmp_path):
    platform = FakePlatform()
    sync.enable(engine, "zj", platform.url)
    for i in range(EVENTS):  # 1,000 changes: report, triage, dispatch, handle
        x, y = points[i % len(points)]
        e = wf.report(engine, category="sanitation", title=f"外发{i}", lon=x, lat=y,
                      source="grid_worker", actor="网格员")
        for status in ("triaged", "dispatched", "handling"):
            e = wf.transition(engine, e.id, status, actor="网格员", expected_version=e.version)
    with engine.connect() as conn:
        changes = conn.execute(sa.text(
            "SELECT l.id, e.code, l.to_status FROM sync_outbox o JOIN event_log l "
            "ON l.id = o.event_log_id JOIN events e ON e.id = l.event_id ORDER BY l.id")).all()
    assert len(changes) == 4 * EVENTS
    env = _env(engine, tmp_path, TWIN_PLATFORM_URL=platform.url)
    pusher = [sys.executable, "-m", "twin", "sync", "push", "--loop"]
    first = subprocess.Popen(pusher, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _wait(lambda: len(platform.applied) >= 300, 120, "the first pusher sent nothing")
    first.send_signal(signal.SIGKILL)  # our side stops dead, perhaps mid-batch
    first.wait()
    platform.stop()  # the platform restarts, and is down for a while
    platform.down = True
    platform.start()
    second = subprocess.Popen(pusher, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: sync.backlog(engine)["last_error"], 60, "the outage went unnoticed")
        assert sync.backlog(engine)["unsent"] > 0  # kept while the platform is down
        platform.down = False
        _wait(lambda: sync.backlog(engine)["unsent"] == 0, 120, "the outbox never emptied")
    finally:
        second.kill()
        second.wait()
        platform.stop()
    assert set(platform.applied) == {c.id for c in changes}  # none lost
    assert len(platform.applied) == 4 * EVENTS  # each applied once (its id)
    order: dict[str, list[str]] = {}
    for change_id in sorted(platform.applied):
        change = platform.applied[change_id]
        order.setdefault(change["event_code"], []).append(change["status"])
    assert set(map(tuple, order.values())) == {("reported", "triaged", "dispatched",
                                                "handling")}
    assert all(c["title"] for c in platform.applied.values() if c["status"] == "reported")


def _serve_api(env) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    code = ("import uvicorn; from twin.api import create_api; from twin.config import Settings;"
            f" uvicorn.run(create_api(Settings()), host='127.0.0.1', port={port},"
            " log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _up(url), 60, "the API did not start")
    return proc, url


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1):
            return True
    except OSError:
        return False


def _send(url: str, batch: list[dict]) -> list[dict] | None:
    """One signed batch to our endpoint, as the platform sends it; None if it got no answer."""
    body = sync.dumps({"changes": batch})
    request = urllib.request.Request(f"{url}/platform/changes", data=body, method="POST",
                                     headers=sync.signed_headers(KEY.encode(), body))
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["results"]
    except (urllib.error.URLError, OSError):
        return None


def test_a_thousand_changes_in_across_a_restart_and_resends(engine, points, tmp_path):
    changes = []
    for i in range(EVENTS):
        x, y = points[i % len(points)]
        remote = f"ZJ-{i:04d}"
        changes += [
            {"id": f"P-{i:04d}-1", "type": "new", "remote_event_id": remote,
             "category": "dispute", "title": f"省平台派发{i}", "lon": x, "lat": y,
             "description": "12345热线转办，来电人电话13812345678"},
            {"id": f"P-{i:04d}-2", "type": "status", "remote_event_id": remote,
             "status": "triaged"},
            {"id": f"P-{i:04d}-3", "type": "dispatch", "remote_event_id": remote,
             "department": "justice"},
            {"id": f"P-{i:04d}-4", "type": "note", "remote_event_id": remote,
             "note": "已电话回访"}]
    env = _env(engine, tmp_path)
    api, url = _serve_api(env)
    results: dict[str, str] = {}
    try:
        batches = [changes[i:i + 50] for i in range(0, len(changes), 50)]
        for n, batch in enumerate(batches):
            if n == 8:  # our side restarts, the platform's batch in flight is lost to it
                api.send_signal(signal.SIGKILL)
                api.wait()
                assert _send(url, batch) is None
                api, url = _serve_api(env)
            answer = None
            while answer is None:  # the platform resends until it has an answer
                answer = _send(url, batch)
            results.update({r["id"]: r["result"] for r in answer})
        again = _send(url, batches[3])  # and sends an old batch once more
        assert {r["result"] for r in again} == {"duplicate"}
    finally:
        api.terminate()
        api.wait()
    assert len(results) == 4 * EVENTS and set(results.values()) <= {"applied", "duplicate"}
    with engine.connect() as conn:
        inbox = conn.execute(sa.text(
            "SELECT count(*) FROM sync_inbox WHERE remote_id LIKE 'P-%'")).scalar()
        per_event = conn.execute(sa.text("""
            SELECT e.client_key, e.status, e.owner_level, e.department, e.description,
                   array_agg(l.to_status ORDER BY l.id) AS steps
              FROM events e JOIN event_log l ON l.event_id = e.id
             WHERE e.client_key LIKE 'platform:ZJ-%' GROUP BY e.id""")).all()
        echoed = conn.execute(sa.text(
            "SELECT count(*) FROM sync_outbox o JOIN event_log l ON l.id = o.event_log_id "
            "WHERE l.actor LIKE 'platform:%'")).scalar()
    assert inbox == 4 * EVENTS  # every change once
    assert len(per_event) == EVENTS  # every matter once
    assert {(r.status, r.owner_level, r.department, tuple(r.steps)) for r in per_event} == {
        ("dispatched", "county", "justice", ("reported", "triaged", "dispatched",
                                             "dispatched"))}
    assert all("13812345678" not in r.description for r in per_event)  # scrubbed
    assert echoed == 0  # the platform's own changes are not sent back to it


def test_unsigned_or_stale_messages_are_refused(engine, settings):
    from fastapi.testclient import TestClient

    from twin.api import create_api

    body = sync.dumps({"changes": []})
    with TestClient(create_api(settings.model_copy(update={"platform_key": KEY}),
                               engine=engine)) as c:
        assert c.post("/platform/changes", content=body).status_code == 401
        stale = sync.signed_headers(KEY.encode(), body, now=time.time() - 3600)
        assert c.post("/platform/changes", content=body, headers=stale).status_code == 401
        forged = sync.signed_headers(b"another key", body)
        assert c.post("/platform/changes", content=body, headers=forged).status_code == 401
        good = sync.signed_headers(KEY.encode(), body)
        assert c.post("/platform/changes", content=body, headers=good).json() == {
            "results": []}
        bad = sync.dumps({"changes": [
            {"id": "X-1", "type": "status", "event_code": "NOPE", "status": "closed"},
            {"id": "X-2", "type": "teleport", "event_code": "NOPE"},
            {"type": "note"}]})
        results = c.post("/platform/changes", content=bad,
                         headers=sync.signed_headers(KEY.encode(), bad)).json()["results"]
        assert [r["result"] for r in results] == ["rejected"] * 3
        assert all(r["reason"] for r in results)
    with engine.connect() as conn:  # a rejected change leaves nothing: it may come again
        assert not conn.execute(sa.text(
            "SELECT count(*) FROM sync_inbox WHERE remote_id LIKE 'X-%'")).scalar()
    with TestClient(create_api(settings, engine=engine)) as c:  # no key: no endpoint
        assert c.post("/platform/changes", content=body).status_code == 404
