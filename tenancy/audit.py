"""The audit log: an append-only, tenant-owned record of who changed what.

The app role may insert and read its own tenants' entries but never update or delete them.
Changes that belong to no tenant (users, platform roles) go to ``platform_audit_log``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    tenant_id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    occurred_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    object_type: str = Field(sa_column=Column(Text, nullable=False))
    object_id: str = Field(sa_column=Column(Text, nullable=False))
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(Text))


class PlatformAuditEntry(SQLModel, table=True):
    __tablename__ = "platform_audit_log"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    occurred_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    object_type: str = Field(sa_column=Column(Text, nullable=False))
    object_id: str = Field(sa_column=Column(Text, nullable=False))
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(Text))


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
