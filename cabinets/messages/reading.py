"""Reading a message for staff: its row, the check that the reader may see it, its JSON
shape, and the topic it was filed under."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.actors import Staff
from cabinets.messages.schemas import (
    MessageRead,
)
from cabinets.messages.workflow import (
    Status,
)
from tenancy.database import Database
from tenancy.errors import (
    NotFound,
)

MESSAGE_COLUMNS = """
    m.tenant_id, m.id, m.tracking_number, m.status, m.version, m.topic_code, m.territory_code,
    m.address, m.latitude, m.longitude, m.summary, m.body, m.fields, m.applicant, m.citizen_id,
    m.received_at, m.stage_due_at, m.registration_number, m.registered_at, m.assignee_id,
    m.due_at, m.extensions, m.reopened_count, m.answer_body, m.answer_author_id, m.answered_at,
    m.rating, m.rating_comment, m.forwarded_to_tenant_id, m.merged_into_id,
    m.forwarded_from_tenant_id, m.forwarded_from_id, m.catalog_version_id,
    t.slug AS tenant_slug, t.name AS tenant_name, t.timezone, t.calendar,
    f.slug AS forwarded_to_slug
"""
MESSAGE_FROM = """
    FROM messages m JOIN tenants t ON t.id = m.tenant_id
    LEFT JOIN tenants f ON f.id = m.forwarded_to_tenant_id
"""


async def load_message(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID, *, lock: bool = False
) -> Row[Any]:
    """One message row with its tenant's name and settings, in the caller's transaction
    (``lock``: for update, by an action)."""
    row = (
        await session.execute(
            text(
                f"SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} WHERE m.tenant_id = :t AND m.id = :id"
                + (" FOR UPDATE OF m" if lock else "")
            ),
            {"t": tenant_id, "id": message_id},
        )
    ).first()
    if row is None:
        raise NotFound("message", str(message_id))
    return row


def message_read(row: Row[Any], now: datetime | None = None) -> MessageRead:
    status = Status(row.status)
    return MessageRead(
        id=row.id,
        tenant=row.tenant_slug,
        number=row.tracking_number,
        status=status,
        version=row.version,
        topic=row.topic_code,
        territory=row.territory_code,
        address=row.address,
        latitude=row.latitude,
        longitude=row.longitude,
        summary=row.summary,
        text=row.body,
        fields=row.fields,
        applicant=row.applicant,
        received_at=row.received_at,
        stage_due_at=row.stage_due_at,
        registration_number=row.registration_number,
        registered_at=row.registered_at,
        assignee_id=row.assignee_id,
        due_at=row.due_at,
        sla=sla.remaining(row.due_at or row.stage_due_at, now or datetime.now(UTC))
        if status in (Status.NEW, Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL)
        else None,
        extensions=row.extensions,
        reopened_count=row.reopened_count,
        answer=row.answer_body,
        answered_at=row.answered_at,
        rating=row.rating,
        rating_comment=row.rating_comment,
        forwarded_to=row.forwarded_to_slug,
        merged_into=row.merged_into_id,
    )


def check_reader(staff: Staff, row: Row[Any]) -> bool:
    """Whether ``staff`` may see the message row read in the caller's own transaction (the
    card, the history): NotFound otherwise; returns whether it is assigned to them."""
    assigned = staff.is_assignee(row.assignee_id)
    if not staff.may(row.tenant_id, "message:read", assigned=assigned):
        # Never confirm that another tenant's (or another executor's) message exists.
        raise NotFound("message", str(row.id))
    return assigned


async def get_message(
    db: Database, staff: Staff, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> MessageRead:
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=False)
    check_reader(staff, row)
    return message_read(row)


def topic_deadline(row: Row[Any], topic: Row[Any]) -> datetime:
    """The answer's deadline under the message's topic, counted from now."""
    return sla.deadline(
        datetime.now(UTC),
        topic.deadline_days,
        sla.DayCount(topic.calendar),
        timezone=row.timezone,
        calendar=row.calendar,
    )


async def topic_of(session: AsyncSession, row: Row[Any]) -> Row[Any]:
    """The topic as the message was filed under it (its catalog version)."""
    topic = (
        await session.execute(
            text(
                "SELECT code, title, deadline_days, calendar FROM catalog_topics "
                "WHERE version_id = :v AND code = :c"
            ),
            {"v": row.catalog_version_id, "c": row.topic_code},
        )
    ).first()
    assert topic is not None
    return topic
