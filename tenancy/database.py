"""Engines and sessions.

Two connections with different rights:

* the **privileged** one (``PRIEMNAYA_DATABASE_URL``, or the embedded superuser) owns the
  schema and bypasses row-level security; only migrations, provisioning, operator work and the
  background worker use it;
* the **app** one (``PRIEMNAYA_APP_DATABASE_URL``) is a role that owns nothing and has no
  BYPASSRLS. Every transaction on it states the tenants it may see, through the
  transaction-local setting ``app.tenant_ids``; with none set, it sees no tenant-owned row.

A third, optional: the same app role on a streaming **replica**
(``PRIEMNAYA_REPLICA_DATABASE_URL``), for the reads that may be a moment stale
(``read_session``; see ``tenancy.replica`` for when they go there after all).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from functools import cache
from typing import Any, cast
from uuid import UUID

from psycopg import AsyncClientCursor, AsyncConnection, AsyncCursor
from psycopg.rows import namedtuple_row
from sqlalchemy import TextClause, event, text
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry

from tenancy.embedded import EmbeddedPostgres
from tenancy.replica import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_LAG_SECONDS,
    PRIMARY_POSITION_SQL,
    Replica,
    reading_after,
)
from tenancy.settings import Settings

APP_ROLE = "priemnaya_app"

_SCOPE_SQL = text(
    "SELECT set_config('app.tenant_ids', :tenant_ids, true), set_config('app.actor', :actor, true)"
)
# On the replica, the scope and how far it has replayed, in the read's one first round trip.
_REPLICA_SCOPE_SQL = text(
    "SELECT set_config('app.tenant_ids', :tenant_ids, true), "
    "set_config('app.actor', :actor, true), "
    "(pg_last_wal_replay_lsn() - '0/0')::bigint AS replayed"
)


class DatabaseUnavailable(Exception):
    """The embedded database is not running and the caller asked not to start it."""


@dataclass(frozen=True)
class DatabaseUrls:
    privileged: str
    app: str
    # A direct connection for LISTEN (None: the app URL). A pooler in transaction mode hands
    # each transaction any server connection, so a LISTEN on it hears nothing.
    listen: str | None = None
    # ``privileged`` and ``app`` go through a pooler in transaction mode (PgBouncer): a
    # statement prepared on one server connection is not there on the next one.
    pooled: bool = False
    # The app role on a streaming replica, for reads that may lag (None: no replica).
    replica: str | None = None

    @property
    def listen_url(self) -> str:
        """The URL to LISTEN on, in the form psycopg itself accepts."""
        url = make_url(self.listen or self.app).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


def driver_url(url: str) -> str:
    """Pin the psycopg 3 driver whatever scheme the operator wrote."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same URL in the form psycopg itself accepts, for work below SQLAlchemy."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def resolve_database_urls(settings: Settings, *, start_embedded: bool = True) -> DatabaseUrls:
    """Work out both connection URLs, starting the embedded server when needed."""
    if settings.database_url:
        privileged = driver_url(settings.database_url)
    else:
        embedded = EmbeddedPostgres(settings.pgdata)
        url = embedded.start() if start_embedded else embedded.url()
        if url is None:
            raise DatabaseUnavailable(
                f"the embedded database in {settings.pgdata} is not running "
                "(start it with `priemnaya db start`)"
            )
        privileged = url
    if settings.app_database_url:
        app = driver_url(settings.app_database_url)
    else:
        app = (
            make_url(privileged)
            .set(username=APP_ROLE, password=None)
            .render_as_string(hide_password=False)
        )
    listen = driver_url(settings.listen_database_url) if settings.listen_database_url else None
    replica = driver_url(settings.replica_database_url) if settings.replica_database_url else None
    return DatabaseUrls(
        privileged, app, listen=listen, pooled=settings.transaction_pooler, replica=replica
    )


def _scope(session: AsyncSession, tenant_ids: str, actor: str) -> None:
    """Set the tenant scope at the start of every transaction the session opens, so a
    commit in the middle of a service cannot silently drop it."""

    def after_begin(_: Session, __: SessionTransaction, connection: Connection) -> None:
        connection.execute(_SCOPE_SQL, {"tenant_ids": tenant_ids, "actor": actor})

    event.listen(session.sync_session, "after_begin", after_begin)


