"""Two-way flow with the provincial grassroots-governance platform (基层治理四平台).

**Out.** Every change of an event (a row of ``event_log``) is put in ``sync_outbox`` by a
trigger in the same transaction as the change — nothing is lost by a crash in between —
while a platform is configured (``sync_peers``). A sender posts the unsent changes in
order, in batches, signed, and marks those the platform acknowledges; what is not
acknowledged is sent again (the platform deduplicates by ``change_id``).

**In.** The platform posts its changes — a matter it dispatches to the county (``new``), a
status it sets (``status``), a note (``note``), a dispatch to a department (``dispatch``) —
each with its own ``id``. Each is applied in one transaction together with the row of
``sync_inbox`` that remembers its id, so one sent twice is applied once, and one that
fails changes nothing. Changes from the platform are logged as ``platform:<name>`` and are
not sent back.

Both directions are signed: ``X-Twin-Timestamp`` (Unix seconds) and ``X-Twin-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared key>``; a request more
than five minutes off is refused. The exchange is documented in docs/platform-sync.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from twin.domain import workflow as wf
from twin.errors import NotFound, TwinError

SKEW_S = 300  # how far a signed request's time may be from ours
BATCH = 200  # changes per request to the platform
KINDS = ("new", "status", "note", "dispatch")


class SyncError(TwinError):
    """A message that cannot be taken: unsigned, badly signed, stale or malformed."""


# --- signing ----------------------------------------------------------------------------
def signature(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body,
                                hashlib.sha256).hexdigest()


def signed_headers(key: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    stamp = str(int(now if now is not None else time.time()))
    return {"Content-Type": "application/json", "X-Twin-Timestamp": stamp,
            "X-Twin-Signature": signature(key, stamp, body)}


def check_signature(key: bytes, timestamp: str | None, given: str | None, body: bytes,
                    now: float | None = None) -> None:
    """SyncError unless the body is signed with the key, at a time near ours."""
    if not timestamp or not given or not timestamp.isdigit():
        raise SyncError("unsigned: X-Twin-Timestamp and X-Twin-Signature are required")
    if abs((now if now is not None else time.time()) - int(timestamp)) > SKEW_S:
        raise SyncError(f"the signed time is more than {SKEW_S} s from ours")
    if not hmac.compare_digest(signature(key, timestamp, body), given):
        raise SyncError("the signature does not match the body")


# --- out ----------------------------------------------------------------------------------
def enable(engine: Engine, name: str, url: str) -> None:
    """Start putting changes in the outbox for the platform ``name`` at ``url``."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO sync_peers (name, url) VALUES (:n, :u) "
            "ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url"), {"n": name, "u": url})


def pending(engine: Engine, limit: int = BATCH) -> list[tuple[int, dict[str, Any]]]:
    """The oldest unsent changes, in the order they happened: (outbox id, payload)."""
    with engine.connect() as conn:
        return [(r.id, r.payload) for r in conn.execute(sa.text(
            "SELECT id, payload FROM sync_outbox WHERE sent_at IS NULL ORDER BY id "
            "LIMIT :n"), {"n": limit})]


def mark_sent(engine: Engine, acknowledged: list[int]) -> int:
    """Mark the changes the platform acknowledged (by change_id, the log row's id)."""
    if not acknowledged:
        return 0
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "UPDATE sync_outbox SET sent_at = now(), last_error = NULL "
            "WHERE event_log_id = ANY(:ids) AND sent_at IS NULL"),
            {"ids": [int(i) for i in acknowledged]}).rowcount


def mark_failed(engine: Engine, ids: list[int], error: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE sync_outbox SET attempts = attempts + 1, last_error = :e "
            "WHERE id = ANY(:ids)"), {"ids": ids, "e": error[:500]})


def backlog(engine: Engine) -> dict[str, Any]:
    """How the outbox stands: unsent changes, the oldest one's age, the last error."""
    with engine.connect() as conn:
        r = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent, "
            "min(created_at) FILTER (WHERE sent_at IS NULL) AS oldest, "
            "(SELECT last_error FROM sync_outbox WHERE last_error IS NOT NULL "
            " ORDER BY id DESC LIMIT 1) AS last_error FROM sync_outbox")).mappings().one()
    return dict(r)


# --- in -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What became of one change from the platform."""

    id: str
    result: str  # applied | duplicate | rejected
    event_code: str | None = None
    reason: str | None = None


