"""Live work: every process follows the message changes the database announces (migration
0016) on one listening connection and fans each out to the open pages that may see it.

A subscriber is one open inbox or card: a person in one organization. Each event is checked
against the live policy as it arrives (a revoked role stops the stream's events at once), and
someone who reads only their own assignments (an executor) gets only the events of messages
assigned to them. When the connection drops, it reconnects; pages meanwhile miss events, and
say nothing wrong: an event only prompts them to look again.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import structlog

from cabinets.messages.actors import Staff
from cabinets.messages.workflow import Status

CHANNEL = "priemnaya_messages"
APPLICATION_NAME = "priemnaya-message-changes"
QUEUE_SIZE = 256  # a subscriber this far behind loses the oldest events, not the process

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MessageChange:
    """A committed change of one message: its new version and status, who acted and when."""

    tenant_id: uuid.UUID
    message_id: uuid.UUID
    version: int
    status: Status
    assignee_id: uuid.UUID | None
    actor: str | None
    action: str | None
    at: datetime

    @classmethod
    def parse(cls, payload: str) -> MessageChange:
        data = json.loads(payload)
        return cls(
            tenant_id=uuid.UUID(data["t"]),
            message_id=uuid.UUID(data["m"]),
            version=int(data["v"]),
            status=Status(data["s"]),
            assignee_id=uuid.UUID(data["a"]) if data["a"] else None,
            actor=data.get("who"),
            action=data.get("kind"),
            at=datetime.fromisoformat(data["at"]),
        )

    def public(self) -> dict[str, Any]:
        """What a page is told (the same for everyone who may read the message)."""
        return {
            "message": str(self.message_id),
            "version": self.version,
            "status": self.status.value,
            "actor": self.actor,
            "action": self.action,
            "at": self.at.isoformat(),
        }


@dataclass(eq=False)
class Subscription:
    """One open page's stream: the person ``staff()`` gives (asked anew for each event, so the
    policy is the live one, even after a full reload) reading ``tenant_id``."""

    staff: Callable[[], Staff]
    tenant_id: uuid.UUID
    queue: asyncio.Queue[MessageChange] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )

    def may_see(self, change: MessageChange) -> bool:
        if change.tenant_id != self.tenant_id:
            return False
        staff = self.staff()
        assigned = change.assignee_id == staff.user_id
        return staff.may(self.tenant_id, "message:read", assigned=assigned)

    def offer(self, change: MessageChange) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(change)


class LiveMessages:
    """Run ``run()`` as a task; pages ``subscribe``. It connects once the first page does: a
    process nobody opens an inbox on (a worker's, an API-only one) holds no connection."""

    def __init__(self, conninfo: str, *, keepalive: float = 15.0, max_backoff: float = 5.0):
        self.conninfo = conninfo
        self.keepalive = keepalive
        self.max_backoff = max_backoff
        self.listening = asyncio.Event()
        self._wanted = asyncio.Event()
        self._subscribers: set[Subscription] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @asynccontextmanager
    async def subscribe(
        self, staff: Callable[[], Staff], tenant_id: uuid.UUID
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(staff, tenant_id)
        self._subscribers.add(subscription)
        self._wanted.set()
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def publish(self, change: MessageChange) -> None:
        for subscription in list(self._subscribers):
            if subscription.may_see(change):
                subscription.offer(change)

    async def run(self) -> None:
        await self._wanted.wait()
        backoff = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=APPLICATION_NAME
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    backoff = 0.2
                    await self._follow(conn)
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                log.warning("message changes interrupted; reconnecting", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def _follow(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notification in conn.notifies(timeout=self.keepalive):
                try:
                    change = MessageChange.parse(notification.payload)
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("unreadable message change", error=str(exc))
                    continue
                self.publish(change)
            await conn.execute("SELECT 1")  # quiet for a while: is the connection alive?