# A pooled connection idle this long is checked before use: a restart or a proxy's idle
# timeout may have dropped it. One in steady use is not: checking every checkout (SQLAlchemy's
# pre-ping) costs two round trips per transaction on the busiest paths. A connection that
# fails anyway is recognised as a disconnect, and SQLAlchemy discards the pool's others too.
PING_AFTER_IDLE_SECONDS = 10.0
RECYCLE_SECONDS = 1800


def _ping_when_idle(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def connected(_: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def checked_in(_: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def checked_out(connection: Any, record: ConnectionPoolEntry, _: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:
            # The pool drops this connection and hands out a fresh one.
            raise DisconnectionError(f"a pooled connection was dropped: {exc}") from exc


_DIALECT = psycopg_dialect.dialect()  # type: ignore[no-untyped-call]


def _scope_value(tenant_ids: Iterable[UUID]) -> str:
    return ",".join(str(UUID(str(t))) for t in tenant_ids)


@cache
def _driver_sql(statement: TextClause) -> str:
    """A statement as psycopg takes it (``:name`` becomes ``%(name)s``), rendered once."""
    return str(statement.compile(dialect=_DIALECT))


@cache
def _scoped_script(statement: TextClause) -> str:
    """The tenant scope and ``statement`` as one simple query."""
    return f"{_driver_sql(_SCOPE_SQL)}; {_driver_sql(statement)}"


class Pipeline:
    """One transaction on a bare psycopg connection in pipeline mode, for the hottest paths,
    where a round trip and SQLAlchemy's statement layer per statement cost more than the
    statements. Statements queue up and travel together; reading a result sends what is
    queued and waits for it. Statements are the same ``text()`` constants sessions run."""

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self._connection = connection

    async def execute(
        self, statement: TextClause, params: Mapping[str, Any] | None = None
    ) -> AsyncCursor[Any]:
        cursor = self._connection.cursor(row_factory=namedtuple_row)
        await cursor.execute(_driver_sql(statement), params)
        return cursor


# Where a write goes: writes that do not read their results run in either.
Transaction = AsyncSession | Pipeline


class Database:
    """Both engines of one deployment; open sessions through it, never through an engine."""

    def __init__(
        self,
        urls: DatabaseUrls,
        *,
        pool_size: int = 5,
        replica_max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS,
        **engine_options: Any,
    ) -> None:
        self.urls = urls
        options: dict[str, Any] = {"pool_size": pool_size, "pool_recycle": RECYCLE_SECONDS}
        if urls.pooled:
            options["connect_args"] = {"prepare_threshold": None}
        options.update(engine_options)
        self.privileged_engine: AsyncEngine = create_async_engine(urls.privileged, **options)
        self.app_engine: AsyncEngine = create_async_engine(urls.app, **options)
        engines = [self.privileged_engine, self.app_engine]
        self.replica: Replica | None = None
        if urls.replica:
            connect = options.get("connect_args", {}) | {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
            replica_options = options | {"connect_args": connect}
            replica_engine = create_async_engine(urls.replica, **replica_options)
            self.replica = Replica(
                replica_engine, self.app_engine, max_lag_seconds=replica_max_lag_seconds
            )
            engines.append(replica_engine)
        for engine in engines:
            _ping_when_idle(engine)

    @asynccontextmanager
    async def tenant_session(
        self, tenant_ids: Iterable[UUID], *, actor: str = ""
    ) -> AsyncIterator[AsyncSession]:
        """A transaction on the app role that sees only the rows of ``tenant_ids``."""
        scope = _scope_value(tenant_ids)
        async with AsyncSession(self.app_engine, expire_on_commit=False) as session:
            _scope(session, scope, actor)
            async with session.begin():
                yield session

    @asynccontextmanager
    async def tenant_pipeline(
        self, tenant_ids: Iterable[UUID], *, actor: str = ""
    ) -> AsyncIterator[Pipeline]:
        """Like :meth:`tenant_session`, as a :class:`Pipeline`: committed when the block ends
        (with whatever is still queued, in one round trip), rolled back when it raises."""
        scope = _scope_value(tenant_ids)
        async with self._bare_connection() as raw, raw.pipeline():
            try:
                await raw.execute(_driver_sql(_SCOPE_SQL), {"tenant_ids": scope, "actor": actor})
                yield Pipeline(raw)
                await raw.commit()
            except BaseException:
                if not raw.broken:
                    await raw.rollback()
                raise

    async def tenant_write(
        self,
        tenant_ids: Iterable[UUID],
        statement: TextClause,
        params: Mapping[str, Any],
        *,
        actor: str = "",
    ) -> None:
        """Run one statement that reads nothing back in a transaction of its own, seeing only
        ``tenant_ids``: the scope and the statement travel as one simple query, which
        PostgreSQL runs as one transaction, so the write is one message and one round trip
        (the driver binds the parameters, quoted, on this side). For the hottest single-row
        writes, where even a pipeline's four statements cost more than the row."""
        if "tenant_ids" in params or "actor" in params:
            raise ValueError("tenant_ids and actor are the scope's parameters")
        scope = {"tenant_ids": _scope_value(tenant_ids), "actor": actor}
        async with self._bare_connection() as raw:
            await raw.set_autocommit(True)
            try:
                async with AsyncClientCursor(raw) as cursor:
                    await cursor.execute(_scoped_script(statement), {**params, **scope})
            finally:
                if not raw.broken:
                    await raw.set_autocommit(False)

    @asynccontextmanager
    async def _bare_connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A psycopg connection lent by the app pool. One that broke in use is dropped from the
        pool: the error never passed through SQLAlchemy, which would otherwise reuse it."""
        async with self.app_engine.connect() as connection:
            raw = cast(
                AsyncConnection[Any], (await connection.get_raw_connection()).driver_connection
            )
            try:
                yield raw
            except BaseException:
                if raw.broken:
                    await connection.invalidate()
                raise

    @asynccontextmanager
    async def read_session(
        self, tenant_ids: Iterable[UUID], *, actor: str = ""
    ) -> AsyncIterator[AsyncSession]:
        """Like :meth:`tenant_session`, for reads only, which may lag the primary by up to the
        replica's bound: on the replica when there is one, it answers, it is within the bound
        and it has replayed the current request's own writes; on the primary otherwise."""
        scope = _scope_value(tenant_ids)
        replica = self.replica
        if replica is not None and replica.serves(reading_after.get()) and await replica.usable():
            async with AsyncExitStack() as stack:
                session = await self._on_replica(replica, stack, scope, actor)
                if session is not None:
                    replica.reads["replica"] += 1
                    try:
                        yield session
                    except DBAPIError as exc:
                        if exc.connection_invalidated:
                            replica.went_down(exc)
                        raise
                    return
        if replica is not None:
            replica.reads["primary"] += 1
        async with self.tenant_session(tenant_ids, actor=actor) as session:
            yield session

    async def _on_replica(
        self, replica: Replica, stack: AsyncExitStack, scope: str, actor: str
    ) -> AsyncSession | None:
        """A scoped transaction on the replica, entered into ``stack``; None when the replica
        fails to answer or has not replayed the request's own writes yet."""
        opened = AsyncExitStack()
        session = await opened.enter_async_context(
            AsyncSession(replica.engine, expire_on_commit=False)
        )
        try:
            await opened.enter_async_context(session.begin())
            row = (
                await session.execute(_REPLICA_SCOPE_SQL, {"tenant_ids": scope, "actor": actor})
            ).one()
        except Exception as exc:
            replica.went_down(exc)
            with suppress(Exception):
                await opened.aclose()
            return None
        replica.replayed = max(replica.replayed, int(row.replayed or 0))
        if not replica.serves(reading_after.get()):
            await opened.aclose()
            return None
        _scope(session, scope, actor)  # for any later transaction of the session
        await stack.enter_async_context(opened)
        return session

    async def write_position(self) -> int:
        """The primary's WAL position now: everything committed so far lies before it."""
        async with self.app_engine.connect() as connection:
            return int((await connection.execute(PRIMARY_POSITION_SQL)).scalar_one())

    def public_session(self, *, actor: str = "") -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction on the app role with no tenant: shared tables only."""
        return self.tenant_session((), actor=actor)

    @asynccontextmanager
    async def privileged_session(self, *, actor: str = "") -> AsyncIterator[AsyncSession]:
        """A transaction on the owner connection; for provisioning and operator work only."""
        async with AsyncSession(self.privileged_engine, expire_on_commit=False) as session:
            _scope(session, "", actor)
            async with session.begin():
                yield session

    async def dispose(self) -> None:
        if self.replica is not None:
            await self.replica.close()
        await self.app_engine.dispose()
        await self.privileged_engine.dispose()
