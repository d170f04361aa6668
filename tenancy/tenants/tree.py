"""The tenant tree's walks, written once: a tenant's ancestors (itself, its parent, and up to the
top) and its subtree (itself and everything below it, in tree order). Every walk stops at
``MAX_DEPTH`` levels, so a cycle that slipped into the data cannot run away.

The CTE fragments are for queries that join a walk into their own SQL (one round trip); the
functions run a walk alone in the caller's session."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

MAX_DEPTH = 1000  # deeper than any real hierarchy (federal, regions, districts, services)


def ancestors_cte(name: str, start: str) -> str:
    """``name AS (...)``, for a ``WITH RECURSIVE``: the tenant ``start`` (an SQL expression,
    usually a bind parameter) at depth 0, then each parent, one depth further."""
    return f"""{name} AS (
        SELECT id, parent_id, slug, 0 AS depth FROM tenants WHERE id = {start}
        UNION ALL
        SELECT t.id, t.parent_id, t.slug, {name}.depth + 1
        FROM tenants t JOIN {name} ON t.id = {name}.parent_id
        WHERE {name}.depth < {MAX_DEPTH}
    )"""


def subtree_cte(name: str, root: str) -> str:
    """``name AS (...)``, for a ``WITH RECURSIVE``: the tenant ``root`` at depth 0 and every
    tenant below it, each with its ``path`` of slugs from the root (to order the tree by)."""
    return f"""{name} AS (
        SELECT id, slug, name, parent_id, 0 AS depth, ARRAY[slug] AS path
        FROM tenants WHERE id = {root}
        UNION ALL
        SELECT t.id, t.slug, t.name, t.parent_id, d.depth + 1, d.path || t.slug
        FROM tenants t JOIN {name} d ON t.parent_id = d.id
        WHERE d.depth < {MAX_DEPTH}
    )"""


_ANCESTORS = text(
    f"WITH RECURSIVE {ancestors_cte('up', ':start')} SELECT id, slug, depth FROM up ORDER BY depth"
)
_SUBTREE = text(
    f"""
    WITH RECURSIVE {subtree_cte("down", ":root")}
    SELECT d.id, d.slug, d.name, p.slug AS parent, d.depth
    FROM down d LEFT JOIN tenants p ON p.id = d.parent_id AND d.depth > 0
    ORDER BY d.path
    """
)


async def ancestors(session: AsyncSession, tenant_id: uuid.UUID) -> list[Row[Any]]:
    """The tenant and every tenant above it, nearest first: ``id``, ``slug``, ``depth``."""
    return list((await session.execute(_ANCESTORS, {"start": tenant_id})).all())


async def subtree(session: AsyncSession, root_id: uuid.UUID) -> list[Row[Any]]:
    """The tenant and every tenant below it in tree order (each after its parent, siblings by
    slug): ``id``, ``slug``, ``name``, ``parent`` (the parent's slug, None for the root) and
    ``depth`` (0 for the root)."""
    return list((await session.execute(_SUBTREE, {"root": root_id})).all())
