"""The background worker: periodic jobs that run outside requests.

Each worker process records a heartbeat, so operators (and ``/readyz``) can tell whether
background work is being done at all, and delivers the notification outbox (any number of
workers may run: each claims its own rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import text

from cabinets.messages.scheduled import advance_clock
from cabinets.notifications.delivery import (
    deliver_account_mail,
    deliver_due,
    forget_delivered,
)
from tenancy.database import Database
from tenancy.settings import Settings, load_settings

HEARTBEAT_SECONDS = 10.0
OUTBOX_ROWS_PER_TICK = 200  # bounded, so the heartbeat stays regular
log = structlog.get_logger(__name__)


_BEAT = text(
    """
    INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, seen_at)
    VALUES (:worker_id, :hostname, :pid, :started_at, now())
    ON CONFLICT (worker_id) DO UPDATE SET seen_at = now()
    """
)


async def record_heartbeat(db: Database, worker_id: str, started_at: datetime) -> None:
    async with db.privileged_session(actor=f"worker:{worker_id}") as session:
        await session.execute(
            _BEAT,
            {
                "worker_id": worker_id,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": started_at,
            },
        )


async def run_worker(
    db: Database,
    stop: asyncio.Event,
    settings: Settings | None = None,
    *,
    alive_file: Path | None = None,
) -> None:
    """Run until ``stop`` is set; a failing job is logged and retried on the next tick.

    ``alive_file`` is touched after every round, whatever its jobs did: its age is the
    worker's liveness (a round stuck for minutes is a worker to restart; a database that is
    down is not, and shows in the heartbeat instead)."""
    settings = settings or load_settings()
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    started_at = datetime.now(UTC)
    log.info("worker started", worker_id=worker_id)
    while not stop.is_set():
        try:
            await record_heartbeat(db, worker_id, started_at)
        except Exception:
            log.exception("heartbeat failed", worker_id=worker_id)
        try:
            steps = await advance_clock(db)
            if any(steps.values()):
                log.info("the clock advanced", worker_id=worker_id, **steps)
        except Exception:
            log.exception("the clock failed", worker_id=worker_id)
        backlog = False
        try:
            report = await deliver_due(db, settings, limit=OUTBOX_ROWS_PER_TICK)
            if report.claimed:
                log.info("outbox delivered", worker_id=worker_id, **vars(report))
            backlog = report.claimed >= OUTBOX_ROWS_PER_TICK
        except Exception:
            log.exception("outbox delivery failed", worker_id=worker_id)
        try:
            mailed = await deliver_account_mail(db, settings, limit=OUTBOX_ROWS_PER_TICK)
            if mailed.claimed:
                log.info("account letters delivered", worker_id=worker_id, **vars(mailed))
            backlog = backlog or mailed.claimed >= OUTBOX_ROWS_PER_TICK
        except Exception:
            log.exception("account letter delivery failed", worker_id=worker_id)
        try:
            forgotten = await forget_delivered(db, keep=timedelta(days=settings.outbox_keep_days))
            if forgotten:
                log.info("delivered notifications forgotten", worker_id=worker_id, rows=forgotten)
        except Exception:
            log.exception("forgetting delivered notifications failed", worker_id=worker_id)
        if alive_file is not None:
            await asyncio.to_thread(alive_file.touch)
        # With a backlog, go on at once (the heartbeat still beats each round).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0 if backlog else HEARTBEAT_SECONDS)
    log.info("worker stopped", worker_id=worker_id)
