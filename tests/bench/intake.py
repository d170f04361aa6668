"""Benchmark: intake over HTTP.

Citizens' messages posted to the running app (uvicorn, 2 worker processes) as fast as a pool of
concurrent clients can: each is routed through the table, written under row-level security
with its history event, tracking number and outbox row. The app runs as in production
(``priemnaya serve --workers 2``). The baseline, in the same run and under the same server
(uvicorn) and client, is a minimal Starlette endpoint doing one INSERT through psycopg.

Run: ``python -m tests.bench.intake`` (PRIEMNAYA_TEST_DATABASE_URL, else an embedded server).
Prints ``METRIC intake_rps`` and ``METRIC baseline_rps``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from tenancy.database import Database, DatabaseUrls
from tenancy.demo import seed_demo
from tests.databases import fresh_database, libpq_url, postgres_server
from tests.s3_server import free_port

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
CLIENTS = 32
JSON = {"content-type": "application/json"}
WORKERS = 2
SECRET = "intake-benchmark-secret-key-0123456789"
MESSAGE = {
    "topic": "heating",
    "territory": "99701000",
    "address": "пос. Северный, ул. Школьная, 3",
    "summary": "Нет отопления",
    "text": "Третий день нет отопления в квартире, батареи холодные.",
    "consent": True,
}

# The baseline: the least a web endpoint that stores a message can do.
BASELINE_APP = """
import asyncio, contextlib, json, os
import psycopg
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

POOL: asyncio.Queue = asyncio.Queue()

@contextlib.asynccontextmanager
async def lifespan(app):
    for _ in range(4):
        POOL.put_nowait(await psycopg.AsyncConnection.connect(os.environ["BASELINE_DSN"],
                                                               autocommit=True))
    yield

async def intake(request):
    body = await request.json()
    conn = await POOL.get()
    try:
        row = await (await conn.execute(
            "INSERT INTO baseline_messages (body) VALUES (%s) RETURNING id",
            (json.dumps(body),))).fetchone()
    finally:
        POOL.put_nowait(conn)
    return JSONResponse({"id": row[0]}, status_code=201)

app = Starlette(routes=[Route("/api/v1/messages", intake, methods=["POST"])],
                lifespan=lifespan)
"""


async def prepare(urls: DatabaseUrls) -> None:
    db = Database(urls, pool_size=1)
    try:
        await seed_demo(db, actor="bench")
    finally:
        await db.dispose()
    import psycopg

    with psycopg.connect(libpq_url(urls.privileged), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE baseline_messages (id bigint GENERATED ALWAYS AS IDENTITY "
            "PRIMARY KEY, body jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
        )


def serve(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[Any, str]:
    """Start ``command`` (given ``--port``) on a free port, with ``WORKERS`` processes."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"{url}/api/v1/messages")
            return process, url
        except httpx2.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server on {url} did not start")


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection that posts JSON, as a load generator like ``wrk``
    does: a general-purpose client spends more of the two cores than the servers measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, url: str) -> KeepAliveClient:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        assert length is not None, head
        return int(head[9:12]), await self.reader.readexactly(int(length[1]))

    def close(self) -> None:
        self.writer.close()


async def hammer(url: str, count: int) -> float:
    """Requests per second for ``count`` messages from ``CLIENTS`` concurrent clients."""
    sent = 0

    async def client(joining: int = 0) -> None:
        nonlocal sent
        # Clients join one by one, as a proxy's connections do when the load rises: the worker
        # that is free takes the next one. A burst of connects would all go to whichever
        # worker's accept loop woke first, and leave the other idle.
        await asyncio.sleep(joining * 0.01)
        http = await KeepAliveClient.connect(url)
        try:
            while sent < count:
                sent += 1
                body = MESSAGE | {
                    "applicant": {"name": "Житель", "email": f"citizen{sent}@example.ru"}
                }
                status, answer = await http.post("/api/v1/messages", json.dumps(body).encode())
                assert status == 201, answer
        finally:
            http.close()

    await asyncio.gather(*(client() for _ in range(min(CLIENTS, 4))))  # warm up the pools
    sent = 0
    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return count / (time.perf_counter() - started)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="priemnaya-bench-") as where:
        home = Path(where)
        with postgres_server(home) as server, fresh_database(server, "priemnaya_bench") as urls:
            asyncio.run(prepare(urls))
            app_env = {
                "PRIEMNAYA_DATABASE_URL": urls.privileged,
                "PRIEMNAYA_APP_DATABASE_URL": urls.app,
                "PRIEMNAYA_SECRET_KEY": SECRET,
                "PRIEMNAYA_HOME": str(home / "app"),
                "PRIEMNAYA_INTAKE_PER_ADDRESS": "0",  # every client comes from 127.0.0.1
                "PRIEMNAYA_LOG_LEVEL": "WARNING",
            }
            process, url = serve([sys.executable, "-m", "cli", "serve"], app_env)
            try:
                intake = asyncio.run(hammer(url, MESSAGES))
                print(f"intake through the app: {intake:.0f} messages/s", flush=True)
            finally:
                process.terminate()
                process.wait(timeout=30)
            (home / "baseline_app.py").write_text(BASELINE_APP)
            baseline_env = {"BASELINE_DSN": libpq_url(urls.privileged)}
            process, url = serve(
                [sys.executable, "-m", "uvicorn", "baseline_app:app", "--log-level", "warning",
                 "--no-access-log"],
                baseline_env,
                cwd=home,
            )  # fmt: skip
            try:
                baseline = asyncio.run(hammer(url, MESSAGES))
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"{MESSAGES} messages from {CLIENTS} concurrent clients, uvicorn with {WORKERS} workers")
    print(f"METRIC intake_rps {intake:.0f} messages/s (target >= 300)")
    print(f"METRIC baseline_rps {baseline:.0f} requests/s (one INSERT through psycopg)")
    print(f"ratio intake/baseline: {intake / baseline:.2f}")


if __name__ == "__main__":
    main()
