"""PgBouncer in transaction pooling mode in front of a test server (Debian's ``pgbouncer``).

Its configuration lives in a temporary directory, it listens on a free port of 127.0.0.1 and
forwards every database of the server (a fresh test database needs no new entry). Clients
authenticate as themselves (``trust``, each role named in the user list), so the owner and the
app role keep their own rights behind it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tenancy.database import APP_ROLE, DatabaseUrls
from tests.s3_server import free_port

PGBOUNCER_VARIABLE = "PRIEMNAYA_TEST_PGBOUNCER"  # "1": the test run goes through PgBouncer
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
ROLES = ("postgres", APP_ROLE)


def _system_user(host: str) -> str:
    """Whom PgBouncer runs as when we are root (it refuses to run as root): the owner of the
    server's socket directory (the embedded server's own user), else Debian's postgres."""
    return Path(host).owner() if host.startswith("/") else "postgres"


def _server_address(server_url: str) -> tuple[str, int]:
    url = make_url(server_url)
    socket_dir = url.query.get("host")
    host = socket_dir if isinstance(socket_dir, str) else url.host or "127.0.0.1"
    return host, url.port or 5432


def _configuration(server_url: str, directory: Path, port: int, pool_size: int) -> str:
    host, server_port = _server_address(server_url)
    return f"""
[databases]
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 2000
max_db_connections = {pool_size}
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
log_connections = 0
log_disconnections = 0
pidfile = {directory}/pgbouncer.pid
admin_users = postgres
"""


@contextmanager
def running_pgbouncer(server_url: str, *, pool_size: int = 20) -> Iterator[str]:
    """Start PgBouncer in front of ``server_url``; yield its address as ``host:port``."""
    with tempfile.TemporaryDirectory(prefix="priemnaya-pgbouncer-") as where:
        directory = Path(where)
        port = free_port()
        (directory / "userlist.txt").write_text("".join(f'"{role}" ""\n' for role in ROLES))
        ini = directory / "pgbouncer.ini"
        ini.write_text(_configuration(server_url, directory, port, pool_size))
        command = [PGBOUNCER, str(ini)]
        if os.geteuid() == 0:
            user = _system_user(_server_address(server_url)[0])
            shutil.chown(directory, user)
            for path in directory.iterdir():
                shutil.chown(path, user)
            command = [PGBOUNCER, "-u", user, str(ini)]
        # Its log goes to the file only: an unread pipe would fill up and stop it.
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_until_serving(process, port, directory)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_serving(process: subprocess.Popen[bytes], port: int, directory: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = directory / "pgbouncer.log"
            raise RuntimeError(f"pgbouncer stopped: {log.read_text() if log.exists() else ''}")
        try:
            psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="pgbouncer", autocommit=True
            ).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError(f"pgbouncer did not start on port {port}")


def through_pgbouncer(urls: DatabaseUrls, address: str) -> DatabaseUrls:
    """The same database and roles through the pooler; LISTEN stays on the direct app URL."""
    host, port = address.split(":")

    def pooled(url: str) -> str:
        parsed = make_url(url)
        query = {k: v for k, v in parsed.query.items() if k != "host"}
        moved = parsed.set(host=host, port=int(port), query=query)
        return moved.render_as_string(hide_password=False)

    return replace(
        urls,
        privileged=pooled(urls.privileged),
        app=pooled(urls.app),
        listen=urls.listen or urls.app,
        pooled=True,
    )


def pgbouncer_servers(address: str) -> list[int]:
    """The local ports of PgBouncer's connections to the server (as the server sees them)."""
    host, port = address.split(":")
    with psycopg.connect(
        host=host, port=int(port), user="postgres", dbname="pgbouncer", autocommit=True
    ) as admin:
        cursor = admin.execute("SHOW SERVERS")
        columns = [c.name for c in cursor.description or []]
        return [int(row[columns.index("local_port")]) for row in cursor.fetchall()]
