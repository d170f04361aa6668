"""What the inbox's queries and its counts share: the SQL conditions on status and deadline,
who reads only their own messages, and the working-day bounds of "due within"."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.actors import Staff
from cabinets.messages.workflow import Status
from tenancy.errors import Forbidden

# The statuses whose deadline runs (those ``message_read`` gives an ``sla``), and the running
# deadline itself: the answer's due date once registered, the stage's before. CASE, as in
# migration 0010's ``messages_deadline``: PostgreSQL uses an expression index under row-level
# security only for quals it knows to be leakproof, and COALESCE is not known to be.
CLOCK_STATUSES = (Status.NEW, Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL)
DEADLINE = "CASE WHEN m.due_at IS NULL THEN m.stage_due_at ELSE m.due_at END"
# Reopened: a low rating sent it back, and it is being reviewed again (``messages_reopened``).
REVIEW_STATUSES = (Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL)


def status_list(statuses: Iterable[Status]) -> str:
    """Statuses as SQL literals: the planner must see them to match a partial index (a bound
    parameter proves nothing about the index's predicate). Enum values only, never input."""
    return ", ".join(f"'{Status(s).value}'" for s in statuses)


REOPENED = f"m.reopened_count > 0 AND m.status IN ({status_list(REVIEW_STATUSES)})"
ON_CLOCK = f"m.status IN ({status_list(CLOCK_STATUSES)})"
# Returned to its executor: in work again, and the latest of its hand-overs is the approver's
# return (not a later assignment or a new submission). One event lookup per assigned message
# of the viewer (``messages_assignee``, then ``message_events_message``).
RETURNED = (
    "m.status = 'assigned' AND m.assignee_id = :viewer AND (SELECT e.kind FROM message_events e"
    " WHERE e.tenant_id = m.tenant_id AND e.message_id = m.id"
    " AND e.kind IN ('assign', 'submit_answer', 'return_answer')"
    " ORDER BY e.id DESC LIMIT 1) = 'return_answer'"
)
# Due within some working days and not yet overdue: the deadline falls before the start of the
# working day after them, in the tenant's days (as ``sla.time_left`` counts them).
DUE_WITHIN = f"{ON_CLOCK} AND {DEADLINE} >= :now AND {DEADLINE} < :within"


def own_only(staff: Staff, tenant_id: uuid.UUID) -> bool:
    """Whether ``staff`` reads only the messages assigned to them here (an executor)."""
    if staff.may(tenant_id, "message:read", assigned=False):
        return False
    if staff.may(tenant_id, "message:read", assigned=True):
        return True
    raise Forbidden("reading messages needs the permission message:read")


async def working_days_end(
    session: AsyncSession, tenant_id: uuid.UUID, days: int, now: datetime
) -> datetime:
    """The start of the working day after the next ``days`` working days, in the tenant's
    timezone and calendar: a deadline before it has at most ``days`` working days left."""
    found = (
        await session.execute(
            text("SELECT timezone, calendar FROM tenants WHERE id = :t"), {"t": tenant_id}
        )
    ).one()
    return working_days_after(days, now, timezone=found.timezone, calendar=found.calendar)


def working_days_after(days: int, now: datetime, *, timezone: str, calendar: str) -> datetime:
    zone = ZoneInfo(timezone)
    after = sla.add_days(now.astimezone(zone).date(), days + 1, sla.DayCount.WORKING, calendar)
    return datetime.combine(after, time(), tzinfo=zone)