def _event_id(conn: Connection, change: dict[str, Any]) -> int:
    """The local event a change names: by our code, or by the platform's id of a matter
    it dispatched to us."""
    if change.get("event_code"):
        found = conn.execute(sa.text("SELECT id FROM events WHERE code = :c"),
                             {"c": str(change["event_code"])}).scalar()
    elif change.get("remote_event_id"):
        found = conn.execute(sa.text("SELECT id FROM events WHERE client_key = :k"),
                             {"k": f"platform:{change['remote_event_id']}"}).scalar()
    else:
        raise SyncError("the change names no event: event_code or remote_event_id")
    if found is None:
        raise NotFound("no such event here")
    return found


def _when(change: dict[str, Any]) -> dt.datetime | None:
    if not change.get("at"):
        return None
    try:
        at = dt.datetime.fromisoformat(str(change["at"]).replace("Z", "+00:00"))
    except ValueError:
        raise SyncError("at is not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _apply(conn: Connection, change: dict[str, Any], actor: str) -> int:
    """Apply one change inside the caller's transaction; returns the event's id."""
    kind, at = change.get("type"), _when(change)
    if kind == "new":
        try:
            lon, lat = float(change["lon"]), float(change["lat"])
        except (KeyError, TypeError, ValueError):
            raise SyncError("a new matter needs lon and lat (WGS84)") from None
        remote = str(change.get("remote_event_id") or "").strip()
        if not remote:
            raise SyncError("a new matter needs its remote_event_id")
        event = wf.report(conn, category=str(change.get("category") or ""),
                          title=str(change.get("title") or "")[:200] or "省平台派发事项",
                          description=str(change.get("description") or "")[:4000] or None,
                          lon=lon, lat=lat, source="platform", actor=actor,
                          client_key=f"platform:{remote}"[:200], now=at)
        return event.id
    event_id = _event_id(conn, change)
    version = wf.get_event(conn, event_id).version
    note = str(change.get("note") or "")[:2000] or None
    if kind == "status":
        wf.transition(conn, event_id, str(change.get("status") or ""), actor=actor,
                      expected_version=version, note=note, now=at)
    elif kind == "note":
        wf.add_note(conn, event_id, actor=actor, note=note or "", now=at)
    elif kind == "dispatch":
        wf.dispatch(conn, event_id, str(change.get("to") or ""), actor=actor,
                    expected_version=version, department=change.get("department"), now=at)
    else:
        raise SyncError(f"unknown type {kind!r}: one of {', '.join(KINDS)}")
    return event_id


def receive(engine: Engine, changes: list[Any], platform: str) -> list[Outcome]:
    """Apply the platform's changes in order, each once: a change whose id was applied
    before is a duplicate; one that cannot be applied is rejected with its reason and
    leaves nothing behind (and may be sent again, corrected, under a new id)."""
    actor = f"platform:{platform}"
    out: list[Outcome] = []
    for change in changes:
        remote_id = str(change.get("id") or "").strip() if isinstance(change, dict) else ""
        if not remote_id or len(remote_id) > 200:
            out.append(Outcome(remote_id[:200], "rejected", reason="a change needs its id"))
            continue
        try:
            with engine.begin() as conn:
                claimed = conn.execute(sa.text(
                    "INSERT INTO sync_inbox (remote_id, outcome) VALUES (:r, 'applied') "
                    "ON CONFLICT (remote_id) DO NOTHING RETURNING remote_id"),
                    {"r": remote_id}).scalar()
                if claimed is None:
                    code = conn.execute(sa.text(
                        "SELECT e.code FROM sync_inbox i LEFT JOIN events e ON e.id = i.event_id"
                        " WHERE i.remote_id = :r"), {"r": remote_id}).scalar()
                    out.append(Outcome(remote_id, "duplicate", code))
                    continue
                event_id = _apply(conn, change, actor)
                conn.execute(sa.text("UPDATE sync_inbox SET event_id = :e WHERE remote_id = :r"),
                             {"e": event_id, "r": remote_id})
                code = conn.execute(sa.text("SELECT code FROM events WHERE id = :e"),
                                    {"e": event_id}).scalar()
            out.append(Outcome(remote_id, "applied", code))
        except (SyncError, NotFound, wf.WorkflowError) as exc:
            out.append(Outcome(remote_id, "rejected", reason=str(exc)))
    return out


def dumps(obj: Any) -> bytes:
    """The JSON the platform gets: UTF-8, times as ISO 8601."""
    return json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":")).encode()
