"""The inbox's counts — per status, overdue, due soon, reopened — for one tenant as a person
sees it. Each count reads an index alone (migrations 0008 and 0010)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.actors import Staff
from cabinets.messages.inbox.conditions import (
    DEADLINE,
    ON_CLOCK,
    REOPENED,
    own_only,
)
from cabinets.messages.inbox.schemas import (
    InboxCounts,
)
from cabinets.messages.workflow import Status
from tenancy.database import Database


def _counts_sql(*, own: bool) -> str:
    """Per tenant: messages per status (``messages_inbox``), overdue and due soon
    (``messages_deadline``) and reopened (``messages_reopened``), all from indexes alone."""
    mine = " AND m.assignee_id = :viewer" if own else ""
    return f"""
        SELECT m.tenant_id, m.status AS bucket, count(*) AS n
        FROM messages m WHERE m.tenant_id = ANY(:tenants){mine}
        GROUP BY m.tenant_id, m.status
        UNION ALL
        SELECT m.tenant_id,
               CASE WHEN {DEADLINE} < :now THEN 'overdue' ELSE 'due_soon' END, count(*)
        FROM messages m
        WHERE m.tenant_id = ANY(:tenants) AND {ON_CLOCK} AND {DEADLINE} <= :soon{mine}
        GROUP BY 1, 2
        UNION ALL
        SELECT m.tenant_id, 'reopened', count(*)
        FROM messages m WHERE m.tenant_id = ANY(:tenants) AND {REOPENED}{mine}
        GROUP BY 1
    """


def empty_counts() -> dict[str, Any]:
    return {
        "statuses": dict.fromkeys(Status, 0),
        "total": 0,
        "overdue": 0,
        "due_soon": 0,
        "reopened": 0,
    }


async def count_tenants(
    session: AsyncSession,
    tenant_ids: list[uuid.UUID],
    now: datetime,
    *,
    viewer: uuid.UUID | None = None,
) -> dict[uuid.UUID, dict[str, Any]]:
    params: dict[str, Any] = {"tenants": tenant_ids, "now": now, "soon": now + sla.DUE_SOON}
    if viewer is not None:
        params["viewer"] = viewer
    found = {t: empty_counts() for t in tenant_ids}
    result = await session.execute(text(_counts_sql(own=viewer is not None)), params)
    for tenant_id, bucket, n in result:
        counts = found[tenant_id]
        if bucket in ("overdue", "due_soon", "reopened"):
            counts[bucket] = n
        else:
            counts["statuses"][Status(bucket)] = n
            counts["total"] += n
    return found


async def count_messages(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> InboxCounts:
    """The tenant's messages counted per status and deadline, as ``staff`` may see them."""
    now = now or datetime.now(UTC)
    own = own_only(staff, tenant_id)
    async with db.read_session([tenant_id]) as session:
        slug = (
            await session.execute(text("SELECT slug FROM tenants WHERE id = :t"), {"t": tenant_id})
        ).scalar_one()
        counts = await count_tenants(
            session, [tenant_id], now, viewer=staff.user_id if own else None
        )
    return InboxCounts(tenant=slug, own_only=own, **counts[tenant_id])
