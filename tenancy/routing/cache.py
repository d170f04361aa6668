"""The routing index each process keeps, rebuilt after any change anywhere.

Triggers announce changes to territories, catalog versions, rules and tenants on
``priemnaya_routing``; a notification marks the index stale and the next resolution rebuilds
it (once, whatever the number of notifications). A lost connection marks it stale too, so a
process never serves from an index that may have missed a change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import psycopg
import structlog

from tenancy.routing.resolver import RoutingIndex

CHANNEL = "priemnaya_routing"
APPLICATION_NAME = "priemnaya-routing-sync"

log = structlog.get_logger(__name__)


class RoutingCache:
    def __init__(self, conninfo: str, load: Callable[[], Awaitable[RoutingIndex]]) -> None:
        self.conninfo = conninfo
        self.load = load
        self._index: RoutingIndex | None = None
        self._lock = asyncio.Lock()
        self.builds = 0
        self.heard_at: float | None = None  # when the change feed last spoke

    def invalidate(self) -> None:
        self._index = None

    async def index(self) -> RoutingIndex:
        current = self._index
        if current is not None:
            return current
        async with self._lock:
            if self._index is None:
                self._index = await self.load()
                self.builds += 1
            return self._index

    async def follow(self) -> None:
        """Listen for changes for as long as the process runs; reconnect when cut off."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=APPLICATION_NAME
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.invalidate()  # anything may have changed while we were not listening
                    self.heard_at = time.time()
                    while True:
                        async for _ in conn.notifies(timeout=15.0):
                            self.invalidate()
                            self.heard_at = time.time()
                        await conn.execute("SELECT 1")
                        self.heard_at = time.time()
            except (psycopg.Error, OSError) as exc:
                log.warning("routing change feed interrupted", error=str(exc))
                self.invalidate()
                await asyncio.sleep(1.0)
