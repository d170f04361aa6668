"""Live sync: a grant or revoke made here reaches another process within a second, one change
at a time; a lost connection makes that process reconnect and load everything afresh."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from rbac.sync import APPLICATION_NAME
from tenancy.database import Database
from tenancy.staff import service
from tenancy.staff.schemas import StaffInput
from tenancy.tenants import service as tenants
from tenancy.tenants.models import TenantKind

FOLLOWER = Path(__file__).with_name("policy_follower.py")


class Follower:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next_state(self, timeout: float) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the follower said nothing within {timeout} s") from None


@pytest.fixture
async def setting(db: Database, tenant_data: Callable[..., Any]) -> tuple[str, str]:
    await tenants.create_tenants(
        db,
        [tenant_data("region", kind=TenantKind.REGION), tenant_data("school", parent="region")],
        actor="test",
    )
    await service.add_staff(db, [StaffInput(email="ann@example.ru", name="Ann")], actor="test")
    async with db.privileged_session() as session:
        user = (await session.execute(text("SELECT id FROM users"))).scalar_one()
        school = (
            await session.execute(text("SELECT id FROM tenants WHERE slug = 'school'"))
        ).scalar_one()
    return str(user), str(school)


@pytest.fixture
def follower(db: Database, setting: tuple[str, str]) -> Iterator[Follower]:
    user, school = setting
    process = subprocess.Popen(
        [sys.executable, str(FOLLOWER), db.urls.app, user, school, "message:assign"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield Follower(process)
    finally:
        process.kill()
        process.wait()


async def test_grant_and_revoke_reach_another_process_within_a_second(
    db: Database, follower: Follower
) -> None:
    first = follower.next_state(timeout=30)
    assert (first["allowed"], first["full_loads"]) == (False, 1)

    started = time.time()
    await service.grant_role(db, "ann@example.ru", "school", "coordinator", actor="test")
    granted = follower.next_state(timeout=5)
    assert granted["allowed"] is True
    assert granted["t"] - started < 1.0

    started = time.time()
    await service.revoke_role(db, "ann@example.ru", "school", "coordinator", actor="test")
    revoked = follower.next_state(timeout=5)
    assert revoked["allowed"] is False
    assert revoked["t"] - started < 1.0
    # Both changes arrived incrementally: still the one full load made at start.
    assert revoked["full_loads"] == 1


async def test_a_lost_connection_is_followed_by_a_full_resync(
    db: Database, follower: Follower
) -> None:
    assert follower.next_state(timeout=30)["full_loads"] == 1
    async with db.privileged_session() as session:
        killed = await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        )
        assert killed.scalars().all() == [True]
    # Made while the follower is disconnected, so no notification can reach it.
    await service.grant_role(db, "ann@example.ru", "school", "coordinator", actor="test")
    states = [follower.next_state(timeout=10)]
    while not states[-1]["allowed"]:
        states.append(follower.next_state(timeout=10))
    assert states[-1]["full_loads"] >= 2


async def test_a_suspended_tenant_turns_read_only_everywhere(
    db: Database, follower: Follower
) -> None:
    await service.grant_role(db, "ann@example.ru", "school", "coordinator", actor="test")
    states = [follower.next_state(timeout=30)]
    while not states[-1]["allowed"]:
        states.append(follower.next_state(timeout=5))
    async with db.privileged_session() as session:
        await session.execute(text("UPDATE tenants SET status = 'suspended' WHERE slug = 'school'"))
    assert follower.next_state(timeout=5)["allowed"] is False
