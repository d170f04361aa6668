"""Faults are answered as faults: while the database is down (a real PostgreSQL of this test's
own, stopped and started again), intake answers 503 problem+json with Retry-After and logs one
line with the request id and no traceback; the citizen's retry with the same Idempotency-Key
is received once the database is back, and only once."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tenancy.database import DatabaseUrls
from tenancy.embedded import EmbeddedPostgres
from tests.cabinets.message_world import POTHOLE, seed_message_world
from tests.conftest import TEST_SECRET_KEY
from tests.databases import fresh_database
from tests.storage.samples import jpeg_with_gps
from tests.test_up import serving

PRIEMNAYA = str(Path(sys.executable).with_name("priemnaya"))


@pytest.fixture
def own_server() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL this test may stop (outside pytest's tree, as tests/databases.py explains)."""
    with tempfile.TemporaryDirectory(prefix="priemnaya-fault-pg-") as where:
        server = EmbeddedPostgres(Path(where) / "pgdata")
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def served(
    own_server: EmbeddedPostgres, tenant_data: Callable[..., Any], tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    url = own_server.url()
    assert url is not None
    with fresh_database(url) as urls:
        seed_message_world(urls, tenant_data)
        log = tmp_path / "serve.log"
        with serving(_env(urls, tmp_path), log) as base:
            yield base, log


def _env(urls: DatabaseUrls, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIEMNAYA_")}
    return env | {
        "PRIEMNAYA_DATABASE_URL": urls.privileged,
        "PRIEMNAYA_APP_DATABASE_URL": urls.app,
        "PRIEMNAYA_SECRET_KEY": TEST_SECRET_KEY,
        "PRIEMNAYA_HOME": str(tmp_path / "home"),
        "PRIEMNAYA_LOG_FORMAT": "json",
    }


def test_a_database_restart_answers_503_and_the_retry_with_its_key_is_received_once(
    own_server: EmbeddedPostgres, served: tuple[str, Path]
) -> None:
    base, log = served
    photo = httpx.post(
        f"{base}/api/v1/uploads",
        params={"topic": "pothole", "territory": "46701101", "filename": "яма.jpg"},
        content=jpeg_with_gps(),
    )
    assert photo.status_code == 201, photo.text
    kept = photo.json()
    message = POTHOLE | {"attachments": [{"id": kept["id"], "token": kept["token"]}]}
    key = {"Idempotency-Key": "retry-after-the-restart-1"}

    own_server.stop()
    down = httpx.post(f"{base}/api/v1/messages", json=message, headers=key, timeout=30)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    assert int(down.headers["retry-after"]) > 0
    problem = down.json()
    assert problem["request_id"] == down.headers["x-request-id"]
    assert "Idempotency-Key" in problem["detail"]

    own_server.start()
    deadline = time.monotonic() + 30
    while True:
        retried = httpx.post(f"{base}/api/v1/messages", json=message, headers=key, timeout=30)
        if retried.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(float(retried.headers["retry-after"]) / 5)
    assert retried.status_code == 201, retried.text
    again = httpx.post(f"{base}/api/v1/messages", json=message, headers=key, timeout=30)
    assert again.json()["number"] == retried.json()["number"]

    text = log.read_text()
    assert "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    about_it = [line for line in lines if line.get("request_id") == problem["request_id"]]
    assert len(about_it) == 1, about_it
    [line] = about_it
    assert (line["event"], line["status"], line["level"]) == ("request", 503, "warning")
    assert line["fault"].startswith("database unavailable")
