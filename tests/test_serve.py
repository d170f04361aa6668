"""`priemnaya serve --workers N`: every worker process logs as configured (JSON lines on stderr
at the configured level, each request with its id), not with the logging library's defaults."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from tenancy.settings import Settings
from tests.cabinets.test_metrics import parse, value
from tests.test_up import free_port

PRIEMNAYA = str(Path(sys.executable).with_name("priemnaya"))


def test_every_worker_logs_requests_as_configured(cli_env: Settings) -> None:
    port = free_port()
    env = {**os.environ, "PRIEMNAYA_LOG_FORMAT": "json", "PRIEMNAYA_LOG_LEVEL": "INFO"}
    server = subprocess.Popen(
        [PRIEMNAYA, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        served = 0
        while served < 20 and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                # New connections, so that both workers' accept loops get some.
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    served += 1
            except httpx.HTTPError:
                time.sleep(0.2)
        assert served == 20
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert b"/healthz" not in out  # nothing printed by an unconfigured logger
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 20
    assert all(line["path"] == "/healthz" and line["request_id"] for line in requests)
    assert all(line["level"] == "info" for line in requests)


def test_metrics_add_up_the_requests_of_every_worker_process(cli_env: Settings) -> None:
    port = free_port()
    server = subprocess.Popen(
        [PRIEMNAYA, "serve", "--workers", "3", "--port", str(port)],
        env={**os.environ, "PRIEMNAYA_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        served = 0
        while served < 30 and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    served += 1
            except httpx.HTTPError:
                time.sleep(0.2)
        assert served == 30
        # Whichever process answers the scrape, the count is the whole server's.
        for _ in range(6):
            samples = parse(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
            assert (
                value(samples, "priemnaya_http_requests_total",
                      route="/healthz", method="GET", status="200") == 30
            )  # fmt: skip
        assert value(samples, "priemnaya_db_pool_capacity", pool="app") == 3 * 2 * 20
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert list((cli_env.home / "metrics").glob("*.db"))  # the processes' shared figures
