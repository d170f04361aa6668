"""The schema stays distributable by tenant_id (Citus, see deploy/RUNBOOK.md): every
tenant-owned table has a primary key led by tenant_id, every unique constraint is led by it,
every foreign key between tenant-owned tables carries it (so related rows live on one node),
and no shared table (a reference table then) points into a tenant-owned one."""

from __future__ import annotations

from sqlalchemy import text

from tenancy.database import Database

TENANT_OWNED = """
    SELECT c.oid FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
"""


async def rows(db: Database, query: str) -> list[tuple[str, ...]]:
    async with db.privileged_session() as session:
        return [tuple(row) for row in await session.execute(text(query))]


async def test_every_tenant_owned_table_has_a_primary_key_led_by_tenant_id(db: Database) -> None:
    found = await rows(
        db,
        f"""
        SELECT c.relname,
               (SELECT a.attname FROM pg_constraint k
                JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                WHERE k.conrelid = c.oid AND k.contype = 'p') AS first_column
        FROM pg_class c WHERE c.oid IN ({TENANT_OWNED})
        """,
    )
    assert len(found) > 10
    assert [table for table, first in found if first != "tenant_id"] == []


async def test_every_unique_or_exclusion_constraint_of_a_tenant_owned_table_has_tenant_id_first(
    db: Database,
) -> None:
    found = await rows(
        db,
        f"""
        SELECT k.conname, a.attname FROM pg_constraint k
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.contype IN ('u', 'x') AND k.conrelid IN ({TENANT_OWNED})
        """,
    )
    assert [name for name, first in found if first != "tenant_id"] == []


async def test_foreign_keys_between_tenant_owned_tables_carry_tenant_id(db: Database) -> None:
    found = await rows(
        db,
        f"""
        SELECT k.conname,
               EXISTS (
                   SELECT 1 FROM unnest(k.conkey, k.confkey) AS pair(here, there)
                   JOIN pg_attribute mine ON mine.attrelid = k.conrelid AND mine.attnum = here
                   JOIN pg_attribute theirs
                     ON theirs.attrelid = k.confrelid AND theirs.attnum = there
                   WHERE mine.attname = 'tenant_id' AND theirs.attname = 'tenant_id'
               ) AS colocated
        FROM pg_constraint k
        WHERE k.contype = 'f' AND k.conrelid IN ({TENANT_OWNED})
          AND k.confrelid IN ({TENANT_OWNED})
        """,
    )
    assert found, "no foreign keys between tenant-owned tables found"
    assert [name for name, colocated in found if not colocated] == []


async def test_no_shared_table_points_into_a_tenant_owned_table(db: Database) -> None:
    found = await rows(
        db,
        f"""
        SELECT k.conname FROM pg_constraint k
        JOIN pg_namespace n ON n.oid = (SELECT relnamespace FROM pg_class WHERE oid = k.conrelid)
        WHERE k.contype = 'f' AND n.nspname = 'public'
          AND k.conrelid NOT IN ({TENANT_OWNED}) AND k.confrelid IN ({TENANT_OWNED})
        """,
    )
    assert found == []
