"""What a staff action's handler is given (the step's context) and what it hands back (the
change to the message row)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.actors import Staff
from cabinets.messages.workflow import Status
from storage.object_store import ObjectStore
from tenancy.database import Database
from tenancy.errors import Conflict
from tenancy.routing.resolver import RoutingIndex


class RoutingSource(Protocol):
    """Where the current routing index comes from (the app's cache)."""

    async def index(self) -> RoutingIndex: ...


@dataclass(frozen=True)
class ActionContext:
    """One step's surroundings: its transaction (``session``), the database (for reads
    outside it), the object store (forwarding copies files), the routing (a topic change
    resolves the route again), who acts and when."""

    db: Database
    session: AsyncSession
    staff: Staff
    now: datetime
    store: ObjectStore | None = None
    routing: RoutingSource | None = None


@dataclass
class Change:
    """What an action does to the message row besides its status."""

    columns: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    target: Status | None = None  # overrides the transition's (a topic change: forwarded)
    citizen_details: dict[str, Any] = field(default_factory=dict)
    # What follows once the step is recorded (approving answers the merged duplicates too).
    then: Callable[[], Awaitable[None]] | None = None


class StaleMessage(Conflict):
    """Someone else acted first: the message changed since the version the caller saw."""
