"""The steps time takes: expired clarifications, unrated answers, overdue messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.intake import INTAKE_WINDOW
from cabinets.messages.reading import (
    MESSAGE_COLUMNS,
    MESSAGE_FROM,
)
from cabinets.messages.recording import Notice, apply_change, citizen_notice, record_event
from cabinets.messages.workflow import (
    REJECTION_GROUNDS,
    TRANSITIONS,
    Actor,
    Status,
)
from tenancy.database import Database
from tenancy.tenants.tree import ancestors_cte

RATING_DAYS = 10  # no rating within this many days closes an answered message

CLOCK_BATCH = 500


async def advance_clock(db: Database, now: datetime | None = None) -> dict[str, int]:
    """The steps time takes, for every tenant (the worker runs this each tick): unanswered
    clarifications are rejected, unrated answers closed, and overdue messages escalated to the
    tenant's coordinators and the supervisors above it, once."""
    now = now or datetime.now(UTC)
    done = {"clarifications_expired": 0, "closed_unrated": 0, "escalated": 0}
    async with db.privileged_session(actor="worker:clock") as session:
        # Intake attempts older than the window count for nothing any more.
        await session.execute(
            text("DELETE FROM intake_attempts WHERE at < :old"), {"old": now - INTAKE_WINDOW}
        )
        for row in await _due(session, "m.status = 'clarification' AND m.stage_due_at < :now", now):
            transition = TRANSITIONS["expire_clarification"]
            reason = REJECTION_GROUNDS["no_clarification"]
            await apply_change(
                session, row, Status.REJECTED, {"closed_at": now, "stage_due_at": None}, now
            )
            await record_event(
                session,
                row.tenant_id,
                row.id,
                transition,
                Status.CLARIFICATION,
                Status.REJECTED,
                reason,
                {"ground": "no_clarification"},
                citizen_notice(
                    row.applicant,
                    transition,
                    row.tracking_number,
                    row.tenant_name,
                    {"reason": reason},
                ),
                actor_kind=Actor.SYSTEM,
                now=now,
            )
            done["clarifications_expired"] += 1
        unrated_since = now - timedelta(days=RATING_DAYS)
        for row in await _due(
            session, "m.status = 'answered' AND m.answered_at < :since", now, since=unrated_since
        ):
            transition = TRANSITIONS["close_unrated"]
            await apply_change(session, row, Status.CLOSED, {"closed_at": now}, now)
            await record_event(
                session,
                row.tenant_id,
                row.id,
                transition,
                Status.ANSWERED,
                Status.CLOSED,
                None,
                {},
                [],
                actor_kind=Actor.SYSTEM,
                now=now,
            )
            done["closed_unrated"] += 1
        overdue = await _due(
            session,
            "m.status IN ('registered', 'assigned', 'on_approval') AND m.due_at < :now "
            "AND m.escalated_at IS NULL",
            now,
        )
        for row in overdue:
            transition = TRANSITIONS["escalate"]
            people = await _escalation_recipients(session, row.tenant_id)
            notices = [
                Notice(
                    kind="message.overdue",
                    recipient=f"mailto:{email}",
                    payload={
                        "number": row.tracking_number,
                        "registration_number": row.registration_number,
                        "due_at": row.due_at.isoformat(),
                        "organization": row.tenant_name,
                        "title": transition.title,
                    },
                )
                for email in people
            ]
            status = Status(row.status)
            await apply_change(session, row, status, {"escalated_at": now}, now)
            await record_event(
                session,
                row.tenant_id,
                row.id,
                transition,
                status,
                status,
                None,
                {"notified": people},
                notices,
                actor_kind=Actor.SYSTEM,
                now=now,
            )
            done["escalated"] += 1
    return done


async def _due(session: AsyncSession, condition: str, now: datetime, **params: Any) -> list[Any]:
    rows = await session.execute(
        text(
            f"SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} WHERE {condition} "
            f"ORDER BY m.tenant_id, m.id LIMIT {CLOCK_BATCH} FOR UPDATE OF m SKIP LOCKED"
        ),
        {"now": now, **params},
    )
    return list(rows.all())


async def _escalation_recipients(session: AsyncSession, tenant_id: uuid.UUID) -> list[str]:
    """The tenant's coordinators and the supervisors of it or of any tenant above it."""
    found = await session.execute(
        text(
            f"""
            WITH RECURSIVE {ancestors_cte("above", ":t")}
            SELECT DISTINCT u.email FROM staff_grants g
            JOIN above ON above.id = g.tenant_id
            JOIN users u ON u.id = g.user_id AND u.status = 'active'
            WHERE (g.role = 'coordinator' AND g.tenant_id = :t) OR g.role = 'supervisor'
            ORDER BY u.email
            """
        ),
        {"t": tenant_id},
    )
    return list(found.scalars())
