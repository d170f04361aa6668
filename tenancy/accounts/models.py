"""Tables of citizens' accounts: the profile their forms are filled from, the notifications
they choose (by address, so that a person without an account unsubscribes too), and the record
of a withdrawn consent, kept after the account closes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Integer, Text, func
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel


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
