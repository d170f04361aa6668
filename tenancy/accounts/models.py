"""What people's accounts keep beyond ``users``: their identities at OpenID providers, and the
letters about their accounts (a reset link, an invitation) waiting for the worker. Neither
belongs to a tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
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
import rbac.models  # noqa: F401


class UserIdentity(SQLModel, table=True):
    __tablename__ = "user_identities"
    __table_args__ = (Index("user_identities_user", "user_id"),)

    issuer: str = Field(sa_column=Column(Text, primary_key=True))
    subject: str = Field(sa_column=Column(Text, primary_key=True))
    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    )
    email: str | None = Field(default=None, sa_column=Column(Text))
    linked_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    last_sign_in_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class AccountMail(SQLModel, table=True):
    """Delivered like the message outbox; the payload carries a live link, so the app role may
    write a letter but never read one back."""

    __tablename__ = "account_mail"
    __table_args__ = (
        Index(
            "account_mail_due",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    event_id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    kind: str = Field(sa_column=Column(Text, nullable=False))
    recipient: str = Field(sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    next_attempt_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    delivering_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    dead_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
