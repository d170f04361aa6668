"""Row-level security proves, at SQL level, that tenants cannot see or touch each other's rows."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from tenancy.database import Database
from tenancy.tenants import service
from tenancy.tenants.models import TenantKind
from tenancy.tenants.schemas import TenantRead


@pytest.fixture
async def two_tenants(db: Database, tenant_data: Callable[..., Any]) -> tuple[TenantRead, ...]:
    a = await service.create_tenant(db, tenant_data("tenant-a"), actor="test")
    b = await service.create_tenant(db, tenant_data("tenant-b"), actor="test")
    return a, b


async def audit_count(db: Database, tenant_ids: list[Any]) -> int:
    async with db.tenant_session(tenant_ids) as session:
        return int((await session.execute(text("SELECT count(*) FROM audit_log"))).scalar_one())


async def test_scoped_session_reads_only_its_tenants_rows(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    async with db.tenant_session([a.id]) as session:
        rows = (await session.execute(text("SELECT tenant_id FROM audit_log"))).all()
        of_b = await session.execute(
            text("SELECT count(*) FROM audit_log WHERE tenant_id = :b"), {"b": b.id}
        )
        assert of_b.scalar_one() == 0
    assert rows
    assert {row.tenant_id for row in rows} == {a.id}
    assert await audit_count(db, [a.id, b.id]) == 2


async def test_session_without_tenant_reads_nothing(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    assert await audit_count(db, []) == 0
    async with db.public_session() as session:
        setting = await session.execute(text("SELECT current_setting('app.tenant_ids', true)"))
        assert setting.scalar_one() == ""


async def test_scoped_session_cannot_write_rows_for_another_tenant(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    with pytest.raises(ProgrammingError, match="row-level security"):
        async with db.tenant_session([a.id]) as session:
            await session.execute(
                text(
                    "INSERT INTO audit_log (tenant_id, actor, action, object_type, object_id) "
                    "VALUES (:b, 'x', 'forged', 'tenant', 'b')"
                ),
                {"b": b.id},
            )
    assert await audit_count(db, [b.id]) == 1


async def test_scoped_session_cannot_move_a_row_to_another_tenant(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    # The app role may not update the audit log at all: it is append-only.
    with pytest.raises(ProgrammingError, match="permission denied"):
        async with db.tenant_session([a.id]) as session:
            await session.execute(text("UPDATE audit_log SET tenant_id = :b"), {"b": b.id})
    with pytest.raises(ProgrammingError, match="permission denied"):
        async with db.tenant_session([a.id]) as session:
            await session.execute(text("DELETE FROM audit_log"))


async def test_app_role_cannot_escape_its_scope(db: Database) -> None:
    async with db.public_session() as session:
        role = (
            await session.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        owned = await session.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
            )
        )
        assert owned.scalar_one() == 0
    assert not role.rolsuper
    assert not role.rolbypassrls
    with pytest.raises(DBAPIError):
        async with db.public_session() as session:
            await session.execute(text("SET ROLE postgres"))


async def test_every_tenant_owned_table_forces_row_level_security(db: Database) -> None:
    async with db.privileged_session() as session:
        rows = (
            await session.execute(
                text(
                    """
                    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                           count(p.polname) AS policies
                    FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                    LEFT JOIN pg_policy p ON p.polrelid = c.oid
                    WHERE n.nspname = 'public' AND c.relkind = 'r'
                    GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity
                    """
                )
            )
        ).all()
    assert rows, "no tenant-owned tables found"
    unprotected = [r.relname for r in rows if not (r.relrowsecurity and r.relforcerowsecurity)]
    without_policy = [r.relname for r in rows if r.policies == 0]
    assert unprotected == []
    assert without_policy == []


async def test_tenant_id_leads_every_key_of_tenant_owned_tables(db: Database) -> None:
    """So that the schema can be distributed by tenant_id later without redesign."""
    async with db.privileged_session() as session:
        rows = (
            await session.execute(
                text(
                    """
                    SELECT i.indexrelid::regclass::text AS index,
                           (SELECT attname FROM pg_attribute
                            WHERE attrelid = i.indrelid AND attnum = i.indkey[0]) AS first_column
                    FROM pg_index i
                    JOIN pg_class c ON c.oid = i.indrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                    WHERE n.nspname = 'public' AND (i.indisunique OR i.indisprimary)
                    """
                )
            )
        ).all()
    assert rows
    assert [r.index for r in rows if r.first_column != "tenant_id"] == []


async def test_privileged_session_sees_every_tenant(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    async with db.privileged_session() as session:
        count = await session.execute(text("SELECT count(DISTINCT tenant_id) FROM audit_log"))
        assert count.scalar_one() == 2


async def test_tenant_scope_ignores_a_forged_setting_string(db: Database) -> None:
    with pytest.raises(ValueError, match="badly formed"):
        async with db.tenant_session(["not-a-uuid"]):  # type: ignore[list-item]
            pass


async def test_nested_tenants_are_not_visible_to_the_parent_scope(
    db: Database, tenant_data: Callable[..., Any]
) -> None:
    region = await service.create_tenant(
        db, tenant_data("region", kind=TenantKind.REGION), actor="test"
    )
    await service.create_tenant(db, tenant_data("school", parent="region"), actor="test")
    async with db.tenant_session([region.id]) as session:
        seen = await session.execute(text("SELECT DISTINCT tenant_id FROM audit_log"))
        assert [row.tenant_id for row in seen] == [region.id]
