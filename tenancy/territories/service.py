"""Territories: import (all or nothing, every problem with its ``file:line``), and finding
them by code or name for a citizen choosing where the problem is."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, Forbidden, InvalidInput
from tenancy.file_rows import read_rows
from tenancy.hierarchy import cycle_through
from tenancy.territories.reach import Operator, operator_regions
from tenancy.territories.schemas import TerritoryRow

TERRITORY_COLUMNS = ("code", "name", "parent")


async def import_territories(
    db: Database, path: Path, *, actor: str, operator: Operator = None
) -> dict[str, int]:
    """Add or update territories from ``code,name,parent``; all or nothing. Territories are
    the whole country's: a regional operator (``operator``) does not import them."""
    rows, errors = read_rows(path, TERRITORY_COLUMNS, (), TerritoryRow)
    async with db.privileged_session(actor=actor) as session:
        if await operator_regions(session, operator) is not None:
            raise Forbidden("territories are the whole country's: a federal operator imports them")
        found = (
            await session.execute(text("SELECT code, name, parent_code FROM territories"))
        ).all()
        stored = {r.code: r.parent_code for r in found}
        names = {r.code: r.name for r in found}
        final = dict(stored)
        seen: dict[str, str] = {}
        for where, row in rows:
            if row.code in seen:
                errors.append(
                    FieldError(
                        "code",
                        f"{row.code} is also at {seen[row.code]}",
                        location=where,
                        code="duplicate",
                    )
                )
            seen[row.code] = where
            final[row.code] = row.parent
        for where, row in rows:
            if row.parent is not None and row.parent not in final:
                errors.append(
                    FieldError(
                        "parent",
                        f"unknown territory {row.parent}",
                        location=where,
                        code="unknown_territory",
                    )
                )
            elif (cycle := cycle_through(row.code, final)) is not None:
                errors.append(
                    FieldError(
                        "parent",
                        f"makes a cycle: {' → '.join(cycle)}",
                        location=where,
                        code="cycle",
                    )
                )
        if errors:
            raise InvalidInput(errors)
        changed = [
            r
            for _, r in rows
            if r.code not in stored or stored[r.code] != r.parent or names[r.code] != r.name
        ]
        if changed:
            await session.execute(
                text(
                    """
                    INSERT INTO territories (code, name, parent_code)
                    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]),
                                         CAST(:parents AS text[]))
                    ON CONFLICT (code) DO UPDATE
                        SET name = excluded.name, parent_code = excluded.parent_code,
                            updated_at = now()
                    """
                ),
                {
                    "codes": [r.code for r in changed],
                    "names": [r.name for r in changed],
                    "parents": [r.parent for r in changed],
                },
            )
            record_audit(
                session,
                tenant_id=None,
                actor=actor,
                action="territories.imported",
                object_type="territory",
                object_id=str(path),
                changes={"changed": len(changed)},
                source=str(path),
            )
        created = sum(1 for r in changed if r.code not in stored)
        return {
            "created": created,
            "updated": len(changed) - created,
            "unchanged": len(rows) - len(changed),
        }


_FIND_TERRITORIES = text(
    r"""
    SELECT t.code, t.name, p.name AS parent_name
    FROM territories t LEFT JOIN territories p ON p.code = t.parent_code
    WHERE t.code = :text OR t.name ILIKE '%' || :pattern || '%' ESCAPE '\'
    ORDER BY t.code <> :text, t.name NOT ILIKE :pattern || '%' ESCAPE '\', length(t.name),
             t.name, t.code
    LIMIT :limit
    """
)


async def find_territories(db: Database, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Territories for a citizen choosing where the problem is: by code, or by a part of the
    name (names that start with it first, then the shortest)."""
    wanted = query.strip()
    if not wanted:
        return []
    pattern = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with db.public_session() as session:
        rows = await session.execute(
            _FIND_TERRITORIES, {"text": wanted, "pattern": pattern, "limit": limit}
        )
        return [dict(row._mapping) for row in rows]


_NAMED_TERRITORIES = text(
    """
    SELECT t.code, t.name, p.name AS parent_name
    FROM territories t LEFT JOIN territories p ON p.code = t.parent_code
    WHERE t.code = ANY(:codes)
    ORDER BY t.name, t.code
    """
)


async def named_territories(db: Database, codes: Iterable[str]) -> list[dict[str, Any]]:
    """The territories of ``codes`` as :func:`find_territories` gives them, by name."""
    async with db.public_session() as session:
        rows = await session.execute(_NAMED_TERRITORIES, {"codes": list(codes)})
        return [dict(row._mapping) for row in rows]
