"""Background work of the server process: the escalation sweep, every minute.

The sweep is idempotent and takes an advisory lock, so several server processes (or a
second one during a restart) can run this side by side; a database that is down is
logged and retried on the next round.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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
