"""The operator's queue: messages nobody was responsible for when they arrived.

A queued message leaves the queue only by being filed in an organization, through intake's own
filing (:func:`cabinets.messages.intake.file_submission`): new there, under the number the
citizen already follows, with the notice that tells the citizen where it went. Either the
operator dispatches it by hand, or a new rule covers it and :func:`requeue` files every waiting
message the routing table now resolves. A message is claimed (``dispatched_at``) in the same
transaction that files it, so it is never filed twice and never lost between the two.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text

from cabinets.messages.intake import file_submission
from cabinets.messages.schemas import MessageSubmission
from cabinets.responsible import ResponsibleTenant, published_topic, read_topics
from tenancy.database import Database, Pipeline
from tenancy.errors import Conflict, InvalidInput, NotFound
from tenancy.routing.resolver import Resolution, RoutingIndex
from tenancy.territories.reach import Operator, operator_regions

BATCH = 500  # messages filed per transaction when re-routing
# Who sent a dispatched message to its organization, as the citizen's timeline reads it
# («Получено по компетенции», from …).
SENT_BY = {"from": "оператор Приёмной"}


@dataclass(frozen=True)
class QueuedMessage:
    id: uuid.UUID
    number: str
    received_at: datetime
    topic: str
    territory: str
    summary: str
    text: str
    address: str | None
    fields: dict[str, Any]
    explanation: Resolution | None  # None: the topic or territory is gone from the catalog


@dataclass(frozen=True)
class Requeued:
    dispatched: int
    waiting: int


_WAITING = text(
    """
    SELECT id, tracking_number, received_at, topic_code, territory_code, submission
    FROM operator_queue WHERE dispatched_at IS NULL
    ORDER BY received_at, id LIMIT :limit
    """
)
_ONE = text(
    """
    SELECT id, tracking_number, received_at, topic_code, territory_code, submission,
           dispatched_at
    FROM operator_queue WHERE id = :id
    """
)
_CLAIM = text(
    """
    UPDATE operator_queue SET dispatched_at = :now, dispatched_to = :t
    WHERE id = ANY(:ids) AND dispatched_at IS NULL
    RETURNING id, tracking_number, submission
    """
)
_HOLD = text(
    """
    UPDATE message_tracking SET holder_tenant_id = :t, holder_message_id = h.m
    FROM unnest(CAST(:numbers AS text[]), CAST(:messages AS uuid[])) AS h(n, m)
    WHERE number = h.n
    """
)
_TENANT = text(
    "SELECT id, slug, name, status, timezone, calendar, attachment_max_mb, attachment_max_files "
    "FROM tenants WHERE slug = :s"
)
_COUNT = text("SELECT count(*) FROM operator_queue WHERE dispatched_at IS NULL")


def _explain(routes: RoutingIndex, topic: str, territory: str, day: date) -> Resolution | None:
    if topic not in routes.topic_category or territory not in routes.parents:
        return None
    return routes.explain(topic, territory, day)


def _queued(row: Any, routes: RoutingIndex, day: date) -> QueuedMessage:
    submission = row.submission
    return QueuedMessage(
        id=row.id,
        number=row.tracking_number,
        received_at=row.received_at,
        topic=row.topic_code,
        territory=row.territory_code,
        summary=submission.get("summary", ""),
        text=submission.get("text", ""),
        address=submission.get("address"),
        fields=submission.get("fields") or {},
        explanation=_explain(routes, row.topic_code, row.territory_code, day),
    )


async def waiting(
    db: Database, routes: RoutingIndex, *, operator: Operator = None, limit: int = 200
) -> tuple[list[QueuedMessage], int]:
    """The oldest waiting messages with why no rule takes them today, and how many wait; a
    regional operator sees those on their regions' territories."""
    day = datetime.now(UTC).date()
    async with db.public_session() as session:
        regions = await operator_regions(session, operator)
        if regions is None:
            rows = (await session.execute(_WAITING, {"limit": limit})).all()
            total = int((await session.execute(_COUNT)).scalar_one())
        else:
            every = (await session.execute(_WAITING, {"limit": None})).all()
            theirs = [r for r in every if routes.within(r.territory_code, regions)]
            rows, total = theirs[:limit], len(theirs)
    return [_queued(r, routes, day) for r in rows], total


async def queued_message(db: Database, routes: RoutingIndex, queue_id: uuid.UUID) -> QueuedMessage:
    """One message still waiting; NotFound once it has been dispatched."""
    async with db.public_session() as session:
        row = (await session.execute(_ONE, {"id": queue_id})).first()
    if row is None or row.dispatched_at is not None:
        raise NotFound("queued message", str(queue_id))
    return _queued(row, routes, datetime.now(UTC).date())


