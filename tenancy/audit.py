"""The audit log: an append-only, tenant-owned record of who changed what.

The app role may insert and read its own tenants' entries but never update or delete them.
Changes that belong to no tenant (users, platform roles) go to ``platform_audit_log``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.models import AuditEntry, PlatformAuditEntry


def record_audit(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    changes: dict[str, Any] | None = None,
    source: str | None = None,
) -> None:
    """Add an audit entry to the caller's transaction (it commits or rolls back with it);
    ``tenant_id=None`` for a change that belongs to no tenant."""
    fields: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "changes": changes or {},
        "source": source,
    }
    if tenant_id is None:
        session.add(PlatformAuditEntry(**fields))
    else:
        session.add(AuditEntry(tenant_id=tenant_id, **fields))
