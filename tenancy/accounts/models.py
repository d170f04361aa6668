"""What people's accounts keep beyond ``users``: their identities at OpenID providers, the
letters about their accounts (a reset link, an invitation, a confirmation) waiting for the
worker, a citizen's profile their forms are filled from, the notifications they choose (by
address, so that a person without an account unsubscribes too), and the record of a withdrawn
consent, kept after the account closes. None belongs to a tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
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


class NotificationChoice(StrEnum):
    EVERY_STAGE = "every_stage"
    ANSWERS = "answers"  # the answer and requests for clarification
    NONE = "none"


class Channel(StrEnum):
    EMAIL = "email"  # the only channel today; the table leaves room for others


def _timestamp() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CitizenProfile(SQLModel, table=True):
    __tablename__ = "citizen_profiles"

    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), primary_key=True)
    )
    applicant_kind: str = Field(
        default="individual", sa_column=Column(Text, nullable=False, server_default="individual")
    )
    phone: str | None = Field(default=None, sa_column=Column(Text))
    postal_address: str | None = Field(default=None, sa_column=Column(Text))
    organization: str | None = Field(default=None, sa_column=Column(Text))
    inn: str | None = Field(default=None, sa_column=Column(Text))
    ogrn: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime | None = Field(default=None, sa_column=_timestamp())


class NotificationSetting(SQLModel, table=True):
    __tablename__ = "notification_choices"

    address: str = Field(sa_column=Column(Text, primary_key=True))
    channel: str = Field(sa_column=Column(Text, primary_key=True))
    choice: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=_timestamp())


class ConsentWithdrawal(SQLModel, table=True):
    __tablename__ = "consent_withdrawals"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    )
    email: str = Field(sa_column=Column(Text, nullable=False))
    withdrawn_at: datetime | None = Field(default=None, sa_column=_timestamp())
    open_messages: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    ip: str | None = Field(default=None, sa_column=Column(Text))
