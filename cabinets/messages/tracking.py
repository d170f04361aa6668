"""The citizen's view: the timeline of a message, projected from its public history across
every organization it passed through, and a signed-in citizen's own messages.

Never shown: internal comments, returned drafts, staff other than the official in charge of a
step, ids of anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from cabinets.attachments.linking import message_files
from cabinets.messages.citizen import holder
from cabinets.messages.reading import load_message
from cabinets.messages.schemas import Official, Timeline, TimelineEntry
from cabinets.messages.workflow import CITIZEN_STATUS, TRANSITIONS, Status
from tenancy.database import Database
from tenancy.errors import NotFound

# What of an event's payload the citizen may read.
PUBLIC_DETAILS = frozenset(
    {
        "registration_number",
        "due_at",
        "executor",
        "to",
        "from",
        "answer",
        "rating",
        "until",
        "days",
        "primary_number",
    }
)
QUEUED_LABEL = "Поступило: определяется ответственная организация"


async def timeline(
    db: Database, number: str, token: str, *, citizen_id: uuid.UUID | None = None
) -> Timeline:
    """The message's timeline for whoever holds its token, or for the signed-in citizen whose
    message it is (``citizen_id``)."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        return await _queued(db, number)
    chain: list[tuple[Any, Sequence[Any]]] = []
    files: list[dict[str, Any]] = []
    next_place: tuple[uuid.UUID, uuid.UUID] | None = place
    while next_place is not None and len(chain) < 20:
        tenant_id, message_id = next_place
        async with db.tenant_session([tenant_id]) as session:
            try:
                row = await load_message(session, tenant_id, message_id)
            except NotFound:
                if not chain:
                    raise
                break  # the sender's copy was destroyed when its own retention ended
            events = (
                await session.execute(
                    text(
                        """
                        SELECT occurred_at, kind, actor_kind, actor_name, actor_position,
                               to_status, reason, payload
                        FROM message_events
                        WHERE tenant_id = :t AND message_id = :m AND public
                        ORDER BY id
                        """
                    ),
                    {"t": tenant_id, "m": message_id},
                )
            ).all()
            if not chain:
                answered = Status(row.status) in (Status.ANSWERED, Status.CLOSED)
                files = [
                    {
                        "id": str(f.id),
                        "purpose": f.purpose,
                        "filename": f.filename,
                        "size": f.size,
                        "content_type": f.content_type,
                    }
                    for f in await message_files(session, tenant_id, message_id)
                    if f.purpose == "request" or answered
                ]
        chain.append((row, events))
        next_place = (
            (row.forwarded_from_tenant_id, row.forwarded_from_id)
            if row.forwarded_from_id is not None
            else None
        )
    entries = []
    for row, events in reversed(chain):
        for event in events:
            entries.append(_entry(row, event))
    current = chain[0][0]
    status = Status(current.status)
    return Timeline(
        number=number,
        status=status,
        status_label=CITIZEN_STATUS[status],
        organization=current.tenant_name,
        topic=current.topic_code,
        summary=current.summary,
        received_at=chain[-1][0].received_at,
        due_at=current.due_at,
        answer=current.answer_body if status in (Status.ANSWERED, Status.CLOSED) else None,
        rating=current.rating,
        can_clarify=status is Status.CLARIFICATION,
        can_rate=status is Status.ANSWERED,
        files=files,
        entries=entries,
    )


def _entry(row: Any, event: Any) -> TimelineEntry:
    transition = TRANSITIONS[event.kind]
    title = transition.title
    if event.kind == "submit" and "from" in event.payload:
        title = "Получено по компетенции"
    to_status = Status(event.to_status) if event.to_status else None
    return TimelineEntry(
        at=event.occurred_at,
        title=title,
        status_label=CITIZEN_STATUS[to_status] if to_status else None,
        official=Official(name=event.actor_name, position=event.actor_position)
        if event.actor_kind == "staff" and event.actor_name
        else None,
        organization=row.tenant_name,
        reason=event.reason,
        details={k: v for k, v in event.payload.items() if k in PUBLIC_DETAILS},
    )


async def _queued(db: Database, number: str) -> Timeline:
    async with db.public_session() as session:
        queued = (
            await session.execute(
                text(
                    "SELECT received_at, topic_code, submission FROM operator_queue "
                    "WHERE tracking_number = :n"
                ),
                {"n": number},
            )
        ).one()
    return Timeline(
        number=number,
        status="queued",
        status_label=QUEUED_LABEL,
        organization=None,
        topic=queued.topic_code,
        summary=queued.submission["summary"],
        received_at=queued.received_at,
        entries=[TimelineEntry(at=queued.received_at, title=QUEUED_LABEL)],
    )


async def citizen_messages(db: Database, citizen_id: uuid.UUID) -> list[dict[str, Any]]:
    """A signed-in citizen's messages, newest first, wherever they now are (one transaction:
    the tracking rows name the tenants, which the same transaction then opens)."""
    rows: dict[uuid.UUID, Any] = {}
    async with db.public_session() as session:
        places = (
            await session.execute(
                text(
                    "SELECT number, holder_tenant_id, holder_message_id, created_at "
                    "FROM message_tracking WHERE citizen_id = :c ORDER BY created_at DESC"
                ),
                {"c": citizen_id},
            )
        ).all()
        tenants = sorted({p.holder_tenant_id for p in places if p.holder_tenant_id})
        if tenants:
            await session.execute(
                text("SELECT set_config('app.tenant_ids', :ids, true)"),
                {"ids": ",".join(str(t) for t in tenants)},
            )
            for row in await session.execute(
                text(
                    "SELECT m.id, m.status, m.summary, m.topic_code, m.due_at, t.name "
                    "FROM messages m JOIN tenants t ON t.id = m.tenant_id "
                    "WHERE m.citizen_id = :c"
                ),
                {"c": citizen_id},
            ):
                rows[row.id] = row
    listed = []
    for place in places:
        found = rows.get(place.holder_message_id) if place.holder_message_id else None
        status = Status(found.status) if found else None
        listed.append(
            {
                "number": place.number,
                "status": status.value if status else "queued",
                "status_label": CITIZEN_STATUS[status] if status else QUEUED_LABEL,
                "organization": found.name if found else None,
                "summary": found.summary if found else None,
                "due_at": found.due_at if found else None,
            }
        )
    return listed
