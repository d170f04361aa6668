"""What intake and uploads need to know about the tenant the routing table names, and about
published topics, read once per routing index: any change to tenants, the catalog or the rules
rebuilds the index (its triggers), and with it these facts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.routing.resolver import RoutingIndex


@dataclass(frozen=True)
class ResponsibleTenant:
    id: uuid.UUID
    slug: str
    name: str
    status: str
    timezone: str
    calendar: str
    attachment_max_mb: int
    attachment_max_files: int


@dataclass(frozen=True)
class PublishedTopic:
    version_id: int
    code: str
    title: str
    deadline_days: int
    calendar: str
    moderation_days: int
    address_required: bool
    photo_required: bool
    fields: list[dict[str, Any]]
    active: bool


async def responsible_tenant(db: Database, routes: RoutingIndex, slug: str) -> ResponsibleTenant:
    known: dict[str, ResponsibleTenant] = routes.memo.setdefault("tenants", {})
    if slug not in known:
        async with db.public_session() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT id, slug, name, status, timezone, calendar, attachment_max_mb, "
                        "attachment_max_files FROM tenants WHERE slug = :s"
                    ),
                    {"s": slug},
                )
            ).one()
        known[slug] = ResponsibleTenant(**row._mapping)
    return known[slug]


_PUBLISHED_TOPICS = text(
    """
    SELECT c.version_id, c.code, c.title, c.deadline_days, c.calendar,
           c.moderation_days, c.address_required, c.photo_required,
           c.fields, c.active
    FROM catalog_topics c JOIN catalog_versions v ON v.id = c.version_id
    WHERE v.status = 'published' AND c.code = ANY(:codes)
    """
)


async def read_topics(db: Database, routes: RoutingIndex, codes: Iterable[str]) -> None:
    """Read the published topics of ``codes`` not yet known to this index, in one query
    (re-routing the operator's queue files messages on many topics at once)."""
    known: dict[str, PublishedTopic | None] = routes.memo.setdefault("topics", {})
    wanted = sorted({c for c in codes if c not in known})
    if not wanted:
        return
    async with db.public_session() as session:
        rows = (await session.execute(_PUBLISHED_TOPICS, {"codes": wanted})).all()
    found = {row.code: PublishedTopic(**row._mapping) for row in rows}
    for code in wanted:
        known[code] = found.get(code)


async def published_topic(db: Database, routes: RoutingIndex, code: str) -> PublishedTopic:
    """An active topic of the published catalog; InvalidInput (``topic``) otherwise."""
    await read_topics(db, routes, [code])
    topic: PublishedTopic | None = routes.memo["topics"][code]
    if topic is None or not topic.active:
        raise InvalidInput.one("topic", f"{code!r} is not an active topic", code="inactive_topic")
    return topic
