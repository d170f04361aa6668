"""The tenant table. It is shared (no ``tenant_id``): its ``id`` *is* the tenant id."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel


class TenantKind(StrEnum):
    FEDERAL = "federal"
    REGION = "region"
    MINISTRY = "ministry"
    MUNICIPALITY = "municipality"
    SCHOOL = "school"
    CLINIC = "clinic"
    SOCIAL = "social"
    CULTURE = "culture"
    OTHER = "other"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # read-only for its staff, takes no new messages
    ARCHIVED = "archived"  # read-only and out of routing


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("slug", name="tenants_slug_key"),)

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=Column(PgUUID(as_uuid=True), primary_key=True)
    )
    slug: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    short_name: str | None = Field(default=None, sa_column=Column(Text))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    parent_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), index=True),
    )
    territory_code: str | None = Field(default=None, sa_column=Column(Text))
    inn: str = Field(sa_column=Column(Text, nullable=False))
    ogrn: str | None = Field(default=None, sa_column=Column(Text))
    timezone: str = Field(
        default="Europe/Moscow",
        sa_column=Column(Text, nullable=False, server_default=text("'Europe/Moscow'")),
    )
    status: str = Field(
        default=TenantStatus.ACTIVE.value,
        sa_column=Column(Text, nullable=False, server_default=text("'active'")),
    )
    # How long this organization keeps finished appeals before they are destroyed (59-ФЗ
    # practice: 5 years at least).
    retention_years: int = Field(
        default=5, sa_column=Column(Integer, nullable=False, server_default=text("5"))
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    # The federal production calendar; regions with their own holidays add a suffix.
    calendar: str = Field(
        default="ru", sa_column=Column(Text, nullable=False, server_default=text("'ru'"))
    )
    attachment_max_mb: int = Field(
        default=10, sa_column=Column(Integer, nullable=False, server_default=text("10"))
    )
    attachment_max_files: int = Field(
        default=5, sa_column=Column(Integer, nullable=False, server_default=text("5"))
    )
    # What citizens are told about reaching the organization (set in its cabinet's settings).
    contact_address: str | None = Field(default=None, sa_column=Column(Text))
    contact_phone: str | None = Field(default=None, sa_column=Column(Text))
    contact_email: str | None = Field(default=None, sa_column=Column(Text))
    contact_hours: str | None = Field(default=None, sa_column=Column(Text))
