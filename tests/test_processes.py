"""Several processes on one database, as production runs them: three web processes
(`priemnaya serve --workers 3`) and two workers. Each notification is delivered once per
attempt, the clock closes each message once, and a policy change reaches every web process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest

from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import tokens
from tests.cabinets.message_world import POTHOLE, seed_message_world
from tests.databases import libpq_url, run_in_database
from tests.test_up import free_port

PRIEMNAYA = str(Path(sys.executable).with_name("priemnaya"))
SNOW = POTHOLE | {"topic": "snow", "summary": "Не убран снег", "text": "Двор не чищен неделю."}
MESSAGES = 24


def wait_for(check: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture
def processes(
    cli_env: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[str]:
    """The world's database served by 3 web processes and worked by 2 workers; the web's URL."""
    seed_message_world(clean_database, tenant_data)
    port = free_port()
    env = {**os.environ, "PRIEMNAYA_LOG_LEVEL": "WARNING", "PRIEMNAYA_INTAKE_PER_ADDRESS": "0",
           "PRIEMNAYA_INTAKE_PER_APPLICANT": "0"}  # fmt: skip
    with ExitStack() as stack:
        started = [
            subprocess.Popen([PRIEMNAYA, "serve", "--workers", "3", "--port", str(port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            *(subprocess.Popen([PRIEMNAYA, "worker"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) for _ in range(2)),
        ]  # fmt: skip
        for process in started:
            stack.callback(process.wait, 30)
            stack.callback(process.send_signal, signal.SIGTERM)
        url = f"http://127.0.0.1:{port}"

        def serving() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(serving, "the web processes")
        yield url


def rows(urls: DatabaseUrls, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(urls.privileged)) as conn:
        return conn.execute(query).fetchall()


def test_each_notification_is_delivered_once_and_each_message_closed_once(
    processes: str, cli_env: Settings, clean_database: DatabaseUrls
) -> None:
    for n in range(MESSAGES):
        body = SNOW | {"applicant": {"name": "Житель", "email": f"citizen{n}@example.ru"}}
        answer = httpx.post(f"{processes}/api/v1/messages", json=body, timeout=10)
        assert answer.status_code == 201, answer.text
    wait_for(
        lambda: (
            rows(clean_database, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL") == [(0,)]
        ),
        "the outbox to drain",
    )
    attempts = rows(clean_database, "SELECT attempts, count(*) FROM outbox GROUP BY attempts")
    ((once, notices),) = attempts
    assert once == 1  # each row claimed by one worker, once
    assert notices >= MESSAGES  # at least the citizen's receipt of each
    letters = list((cli_env.home / "mail").iterdir())
    assert len(letters) == notices  # and sent once

    # The answers went out long ago and nobody rated them: the clock closes each, once.
    with psycopg.connect(libpq_url(clean_database.privileged), autocommit=True) as conn:
        conn.execute(
            "UPDATE messages SET status = 'answered', answered_at = now() - interval '60 days'"
        )
    wait_for(
        lambda: (
            rows(clean_database, "SELECT count(*) FROM messages WHERE status = 'closed'")
            == [(MESSAGES,)]
        ),
        "the clock to close the messages",
    )
    time.sleep(12)  # another tick of both workers
    closings = rows(
        clean_database,
        "SELECT message_id, count(*) FROM message_events WHERE kind = 'close_unrated' "
        "GROUP BY message_id",
    )
    assert len(closings) == MESSAGES
    assert {count for _, count in closings} == {1}


def test_a_policy_change_reaches_every_web_process(
    processes: str, clean_database: DatabaseUrls
) -> None:
    async def grant(db: Database) -> str:
        created = await tokens.create_token(
            db, "north-roads", "admin", name="late", expires_at=None, actor="t"
        )
        return created.token

    token = run_in_database(clean_database, grant)
    staff_list = f"{processes}/api/v1/tenants/north-roads/staff"
    headers = {"Authorization": f"Bearer {token}"}
    wait_for(
        lambda: httpx.get(staff_list, headers=headers, timeout=5).status_code == 200, "the grant"
    )
    # A new connection each time: the three processes take turns accepting them.
    answers = [httpx.get(staff_list, headers=headers, timeout=5).status_code for _ in range(30)]
    assert answers == [200] * 30
