"""The staff inbox: a tenant's messages filtered, searched and paged (the counts per status and
deadline, and a supervisor's roll-up, are ``counts``'s and ``rollup``'s).

Every query runs on the app role under row-level security, scoped to the tenants asked about.
Pages are cut by keyset (the last row's sort key and id, handed out as an opaque cursor), never
by OFFSET, so page 400 costs what page 1 does and messages arriving meanwhile neither repeat
nor push rows off. Each query is shaped for an index of migrations 0008 and 0010; the SQL
names the index it expects where that is not obvious.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.messages.actors import Staff
from cabinets.messages.inbox.conditions import (
    CLOCK_STATUSES,
    DEADLINE,
    DUE_WITHIN,
    ON_CLOCK,
    REOPENED,
    RETURNED,
    own_only,
    status_list,
    working_days_end,
)
from cabinets.messages.inbox.cursor import Position
from cabinets.messages.inbox.schemas import (
    InboxPage,
    InboxQuery,
    MessageSummary,
    Sort,
)
from cabinets.messages.workflow import Status
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.territories.tree import descendant_codes

_COLUMNS = """
    m.id, m.tracking_number, m.registration_number, m.status, m.version, m.topic_code,
    m.territory_code, m.summary, m.address, m.applicant ->> 'name' AS applicant_name,
    m.received_at, m.updated_at, m.due_at, m.stage_due_at, m.assignee_id, m.reopened_count
"""


@dataclass
class _Filter:
    """The WHERE clauses of one inbox query and their parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def sql(self, *more: str) -> str:
        return " AND ".join([*self.clauses, *more]) or "true"


def _check(query: InboxQuery) -> None:
    """What the parameters get wrong together (each alone was checked as it was read)."""
    problems = []
    if query.received_from and query.received_to and query.received_from > query.received_to:
        problems.append(FieldError("received_to", "must not be before received_from"))
    if (
        query.registered_from
        and query.registered_to
        and query.registered_from > query.registered_to
    ):
        problems.append(FieldError("registered_to", "must not be before registered_from"))
    if query.order is Sort.RELEVANCE and not query.q:
        problems.append(FieldError("sort", "relevance needs words to search for (q)"))
    if query.order is Sort.UPDATED and query.q:
        problems.append(FieldError("sort", "updated pages changes, not a search: drop q"))
    if problems:
        raise InvalidInput(problems)


async def _local_midnight(session: AsyncSession, tenant_id: uuid.UUID, day: date) -> datetime:
    """The start of ``day`` in the tenant's timezone: dates mean the tenant's days."""
    zone = (
        await session.execute(text("SELECT timezone FROM tenants WHERE id = :t"), {"t": tenant_id})
    ).scalar_one()
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))


async def _territories(session: AsyncSession, code: str) -> list[str]:
    """The territory and every territory under it."""
    codes = await descendant_codes(session, code)
    if not codes:
        raise InvalidInput.one("territory", f"unknown territory {code}")
    return codes


async def _filter(
    session: AsyncSession,
    staff: Staff,
    tenant_id: uuid.UUID,
    query: InboxQuery,
    now: datetime,
) -> _Filter:
    where = _Filter()
    where.add("m.tenant_id = :tenant", tenant=tenant_id)
    if own_only(staff, tenant_id):
        where.add("m.assignee_id = :viewer", viewer=staff.user_id)
    if query.assignee == "none":
        where.add("m.assignee_id IS NULL")
    elif query.assignee is not None:
        if query.assignee == "me" and staff.user_id is None:
            raise InvalidInput.one("assignee", "an integration has no assignments: give a user id")
        assignee = staff.user_id if query.assignee == "me" else uuid.UUID(query.assignee)
        where.add("m.assignee_id = :assignee", assignee=assignee)
    if query.returned:
        where.add(RETURNED, viewer=staff.user_id)
    if query.due_within is not None:
        within = await working_days_end(session, tenant_id, query.due_within, now)
        where.add(DUE_WITHIN, now=now, within=within)
    if query.topic is not None:
        where.add("m.topic_code = :topic", topic=query.topic)
    if query.territory is not None:
        codes = await _territories(session, query.territory)
        where.add("m.territory_code = ANY(:territories)", territories=codes)
    if query.overdue:
        where.add(f"{ON_CLOCK} AND {DEADLINE} < :now", now=now)
    if query.due_soon:
        where.add(f"{ON_CLOCK} AND {DEADLINE} >= :now AND {DEADLINE} <= :soon", now=now)
        where.params["soon"] = now + sla.DUE_SOON
    if query.reopened:
        where.add(REOPENED)
    if query.received_from is not None:
        where.add(
            "m.received_at >= :received_from",
            received_from=await _local_midnight(session, tenant_id, query.received_from),
        )
    if query.received_to is not None:
        end = query.received_to + timedelta(days=1)
        where.add(
            "m.received_at < :received_to",
            received_to=await _local_midnight(session, tenant_id, end),
        )
    for bound, day, op in (
        ("registered_from", query.registered_from, ">="),
        ("registered_to", query.registered_to, "<"),
    ):
        if day is not None:
            day = day + timedelta(days=1) if op == "<" else day
            moment = await _local_midnight(session, tenant_id, day)
            where.add(f"m.registered_at {op} :{bound}", **{bound: moment})
    if query.updated_since is not None:
        where.add("m.updated_at > :updated_since", updated_since=query.updated_since)
    if query.number is not None:
        where.add(
            "(m.tracking_number = :number OR m.registration_number = :number)",
            number=query.number,
        )
    if query.q is not None and query.order is Sort.DUE:
        where.add(f"m.id IN (SELECT h.id FROM {_HITS} h)", q=query.q)
    return where


