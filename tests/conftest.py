"""Shared fixtures: a real PostgreSQL for the whole run, a fresh migrated database, and a clean
slate for each test.

By default the embedded server is started in a temporary directory; set
``PRIEMNAYA_TEST_DATABASE_URL`` (a superuser URL) to run against another server instead. Each
run creates its own database there and drops it at the end. ``PRIEMNAYA_TEST_PGBOUNCER=1``
puts PgBouncer (transaction pooling) between the tests and that database.
``PRIEMNAYA_TEST_REPLICA=1`` makes a streaming replica of that server, which the app's
settings send their reads to (before each request a test client makes, the replica catches
up: the tests are about what the app answers, not about a moment's replication lag, which
tests/cabinets/test_replica.py is about).

Tests exercise two real connections (the owner and the app role under row-level security), so
one test cannot be wrapped in a single rolled-back transaction; instead every table is
truncated after each database test, which costs a few milliseconds.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tests.databases import fresh_database, libpq_url, postgres_server
from tests.pgbouncer import PGBOUNCER_VARIABLE, running_pgbouncer, through_pgbouncer
from tests.replica import REPLICA_VARIABLE, RunningReplica, running_replica
from tests.s3_server import S3Server, running_s3_server

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-to-pass-validation"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every coroutine test runs on asyncio through anyio's plugin (shipped with Starlette).
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A superuser URL of the PostgreSQL server the tests use. The embedded one lives outside
    pytest's own temporary tree: pytest tightens that tree's permissions when another session
    starts, and the server runs as its own system user when we are root."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def pgbouncer_address(server_url: str) -> Iterator[str | None]:
    """With ``PRIEMNAYA_TEST_PGBOUNCER=1``, PgBouncer in transaction mode in front of the
    server, through which the run's database is reached; otherwise None."""
    if os.environ.get(PGBOUNCER_VARIABLE) != "1":
        yield None
        return
    with running_pgbouncer(server_url) as address:
        yield address


@pytest.fixture(scope="session")
def run_replica(server_url: str) -> Iterator[RunningReplica | None]:
    """With ``PRIEMNAYA_TEST_REPLICA=1``, a streaming replica of the server; otherwise None."""
    if os.environ.get(REPLICA_VARIABLE) != "1":
        yield None
        return
    with running_replica(server_url) as replica:
        yield replica


@pytest.fixture(autouse=True)
def replica_in_step(run_replica: RunningReplica | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the run's replica, a test client's request waits until the replica has replayed
    what the test wrote before it."""
    if run_replica is None:
        return
    from starlette.testclient import TestClient

    request = TestClient.request

    def request_in_step(self: TestClient, *args: Any, **kwargs: Any) -> Any:
        run_replica.catch_up()
        return request(self, *args, **kwargs)

    monkeypatch.setattr(TestClient, "request", request_in_step)


@pytest.fixture(scope="session")
def database_urls(server_url: str, pgbouncer_address: str | None) -> Iterator[DatabaseUrls]:
    """A freshly created and migrated database for this run (migrated directly, then reached
    through PgBouncer when the run asks for it, as a release job and the app would)."""
    with fresh_database(server_url) as urls:
        yield through_pgbouncer(urls, pgbouncer_address) if pgbouncer_address else urls


def truncate_all(urls: DatabaseUrls) -> None:
    with psycopg.connect(libpq_url(urls.privileged), autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )


@pytest.fixture
def clean_database(database_urls: DatabaseUrls) -> Iterator[DatabaseUrls]:
    """The run's database, emptied after the test."""
    try:
        yield database_urls
    finally:
        truncate_all(database_urls)


@pytest.fixture
async def db(clean_database: DatabaseUrls) -> AsyncIterator[Database]:
    database = Database(clean_database, pool_size=2)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(
    clean_database: DatabaseUrls, tmp_path: Path, run_replica: RunningReplica | None
) -> Settings:
    """Settings pointing at the test database (and the run's replica, if it has one), as an
    operator would configure them."""
    database = make_url(clean_database.privileged).database or ""
    return Settings(
        replica_database_url=run_replica.url(database) if run_replica else None,
        database_url=clean_database.privileged,
        app_database_url=clean_database.app,
        listen_database_url=clean_database.listen,
        transaction_pooler=clean_database.pooled,
        home=tmp_path / "home",
        secret_key=TEST_SECRET_KEY,
    )


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment a CLI invocation reads, pointing at the test database."""
    assert settings.database_url
    assert settings.app_database_url
    assert settings.secret_key
    monkeypatch.setenv("PRIEMNAYA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PRIEMNAYA_APP_DATABASE_URL", settings.app_database_url)
    if settings.transaction_pooler:
        assert settings.listen_database_url
        monkeypatch.setenv("PRIEMNAYA_LISTEN_DATABASE_URL", settings.listen_database_url)
        monkeypatch.setenv("PRIEMNAYA_TRANSACTION_POOLER", "true")
    monkeypatch.setenv("PRIEMNAYA_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PRIEMNAYA_HOME", str(settings.home))
    monkeypatch.setenv("PRIEMNAYA_ACTOR", "test-admin")
    return settings


@pytest.fixture
def tenant_data() -> object:
    """A factory of valid tenant input: ``tenant_data("slug", kind=..., parent=...)``."""
    from tenancy.tenants.identifiers import inn_with_check_digits
    from tenancy.tenants.models import TenantKind
    from tenancy.tenants.schemas import TenantCreate

    counter = iter(range(1, 100_000))

    def make(
        slug: str, *, kind: TenantKind = TenantKind.SCHOOL, parent: str | None = None
    ) -> TenantCreate:
        return TenantCreate(
            slug=slug,
            name=f"Organization {slug}",
            kind=kind,
            parent=parent,
            inn=inn_with_check_digits(f"77{next(counter):07d}"),
        )

    return make


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 API (moto's server) for the whole run."""
    with running_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server
