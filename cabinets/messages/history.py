"""A message's internal history as staff read it: every event with who and when, internal
comments, drafts and returned answers with the approver's comment, and the message's files.

The citizen's timeline (``tracking``) projects the public events of the same table; this is
the whole of it, for the people who may read the message.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.attachments.linking import message_files
from cabinets.attachments.schemas import FileRead
from cabinets.messages.actors import Staff
from cabinets.messages.reading import check_reader, load_message, message_read
from cabinets.messages.schemas import EventRead, MessageRead
from cabinets.messages.workflow import TRANSITIONS
from tenancy.database import Database


class HistoryEvent(EventRead):
    """One step of the history; ``actor`` is the person's (or the citizen's) name."""

    title: str
    actor_kind: str
    actor_position: str | None


class MessageHistory(BaseModel):
    message: MessageRead
    events: list[HistoryEvent]
    files: list[FileRead]


_EVENTS = text(
    """
    SELECT occurred_at, kind, actor_kind, actor_name, actor_position, from_status, to_status,
           reason, payload, public
    FROM message_events WHERE tenant_id = :t AND message_id = :m ORDER BY id
    """
)


def _event(row: Any) -> HistoryEvent:
    title = TRANSITIONS[row.kind].title
    if row.kind == "submit" and "from" in row.payload:
        title = "Получено по компетенции"
    return HistoryEvent(
        at=row.occurred_at,
        kind=row.kind,
        title=title,
        actor_kind=row.actor_kind,
        actor=row.actor_name,
        actor_position=row.actor_position,
        from_status=row.from_status,
        to_status=row.to_status,
        reason=row.reason,
        payload=row.payload,
        public=row.public,
    )


async def events_of(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> list[HistoryEvent]:
    """Every event of one message, oldest first, in the caller's transaction."""
    rows = await session.execute(_EVENTS, {"t": tenant_id, "m": message_id})
    return [_event(row) for row in rows]


async def message_history(
    db: Database, staff: Staff, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> MessageHistory:
    """The message, its whole history and its files; NotFound for one ``staff`` may not
    read (another organization's, or another executor's)."""
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id)
        check_reader(staff, row)
        return MessageHistory(
            message=message_read(row),
            events=await events_of(session, tenant_id, message_id),
            files=await message_files(session, tenant_id, message_id),
        )