# The search goes through ``message_search`` (migration 0010): under row-level security the
# GIN index cannot serve ``@@`` directly. It returns ids, arrival times and ranks only, within
# this transaction's tenants; the rows themselves are read here, under RLS.
_HITS = "message_search(:tenant, websearch_to_tsquery('russian'::regconfig, CAST(:q AS text)))"

_BY_RECEIVED = "m.received_at DESC, m.id DESC"
_AFTER_RECEIVED = "(m.received_at, m.id) < (:after_received, :after_id)"


def _received_sql(where: _Filter, branches: Sequence[str], *, after: bool) -> str:
    """Newest first. With several branches (one per status asked for), each is paged by its
    own index range (``messages_inbox``) and the pages merged: one scan filtering the whole
    tenant for rare statuses would read far more."""
    keyset = [_AFTER_RECEIVED] if after else []

    def page(*extra: str) -> str:
        return (
            f"SELECT {_COLUMNS} FROM messages m WHERE {where.sql(*keyset, *extra)} "
            f"ORDER BY {_BY_RECEIVED} LIMIT :fetch"
        )

    if len(branches) <= 1:
        return page(*branches)
    merged = " UNION ALL ".join(f"({page(branch)})" for branch in branches)
    return f"SELECT * FROM ({merged}) m ORDER BY {_BY_RECEIVED} LIMIT :fetch"


def _status_branches(statuses: Sequence[Status], *, without_deadline: bool = False) -> list[str]:
    """One condition per status asked for; with ``without_deadline``, the statuses on the
    clock keep only their messages that have no deadline (the rest were sorted by it)."""
    branches = []
    for status in statuses:
        branch = f"m.status = '{status.value}'"
        if without_deadline and status in CLOCK_STATUSES:
            branch += f" AND {DEADLINE} IS NULL"
        branches.append(branch)
    return branches


async def list_messages(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    query: InboxQuery,
    *,
    now: datetime | None = None,
) -> InboxPage:
    """One page of a tenant's inbox, as ``staff`` may see it (an executor: what is assigned to
    them), with the cursor of the next."""
    _check(query)
    async with db.read_session([tenant_id]) as session:
        return await read_page(session, staff, tenant_id, query, now or datetime.now(UTC))


async def read_page(
    session: AsyncSession, staff: Staff, tenant_id: uuid.UUID, query: InboxQuery, now: datetime
) -> InboxPage:
    """``list_messages`` in the caller's transaction (scoped to ``tenant_id``)."""
    _check(query)
    sort = query.order
    position = Position.decode(query.cursor, sort) if query.cursor else None
    where = await _filter(session, staff, tenant_id, query, now)
    where.params["fetch"] = query.limit + 1  # one more tells whether a next page exists
    if sort is Sort.UPDATED:
        rows = await _by_updated(session, where, query.status, position)
    elif query.q is not None and sort is not Sort.DUE:
        rows = await _by_hits(session, where, query, position)
    elif sort is Sort.DUE:
        rows = await _by_deadline(session, where, query, position)
    else:
        rows = await _by_received(session, where, query.status, position)
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        next_cursor = _position_of(page[-1], sort).encode()
    return InboxPage(items=[_summary(row, now) for row in page], next_cursor=next_cursor)


async def _by_received(
    session: AsyncSession,
    where: _Filter,
    statuses: Sequence[Status],
    position: Position | None,
    *,
    without_deadline: bool = False,
) -> list[Row[Any]]:
    params = dict(where.params)
    if position is not None:
        params |= {"after_received": position.received_at, "after_id": position.id}
    if statuses:
        branches = _status_branches(statuses, without_deadline=without_deadline)
    elif without_deadline:
        branches = [f"(NOT {ON_CLOCK} OR {DEADLINE} IS NULL)"]
    else:
        branches = []
    sql = _received_sql(where, branches, after=position is not None)
    return list(await session.execute(text(sql), params))


