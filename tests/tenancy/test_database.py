"""Transactions: the pipelined one keeps the session's guarantees, and pooled connections that
the server dropped are replaced."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tenancy import database
from tenancy.database import Database
from tenancy.tenants import service
from tenancy.tenants.schemas import TenantRead

AUDIT_ACTIONS = text("SELECT tenant_id, action FROM audit_log ORDER BY action")
RECORD = text(
    "INSERT INTO audit_log (tenant_id, actor, action, object_type, object_id) "
    "VALUES (:t, 'test', :a, 'test', 'x')"
)


@pytest.fixture
async def two_tenants(db: Database, tenant_data: Callable[..., Any]) -> tuple[TenantRead, ...]:
    a = await service.create_tenant(db, tenant_data("tenant-a"), actor="test")
    b = await service.create_tenant(db, tenant_data("tenant-b"), actor="test")
    return a, b


async def actions(db: Database, tenant: TenantRead) -> set[str]:
    async with db.tenant_session([tenant.id]) as session:
        return {row.action for row in await session.execute(AUDIT_ACTIONS)}


async def test_a_pipeline_commits_what_it_queued_and_reads_under_its_tenant_scope(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    async with db.tenant_pipeline([a.id]) as pipe:
        await pipe.execute(RECORD, {"t": a.id, "a": "queued.first"})
        seen = await (await pipe.execute(AUDIT_ACTIONS)).fetchall()
        await pipe.execute(RECORD, {"t": a.id, "a": "queued.last"})
    assert {row.tenant_id for row in seen} == {a.id}
    assert {"queued.first", "queued.last"} <= await actions(db, a)
    assert not {"queued.first", "queued.last"} & await actions(db, b)


async def test_a_pipeline_refuses_rows_of_tenants_outside_its_scope(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants

    async def write_into_both() -> None:
        async with db.tenant_pipeline([a.id]) as pipe:
            await pipe.execute(RECORD, {"t": a.id, "a": "before.the.refusal"})
            await pipe.execute(RECORD, {"t": b.id, "a": "into.another.tenant"})

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await write_into_both()
    assert "before.the.refusal" not in await actions(db, a)


async def test_a_pipeline_that_raises_writes_nothing(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, _ = two_tenants

    async def change_mind() -> None:
        async with db.tenant_pipeline([a.id]) as pipe:
            await pipe.execute(RECORD, {"t": a.id, "a": "read.then.refused"})
            await (await pipe.execute(AUDIT_ACTIONS)).fetchall()
            await pipe.execute(RECORD, {"t": a.id, "a": "never.sent"})
            raise LookupError("the caller changed its mind")

    with pytest.raises(LookupError):
        await change_mind()
    assert not {"read.then.refused", "never.sent"} & await actions(db, a)
    async with db.tenant_pipeline([a.id]) as pipe:  # the connection went back clean
        await pipe.execute(RECORD, {"t": a.id, "a": "afterwards"})
    assert "afterwards" in await actions(db, a)


async def backend_of(db: Database) -> int:
    async with db.public_session() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def drop_connection(db: Database, pid: int) -> None:
    async with db.privileged_session() as session:
        await session.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = await backend_of(db)
    await drop_connection(db, dropped)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has sat long enough
    assert await backend_of(db) != dropped


async def test_a_connection_dropped_in_steady_use_fails_once_then_the_pool_is_renewed(
    db: Database,
) -> None:
    dropped = await backend_of(db)
    await drop_connection(db, dropped)
    if db.urls.pooled:
        # Behind PgBouncer only its server connection died: it opens another one, and ours
        # to PgBouncer never noticed.
        assert await backend_of(db) != dropped
        return
    with pytest.raises(DBAPIError) as failed:
        await backend_of(db)
    assert failed.value.connection_invalidated
    assert await backend_of(db) != dropped


@pytest.fixture
async def one_connection(db: Database) -> AsyncIterator[Database]:
    """The same database through a pool of one connection: what one use leaves on the
    connection, the next one meets."""
    lone = Database(db.urls, pool_size=1, max_overflow=0)
    yield lone
    await lone.dispose()


async def test_a_tenant_write_lands_under_its_scope_and_leaves_no_scope_behind(
    one_connection: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    await one_connection.tenant_write([a.id], RECORD, {"t": a.id, "a": "written.alone"})
    assert "written.alone" in await actions(one_connection, a)
    assert "written.alone" not in await actions(one_connection, b)
    async with one_connection.public_session() as session:
        left = await session.execute(text("SELECT current_setting('app.tenant_ids', true)"))
        assert left.scalar_one() in ("", None)


async def test_a_tenant_write_outside_its_scope_is_refused_and_the_connection_stays_transactional(
    one_connection: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await one_connection.tenant_write([a.id], RECORD, {"t": b.id, "a": "into.another"})
    assert "into.another" not in await actions(one_connection, b)

    async def write_then_fail() -> None:
        async with one_connection.tenant_session([a.id]) as session:
            await session.execute(RECORD, {"t": a.id, "a": "rolled.back"})
            raise LookupError("the caller changed its mind")

    with pytest.raises(LookupError):
        await write_then_fail()
    assert "rolled.back" not in await actions(one_connection, a)


async def test_a_tenant_write_binds_its_parameters_as_values(
    db: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, _ = two_tenants
    hostile = "x'); DELETE FROM audit_log; --"
    await db.tenant_write([a.id], RECORD, {"t": a.id, "a": hostile})
    assert hostile in await actions(db, a)
    assert len(await actions(db, a)) > 1  # nothing was deleted


async def test_a_tenant_write_on_a_dropped_connection_fails_once_then_the_pool_is_renewed(
    one_connection: Database, two_tenants: tuple[TenantRead, ...]
) -> None:
    a, _ = two_tenants
    await drop_connection(one_connection, await backend_of(one_connection))
    if one_connection.urls.pooled:  # PgBouncer replaced its server connection unnoticed
        await one_connection.tenant_write([a.id], RECORD, {"t": a.id, "a": "on.a.new.line"})
        assert "on.a.new.line" in await actions(one_connection, a)
        return
    with pytest.raises(psycopg.OperationalError):
        await one_connection.tenant_write([a.id], RECORD, {"t": a.id, "a": "on.a.dead.line"})
    await one_connection.tenant_write([a.id], RECORD, {"t": a.id, "a": "on.a.new.line"})
    assert "on.a.new.line" in await actions(one_connection, a)
