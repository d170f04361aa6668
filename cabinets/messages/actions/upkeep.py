"""Steps that keep a message in hand without moving it on: the deadline extended (once, within
the law's limit), an internal comment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from cabinets import sla
from cabinets.messages.actions.context import ActionContext, Change
from cabinets.messages.schemas import CommentInput, ExtendInput
from tenancy.errors import FieldError, InvalidInput

MAX_EXTENSIONS = 1  # the appeals law allows one extension
MAX_EXTENSION_DAYS = 30


async def extend(ctx: ActionContext, row: Row[Any], body: ExtendInput) -> Change:
    days = body.days
    problems = []
    if row.extensions >= MAX_EXTENSIONS:
        problems.append(
            FieldError("days", "the deadline was already extended once", code="extended_once")
        )
    if days > MAX_EXTENSION_DAYS:
        problems.append(
            FieldError(
                "days",
                f"at most {MAX_EXTENSION_DAYS} days",
                code="less_than_equal",
                limit=MAX_EXTENSION_DAYS,
            )
        )
    if problems:
        raise InvalidInput(problems)
    due = sla.deadline(
        row.due_at, days, sla.DayCount.CALENDAR, timezone=row.timezone, calendar=row.calendar
    )
    return Change(
        columns={"due_at": due, "extensions": row.extensions + 1},
        reason=body.reason,
        payload={"due_at": due.isoformat(), "days": days},
        citizen_details={"due_at": due.isoformat(), "reason": body.reason},
    )


async def comment(ctx: ActionContext, row: Row[Any], body: CommentInput) -> Change:
    return Change(reason=body.text)
