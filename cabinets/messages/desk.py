"""What the cabinet's inbox page shows, read in one service call: one page of a view, the
counts of every view, the names behind the codes of its rows (topic titles, places, executors),
each row's deadline as staff read it, and what the filter panel and the bulk actions offer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.actors import Staff
from cabinets.messages.inbox.conditions import CLOCK_STATUSES, own_only, working_days_after
from cabinets.messages.inbox.queries import read_page
from cabinets.messages.inbox.schemas import InboxPage, InboxQuery, MessageSummary, read_query
from cabinets.messages.views import DEFAULT_VIEW, VIEWS, View, count_views, read_counts
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.routing.resolver import RoutingIndex


@dataclass(frozen=True)
class StaffMember:
    id: uuid.UUID
    name: str
    email: str


@dataclass(frozen=True)
class Row:
    message: MessageSummary
    topic_title: str
    place: str
    executor: str | None
    left: sla.TimeLeft | None


@dataclass(frozen=True)
class InboxScreen:
    view: View
    query: InboxQuery
    rows: list[Row]
    next_cursor: str | None
    counts: dict[str, int]
    own_only: bool
    topics: list[tuple[str, str]]  # code, title: the filter's choice
    executors: list[StaffMember]  # who may prepare answers here: the filter's and assign's choice
    may: dict[str, bool]  # bulk actions: accept, assign, comment


def _view(name: str | None) -> View:
    if name is None or name == "":
        return VIEWS[DEFAULT_VIEW]
    found = VIEWS.get(name)
    if found is None:
        raise InvalidInput.one("view", f"unknown view; one of {', '.join(VIEWS)}")
    return found


# Everything the rows and the panel name, in one round trip: the published catalog's titles
# (what staff know a topic by now) of the rows' topics and of those the tenant answers (the
# filter's choice), the rows' places and executors, and the staff who may prepare answers here
# (the filter's and the assignment's choice).
_NAMES = text(
    """
    SELECT 'topic' AS kind, t.code AS key, t.title AS name, NULL AS email FROM (
        SELECT DISTINCT ON (c.code) c.code, c.title FROM catalog_topics c
        JOIN catalog_versions v ON v.id = c.version_id
        WHERE v.status = 'published' AND c.code = ANY(:topics)
        ORDER BY c.code, v.published_at DESC
    ) t
    UNION ALL
    SELECT 'place', code, name, NULL FROM territories WHERE code = ANY(:places)
    UNION ALL
    SELECT 'person', id::text, name, email FROM users WHERE id = ANY(:people)
    UNION ALL
    SELECT DISTINCT 'staff', u.id::text, u.name, u.email FROM staff_grants g
    JOIN users u ON u.id = g.user_id WHERE g.tenant_id = :t AND u.status = 'active'
    """
)


@dataclass
class _Names:
    topics: dict[str, str]
    places: dict[str, str]
    people: dict[str, str]
    staff: list[StaffMember]


def answered_topics(routes: RoutingIndex, slug: str) -> list[str]:
    """The topic codes the tenant's routing rules send it (by topic, category or any), worked
    out once per routing index: a catalog of a thousand topics is not every tenant's."""
    known: dict[str, list[str]] = routes.memo.setdefault("answered_topics", {})
    found = known.get(slug)
    if found is None:
        keys = {r.topic for r in routes.rules if r.tenant == slug}
        found = known[slug] = sorted(
            t for t in routes.topic_category if not keys.isdisjoint(routes.topic_keys(t))
        )
    return found


async def _names(
    session: AsyncSession, tenant_id: uuid.UUID, page: InboxPage, topics: list[str]
) -> _Names:
    found = _Names({}, {}, {}, [])
    params = {
        "t": tenant_id,
        "topics": sorted({m.topic for m in page.items} | set(topics)),
        "places": sorted({m.territory for m in page.items}),
        "people": sorted({m.assignee_id for m in page.items if m.assignee_id}, key=str),
    }
    for row in await session.execute(_NAMES, params):
        if row.kind == "topic":
            found.topics[row.key] = row.name
        elif row.kind == "place":
            found.places[row.key] = row.name
        elif row.kind == "person":
            found.people[row.key] = row.name
        else:
            found.staff.append(StaffMember(uuid.UUID(row.key), row.name, row.email))
    return found


async def inbox_screen(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    view_name: str | None,
    given: dict[str, Any],
    *,
    topics: list[str],
    now: datetime | None = None,
) -> InboxScreen:
    """One page of the view ``view_name`` filtered further by ``given`` (the query string's
    other parameters, as the JSON inbox reads them); ``topics``: the filter's choice of topic
    codes (``answered_topics``)."""
    now = now or datetime.now(UTC)
    view = _view(view_name)
    query = read_query(view.defaults | given)
    # One transaction for all of it: each costs round trips of its own.
    async with db.read_session([tenant_id]) as session:
        tenant = (
            await session.execute(
                text("SELECT timezone, calendar FROM tenants WHERE id = :t"), {"t": tenant_id}
            )
        ).one()
        page = await read_page(session, staff, tenant_id, query, now)
        within = working_days_after(
            sla.SOON_WORKING_DAYS, now, timezone=tenant.timezone, calendar=tenant.calendar
        )
        counts = await read_counts(session, staff, tenant_id, now, within=within)
        names = await _names(session, tenant_id, page, topics)
    executors = sorted(
        (
            p
            for p in names.staff
            if staff.policy.allowed(str(p.id), str(tenant_id), "answer:draft", assigned=True)
        ),
        key=lambda p: p.name,
    )
    rows = []
    for message in page.items:
        due = message.due_at or message.stage_due_at
        running = message.status in CLOCK_STATUSES and due is not None
        left = (
            sla.time_left(due, now, timezone=tenant.timezone, calendar=tenant.calendar)
            if running and due is not None
            else None
        )
        rows.append(
            Row(
                message=message,
                topic_title=names.topics.get(message.topic, message.topic),
                place=names.places.get(message.territory, message.territory),
                executor=names.people.get(str(message.assignee_id))
                if message.assignee_id
                else None,
                left=left,
            )
        )
    may = {
        "accept": staff.may(tenant_id, "message:moderate", assigned=False),
        "assign": staff.may(tenant_id, "message:assign", assigned=False),
        "comment": staff.may(tenant_id, "message:comment", assigned=True),
    }
    return InboxScreen(
        view=view,
        query=query,
        rows=rows,
        next_cursor=page.next_cursor,
        counts=counts,
        own_only=own_only(staff, tenant_id),
        topics=sorted(((c, names.topics.get(c, c)) for c in topics), key=lambda t: t[1]),
        executors=executors,
        may=may,
    )


@dataclass(frozen=True)
class Organization:
    slug: str
    name: str
    counts: dict[str, int] | None  # None: the person holds no role that reads messages here


async def organizations(
    db: Database, staff: Staff, served: list[tuple[uuid.UUID, str, str]]
) -> list[Organization]:
    """Each organization a person serves (id, slug, name), with its new, mine and overdue."""
    found = []
    for tenant_id, slug, name in served:
        readable = staff.may(tenant_id, "message:read", assigned=True)
        counts = await count_views(db, staff, tenant_id) if readable else None
        found.append(Organization(slug, name, counts))
    return found
