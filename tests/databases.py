"""Real PostgreSQL for tests and benchmarks: a server, and a fresh migrated database on it.

``PRIEMNAYA_TEST_DATABASE_URL`` (a superuser URL) points at an existing server; without it the
embedded server is started in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tenancy import migrate
from tenancy.database import Database, DatabaseUrls, driver_url
from tenancy.embedded import EmbeddedPostgres


def libpq_url(url: str) -> str:
    """The same URL in the form psycopg itself accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_server(directory: Path | None = None) -> Iterator[str]:
    """A superuser URL of the server to use, started and stopped here when embedded."""
    external = os.environ.get("PRIEMNAYA_TEST_DATABASE_URL")
    if external:
        yield driver_url(external)
        return
    with tempfile.TemporaryDirectory(prefix="priemnaya-pg-", dir=directory) as where:
        server = EmbeddedPostgres(Path(where) / "pgdata")
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


@contextmanager
def fresh_database(server_url: str, prefix: str = "priemnaya_test") -> Iterator[DatabaseUrls]:
    """A newly created, migrated database on ``server_url``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    privileged = make_url(server_url).set(database=name)
    urls = DatabaseUrls(
        privileged=privileged.render_as_string(hide_password=False),
        app=privileged.set(username="priemnaya_app", password=None).render_as_string(
            hide_password=False
        ),
    )
    migrate.upgrade(urls)
    try:
        yield urls
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def run_in_database(urls: DatabaseUrls, work: Callable[[Database], Awaitable[Any]]) -> Any:
    """Run service calls from a synchronous test (the app under test has its own loop), on the
    primary only: what the test reads back is what it wrote."""

    async def run() -> Any:
        db = Database(replace(urls, replica=None), pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return anyio.run(run)
