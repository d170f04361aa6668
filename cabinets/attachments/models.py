"""The attachment rows: a citizen's photos (uploaded before the message is sent, so pending
until the message takes them) and staff's answer documents. The objects themselves live in
the store, under the tenant's prefix."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel

# The tables these rows reference: the ORM orders a flush by them, so they must be loaded.
import cabinets.messages.models  # noqa: F401


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "object_key", name="attachments_tenant_id_object_key_key"),
        ForeignKeyConstraint(["tenant_id", "message_id"], ["messages.tenant_id", "messages.id"]),
        Index(
            "attachments_message",
            "tenant_id",
            "message_id",
            postgresql_where=text("message_id IS NOT NULL"),
        ),
        Index(
            "attachments_unattached", "created_at", postgresql_where=text("status <> 'attached'")
        ),
    )

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    message_id: uuid.UUID | None = Field(default=None, sa_column=Column(PgUUID(as_uuid=True)))
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    object_key: str = Field(sa_column=Column(Text, nullable=False))
    filename: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = Field(sa_column=Column(Text, nullable=False))
    size: int | None = Field(default=None, sa_column=Column(BigInteger))
    declared_size: int | None = Field(default=None, sa_column=Column(BigInteger))
    sha256: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    secret_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    uploaded_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    attached_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
