"""Steps the citizen's browser tests take beside the browser: the settings the served site
runs with (for its mail sink), the worker's delivery of letters, and staff moving a message
along through the API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import text

from cabinets.notifications.delivery import deliver_account_mail, deliver_due
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tests.browser.harness import beside_the_browser
from tests.cabinets.mailbox import letters
from tests.cabinets.message_world import PASSWORD, STAFF
from tests.databases import run_in_database


@dataclass(frozen=True)
class Served:
    """The served site's address, database and settings (as the ``site`` fixture makes them)."""

    url: str
    urls: DatabaseUrls
    settings: Settings


def served_site(site: str, urls: DatabaseUrls, tmp_path: Path) -> Served:
    settings = Settings(
        database_url=urls.privileged, app_database_url=urls.app, home=tmp_path / "home",
        secret_key="browser-test-secret-key-long-enough-to-pass", base_url=site,
    )  # fmt: skip
    return Served(site, urls, settings)


def deliver(served: Served) -> None:
    """One round of the worker: account letters and the outbox, into the mail sink."""

    async def work(db: Database) -> None:
        await deliver_account_mail(db, served.settings)
        await deliver_due(db, served.settings)

    beside_the_browser(run_in_database, served.urls, work)


def letters_to(served: Served, email: str, subject: str = "") -> list[Any]:
    return [m for m in letters(served.settings) if m["To"] == email and subject in m["Subject"]]


def link_in(letter: Any, path: str) -> str:
    found = re.search(rf"(\S+{re.escape(path)}\S+)", letter.get_content())
    assert found, letter.get_content()
    return str(found[1])


def _message_id(served: Served, number: str) -> str:
    async def lookup(db: Database) -> Any:
        async with db.public_session() as session:
            found = await session.execute(
                text("SELECT holder_message_id FROM message_tracking WHERE number = :n"),
                {"n": number},
            )
            return found.scalar_one()

    return str(beside_the_browser(run_in_database, served.urls, lookup))


def _act(served: Served, role: str, message_id: str, action: str, body: dict[str, Any]) -> None:
    email = STAFF[role][0]
    with httpx.Client(base_url=served.url) as client:
        signed = client.post("/auth/sign-in", json={"email": email, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        headers = {"X-CSRF-Token": signed.json()["csrf_token"]}
        path = f"/api/v1/tenants/north-roads/messages/{message_id}"
        current = client.get(path)
        assert current.status_code == 200, current.text
        done = client.post(
            f"{path}/{action}", json={"version": current.json()["version"], **body},
            headers=headers,
        )  # fmt: skip
        assert done.status_code == 200, done.text


def answer(served: Served, number: str) -> None:
    """The road service registers, assigns, answers and approves the message."""
    message_id = _message_id(served, number)
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("moderator", "accept", {}),
        ("coordinator", "assign", {"executor": STAFF["executor"][0]}),
        ("executor", "submit-answer", {"text": "Яма заделана 3 июня."}),
        ("approver", "approve-answer", {}),
    ]
    for role, action, body in steps:
        beside_the_browser(_act, served, role, message_id, action, body)
