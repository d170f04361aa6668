"""What an action on a message may be given: the people who may prepare its answer, the
messages it likely duplicates, the organizations it may be forwarded to. The pickers of the
card offer these; the actions themselves check again what they are given."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.workflow import Status
from rbac.enforcer import PolicyEnforcer

DUPLICATE_WINDOW = timedelta(days=30)
# What a message may be merged into: one still in work (the merge action's own rule).
PRIMARY_STATUSES = (Status.NEW, Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL)
PICKER_LIMIT = 20


@dataclass(frozen=True)
class Assignee:
    id: uuid.UUID
    email: str
    name: str
    position: str | None


@dataclass(frozen=True)
class Duplicate:
    id: uuid.UUID
    number: str
    registration_number: str | None
    summary: str
    address: str | None
    status: Status
    received_at: datetime


@dataclass(frozen=True)
class Organization:
    slug: str
    name: str


_STAFF_HERE = text(
    """
    SELECT DISTINCT u.id, u.email, u.name, u.position FROM staff_grants g
    JOIN users u ON u.id = g.user_id AND u.status = 'active'
    WHERE g.tenant_id = :t ORDER BY u.name, u.email
    """
)


async def assignees(
    session: AsyncSession, policy: PolicyEnforcer, tenant_id: uuid.UUID
) -> list[Assignee]:
    """The active staff of the tenant who may prepare answers here, as the live policy says
    (``answer:draft`` on a message assigned to them: what assigning checks)."""
    rows = await session.execute(_STAFF_HERE, {"t": tenant_id})
    return [
        Assignee(row.id, row.email, row.name, row.position)
        for row in rows
        if policy.allowed(str(row.id), str(tenant_id), "answer:draft", assigned=True)
    ]


_STATUSES = ", ".join(f"'{s.value}'" for s in PRIMARY_STATUSES)
_DUPLICATES = text(
    f"""
    SELECT id, tracking_number, registration_number, summary, address, status, received_at
    FROM messages
    WHERE tenant_id = :t AND topic_code = :topic AND territory_code = :territory
      AND id <> :id AND received_at > :since AND status IN ({_STATUSES})
    ORDER BY received_at DESC LIMIT {PICKER_LIMIT}
    """
)


async def likely_duplicates(session: AsyncSession, message: Any, now: datetime) -> list[Duplicate]:
    """Messages of the same tenant about the same topic at the same place from the last 30
    days that are still in work (what ``message`` may be merged into), newest first."""
    rows = await session.execute(
        _DUPLICATES,
        {
            "t": message.tenant_id,
            "topic": message.topic_code,
            "territory": message.territory_code,
            "id": message.id,
            "since": now - DUPLICATE_WINDOW,
        },
    )
    return [
        Duplicate(
            r.id,
            r.tracking_number,
            r.registration_number,
            r.summary,
            r.address,
            Status(r.status),
            r.received_at,
        )
        for r in rows
    ]


_ORGANIZATIONS = text(
    f"""
    SELECT slug, name FROM tenants
    WHERE status = 'active' AND id <> :t
      AND (name ILIKE :pattern ESCAPE '\\' OR slug ILIKE :pattern ESCAPE '\\')
    ORDER BY name, slug LIMIT {PICKER_LIMIT}
    """
)


def _pattern(words: str) -> str:
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def forward_targets(
    session: AsyncSession, tenant_id: uuid.UUID, words: str
) -> list[Organization]:
    """Active organizations other than ``tenant_id`` whose name or slug holds ``words``."""
    if not words.strip():
        return []
    rows = await session.execute(
        _ORGANIZATIONS, {"t": tenant_id, "pattern": _pattern(words.strip())}
    )
    return [Organization(r.slug, r.name) for r in rows]
