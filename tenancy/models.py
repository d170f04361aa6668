"""The audit log's tables: ``audit_log`` (tenant-owned, append-only for the app role) and
``platform_audit_log`` (changes that belong to no tenant: users, platform roles)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel

# The tables these rows reference: the ORM orders a flush by them, so they must be loaded.
import tenancy.tenants.models  # noqa: F401


class _AuditFields(SQLModel):
    """What both logs record. (Fields, not shared Columns: each table gets its own.)"""

    occurred_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"server_default": func.now()},
    )
    actor: str = Field(sa_type=Text)
    action: str = Field(sa_type=Text)
    object_type: str = Field(sa_type=Text)
    object_id: str = Field(sa_type=Text)
    changes: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=JSONB,
        sa_column_kwargs={"server_default": text("'{}'::jsonb")},
    )
    source: str | None = Field(default=None, sa_type=Text)


class AuditEntry(_AuditFields, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_time", "tenant_id", text("occurred_at DESC")),)

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )


class PlatformAuditEntry(_AuditFields, table=True):
    __tablename__ = "platform_audit_log"
    __table_args__ = (Index("ix_platform_audit_log_time", text("occurred_at DESC")),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
