"""What each organization holds, for the platform admin's tree: its staff, the messages in
its work and in all, and the routing rules that send messages to it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from tenancy.database import Database


@dataclass(frozen=True)
class TenantCounts:
    staff: int
    open_messages: int
    messages: int
    rules: int


_COUNTS = text(
    """
    SELECT t.slug,
           (SELECT count(DISTINCT g.user_id) FROM staff_grants g WHERE g.tenant_id = t.id)
               AS staff,
           coalesce(m.open, 0) AS open_messages, coalesce(m.total, 0) AS messages,
           (SELECT count(*) FROM routing_rules r WHERE r.responsible_tenant_id = t.id) AS rules
    FROM tenants t
    LEFT JOIN (
        SELECT tenant_id, count(*) AS total,
               count(*) FILTER (WHERE status NOT IN
                   ('answered', 'closed', 'rejected', 'forwarded', 'merged')) AS open
        FROM messages GROUP BY tenant_id
    ) m ON m.tenant_id = t.id
    """
)


async def tenant_counts(db: Database) -> dict[str, TenantCounts]:
    """By slug; every tenant's messages are counted, so this reads past row-level security
    (platform admins only)."""
    async with db.privileged_session() as session:
        rows = await session.execute(_COUNTS)
        return {r.slug: TenantCounts(r.staff, r.open_messages, r.messages, r.rules) for r in rows}
