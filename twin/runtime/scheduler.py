"""Background work of the server process: the escalation sweep, every minute, and the
outbox of event changes to the provincial platform (when one is configured).

The sweep is idempotent and takes an advisory lock, so several server processes (or a
second one during a restart) can run this side by side; a database that is down is
logged and retried on the next round.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain import sync
from twin.domain.workflow import sweep
from twin.errors import TwinError

log = logging.getLogger("twin.scheduler")


class Sweeper(threading.Thread):
    """A daemon thread running :func:`twin.domain.workflow.sweep` every ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float = 60.0) -> None:
        super().__init__(name="twin-sweeper", daemon=True)
        self.engine = engine
        self.interval = interval
        self.stopped = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                moved = sweep(self.engine)
                if moved:
                    log.info("escalated %d overdue events", moved)
            except (sa.exc.SQLAlchemyError, TwinError) as exc:
                log.warning("escalation sweep skipped: %s", type(exc).__name__)
            self.rounds += 1
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


def push(engine: Engine, url: str, key: bytes, batch: int = sync.BATCH,
         timeout: float = 15.0) -> int:
    """Send the outbox's unsent changes to the platform at ``url``, a batch at a time, until
    none is left or the platform does not answer; returns how many it acknowledged. A
    batch the platform did not acknowledge stays unsent and goes again next time."""
    import json
    import urllib.error
    import urllib.request

    done = 0
    while True:
        changes = sync.pending(engine, batch)
        if not changes:
            return done
        body = sync.dumps({"changes": [payload for _, payload in changes]})
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers=sync.signed_headers(key, body))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                acknowledged = json.loads(answer.read() or b"{}").get("accepted", [])
        except (urllib.error.URLError, OSError, ValueError) as exc:
            sync.mark_failed(engine, [i for i, _ in changes], f"{type(exc).__name__}: {exc}")
            raise SyncUnavailable(str(exc)) from None
        marked = sync.mark_sent(engine, [int(a) for a in acknowledged
                                         if str(a).isdigit()])
        done += marked
        if marked == 0:  # the platform took nothing of this batch: try again later
            raise SyncUnavailable("the platform acknowledged none of the batch")


class SyncUnavailable(TwinError):
    """The platform did not take the changes this time (they stay in the outbox)."""


class Pusher(threading.Thread):
    """A daemon thread sending the outbox to the platform every ``interval`` seconds, and
    backing off (up to five minutes) while the platform is down."""

    def __init__(self, engine: Engine, url: str, key: bytes, interval: float = 5.0) -> None:
        super().__init__(name="twin-sync", daemon=True)
        self.engine, self.url, self.key, self.interval = engine, url, key, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        wait = self.interval
        while not self.stopped.is_set():
            try:
                sent = push(self.engine, self.url, self.key)
                if sent:
                    log.info("sent %d changes to the platform", sent)
                wait = self.interval
            except SyncUnavailable as exc:
                log.warning("platform unavailable, changes kept: %s", exc)
                wait = min(wait * 2, 300.0)
            except (sa.exc.SQLAlchemyError, TwinError) as exc:
                log.warning("sync skipped: %s", type(exc).__name__)
            self.stopped.wait(wait)

    def stop(self) -> None:
        self.stopped.set()
