"""Tables of identities and the policy store.

``users`` are global identities: one person may serve several tenants with different roles.
``staff_grants`` are the casbin ``g`` rules of tenant roles, one row per (tenant, user, role);
``platform_grants`` those of the platform roles; ``custom_roles`` the roles a cabinet
administrator defines for their tenant from registry permissions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ARRAY, Column, DateTime, ForeignKey, Text, func
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel


class UserStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # keeps history, holds no permission


def _timestamp() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=UserStatus.ACTIVE.value, sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: datetime | None = Field(default=None, sa_column=_timestamp())


class StaffGrant(SQLModel, table=True):
    __tablename__ = "staff_grants"

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), primary_key=True)
    )
    role: str = Field(sa_column=Column(Text, primary_key=True))
    granted_at: datetime | None = Field(default=None, sa_column=_timestamp())
    granted_by: str = Field(sa_column=Column(Text, nullable=False))


class PlatformGrant(SQLModel, table=True):
    __tablename__ = "platform_grants"

    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), primary_key=True)
    )
    role: str = Field(sa_column=Column(Text, primary_key=True))
    granted_at: datetime | None = Field(default=None, sa_column=_timestamp())
    granted_by: str = Field(sa_column=Column(Text, nullable=False))


class CustomRole(SQLModel, table=True):
    __tablename__ = "custom_roles"

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    name: str = Field(sa_column=Column(Text, primary_key=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    permissions: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: datetime | None = Field(default=None, sa_column=_timestamp())
