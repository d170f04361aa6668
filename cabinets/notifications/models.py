"""The notification tables: the outbox (e-mail and webhook deliveries, written in the message's
transaction, delivered by the worker) and each tenant's webhook subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
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
import tenancy.tenants.models  # noqa: F401


def _tenant() -> Column[uuid.UUID]:
    return Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)


class OutboxRow(SQLModel, table=True):
    """A webhook row names its subscription, whose current URL and secret deliver it; a worker
    that claims a row leases it until ``delivering_until``."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "outbox_due",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
        Index(
            "outbox_dead",
            "tenant_id",
            text("dead_at DESC"),
            postgresql_where=text("dead_at IS NOT NULL"),
        ),
        Index(
            "outbox_delivered", "delivered_at", postgresql_where=text("delivered_at IS NOT NULL")
        ),
    )

    tenant_id: uuid.UUID = Field(sa_column=_tenant())
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    event_id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    kind: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))
    recipient: str = Field(sa_column=Column(Text, nullable=False))
    message_id: uuid.UUID | None = Field(default=None, sa_column=Column(PgUUID(as_uuid=True)))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    next_attempt_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    dead_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    subscription_id: uuid.UUID | None = Field(default=None, sa_column=Column(PgUUID(as_uuid=True)))
    delivering_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )


class WebhookSubscription(SQLModel, table=True):
    """The secret is the HMAC key deliveries are signed with, so it is kept as given (a hash
    could not sign); the app role cannot read it, only the worker on the owner connection."""

    __tablename__ = "webhook_subscriptions"

    tenant_id: uuid.UUID = Field(sa_column=_tenant())
    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    events: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    created_by: str = Field(sa_column=Column(Text, nullable=False))
