"""The inbox's counts — per status, overdue, due soon, reopened — for one tenant as a person
sees it, and a supervisor's roll-up of them over the tenants below. Each count reads an index
alone (migrations 0008 and 0010), and a roll-up counts a few hundred tenants per transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.inbox import (
    DEADLINE,
    ON_CLOCK,
    REOPENED,
    Counts,
    InboxCounts,
    Rollup,
    RollupTenant,
    now_utc,
    own_only,
)
from cabinets.messages.service import Staff
from cabinets.messages.workflow import Status
from tenancy.database import Database
from tenancy.errors import Forbidden

# Tenants counted per transaction in a roll-up. Row-level security parses the transaction's
# tenant list wherever it checks a row's tenant (once per index scan, but once per row in a
# plan that filters), so a supervisor of thousands is counted a few hundred at a time.
ROLLUP_CHUNK = 250


# --- counts ----------------------------------------------------------------------------------


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


def _empty_counts() -> dict[str, Any]:
    return {
        "statuses": dict.fromkeys(Status, 0),
        "total": 0,
        "overdue": 0,
        "due_soon": 0,
        "reopened": 0,
    }


async def _count(
    session: AsyncSession,
    tenant_ids: list[uuid.UUID],
    now: datetime,
    *,
    viewer: uuid.UUID | None = None,
) -> dict[uuid.UUID, dict[str, Any]]:
    params: dict[str, Any] = {"tenants": tenant_ids, "now": now, "soon": now + sla.DUE_SOON}
    if viewer is not None:
        params["viewer"] = viewer
    found = {t: _empty_counts() for t in tenant_ids}
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
    now = now or now_utc()
    own = own_only(staff, tenant_id)
    async with db.read_session([tenant_id]) as session:
        slug = (
            await session.execute(text("SELECT slug FROM tenants WHERE id = :t"), {"t": tenant_id})
        ).scalar_one()
        counts = await _count(session, [tenant_id], now, viewer=staff.user_id if own else None)
    return InboxCounts(tenant=slug, own_only=own, **counts[tenant_id])


# --- the roll-up -----------------------------------------------------------------------------

_SUBTREE = text(
    """
    WITH RECURSIVE down AS (
        SELECT id, slug, name, parent_id, 0 AS depth, ARRAY[slug] AS path
        FROM tenants WHERE id = :root
        UNION ALL
        SELECT t.id, t.slug, t.name, t.parent_id, d.depth + 1, d.path || t.slug
        FROM tenants t JOIN down d ON t.parent_id = d.id
        WHERE d.depth < 1000
    )
    SELECT d.id, d.slug, d.name, p.slug AS parent, d.depth
    FROM down d LEFT JOIN tenants p ON p.id = d.parent_id AND d.depth > 0
    ORDER BY d.path
    """
)


async def rollup(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> Rollup:
    """A supervisor's view: each tenant of the subtree under ``tenant_id`` (itself included)
    whose reports ``staff`` may read, with its counts, and the totals over them."""
    now = now or now_utc()
    async with db.read_session(()) as session:
        subtree = list(await session.execute(_SUBTREE, {"root": tenant_id}))
    visible = [t for t in subtree if staff.may(t.id, "report:read", assigned=False)]
    if not visible or visible[0].id != tenant_id:
        raise Forbidden("the roll-up needs the permission report:read")
    ids = [t.id for t in visible]
    counts: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), ROLLUP_CHUNK):
        chunk = ids[start : start + ROLLUP_CHUNK]
        # Scoped to exactly these tenants: row-level security still bounds what is counted.
        async with db.read_session(chunk) as session:
            counts |= await _count(session, chunk, now)
    totals = _empty_counts()
    for tenant_counts in counts.values():
        for status, n in tenant_counts["statuses"].items():
            totals["statuses"][status] += n
        for key in ("total", "overdue", "due_soon", "reopened"):
            totals[key] += tenant_counts[key]
    return Rollup(
        root=visible[0].slug,
        at=now,
        tenants=[
            RollupTenant(tenant=t.slug, name=t.name, parent=t.parent, depth=t.depth, **counts[t.id])
            for t in visible
        ],
        totals=Counts(**totals),
    )
