"""Moderation: a new message registered (with its number and deadline), rejected on a ground,
sent back to the citizen with a question, or merged into the message it repeats."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Row

from cabinets import sla
from cabinets.messages.actions.context import ActionContext, Change
from cabinets.messages.reading import topic_deadline, topic_of
from cabinets.messages.schemas import ActionInput, ClarificationInput, MergeInput, RejectInput
from cabinets.messages.workflow import REJECTION_GROUNDS, Status
from tenancy.errors import InvalidInput


async def accept(ctx: ActionContext, row: Row[Any], body: ActionInput) -> Change:
    # The number is taken in this transaction: a rollback gives it back, so numbers have no
    # gaps, and concurrent registrations queue on the counter's row.
    year = ctx.now.astimezone(ZoneInfo(row.timezone)).year
    number = (
        await ctx.session.execute(
            text(
                """
                INSERT INTO registration_counters (tenant_id, year, last_number)
                VALUES (:t, :y, 1)
                ON CONFLICT (tenant_id, year)
                DO UPDATE SET last_number = registration_counters.last_number + 1
                RETURNING last_number
                """
            ),
            {"t": row.tenant_id, "y": year},
        )
    ).scalar_one()
    registration = f"{number}/{year}"
    due = topic_deadline(row, await topic_of(ctx.session, row))
    return Change(
        columns={
            "registration_number": registration,
            "registered_at": ctx.now,
            "due_at": due,
            "stage_due_at": None,
        },
        payload={"registration_number": registration, "due_at": due.isoformat()},
        citizen_details={"registration_number": registration, "due_at": due.isoformat()},
    )


async def reject(ctx: ActionContext, row: Row[Any], body: RejectInput) -> Change:
    ground = body.ground
    if ground not in REJECTION_GROUNDS:
        raise InvalidInput.one(
            "ground",
            f"unknown ground {ground!r}; one of {', '.join(REJECTION_GROUNDS)}",
            code="choice",
        )
    reason = f"{REJECTION_GROUNDS[ground]}. {body.text}"
    return Change(
        columns={"closed_at": ctx.now, "stage_due_at": None},
        reason=reason,
        payload={"ground": ground},
        citizen_details={"reason": reason},
    )


async def request_clarification(
    ctx: ActionContext, row: Row[Any], body: ClarificationInput
) -> Change:
    until = sla.deadline(ctx.now, body.days, sla.DayCount.CALENDAR, timezone=row.timezone)
    return Change(
        columns={"stage_due_at": until},
        reason=body.question,
        payload={"until": until.isoformat()},
        citizen_details={"question": body.question, "until": until.isoformat()},
    )


async def merge(ctx: ActionContext, row: Row[Any], body: MergeInput) -> Change:
    primary_id = body.primary
    if primary_id == row.id:
        raise InvalidInput.one("primary", "a message cannot be merged into itself")
    primary = (
        await ctx.session.execute(
            text(
                "SELECT id, status, tracking_number FROM messages "
                "WHERE tenant_id = :t AND id = :p FOR UPDATE"
            ),
            {"t": row.tenant_id, "p": primary_id},
        )
    ).first()
    if primary is None:
        raise InvalidInput.one("primary", "no such message in this organization")
    if Status(primary.status) not in (
        Status.NEW,
        Status.REGISTERED,
        Status.ASSIGNED,
        Status.ON_APPROVAL,
    ):
        raise InvalidInput.one("primary", f"the primary message is {primary.status}")
    return Change(
        columns={"merged_into_id": primary.id, "stage_due_at": None},
        payload={"primary": str(primary.id), "primary_number": primary.tracking_number},
        citizen_details={"primary_number": primary.tracking_number},
    )
