"""Bulk rows through ``COPY``, and statements straight through psycopg, in the session's
transaction.

psycopg writes ``COPY`` rows in C, while a statement's array parameters are escaped element by
element in Python: at a national manifest's million rows (names with spaces, audit JSON with
quotes) that escaping was most of a cold apply's processor time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def driver_connection(session: AsyncSession) -> Any:
    """psycopg's own connection under the session, in the session's transaction."""
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


async def copy_rows(session: AsyncSession, target: str, rows: Iterable[Sequence[Any]]) -> None:
    """``COPY target FROM STDIN`` with these rows (``target``: a table and its columns)."""
    raw = await driver_connection(session)
    async with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            await copy.write_row(row)


async def temporary_table(session: AsyncSession, table: str, rows: Iterable[Sequence[Any]]) -> None:
    """A temporary table of the transaction (``table``: its name and column definitions),
    filled with ``rows``; dropped at commit."""
    raw = await driver_connection(session)
    await raw.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP")
    name = table.split(" ", 1)[0]
    await copy_rows(session, name, rows)


async def fetch(
    session: AsyncSession, query: str, params: dict[str, Any] | None = None
) -> list[Any]:
    """Rows as plain tuples from the driver."""
    raw = await driver_connection(session)
    return await (await raw.execute(query, params)).fetchall()  # type: ignore[no-any-return]


async def execute(
    session: AsyncSession, statement: str, params: dict[str, Any] | None = None
) -> None:
    """A statement through the driver (its ``%(name)s`` placeholders), in the transaction."""
    raw = await driver_connection(session)
    await raw.execute(statement, params)
