"""Benchmark: a scrape of ``/metrics``.

The app runs as in production (``priemnaya serve --workers 2``, so the figures of both
processes are added up from their files at each scrape) after some real traffic: citizens'
messages, so the outbox holds rows the scrape counts. Each scrape is one new connection, as a
Prometheus server makes. The baseline, in the same run and on the same server, is ``/healthz``
(no database, no work).

Run: ``python -m tests.bench.metrics`` (PRIEMNAYA_TEST_DATABASE_URL, else an embedded server).
Prints ``METRIC metrics_ms`` (the median scrape) and ``METRIC healthz_ms``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.intake import SECRET, hammer, prepare, serve
from tests.databases import fresh_database, postgres_server

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "500"))
SCRAPES = int(os.environ.get("BENCH_SCRAPES", "200"))


def get(url: str, path: str) -> bytes:
    """One GET on a new connection, read to its end: the least a client can spend (a
    general-purpose client's own setup costs more than the scrape measured)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    return answer


def median_ms(url: str, path: str) -> float:
    timings = []
    for _ in range(SCRAPES):
        started = time.perf_counter()
        get(url, path)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="priemnaya-bench-") as where:
        home = Path(where)
        with postgres_server(home) as server, fresh_database(server, "priemnaya_bench") as urls:
            asyncio.run(prepare(urls))
            env = {
                "PRIEMNAYA_DATABASE_URL": urls.privileged,
                "PRIEMNAYA_APP_DATABASE_URL": urls.app,
                "PRIEMNAYA_SECRET_KEY": SECRET,
                "PRIEMNAYA_HOME": str(home / "app"),
                "PRIEMNAYA_INTAKE_PER_ADDRESS": "0",
                "PRIEMNAYA_LOG_LEVEL": "WARNING",
            }
            process, url = serve([sys.executable, "-m", "cli", "serve"], env)
            try:
                asyncio.run(hammer(url, MESSAGES))
                median_ms(url, "/metrics")  # warm up both processes
                scrape = median_ms(url, "/metrics")
                healthz = median_ms(url, "/healthz")
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"{SCRAPES} scrapes after {MESSAGES} messages, uvicorn with 2 workers")
    print(f"METRIC metrics_ms {scrape:.2f} ms (median scrape; target <= 10)")
    print(f"METRIC healthz_ms {healthz:.2f} ms (baseline: /healthz on the same server)")
    print(f"ratio metrics/healthz: {scrape / healthz:.2f}")


if __name__ == "__main__":
    main()