async def _by_updated(
    session: AsyncSession,
    where: _Filter,
    statuses: Sequence[Status],
    position: Position | None,
) -> list[Row[Any]]:
    """Least recently changed first, by ``messages_updated`` (tenant, updated_at, id): an
    integration asks for what changed since its last pull and pages on by keyset, so a
    message changed while it pages moves to the end and comes again, never lost."""
    params = dict(where.params)
    conditions = [f"m.status IN ({status_list(statuses)})"] if statuses else []
    if position is not None:
        conditions.append("(m.updated_at, m.id) > (:after_updated, :after_id)")
        params |= {"after_updated": position.updated_at, "after_id": position.id}
    sql = (
        f"SELECT {_COLUMNS} FROM messages m WHERE {where.sql(*conditions)} "
        "ORDER BY m.updated_at, m.id LIMIT :fetch"
    )
    return list(await session.execute(text(sql), params))


async def _by_deadline(
    session: AsyncSession, where: _Filter, query: InboxQuery, position: Position | None
) -> list[Row[Any]]:
    """Soonest deadline first (``messages_deadline``); then, once those run out, the messages
    without a running deadline, newest first. A cursor in the second part skips the first."""
    rows: list[Row[Any]] = []
    on_clock = [s for s in CLOCK_STATUSES if not query.status or s in query.status]
    if on_clock and (position is None or position.deadline is not None):
        conditions = [f"m.status IN ({status_list(on_clock)})", f"{DEADLINE} IS NOT NULL"]
        if position is not None:
            conditions.append(f"({DEADLINE}, m.id) > (:after_deadline, :after_id)")
        sql = (
            f"SELECT {_COLUMNS} FROM messages m WHERE {where.sql(*conditions)} "
            f"ORDER BY {DEADLINE}, m.id LIMIT :fetch"
        )
        params = dict(where.params)
        if position is not None:
            params |= {"after_deadline": position.deadline, "after_id": position.id}
        rows = list(await session.execute(text(sql), params))
        if len(rows) == where.params["fetch"]:
            return rows
        position = None  # the rest starts from its beginning
    rest_where = _Filter(list(where.clauses), dict(where.params))
    rest_where.params["fetch"] = where.params["fetch"] - len(rows)
    statuses = query.status or []
    rest = await _by_received(session, rest_where, statuses, position, without_deadline=True)
    return rows + rest


async def _by_hits(
    session: AsyncSession, where: _Filter, query: InboxQuery, position: Position | None
) -> list[Row[Any]]:
    """A search, best match first (or newest first): the hits are ranked and ordered first
    (``messages_search``), then each is read under RLS in that order until the page is full,
    so a page costs the matches, not the tenant's whole inbox."""
    relevance = query.order is Sort.RELEVANCE
    order = (
        "h.rank DESC, h.received_at DESC, h.id DESC"
        if relevance
        else "h.received_at DESC, h.id DESC"
    )
    params = dict(where.params) | {"q": query.q}
    keyset = ""
    if position is not None:
        params |= {"after_received": position.received_at, "after_id": position.id}
        if relevance:
            keyset = (
                "WHERE (h.rank, h.received_at, h.id) "
                "< (CAST(:after_rank AS real), :after_received, :after_id)"
            )
            params["after_rank"] = position.rank
        else:
            keyset = "WHERE (h.received_at, h.id) < (:after_received, :after_id)"
    statuses = [f"m.status IN ({status_list(query.status)})"] if query.status else []
    sql = f"""
        SELECT m.*, h.rank
        FROM (SELECT h.id, h.received_at, h.rank FROM {_HITS} h {keyset} ORDER BY {order}) h
        CROSS JOIN LATERAL (
            -- LIMIT 1 keeps this a lookup per hit in the hits' order (not a join reading the
            -- whole tenant), so the outer LIMIT stops the lookups once the page is full.
            SELECT {_COLUMNS} FROM messages m WHERE {where.sql("m.id = h.id", *statuses)} LIMIT 1
        ) m
        ORDER BY {order}
        LIMIT :fetch
    """
    return list(await session.execute(text(sql), params))


def _deadline_of(row: Row[Any]) -> datetime | None:
    due: datetime | None = row.due_at if row.due_at is not None else row.stage_due_at
    return due


def _position_of(row: Row[Any], sort: Sort) -> Position:
    deadline = None
    if sort is Sort.DUE and Status(row.status) in CLOCK_STATUSES:
        deadline = _deadline_of(row)
    return Position(
        sort=sort,
        received_at=row.received_at,
        id=row.id,
        deadline=deadline,
        rank=row.rank if sort is Sort.RELEVANCE else None,
        updated_at=row.updated_at if sort is Sort.UPDATED else None,
    )


def _summary(row: Row[Any], now: datetime) -> MessageSummary:
    status = Status(row.status)
    return MessageSummary(
        id=row.id,
        number=row.tracking_number,
        registration_number=row.registration_number,
        status=status,
        version=row.version,
        topic=row.topic_code,
        territory=row.territory_code,
        summary=row.summary,
        address=row.address,
        applicant_name=row.applicant_name,
        received_at=row.received_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        stage_due_at=row.stage_due_at,
        sla=sla.remaining(_deadline_of(row), now) if status in CLOCK_STATUSES else None,
        assignee_id=row.assignee_id,
        reopened_count=row.reopened_count,
        rank=getattr(row, "rank", None),
    )
