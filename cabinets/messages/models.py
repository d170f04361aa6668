"""The tables of messages: the message in its responsible tenant, its append-only history, the
per-tenant registration numbers and answer templates (all tenant-owned), and the shared ones
intake needs before a tenant is known: the public tracking numbers, the operator's queue of
messages nobody is responsible for, retried submissions and the intake rate limits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel

# The tables these rows reference: the ORM orders a flush by them, so they must be loaded.
import rbac.models  # noqa: F401
import tenancy.routing.models
import tenancy.tenants.models  # noqa: F401

# The public numbers' counter (``message_tracking.number`` is made from it).
TRACKING_NUMBERS = Sequence("tracking_numbers", metadata=SQLModel.metadata)

_IN_WORK = "status IN ('registered', 'assigned', 'on_approval')"
# The running deadline, as the inbox queries write it
# (``cabinets.messages.inbox.conditions.DEADLINE``): CASE rather than coalesce(), which
# row-level security would not let into an index condition.
# Set out on lines as PostgreSQL writes it back: Alembic compares index expressions as text,
# ignoring spaces but not line breaks.
_DEADLINE = """(
CASE
    WHEN due_at IS NULL THEN stage_due_at
    ELSE due_at
END)"""


def _now() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _tenant() -> Column[uuid.UUID]:
    return Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "registration_number",
            name="messages_tenant_id_registration_number_key",
        ),
        Index("messages_inbox", "tenant_id", "status", text("received_at DESC"), text("id DESC")),
        Index("messages_recent", "tenant_id", text("received_at DESC"), text("id DESC")),
        # A citizen confirming their address claims what they wrote before, in any tenant.
        Index(
            "messages_applicant_email",
            text("lower(applicant ->> 'email')"),
            postgresql_where=text("citizen_id IS NULL"),
        ),
        Index(
            "messages_assignee",
            "tenant_id",
            "assignee_id",
            "status",
            postgresql_where=text("assignee_id IS NOT NULL"),
        ),
        Index("messages_due", "tenant_id", "due_at", postgresql_where=text(_IN_WORK)),
        Index("messages_citizen", "citizen_id", postgresql_where=text("citizen_id IS NOT NULL")),
        Index(
            "messages_deadline",
            "tenant_id",
            text(_DEADLINE),
            "id",
            postgresql_include=["due_at", "stage_due_at"],
            postgresql_where=text("status IN ('new', 'registered', 'assigned', 'on_approval')"),
        ),
        Index(
            "messages_reopened",
            "tenant_id",
            text("received_at DESC"),
            text("id DESC"),
            postgresql_where=text(f"reopened_count > 0 AND {_IN_WORK}"),
        ),
        Index("messages_tracking", "tenant_id", "tracking_number"),
        Index("messages_updated", "tenant_id", "updated_at", "id"),
        # btree_gin puts the tenant into the search index, so one scan narrows both.
        Index("messages_search", "tenant_id", "search", postgresql_using="gin"),
    )

    tenant_id: uuid.UUID = Field(sa_column=_tenant())
    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    tracking_number: str = Field(sa_column=Column(Text, nullable=False))
    topic_code: str = Field(sa_column=Column(Text, nullable=False))
    catalog_version_id: int = Field(
        sa_column=Column(Integer, ForeignKey("catalog_versions.id"), nullable=False)
    )
    territory_code: str = Field(
        sa_column=Column(Text, ForeignKey("territories.code"), nullable=False)
    )
    address: str | None = Field(default=None, sa_column=Column(Text))
    latitude: float | None = Field(default=None, sa_column=Column(Double))
    longitude: float | None = Field(default=None, sa_column=Column(Double))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    fields: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    applicant: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    citizen_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"))
    )
    consent_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    received_at: datetime | None = Field(default=None, sa_column=_now())
    stage_due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    registration_number: str | None = Field(default=None, sa_column=Column(Text))
    registered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    assignee_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"))
    )
    due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    extensions: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    reopened_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    answer_body: str | None = Field(default=None, sa_column=Column(Text))
    answer_author_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"))
    )
    answered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    rating: int | None = Field(default=None, sa_column=Column(SmallInteger))
    rating_comment: str | None = Field(default=None, sa_column=Column(Text))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    forwarded_from_tenant_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True))
    )
    forwarded_from_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True))
    )
    forwarded_to_tenant_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"))
    )
    merged_into_id: uuid.UUID | None = Field(default=None, sa_column=Column(PgUUID(as_uuid=True)))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime | None = Field(default=None, sa_column=_now())
    search: str | None = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed(
                "setweight(to_tsvector('russian', summary), 'A') || "
                "setweight(to_tsvector('russian', body), 'B')",
                persisted=True,
            ),
        ),
    )


class MessageEvent(SQLModel, table=True):
    """History is append-only: the app role may add events, never change them."""

    __tablename__ = "message_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "message_id"], ["messages.tenant_id", "messages.id"]),
        Index("message_events_message", "tenant_id", "message_id", "id"),
    )

    tenant_id: uuid.UUID = Field(sa_column=_tenant())
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    message_id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), nullable=False))
    occurred_at: datetime | None = Field(default=None, sa_column=_now())
    kind: str = Field(sa_column=Column(Text, nullable=False))
    actor_kind: str = Field(sa_column=Column(Text, nullable=False))
    actor_id: uuid.UUID | None = Field(default=None, sa_column=Column(PgUUID(as_uuid=True)))
    actor_name: str | None = Field(default=None, sa_column=Column(Text))
    actor_position: str | None = Field(default=None, sa_column=Column(Text))
    from_status: str | None = Field(default=None, sa_column=Column(Text))
    to_status: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    payload: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    public: bool = Field(sa_column=Column(Boolean, nullable=False))


class RegistrationCounter(SQLModel, table=True):
    __tablename__ = "registration_counters"

    tenant_id: uuid.UUID = Field(sa_column=_tenant())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    last_number: int = Field(sa_column=Column(Integer, nullable=False))


class AnswerTemplate(SQLModel, table=True):
    """Per tenant, and optionally per topic, with placeholders."""

    __tablename__ = "answer_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "title", name="answer_templates_tenant_id_title_key"),
    )

    tenant_id: uuid.UUID = Field(sa_column=_tenant())
    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    topic_code: str | None = Field(default=None, sa_column=Column(Text))
    title: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=_now())


class MessageTracking(SQLModel, table=True):
    """The public number a citizen follows, wherever the message now lives: forwarding moves
    the holder to the receiving tenant's copy. The token's secret is kept as a hash."""

    __tablename__ = "message_tracking"
    __table_args__ = (
        Index(
            "message_tracking_citizen",
            "citizen_id",
            postgresql_where=text("citizen_id IS NOT NULL"),
        ),
    )

    number: str = Field(sa_column=Column(Text, primary_key=True))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    holder_tenant_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"))
    )
    holder_message_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True))
    )
    citizen_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"))
    )
    created_at: datetime | None = Field(default=None, sa_column=_now())
    # Set when the message was destroyed at the end of its retention period: the number then
    # answers "destroyed on" instead of "not found".
    destroyed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class OperatorQueueEntry(SQLModel, table=True):
    """A message no tenant is responsible for, kept whole for the operator: never lost."""

    __tablename__ = "operator_queue"
    __table_args__ = (
        Index(
            "operator_queue_waiting", "received_at", postgresql_where=text("dispatched_at IS NULL")
        ),
    )

    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    tracking_number: str = Field(
        sa_column=Column(Text, ForeignKey("message_tracking.number"), nullable=False)
    )
    received_at: datetime | None = Field(default=None, sa_column=_now())
    topic_code: str = Field(sa_column=Column(Text, nullable=False))
    territory_code: str = Field(sa_column=Column(Text, nullable=False))
    submission: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    dispatched_to: uuid.UUID | None = Field(
        default=None, sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"))
    )


class IntakeRequest(SQLModel, table=True):
    """A retried submission returns the first result."""

    __tablename__ = "intake_requests"

    idempotency_key: str = Field(sa_column=Column(Text, primary_key=True))
    request_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tracking_number: str = Field(sa_column=Column(Text, nullable=False))
    response: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now())


class IntakeAttempt(SQLModel, table=True):
    """Intake rate limits, per address and per applicant, counted over a sliding hour."""

    __tablename__ = "intake_attempts"
    __table_args__ = (
        Index("intake_attempts_key", "scope", "key", "at"),
        Index("intake_attempts_at", "at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    scope: str = Field(sa_column=Column(Text, nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = Field(default=None, sa_column=_now())
