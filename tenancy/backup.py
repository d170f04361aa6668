"""Backup and restore of the embedded database (``priemnaya db backup|restore``).

A backup is ``pg_dump``'s custom archive of the ``priemnaya`` database, taken from the running
server as one consistent snapshot, with the server's own ``pg_dump`` (shipped with it). A
restore loads the archive into a new database beside the current one and swaps the two only
when the load succeeded, so a bad or truncated archive leaves the current data as it was.

A deployment on its own PostgreSQL backs up with ``pg_basebackup`` and WAL archiving instead
(see ``deploy/RUNBOOK.md``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from tenancy.database import APP_ROLE
from tenancy.embedded import DATABASE_NAME, SUPERUSER, EmbeddedPostgres

RESTORING = f"{DATABASE_NAME}_restoring"
REPLACED = f"{DATABASE_NAME}_replaced"


class BackupFailed(Exception):
    """pg_dump or pg_restore refused; the message is theirs, with the file named."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int


def _run(tool: Path, *args: str) -> None:
    done = subprocess.run([str(tool), *args], capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupFailed(done.stderr.strip() or f"{tool.name} exited with {done.returncode}")


def _socket(server: EmbeddedPostgres) -> str:
    server.start()
    socket_dir = server.status().socket_dir
    assert socket_dir is not None  # a running server has its socket
    return str(socket_dir)


def backup(server: EmbeddedPostgres, target: Path) -> Backup:
    """Write the archive to ``target``, whole or not at all (it is renamed into place)."""
    host = _socket(server)
    partial = target.with_name(target.name + ".partial")
    try:
        _run(
            server.tool("pg_dump"),
            "--format=custom",
            f"--file={partial}",
            f"--host={host}",
            f"--username={SUPERUSER}",
            DATABASE_NAME,
        )
    except BackupFailed as exc:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"{target}: {exc}") from None
    partial.replace(target)
    return Backup(target, target.stat().st_size)


def restore(server: EmbeddedPostgres, source: Path) -> None:
    """Replace the ``priemnaya`` database with the archive's. Stop the app and the worker
    first: their connections to the current database are closed."""
    if not source.is_file():
        raise BackupFailed(f"{source}: no such file")
    tool = server.tool("pg_restore")
    try:
        _run(tool, "--list", str(source))
    except BackupFailed as exc:
        raise BackupFailed(f"{source}: not a backup made by `priemnaya db backup`: {exc}") from None
    host = _socket(server)
    with psycopg.connect(host=host, user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        # On a new machine the app role does not exist yet; the archive grants it rights.
        conn.execute(
            sql.SQL(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {r}) THEN "
                "CREATE ROLE {i} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
                "END IF; END $$"
            ).format(r=sql.Literal(APP_ROLE), i=sql.Identifier(APP_ROLE))
        )
        for name in (RESTORING, REPLACED):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(RESTORING)))
        try:
            _run(
                tool,
                "--exit-on-error",
                "--no-owner",
                f"--host={host}",
                f"--username={SUPERUSER}",
                f"--dbname={RESTORING}",
                str(source),
            )
        except BackupFailed as exc:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(RESTORING)))
            raise BackupFailed(f"{source}: {exc}") from None
        current, restored, replaced = (
            sql.Identifier(n) for n in (DATABASE_NAME, RESTORING, REPLACED)
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(replaced))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
        if exists.fetchone():
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (DATABASE_NAME,),
            )
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(current, replaced))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(restored, current))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(replaced))
