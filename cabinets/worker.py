"""The background worker: periodic jobs that run outside requests.

Each worker process records a heartbeat, so operators (and ``/readyz``) can tell whether
background work is being done at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import UTC, datetime

import structlog
from sqlalchemy import Column, DateTime, Integer, Text, text
from sqlmodel import Field, SQLModel

from tenancy.database import Database

HEARTBEAT_SECONDS = 10.0
log = structlog.get_logger(__name__)


class WorkerHeartbeat(SQLModel, table=True):
    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(sa_column=Column(Text, primary_key=True))
    hostname: str = Field(sa_column=Column(Text, nullable=False))
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


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


async def run_worker(db: Database, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; a failing job is logged and retried on the next tick."""
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    started_at = datetime.now(UTC)
    log.info("worker started", worker_id=worker_id)
    while not stop.is_set():
        try:
            await record_heartbeat(db, worker_id, started_at)
        except Exception:
            log.exception("heartbeat failed", worker_id=worker_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_SECONDS)
    log.info("worker stopped", worker_id=worker_id)
