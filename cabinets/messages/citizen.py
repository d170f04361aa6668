"""The citizen's side: finding a message by its public number and token, answering a
moderator's question and rating the answer."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from cabinets import sla
from cabinets.messages.reading import (
    load_message,
    topic_deadline,
    topic_of,
)
from cabinets.messages.recording import apply_change, record_event
from cabinets.messages.workflow import (
    Actor,
    Status,
    check_transition,
)
from tenancy.database import Database
from tenancy.errors import (
    Conflict,
    Gone,
    NotFound,
)

REOPEN_RATINGS = frozenset({1, 2})


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class TrackingRefused(NotFound):
    """A wrong number or token: the same answer for both, so numbers cannot be probed."""

    def __init__(self) -> None:
        super().__init__("message", "with this number and token")


async def holder(
    db: Database, number: str, token: str, *, citizen_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Where the message with this public number lives now (tenant, message), or None while it
    waits in the operator's queue; TrackingRefused for a wrong number or token, Gone once the
    message was destroyed at the end of its retention period. The signed-in citizen whose
    message it is (``citizen_id``) needs no token."""
    async with db.public_session() as session:
        found = (
            await session.execute(
                text(
                    "SELECT secret_hash, holder_tenant_id, holder_message_id, citizen_id, "
                    "destroyed_at FROM message_tracking WHERE number = :n"
                ),
                {"n": number},
            )
        ).first()
    owner = found is not None and citizen_id is not None and found.citizen_id == citizen_id
    if found is None or not (
        owner or hmac.compare_digest(bytes(found.secret_hash), secret_digest(token))
    ):
        raise TrackingRefused()
    if found.destroyed_at is not None:
        on = found.destroyed_at.date()
        raise Gone(
            f"the message {number} was destroyed on {on.isoformat()}: its retention period "
            "had ended",
            on=on,
        )
    if found.holder_tenant_id is None:
        return None
    return found.holder_tenant_id, found.holder_message_id


async def clarify_message(
    db: Database,
    number: str,
    token: str,
    clarification: str,
    *,
    citizen_id: uuid.UUID | None = None,
) -> None:
    """The citizen answers a moderator's question; the message goes back to moderation."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        raise Conflict("the message is not with an organization yet: nothing was asked")
    tenant_id, message_id = place
    now = datetime.now(UTC)
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=True)
        transition = check_transition("clarify", Status(row.status))
        stage_due = sla.deadline(
            now, 1, sla.DayCount.WORKING, timezone=row.timezone, calendar=row.calendar
        )
        await apply_change(
            session,
            row,
            Status.NEW,
            {
                "body": f"{row.body}\n\n— Уточнение ({now:%d.%m.%Y}):\n{clarification}",
                "stage_due_at": stage_due,
            },
            now,
        )
        await record_event(
            session,
            tenant_id,
            message_id,
            transition,
            Status(row.status),
            Status.NEW,
            None,
            {"text": clarification},
            [],
            actor_kind=Actor.CITIZEN,
            actor_name=row.applicant.get("name"),
            now=now,
        )


async def rate_answer(
    db: Database,
    number: str,
    token: str,
    rating: int,
    comment: str | None,
    *,
    citizen_id: uuid.UUID | None = None,
) -> Status:
    """The citizen rates the answer: 3 to 5 closes the message; 1 or 2 sends it back for
    another review with a fresh deadline, flagged as reopened."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        raise Conflict("the message has no answer yet")
    tenant_id, message_id = place
    now = datetime.now(UTC)
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=True)
        reopen = rating in REOPEN_RATINGS
        transition = check_transition("reopen" if reopen else "rate", Status(row.status))
        columns: dict[str, Any] = {"rating": rating, "rating_comment": comment}
        if reopen:
            due = topic_deadline(row, await topic_of(session, row))
            columns |= {
                "reopened_count": row.reopened_count + 1,
                "due_at": due,
                "assignee_id": None,
                "answered_at": None,
            }
        else:
            columns["closed_at"] = now
        target = Status.REGISTERED if reopen else Status.CLOSED
        await apply_change(session, row, target, columns, now)
        await record_event(
            session,
            tenant_id,
            message_id,
            transition,
            Status(row.status),
            target,
            comment,
            {"rating": rating},
            [],
            actor_kind=Actor.CITIZEN,
            actor_name=row.applicant.get("name"),
            now=now,
        )
        return target
