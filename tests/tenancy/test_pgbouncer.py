"""Behind PgBouncer in transaction pooling mode: one server connection serves the transactions
of many clients in turn, so the tenant scope must end with its transaction; and LISTEN, which
a pooled connection cannot keep, goes to a direct connection."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from cabinets.app import create_app
from rbac.sync import APPLICATION_NAME as POLICY_LISTENER
from tenancy.database import Database, DatabaseUrls
from tenancy.routing.cache import APPLICATION_NAME as ROUTING_LISTENER
from tenancy.settings import Settings
from tenancy.tenants import service
from tenancy.tenants.schemas import TenantRead
from tests.databases import libpq_url, run_in_database
from tests.pgbouncer import pgbouncer_servers, running_pgbouncer, through_pgbouncer

SEEN = text(
    "SELECT pg_backend_pid() AS pid, coalesce(current_setting('app.tenant_ids', true), '') "
    "AS scope, array(SELECT DISTINCT tenant_id FROM audit_log) AS tenants"
)
RECORD = text(
    "INSERT INTO audit_log (tenant_id, actor, action, object_type, object_id) "
    "VALUES (:t, 'test', :a, 'test', 'x')"
)


@pytest.fixture
def one_server_connection(server_url: str) -> Iterator[str]:
    """PgBouncer with a single server connection for every client."""
    with running_pgbouncer(server_url, pool_size=1) as address:
        yield address


@pytest.fixture
async def clients(
    clean_database: DatabaseUrls, one_server_connection: str
) -> AsyncIterator[list[Database]]:
    """Four clients, each with its own connection to PgBouncer."""
    urls = through_pgbouncer(clean_database, one_server_connection)
    made = [Database(urls, pool_size=1, max_overflow=0) for _ in range(4)]
    yield made
    for client in made:
        await client.dispose()


@pytest.fixture
async def two_tenants(db: Database, tenant_data: Callable[..., Any]) -> tuple[TenantRead, ...]:
    a = await service.create_tenant(db, tenant_data("tenant-a"), actor="test")
    b = await service.create_tenant(db, tenant_data("tenant-b"), actor="test")
    return a, b


async def test_the_tenant_scope_never_outlives_its_transaction_on_a_shared_server_connection(
    clients: list[Database], two_tenants: tuple[TenantRead, ...]
) -> None:
    a, b = two_tenants
    seen: list[tuple[str, Any]] = []

    async def request(client: Database, tenant: TenantRead | None, turn: int) -> None:
        """One request's transactions, as the app runs them: a write, a refused write, a
        pipelined write, then a read of what the scope shows."""
        scope = [tenant.id] if tenant else []
        if tenant is not None:
            await client.tenant_write(scope, RECORD, {"t": tenant.id, "a": f"write.{turn}"})
            other = b if tenant is a else a
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await client.tenant_write(scope, RECORD, {"t": other.id, "a": "refused"})
            async with client.tenant_pipeline(scope) as pipe:
                await pipe.execute(RECORD, {"t": tenant.id, "a": f"piped.{turn}"})
        async with client.tenant_session(scope) as session:
            seen.append((tenant.slug if tenant else "", (await session.execute(SEEN)).one()))

    tenants = [a, b, None]
    await asyncio.gather(
        *(request(clients[turn % 4], tenants[turn % 3], turn) for turn in range(36))
    )
    assert len({row.pid for _, row in seen}) == 1  # all of it on one server connection
    for slug, row in seen:
        expected = {"tenant-a": a.id, "tenant-b": b.id}.get(slug)
        assert row.scope == (str(expected) if expected else "")
        assert set(row.tenants) == ({expected} if expected else set())


def test_the_app_listens_for_policy_and_routing_changes_on_a_direct_connection(
    settings: Settings,
    server_url: str,
    clean_database: DatabaseUrls,
    tenant_data: Callable[..., Any],
) -> None:
    with running_pgbouncer(server_url, pool_size=2) as address:
        pooled = through_pgbouncer(clean_database, address)
        behind = settings.model_copy(
            update={
                "database_url": pooled.privileged,
                "app_database_url": pooled.app,
                "listen_database_url": pooled.listen,
                "transaction_pooler": True,
            }
        )
        app = create_app(behind)
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            run_in_database(
                clean_database,
                lambda db: service.create_tenant(db, tenant_data("arrived-later"), actor="t"),
            )
            deadline = time.monotonic() + 10
            while "arrived-later" not in app.state.policy.slugs:
                assert time.monotonic() < deadline, "the policy change never arrived"
                time.sleep(0.05)
            with psycopg.connect(libpq_url(clean_database.privileged)) as conn:
                listeners = conn.execute(
                    "SELECT application_name, client_port FROM pg_stat_activity "
                    "WHERE application_name IN (%s, %s)",
                    (POLICY_LISTENER, ROUTING_LISTENER),
                ).fetchall()
            assert {name for name, _ in listeners} == {POLICY_LISTENER, ROUTING_LISTENER}
            through_the_pooler = set(pgbouncer_servers(address))
            assert through_the_pooler  # the app's queries went through PgBouncer
            assert not {port for _, port in listeners} & through_the_pooler
        assert uuid.UUID(app.state.policy.slugs["arrived-later"])
