"""A second process that follows the policy live, for tests/rbac/test_sync.py.

Usage: python policy_follower.py APP_URL USER_ID TENANT_ID PERMISSION
Prints one JSON line whenever its answer or its number of full loads changes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import structlog
from sqlalchemy.engine import make_url

from rbac.sync import LivePolicy
from tenancy.database import Database, DatabaseUrls
from tenancy.staff.policy import load_policy


async def follow(app_url: str, user: str, tenant: str, permission: str) -> None:
    db = Database(DatabaseUrls(privileged=app_url, app=app_url), pool_size=1)
    conninfo = make_url(app_url).set(drivername="postgresql").render_as_string(hide_password=False)
    live = LivePolicy(conninfo, lambda: load_policy(db), keepalive=1.0, max_backoff=0.5)
    task = asyncio.create_task(live.run())
    await live.ready.wait()
    last: tuple[bool, int] | None = None
    while not task.done():
        state = (live.enforcer.allowed(user, tenant, permission), live.full_loads)
        if state != last:
            print(json.dumps({"allowed": state[0], "full_loads": state[1], "t": time.time()}))
            sys.stdout.flush()
            last = state
        await asyncio.sleep(0.005)
    task.result()


if __name__ == "__main__":
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    asyncio.run(follow(*sys.argv[1:5]))
