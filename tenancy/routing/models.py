"""Shared reference data: territories, the versioned topic catalog, the routing rules, and the
regions each regional operator may change. No ``tenant_id``: every tenant reads the same rows
(``routing_rules.responsible_tenant_id`` names who must answer, not an owner)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel

# The tables these rows reference: the ORM orders a flush by them, so they must be loaded.
import rbac.models  # noqa: F401
import tenancy.tenants.models  # noqa: F401


class Territory(SQLModel, table=True):
    __tablename__ = "territories"
    __table_args__ = (Index("ix_territories_parent", "parent_code"),)

    code: str = Field(sa_column=Column(Text, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    parent_code: str | None = Field(
        default=None, sa_column=Column(Text, ForeignKey("territories.code"))
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class CatalogVersion(SQLModel, table=True):
    """One draft and one published version at most; superseded ones stay, since a message
    keeps the version it was filed under."""

    __tablename__ = "catalog_versions"
    __table_args__ = (
        Index(
            "ux_catalog_versions_current",
            "status",
            unique=True,
            postgresql_where=text("status IN ('draft', 'published')"),
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(Integer, Identity(always=True), primary_key=True)
    )
    status: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    published_by: str | None = Field(default=None, sa_column=Column(Text))


class CatalogCategory(SQLModel, table=True):
    __tablename__ = "catalog_categories"

    version_id: int = Field(
        sa_column=Column(Integer, ForeignKey("catalog_versions.id"), primary_key=True)
    )
    code: str = Field(sa_column=Column(Text, primary_key=True))
    parent_code: str | None = Field(default=None, sa_column=Column(Text))
    title: str = Field(sa_column=Column(Text, nullable=False))


class CatalogTopic(SQLModel, table=True):
    __tablename__ = "catalog_topics"

    version_id: int = Field(
        sa_column=Column(Integer, ForeignKey("catalog_versions.id"), primary_key=True)
    )
    code: str = Field(sa_column=Column(Text, primary_key=True))
    category_code: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    keywords: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'")),
    )
    deadline_days: int = Field(sa_column=Column(Integer, nullable=False))
    calendar: str = Field(sa_column=Column(Text, nullable=False))
    moderation_days: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    registration_days: int = Field(
        default=3, sa_column=Column(Integer, nullable=False, server_default=text("3"))
    )
    photo_required: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    address_required: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    fields: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    region_code: str | None = Field(
        default=None, sa_column=Column(Text, ForeignKey("territories.code"))
    )
    # Each save of a draft topic counts up: the second of two operators editing it is told.
    revision: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )


class RoutingRule(SQLModel, table=True):
    __tablename__ = "routing_rules"
    __table_args__ = (
        Index("ix_routing_rules_place", "territory_code", "topic"),
        Index("ix_routing_rules_tenant", "responsible_tenant_id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    topic: str = Field(sa_column=Column(Text, nullable=False))
    territory_code: str = Field(
        sa_column=Column(Text, ForeignKey("territories.code"), nullable=False)
    )
    responsible_tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), nullable=False)
    )
    priority: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    valid_from: date | None = Field(default=None, sa_column=Column(Date))
    valid_to: date | None = Field(default=None, sa_column=Column(Date))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    created_by: str = Field(sa_column=Column(Text, nullable=False))


class OperatorRegion(SQLModel, table=True):
    """A regional operator's reach is data, not policy: the enforcer answers "may edit
    routing", the routing service narrows it to these regions. Deleting the platform grant
    deletes its regions."""

    __tablename__ = "operator_regions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["user_id", "role"],
            ["platform_grants.user_id", "platform_grants.role"],
            ondelete="CASCADE",
        ),
    )

    user_id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    role: str = Field(
        default="regional_operator",
        sa_column=Column(Text, nullable=False, server_default=text("'regional_operator'")),
    )
    region_code: str = Field(
        sa_column=Column(Text, ForeignKey("territories.code"), primary_key=True)
    )
    granted_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    granted_by: str = Field(sa_column=Column(Text, nullable=False))
