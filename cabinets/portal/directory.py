"""Finding an organization: by a part of its name, the place it is in, or its INN; and its
page's facts (the topics it answers, where it answers them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.routing.resolver import RoutingIndex
from tenancy.territories import service as territories

QUERY_LENGTH = 100
FOUND_LIMIT = 20
PLACES_SHOWN = 30

_SEARCH = text(
    """
    SELECT t.slug, t.name, t.short_name, t.inn, p.name AS place
    FROM tenants t LEFT JOIN territories p ON p.code = t.territory_code
    WHERE t.status = 'active'
      AND (t.name ILIKE :pattern OR t.short_name ILIKE :pattern OR p.name ILIKE :pattern
           OR t.inn = :text)
    ORDER BY (t.name ILIKE :prefix) DESC, length(t.name), t.name
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Organization:
    slug: str
    name: str
    short_name: str | None
    inn: str
    place: str | None
    takes_messages: bool = True
    topics: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


def search_problems(query: str) -> list[FieldError]:
    if len(query) > QUERY_LENGTH:
        return [FieldError("q", "too long", code="string_too_long", limit=QUERY_LENGTH)]
    return []


async def find_organizations(db: Database, query: str) -> list[Organization]:
    """Active organizations matching ``query``; InvalidInput (field ``q``) for one too long."""
    wanted = query.strip()
    problems = search_problems(wanted)
    if problems:
        raise InvalidInput(problems)
    if not wanted:
        return []
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with db.public_session() as session:
        rows = await session.execute(
            _SEARCH,
            {
                "pattern": f"%{escaped}%",
                "prefix": f"{escaped}%",
                "text": wanted,
                "limit": FOUND_LIMIT,
            },
        )
        return [Organization(r.slug, r.name, r.short_name, r.inn, r.place) for r in rows]


async def organization_page(db: Database, routes: RoutingIndex, slug: str) -> Organization:
    """An active organization with the topics it answers and the places it answers them."""
    async with db.public_session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT t.slug, t.name, t.short_name, t.inn, p.name AS place FROM tenants t "
                    "LEFT JOIN territories p ON p.code = t.territory_code "
                    "WHERE t.slug = :s AND t.status = 'active'"
                ),
                {"s": slug},
            )
        ).first()
    if row is None:
        raise NotFound("organization", slug)
    today = datetime.now(UTC).date()
    codes = routes.places_of(slug, today)
    topics: list[dict[str, Any]] = await catalog.list_topics(db) if codes else []
    answered = tuple(
        t["title"]
        for t in topics
        if t["active"] and any(routes.resolve(t["code"], c, today) == slug for c in codes)
    )
    places = await territories.named_territories(db, codes[:PLACES_SHOWN]) if codes else []
    return Organization(
        row.slug,
        row.name,
        row.short_name,
        row.inn,
        row.place,
        takes_messages=routes.tenant_status.get(slug) == "active" and bool(answered),
        topics=answered,
        places=tuple(p["name"] for p in places),
    )
