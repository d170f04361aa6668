"""Operators' reach: the territories a regional operator may change (a federal operator's and
the command line's reach is the whole country)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.errors import InvalidInput

FEDERAL_ROLES = ("operator", "platform_admin")


Operator = uuid.UUID | str | None  # a user id, an e-mail (the command line's --as), or nobody


async def operator_regions(session: AsyncSession, operator: Operator) -> frozenset[str] | None:
    """The territories a regional operator may change, or None when the reach is the whole
    country: the command line (a platform admin), a federal operator or a platform admin."""
    if operator is None:
        return None
    if isinstance(operator, str):
        found = await session.execute(
            text("SELECT id FROM users WHERE lower(email) = lower(:e)"), {"e": operator}
        )
        user_id = found.scalar()
        if user_id is None:
            raise InvalidInput.one("operator", f"no staff member with e-mail {operator!r}")
        operator = user_id
    federal = await session.execute(
        text("SELECT 1 FROM platform_grants WHERE user_id = :u AND role = ANY(:r)"),
        {"u": operator, "r": list(FEDERAL_ROLES)},
    )
    if federal.first() is not None:
        return None
    regions = await session.execute(
        text("SELECT region_code FROM operator_regions WHERE user_id = :u"), {"u": operator}
    )
    return frozenset(regions.scalars())


def within_regions(code: str, regions: frozenset[str], parents: Mapping[str, str | None]) -> bool:
    """Whether territory ``code`` is one of ``regions`` or lies under one."""
    seen = 0
    current: str | None = code
    while current is not None and seen <= len(parents):
        if current in regions:
            return True
        current = parents.get(current)
        seen += 1
    return False


def outside_regions(regions: frozenset[str]) -> str:
    return f"outside your regions ({', '.join(sorted(regions)) or 'none'})"
