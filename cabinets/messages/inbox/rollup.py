"""A supervisor's roll-up: the inbox's counts of every tenant below, a few hundred tenants
per transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from cabinets.messages.actors import Staff
from cabinets.messages.inbox.counts import count_tenants, empty_counts
from cabinets.messages.inbox.schemas import (
    Counts,
    Rollup,
    RollupTenant,
)
from tenancy.database import Database
from tenancy.errors import Forbidden

# Tenants counted per transaction in a roll-up. Row-level security parses the transaction's
# tenant list wherever it checks a row's tenant (once per index scan, but once per row in a
# plan that filters), so a supervisor of thousands is counted a few hundred at a time.
ROLLUP_CHUNK = 250


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
    now = now or datetime.now(UTC)
    async with db.public_session() as session:
        subtree = list(await session.execute(_SUBTREE, {"root": tenant_id}))
    visible = [t for t in subtree if staff.may(t.id, "report:read", assigned=False)]
    if not visible or visible[0].id != tenant_id:
        raise Forbidden("the roll-up needs the permission report:read")
    ids = [t.id for t in visible]
    counts: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), ROLLUP_CHUNK):
        chunk = ids[start : start + ROLLUP_CHUNK]
        # Scoped to exactly these tenants: row-level security still bounds what is counted.
        async with db.tenant_session(chunk) as session:
            counts |= await count_tenants(session, chunk, now)
    totals = empty_counts()
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
