"""Benchmark: attachments through the app.

Uploads 1 MiB files through the running app (``priemnaya serve`` in a child process, S3 =
moto's server) and, as the baseline in the same run, the same bytes with ``put_object``
straight through the minio client; then streams one 100 MiB file through the app while
sampling the app process's resident memory.

Run: ``python -m tests.bench.storage`` (PRIEMNAYA_TEST_DATABASE_URL, else an embedded server).
Prints ``METRIC upload_mib_s``, ``METRIC direct_mib_s``, ``METRIC stream_rss_mb``.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import psutil
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tenancy.demo import seed_demo
from tests.databases import fresh_database, postgres_server
from tests.s3_server import S3_ACCESS_KEY, S3_SECRET_KEY, free_port, running_s3_server

FILES = int(os.environ.get("BENCH_FILES", "200"))  # a round
ROUNDS = 3
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))  # citizens upload at the same time
MIB = 1024 * 1024
BIG = 100 * MIB
SECRET = "storage-benchmark-secret-key-0123456789"
PLACE = {"topic": "pothole", "territory": "99701000"}


def pdf_of(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return head + b"0" * (size - len(head))


def pdf_stream(size: int, chunk: int = MIB) -> Iterator[bytes]:
    head = b"%PDF-1.4\n"
    yield head
    left = size - len(head)
    block = b"0" * chunk
    while left > 0:
        yield block[: min(chunk, left)]
        left -= chunk


async def prepare(urls: DatabaseUrls) -> None:
    db = Database(urls, pool_size=1)
    try:
        await seed_demo(db, actor="bench")
        async with db.privileged_session() as session:
            # The 100 MiB file must be allowed where it goes.
            await session.execute(
                text("UPDATE tenants SET attachment_max_mb = 100 WHERE slug = 'demo-severny'")
            )
    finally:
        await db.dispose()


def start_app(urls: DatabaseUrls, s3_endpoint: str, bucket: str, home: Path) -> tuple[Any, str]:
    port = free_port()
    env = {
        **os.environ,
        "PRIEMNAYA_DATABASE_URL": urls.privileged,
        "PRIEMNAYA_APP_DATABASE_URL": urls.app,
        "PRIEMNAYA_SECRET_KEY": SECRET,
        "PRIEMNAYA_HOME": str(home),
        "PRIEMNAYA_S3_ENDPOINT": s3_endpoint,
        "PRIEMNAYA_S3_ACCESS_KEY": S3_ACCESS_KEY,
        "PRIEMNAYA_S3_SECRET_KEY": S3_SECRET_KEY,
        "PRIEMNAYA_S3_BUCKET": bucket,
        "PRIEMNAYA_S3_SECURE": "false",
        "PRIEMNAYA_INTAKE_PER_ADDRESS": "100000",
        "PRIEMNAYA_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{url}/readyz").status_code == 200:
                return process, url
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the app did not become ready")


def _in_parallel(clients: int, send: Callable[[int], None]) -> float:
    """MiB/s of ``FILES`` sends of 1 MiB, spread over ``clients`` threads."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(FILES)))
    return FILES / (time.perf_counter() - started)


def measure_uploads(url: str, data: bytes, clients: int) -> float:
    # The same HTTP client library as minio's (urllib3), so that only the server side differs.
    http = urllib3.PoolManager(maxsize=clients)

    def send(i: int) -> None:
        query = urlencode(PLACE | {"filename": f"scan-{i}.pdf"})
        response = http.request("POST", f"{url}/api/v1/uploads?{query}", body=data)
        assert response.status == 201, response.data

    send(-1)  # warm up
    return _in_parallel(clients, send)


def s3_client(endpoint: str) -> Minio:
    return Minio(endpoint, access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY, secure=False)


def empty_bucket(endpoint: str, bucket: str) -> None:
    """Remove what a pass stored: moto's server slows as it fills, so every pass starts from
    the same empty bucket."""
    client = s3_client(endpoint)
    listed = client.list_objects(bucket, recursive=True)
    failures = list(client.remove_objects(bucket, (DeleteObject(o.object_name) for o in listed)))
    assert not failures, failures


def measure_direct(endpoint: str, bucket: str, data: bytes, clients: int) -> float:
    client = s3_client(endpoint)
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)

    def send(i: int) -> None:
        # A new object each time, as through the app.
        key = f"direct/{uuid.uuid4().hex}"
        client.put_object(bucket, key, io.BytesIO(data), len(data), content_type="application/pdf")

    send(-1)
    return _in_parallel(clients, send)


def measure_stream_rss(url: str, pid: int) -> float:
    process = psutil.Process(pid)
    idle = process.memory_info().rss
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with httpx2.Client(base_url=url, timeout=300) as client:
            response = client.post(
                "/api/v1/uploads", params=PLACE | {"filename": "big.pdf"}, content=pdf_stream(BIG)
            )
            assert response.status_code == 201, response.text
    finally:
        done.set()
        sampler.join()
    return (peak - idle) / 1e6


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="priemnaya-bench-") as where:
        home = Path(where)
        with postgres_server(home) as server, fresh_database(server, "priemnaya_bench") as urls:
            asyncio.run(prepare(urls))
            with running_s3_server(home) as s3:
                process, url = start_app(urls, s3.endpoint, "bench-app", home / "app")
                try:
                    data = pdf_of(MIB)
                    figures = {}
                    passes: dict[str, Callable[[int], float]] = {
                        "app": lambda clients: measure_uploads(url, data, clients),
                        "direct": lambda clients: measure_direct(
                            s3.endpoint, "bench-direct", data, clients
                        ),
                    }
                    buckets = {"app": "bench-app", "direct": "bench-direct"}
                    for clients in (1, CLIENTS):
                        # The paths take turns going first, so that neither gets the quieter
                        # moment; each pass starts from an empty bucket; medians are compared.
                        measured: dict[str, list[float]] = {"app": [], "direct": []}
                        for turn in range(ROUNDS):
                            for path in ("app", "direct") if turn % 2 == 0 else ("direct", "app"):
                                measured[path].append(passes[path](clients))
                                empty_bucket(s3.endpoint, buckets[path])
                        figures[clients] = (
                            statistics.median(measured["app"]),
                            statistics.median(measured["direct"]),
                        )
                    rss = measure_stream_rss(url, process.pid)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
    print(
        f"uploads of 1 MiB files through the app, and straight to S3 (put_object): medians of "
        f"{ROUNDS} alternating rounds of {FILES} files"
    )
    for clients, (upload, direct) in figures.items():
        print(
            f"  {clients} client(s): app {upload:.1f} MiB/s, direct {direct:.1f} MiB/s, "
            f"ratio {upload / direct:.2f}"
        )
    upload, direct = figures[CLIENTS]
    print(f"METRIC upload_mib_s {upload:.1f} MiB/s ({CLIENTS} clients)")
    print(f"METRIC direct_mib_s {direct:.1f} MiB/s ({CLIENTS} clients)")
    print(f"ratio app/direct: {upload / direct:.2f} (target >= 0.7)")
    print(f"METRIC stream_rss_mb {rss:.1f} MB (100 MiB streamed; target <= 100 MB above idle)")


if __name__ == "__main__":
    main()
