"""Live policy: every process keeps its enforcer current through PostgreSQL LISTEN/NOTIFY.

Triggers on the policy tables announce each committed change on ``priemnaya_policy`` (see the
0002 migration); ``LivePolicy`` applies them one by one to its enforcer, without reloading. It
listens *before* it loads, so nothing committed in between is missed (a change seen twice is
harmless: grants and revocations are idempotent and arrive in commit order). When the
connection drops, or the database restarts, it reconnects and loads everything afresh.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog

from rbac.enforcer import CustomRoleRules, Grant, PolicyEnforcer, PolicySnapshot

CHANNEL = "priemnaya_policy"
APPLICATION_NAME = "priemnaya-policy-sync"

log = structlog.get_logger(__name__)


class _Resync(Exception):
    """A notification that cannot be applied incrementally; load everything again."""


class LivePolicy:
    """An enforcer kept current by notifications. Run ``run()`` as a task; read ``enforcer``."""

    def __init__(
        self,
        conninfo: str,
        load: Callable[[], Awaitable[PolicySnapshot]],
        *,
        keepalive: float = 15.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.conninfo = conninfo
        self.load = load
        self.keepalive = keepalive
        self.max_backoff = max_backoff
        self.enforcer = PolicyEnforcer()
        self.ready = asyncio.Event()
        self.full_loads = 0
        self.changes_applied = 0
        self.heard_at: float | None = None  # when the feed last spoke (a load, a change, a ping)
        self.slugs: dict[str, str] = {}  # tenant slug → tenant id, for routes that name a slug
        self._slug_of: dict[str, str] = {}

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=APPLICATION_NAME
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self._load_everything()
                    backoff = 0.2
                    await self._follow(conn)
            except (psycopg.Error, OSError, _Resync) as exc:
                log.warning("policy sync interrupted; resynchronising", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def _load_everything(self) -> None:
        started = time.perf_counter()
        # A national policy is millions of small objects, none in a cycle: the cycle collector
        # would walk them again and again while they are made (half the load), and then at
        # every full collection for the life of the process. It pauses while they are made,
        # and they are moved out of its sight once in place.
        gc.disable()
        try:
            snapshot = await self.load()
            # Building the index is CPU work; do it off the event loop, then swap in one step.
            enforcer = await asyncio.to_thread(PolicyEnforcer.from_snapshot, snapshot)
        finally:
            gc.enable()
        self.enforcer = enforcer
        self.slugs = dict(snapshot.slugs)
        self._slug_of = {tenant: slug for slug, tenant in snapshot.slugs.items()}
        self.full_loads += 1
        counts = {"grants": len(snapshot.grants), "tenants": len(snapshot.tenants)}
        del snapshot  # freed now rather than frozen
        if self.full_loads > 1:
            # The enforcer replaced may hold cycles (casbin, if explain built it): collect
            # them once before freezing what is alive again.
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        self.heard_at = time.time()
        self.ready.set()
        log.info("policy loaded", **counts, seconds=round(time.perf_counter() - started, 3))

    async def _follow(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notification in conn.notifies(timeout=self.keepalive):
                self.apply(json.loads(notification.payload))
                self.heard_at = time.time()
            # Quiet for a while: make sure the connection is still alive.
            await conn.execute("SELECT 1")
            self.heard_at = time.time()

    def slug_of(self, tenant_id: str) -> str:
        return self._slug_of.get(tenant_id, tenant_id)

    def apply(self, change: dict[str, Any]) -> None:
        """Apply one announced change to the enforcer."""
        kind, op, rows = change["kind"], change["op"], change["rows"]
        enforcer = self.enforcer
        try:
            if kind in ("grant", "platform_grant"):
                grants = [Grant(user, role, domain) for user, role, domain in rows]
                if op == "add":
                    enforcer.load(grants)
                else:
                    for grant in grants:
                        enforcer.revoke(grant)
            elif kind == "role":
                for tenant, name, permissions in rows:
                    if op == "add":
                        enforcer.define_role(CustomRoleRules(tenant, name, tuple(permissions)))
                    else:
                        enforcer.drop_role(tenant, name)
            elif kind == "user":
                for user, status in rows:
                    enforcer.set_user_active(user, status == "active" or op == "remove")
            elif kind == "tenant":
                for tenant, parent, status, slug in rows:
                    enforcer.set_tenant(tenant, parent, status)
                    self.slugs[slug] = tenant
                    self._slug_of[tenant] = slug
            else:
                raise _Resync(f"unknown change kind {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise _Resync(f"cannot apply {kind} {op}: {exc}") from exc
        self.changes_applied += len(rows)
