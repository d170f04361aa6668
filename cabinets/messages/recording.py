"""How a step is written: the message row's new state, its history event and the notices
to the outbox, in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.workflow import (
    Actor,
    Status,
    Transition,
)
from cabinets.notifications.outbox import write_notices
from tenancy.database import Transaction


@dataclass
class Notice:
    """A notification to write to the outbox with the event: to the citizen's e-mail when
    they gave one, and to the tenant's webhooks subscribed to its kind."""

    kind: str
    recipient: str | None
    payload: dict[str, Any] = field(default_factory=dict)


def citizen_notice(
    applicant: Mapping[str, Any],
    transition: Transition,
    number: str,
    organization: str | None,
    details: dict[str, Any],
) -> list[Notice]:
    email = applicant.get("email")
    if not transition.public:
        return []
    return [
        Notice(
            kind=f"message.{transition.action}",
            recipient=f"mailto:{email}" if email else None,
            payload={
                "number": number,
                "title": transition.title,
                "organization": organization,
                **details,
            },
        )
    ]


_EVENT = text(
    """
    INSERT INTO message_events (tenant_id, message_id, occurred_at, kind, actor_kind, actor_id,
        actor_name, actor_position, from_status, to_status, reason, payload, public)
    VALUES (:t, :m, :now, :kind, :actor_kind, :actor_id, :actor_name, :position, :from, :to,
        :reason, CAST(:payload AS jsonb), :public)
    """
)


async def record_event(
    tx: Transaction,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    transition: Transition,
    from_status: Status | None,
    to_status: Status,
    reason: str | None,
    payload: dict[str, Any],
    notices: list[Notice],
    *,
    actor_kind: Actor,
    actor_id: uuid.UUID | None = None,
    actor_name: str | None = None,
    actor_position: str | None = None,
    now: datetime,
) -> None:
    """The history event and its outbox rows, in the caller's transaction."""
    await tx.execute(
        _EVENT,
        {
            "t": tenant_id,
            "m": message_id,
            "now": now,
            "kind": transition.action,
            "actor_kind": actor_kind.value,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "position": actor_position,
            "from": from_status,
            "to": to_status,
            "reason": reason,
            "payload": json.dumps(payload, default=str),
            "public": transition.public,
        },
    )
    # One event per kind, however many people are mailed about it: webhooks get it once.
    by_kind: dict[str, list[Notice]] = {}
    for notice in notices:
        by_kind.setdefault(notice.kind, []).append(notice)
    for kind, same in by_kind.items():
        await write_notices(
            tx,
            tenant_id,
            message_id,
            kind,
            same[0].payload,
            [n.recipient for n in same if n.recipient],
            now=now,
        )


async def apply_change(
    session: AsyncSession, row: Row[Any], target: Status, columns: dict[str, Any], now: datetime
) -> None:
    assignments = "".join(f", {name} = :{name}" for name in columns)
    await session.execute(
        text(
            f"UPDATE messages SET status = :status, version = version + 1, updated_at = :now"
            f"{assignments} WHERE tenant_id = :t AND id = :id"
        ),
        {"status": target.value, "now": now, "t": row.tenant_id, "id": row.id, **columns},
    )
