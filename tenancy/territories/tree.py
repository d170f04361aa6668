"""The territory tree, in one place: a territory's ancestors and descendants (one depth rule,
:data:`MAX_DEPTH`), each territory's parent, the whole tree in order, and one level at a time
for the operator's pages (tens of thousands of territories are browsed from the top, each level
with the way back up and how many lie below each child)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.database import Database
from tenancy.errors import NotFound


@dataclass(frozen=True)
class TerritoryNode:
    code: str
    name: str
    children: int


@dataclass(frozen=True)
class TerritoryLevel:
    under: TerritoryNode | None  # None: the top level
    ancestors: list[TerritoryNode]  # from the top down to ``under``'s parent
    children: list[TerritoryNode]


_LEVEL = """
    SELECT t.code, t.name, (SELECT count(*) FROM territories k WHERE k.parent_code = t.code) AS n
    FROM territories t WHERE {where} ORDER BY t.name, t.code
"""
_CHILDREN = text(_LEVEL.format(where="t.parent_code = :under"))
_TOP = text(_LEVEL.format(where="t.parent_code IS NULL"))
# How deep a walk up or down the tree in SQL goes. The country has four levels (country,
# region, district or city, settlement); imports refuse cycles, and the limit keeps a walk
# finite even on rows written around them.
MAX_DEPTH = 20

_UP = f"""
    WITH RECURSIVE up AS (
        SELECT code, name, parent_code, 0 AS depth FROM territories WHERE code = :code
        UNION ALL
        SELECT t.code, t.name, t.parent_code, up.depth + 1
        FROM territories t JOIN up ON t.code = up.parent_code WHERE up.depth < {MAX_DEPTH}
    )
"""
_ANCESTOR_CODES = text(_UP + "SELECT code FROM up ORDER BY depth")
_ANCESTOR_NODES = text(
    _UP
    + """
    SELECT code, name, depth,
           (SELECT count(*) FROM territories k WHERE k.parent_code = up.code) AS n
    FROM up ORDER BY depth DESC
    """
)
_DESCENDANT_CODES = text(
    f"""
    WITH RECURSIVE down AS (
        SELECT code, 0 AS depth FROM territories WHERE code = :code
        UNION ALL
        SELECT t.code, down.depth + 1
        FROM territories t JOIN down ON t.parent_code = down.code WHERE down.depth < {MAX_DEPTH}
    )
    SELECT code FROM down
    """
)


async def ancestor_codes(session: AsyncSession, code: str) -> list[str]:
    """``code`` and the territories it lies in, from itself up; empty for an unknown code."""
    return list((await session.execute(_ANCESTOR_CODES, {"code": code})).scalars())


async def descendant_codes(session: AsyncSession, code: str) -> list[str]:
    """``code`` and every territory below it; empty for an unknown code."""
    return list((await session.execute(_DESCENDANT_CODES, {"code": code})).scalars())


async def territory_level(db: Database, under: str | None = None) -> TerritoryLevel:
    """The children of ``under`` (the top-level territories without it); NotFound for an
    unknown territory."""
    async with db.public_session() as session:
        chain = []
        if under is not None:
            chain = [
                TerritoryNode(r.code, r.name, r.n)
                for r in await session.execute(_ANCESTOR_NODES, {"code": under})
            ]
            if not chain:
                raise NotFound("territory", under)
        children = [
            TerritoryNode(r.code, r.name, r.n)
            for r in await session.execute(
                _CHILDREN if under is not None else _TOP, {"under": under}
            )
        ]
    return TerritoryLevel(chain[-1] if chain else None, chain[:-1], children)


async def territory_parents(session: AsyncSession) -> dict[str, str | None]:
    rows = await session.execute(text("SELECT code, parent_code FROM territories"))
    return {r.code: r.parent_code for r in rows}


async def territory_tree(db: Database) -> list[tuple[int, str, str]]:
    """(depth, code, name) in tree order."""
    async with db.public_session() as session:
        rows = (
            await session.execute(text("SELECT code, name, parent_code FROM territories"))
        ).all()
    children: dict[str | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_code, []).append(row)
    out: list[tuple[int, str, str]] = []
    stack = [(0, r) for r in sorted(children.get(None, []), key=lambda r: r.code, reverse=True)]
    while stack:
        depth, row = stack.pop()
        out.append((depth, row.code, row.name))
        kids = sorted(children.get(row.code, []), key=lambda r: r.code, reverse=True)
        stack.extend((depth + 1, kid) for kid in kids)
    return out
