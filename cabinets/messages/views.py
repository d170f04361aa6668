"""The cabinet's views of an inbox: named filters staff work through (new, unassigned, mine,
on approval, returned to me, due soon, overdue, reopened, all), and their counts in one query.

A view is a set of defaults for ``InboxQuery``; what the person filters on besides is kept, and
a filter they set on a field the view also sets takes over. The counts read the same indexes
as the inbox's (``messages_inbox``, ``messages_assignee``, ``messages_deadline``,
``messages_reopened``) and are over what the person sees (an executor: their own).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.actors import Staff
from cabinets.messages.inbox.conditions import (
    DEADLINE,
    DUE_WITHIN,
    ON_CLOCK,
    REOPENED,
    RETURNED,
    own_only,
    working_days_end,
)
from cabinets.messages.workflow import Status
from tenancy.database import Database


@dataclass(frozen=True)
class View:
    name: str
    label: str
    defaults: dict[str, Any] = field(default_factory=dict)
    condition: str = "true"  # the same set as SQL, for the count


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View("new", "Новые", {"status": [Status.NEW]}, "m.status = 'new'"),
        View(
            "unassigned",
            "Не распределены",
            {"status": [Status.REGISTERED], "assignee": "none"},
            "m.status = 'registered' AND m.assignee_id IS NULL",
        ),
        View(
            "mine",
            "Мои",
            {"status": [Status.ASSIGNED], "assignee": "me"},
            "m.status = 'assigned' AND m.assignee_id = :viewer",
        ),
        View(
            "approval",
            "На согласовании",
            {"status": [Status.ON_APPROVAL]},
            "m.status = 'on_approval'",
        ),
        View("returned", "Возвращены мне", {"returned": True}, RETURNED),
        View(
            "soon",
            f"Срок в ближайшие {sla.SOON_WORKING_DAYS} раб. дня",
            {"due_within": sla.SOON_WORKING_DAYS, "sort": "due"},
            DUE_WITHIN,
        ),
        View(
            "overdue",
            "Просрочены",
            {"overdue": True, "sort": "due"},
            f"{ON_CLOCK} AND {DEADLINE} < :now",
        ),
        View("reopened", "Повторные", {"reopened": True}, REOPENED),
        View("all", "Все"),
    )
}
DEFAULT_VIEW = "all"


def _counts_sql(*, own: bool) -> str:
    mine = " AND m.assignee_id = :viewer" if own else ""
    return " UNION ALL ".join(
        f"SELECT '{v.name}' AS view, count(*) AS n FROM messages m "
        f"WHERE m.tenant_id = :tenant AND {v.condition}{mine}"
        for v in VIEWS.values()
    )


async def count_views(
    db: Database, staff: Staff, tenant_id: uuid.UUID, *, now: datetime | None = None
) -> dict[str, int]:
    """How many messages each view holds, as ``staff`` sees the tenant's inbox."""
    async with db.read_session([tenant_id]) as session:
        return await read_counts(session, staff, tenant_id, now or datetime.now(UTC))


async def read_counts(
    session: AsyncSession,
    staff: Staff,
    tenant_id: uuid.UUID,
    now: datetime,
    *,
    within: datetime | None = None,
) -> dict[str, int]:
    """``count_views`` in the caller's transaction (scoped to ``tenant_id``); ``within``: the
    end of the due-soon window, when the caller knows the tenant's calendar already."""
    own = own_only(staff, tenant_id)
    if within is None:
        within = await working_days_end(session, tenant_id, sla.SOON_WORKING_DAYS, now)
    params = {"tenant": tenant_id, "viewer": staff.user_id, "now": now, "within": within}
    rows = await session.execute(text(_counts_sql(own=own)), params)
    return {row.view: row.n for row in rows}
