"""A supervisor's roll-up: the inbox's counts of every tenant below, a few hundred tenants
per transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from cabinets.messages.actors import Staff
from cabinets.messages.inbox.counts import count_tenants, empty_counts
from cabinets.messages.inbox.schemas import (
    Counts,
    Rollup,
    RollupTenant,
)
from cabinets.messages.oversight import readable_subtree
from tenancy.database import Database
from tenancy.errors import Forbidden

# Tenants counted per transaction in a roll-up. Row-level security parses the transaction's
# tenant list wherever it checks a row's tenant (once per index scan, but once per row in a
# plan that filters), so a supervisor of thousands is counted a few hundred at a time.
ROLLUP_CHUNK = 250


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
    visible = await readable_subtree(db, staff, tenant_id)
    if not visible or visible[0].id != tenant_id:
        raise Forbidden("the roll-up needs the permission report:read")
    ids = [t.id for t in visible]
    counts: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), ROLLUP_CHUNK):
        chunk = ids[start : start + ROLLUP_CHUNK]
        # Scoped to exactly these tenants: row-level security still bounds what is counted.
        async with db.read_session(chunk) as session:
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
