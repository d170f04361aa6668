"""The worker's own liveness: after every round it records a heartbeat in the database and
touches its alive file, whose age a Kubernetes probe checks."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from cabinets.worker import run_worker
from tenancy.database import Database
from tenancy.settings import Settings


async def test_each_round_beats_and_touches_the_alive_file(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    alive = tmp_path / "worker.alive"
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(db, stop, settings, alive_file=alive))
    for _ in range(600):  # the first round, within 30 s
        if alive.exists():
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(worker, timeout=30)
    async with db.privileged_session() as session:
        beats = (await session.execute(text("SELECT count(*) FROM worker_heartbeats"))).scalar()
    assert alive.exists()
    assert beats == 1