async def _receiving(db: Database, slug: str) -> ResponsibleTenant:
    """The organization a message is dispatched to, as it is now (not as the index last saw)."""
    async with db.public_session() as session:
        row = (await session.execute(_TENANT, {"s": slug})).first()
    if row is None:
        raise InvalidInput.one("tenant", f"unknown organization {slug!r}", code="unknown_tenant")
    tenant = ResponsibleTenant(**row._mapping)
    if tenant.status != "active":
        raise InvalidInput.one(
            "tenant", f"{slug!r} is {tenant.status}: it takes no messages", code="tenant_inactive"
        )
    return tenant


async def _check_reach(
    db: Database, routes: RoutingIndex, operator: Operator, territory: str
) -> None:
    async with db.public_session() as session:
        regions = await operator_regions(session, operator)
    if regions is not None and not routes.within(territory, regions):
        raise InvalidInput.one(
            "tenant",
            f"the message's territory {territory} is outside your regions",
            code="outside_regions",
        )


async def _file_claimed(
    pipe: Pipeline,
    db: Database,
    routes: RoutingIndex,
    tenant: ResponsibleTenant,
    claimed: Sequence[Any],
    now: datetime,
) -> None:
    numbers, messages = [], []
    for row in claimed:
        stored = dict(row.submission)
        applicant = stored.pop("applicant")
        citizen = stored.pop("citizen_id", None)
        stored.pop("received_at", None)
        submission = MessageSubmission.model_validate(stored | {"applicant": None})
        topic = await published_topic(db, routes, submission.topic)
        message_id = uuid.uuid4()
        await file_submission(
            pipe,
            tenant,
            topic,
            submission,
            applicant,
            uuid.UUID(citizen) if citizen else None,
            row.tracking_number,
            message_id,
            (),
            now,
            SENT_BY,
        )
        numbers.append(row.tracking_number)
        messages.append(message_id)
    if numbers:
        await pipe.execute(_HOLD, {"t": tenant.id, "numbers": numbers, "messages": messages})


async def dispatch(
    db: Database,
    routes: RoutingIndex,
    queue_id: uuid.UUID,
    tenant_slug: str,
    *,
    operator: Operator = None,
) -> str:
    """File one waiting message in ``tenant_slug``; its tracking number. Refused, with nothing
    changed: an unknown, suspended or archived organization (``tenant``), a territory outside
    a regional operator's regions, a message already dispatched (Conflict)."""
    found = await queued_message(db, routes, queue_id)
    tenant = await _receiving(db, tenant_slug)
    await _check_reach(db, routes, operator, found.territory)
    await published_topic(db, routes, found.topic)
    now = datetime.now(UTC)
    async with db.tenant_pipeline([tenant.id]) as pipe:
        claimed = await (
            await pipe.execute(_CLAIM, {"now": now, "t": tenant.id, "ids": [queue_id]})
        ).fetchall()
        if not claimed:
            raise Conflict("the message has just been dispatched by someone else")
        await _file_claimed(pipe, db, routes, tenant, claimed, now)
    return found.number


_ALL_WAITING = text(
    "SELECT id, topic_code, territory_code FROM operator_queue WHERE dispatched_at IS NULL"
)


async def requeue(
    db: Database, routes: RoutingIndex, *, operator: Operator = None, day: date | None = None
) -> Requeued:
    """File every waiting message the routing table now resolves to an active organization
    (for a regional operator, those on their regions' territories); the rest keep waiting."""
    day = day or datetime.now(UTC).date()
    async with db.public_session() as session:
        rows = (await session.execute(_ALL_WAITING)).all()
        regions = await operator_regions(session, operator)
    await read_topics(db, routes, {row.topic_code for row in rows})
    by_tenant: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        if row.topic_code not in routes.topic_category or row.territory_code not in routes.parents:
            continue
        if regions is not None and not routes.within(row.territory_code, regions):
            continue
        slug = routes.resolve(row.topic_code, row.territory_code, day)
        if slug is None:
            continue
        try:
            await published_topic(db, routes, row.topic_code)
        except InvalidInput:
            continue  # a topic no longer active: the operator dispatches it by hand
        by_tenant.setdefault(slug, []).append(row.id)
    dispatched = 0
    for slug, ids in by_tenant.items():
        try:
            tenant = await _receiving(db, slug)
        except InvalidInput:
            continue  # suspended since the index was built: these keep waiting
        for start in range(0, len(ids), BATCH):
            now = datetime.now(UTC)
            async with db.tenant_pipeline([tenant.id]) as pipe:
                claimed = await (
                    await pipe.execute(
                        _CLAIM, {"now": now, "t": tenant.id, "ids": ids[start : start + BATCH]}
                    )
                ).fetchall()
                await _file_claimed(pipe, db, routes, tenant, claimed, now)
                dispatched += len(claimed)
    return Requeued(dispatched=dispatched, waiting=len(rows) - dispatched)
