"""A streaming read replica of a test server: ``pg_basebackup -R -X stream`` into a temporary
directory, started with ``pg_ctl`` on a free port of 127.0.0.1 as a hot standby.

It copies the whole server (every database on it replicates); on the machine's PostgreSQL the
primary needs a ``replication`` line in ``pg_hba.conf`` (``.ci/run`` adds one). As root, the
copy and the server run as the primary's own system user (PostgreSQL refuses to run as root).
``PRIEMNAYA_TEST_REPLICA=1`` gives the whole run one, which the app's settings point at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tenancy.database import APP_ROLE
from tenancy.embedded import EmbeddedPostgres
from tests.s3_server import free_port

REPLICA_VARIABLE = "PRIEMNAYA_TEST_REPLICA"  # "1": the run's app reads on a replica
# Hot standby needs these at least as high as on the primary.
_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _server_address(server_url: str) -> tuple[str, int]:
    url = make_url(server_url)
    socket_dir = url.query.get("host")
    host = socket_dir if isinstance(socket_dir, str) else url.host or "127.0.0.1"
    return host, url.port or 5432


def _binaries(host: str, version: int) -> Path:
    """The embedded server's own programs for it, else the machine's of the same version."""
    if host.startswith("/"):
        return EmbeddedPostgres(Path(host)).tool("pg_ctl").parent
    return Path(f"/usr/lib/postgresql/{version // 10000}/bin")


@dataclass
class RunningReplica:
    """A hot standby of the primary at ``primary_url``, reachable on ``port``."""

    primary_url: str
    data: Path
    port: int
    binaries: Path
    system_user: str | None  # whom to run its programs as (we are root), else None
    options: str
    _watchers: tuple[psycopg.Connection[Any], psycopg.Connection[Any]] | None = None

    def url(self, database: str, user: str = APP_ROLE) -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.binaries / program), *arguments]
        if self.system_user:
            command = ["runuser", "-u", self.system_user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=300)

    def start(self) -> None:
        log = self.data.parent / "replica.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o", self.options, "-w", "start")
        deadline = time.monotonic() + 60
        while True:
            try:
                with self._connect() as conn:
                    if conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                        return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the replica did not start: {log.read_text()}") from None
            time.sleep(0.1)

    def stop(self) -> None:
        self._close_watchers()
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def pause(self) -> None:
        """Stop replaying: the replica keeps receiving WAL and answers as of now."""
        with self._connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        with self._connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def catch_up(self, timeout: float = 30.0) -> None:
        """Wait until the replica has replayed all the primary has written so far (on
        connections kept for it: a test client asks before every request)."""
        try:
            self._catch_up(timeout)
        except psycopg.OperationalError:
            self._close_watchers()  # a restart dropped them
            self._catch_up(timeout)

    def _catch_up(self, timeout: float) -> None:
        if self._watchers is None:
            primary = psycopg.connect(_libpq(self.primary_url), autocommit=True)
            self._watchers = (primary, self._connect())
        primary, replica = self._watchers
        row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
        wait_for_replay(replica, str(row[0]) if row else "0/0", timeout)

    def _close_watchers(self) -> None:
        if self._watchers is not None:
            for conn in self._watchers:
                conn.close()
            self._watchers = None


def wait_for_replay(conn: psycopg.Connection[tuple[object, ...]], lsn: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
        if row == (True,):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica did not replay up to {lsn}")
        time.sleep(0.002)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def running_replica(server_url: str) -> Iterator[RunningReplica]:
    """A hot standby of the server at ``server_url`` (a superuser URL), for the block."""
    host, server_port = _server_address(server_url)
    with psycopg.connect(_libpq(server_url), autocommit=True) as primary:
        version = int(str(primary.execute("SHOW server_version_num").fetchone()[0]))  # type: ignore[index]
        settings = {
            name: str(primary.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in _AT_LEAST_PRIMARY
        }
    system_user = None
    if os.geteuid() == 0:
        system_user = Path(host).owner() if host.startswith("/") else "postgres"
    directory = Path(tempfile.mkdtemp(prefix="priemnaya-replica-"))
    if system_user:
        shutil.chown(directory, system_user)
    port = free_port()
    options = " ".join(
        [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={directory}",
            "-c hot_standby=on",
            "-c hot_standby_feedback=on",
            "-c shared_preload_libraries=",
            "-c ssl=off",
            "-c fsync=off",
            "-c logging_collector=off",
            *(f"-c {name}={value}" for name, value in settings.items()),
        ]
    )
    replica = RunningReplica(
        primary_url=server_url,
        data=directory / "data",
        port=port,
        binaries=_binaries(host, version),
        system_user=system_user,
        options=options,
    )
    try:
        replica._run(
            "pg_basebackup", "-h", host, "-p", str(server_port), "-U", "postgres",
            "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        # Debian keeps the configuration outside the data directory; the copy needs its own.
        for name, content in (
            ("postgresql.conf", ""),
            ("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"),
            ("pg_ident.conf", ""),
        ):
            path = replica.data / name
            if not path.exists():
                path.write_text(content)
                if system_user:
                    shutil.chown(path, system_user)
        replica.start()
        yield replica
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(
            f"could not make a replica: {exc.cmd}: {exc.stderr.decode(errors='replace')}"
        ) from None
    finally:
        if (replica.data / "postmaster.pid").exists():
            replica.stop()
        shutil.rmtree(directory, ignore_errors=True)
