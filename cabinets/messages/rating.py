"""The regional rating: the organizations below a supervisor ranked by the share answered on
time, then the average rating, then the share reopened (fewer is better), each with how many
of its messages are overdue now and the worst of them."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy import text

from cabinets.messages import reports
from cabinets.messages.actors import Staff
from cabinets.messages.inbox.queries import list_messages
from cabinets.messages.inbox.schemas import InboxQuery, MessageSummary, Sort
from tenancy.database import Database

WORST = 5  # overdue messages shown for one organization


class RatedOrganization(BaseModel):
    place: int
    tenant: str
    answered: int
    answered_on_time_share: float | None
    average_rating: float | None
    reopened_share: float | None
    overdue_now: int


def rank_key(row: reports.ReportRow) -> tuple[float, float, float, str]:
    # Nothing answered yet ranks below any share; no ratings below any rating.
    on_time = row.answered_on_time_share if row.answered_on_time_share is not None else -1.0
    rating = row.average_rating if row.average_rating is not None else -1.0
    reopened = row.reopened_share if row.reopened_share is not None else 0.0
    return (-on_time, -rating, reopened, row.group)


async def regional_rating(
    db: Database, staff: Staff, tenant_id: uuid.UUID, *, period: reports.Period
) -> list[RatedOrganization]:
    """Every organization below ``tenant_id`` whose reports ``staff`` may read, ranked."""
    rows = await reports.message_report(
        db,
        staff,
        tenant_id,
        by=reports.Grouping.TENANT,
        subtree=True,
        received_from=period.received_from,
        received_to=period.received_to,
    )
    root = await _slug(db, tenant_id)
    below = [r for r in rows if r.group != root]
    return [
        RatedOrganization(
            place=place,
            tenant=row.group,
            answered=row.answered,
            answered_on_time_share=row.answered_on_time_share,
            average_rating=row.average_rating,
            reopened_share=row.reopened_share,
            overdue_now=row.overdue_now,
        )
        for place, row in enumerate(sorted(below, key=rank_key), start=1)
    ]


async def worst_overdue(db: Database, staff: Staff, tenant_id: uuid.UUID) -> list[MessageSummary]:
    """An organization's most overdue messages, the longest overdue first."""
    query = InboxQuery(overdue=True, sort=Sort.DUE, limit=WORST)
    return (await list_messages(db, staff, tenant_id, query)).items


async def _slug(db: Database, tenant_id: uuid.UUID) -> str:
    async with db.read_session(()) as session:
        found = await session.execute(
            text("SELECT slug FROM tenants WHERE id = :t"), {"t": tenant_id}
        )
        return str(found.scalar_one())
